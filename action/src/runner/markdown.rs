//! GitHub-flavoured Markdown from record text: escaped so that it shows as written and can
//! neither break a table nor inject HTML, links or formatting. Pure.

use std::borrow::Cow;

/// What marks a cut.
pub const ELLIPSIS: char = '…';

/// `raw` as inline Markdown text for a paragraph, heading or table cell: HTML's `&`, `<`, `>`
/// as entities, Markdown's punctuation (`|` included, which would end a cell) behind a
/// backslash, line breaks as `<br>` so that no line of it can start a block.
pub fn inline(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `raw` cut to at most `max` characters; a cut ends with an ellipsis.
pub fn clip(raw: &str, max: usize) -> Cow<'_, str> {
    if raw.char_indices().nth(max).is_none() {
        return Cow::Borrowed(raw);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let end = raw
        .char_indices()
        .nth(max - 1)
        .map_or(raw.len(), |(i, _)| i);
    Cow::Owned(format!("{}{ELLIPSIS}", &raw[..end]))
}

/// `text` as a fenced code block, shown verbatim: the fence is longer than any run of
/// backticks in `text`, so nothing in it can close the block.
pub fn code_block(text: &str) -> String {
    code_block_as("text", text)
}

/// [`code_block`] highlighted as `language` (`diff`, …).
pub fn code_block_as(language: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    format!("{fence}{language}\n{text}\n{fence}\n")
}

/// A link to `url` labelled `label`; an `http(s)` URL only (anything else is shown as text),
/// with the characters that would end the link destination percent-encoded.
pub fn link(label: &str, url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return format!("{}: {}", inline(label), inline(url));
    }
    let mut destination = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_control() || " \"<>()[]\\`|".contains(c) {
            destination.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            destination.push(c);
        }
    }
    format!("[{}]({destination})", inline(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_break_a_table_or_inject_html() {
        assert_eq!(
            inline("a | b <script>alert(1)</script> & [x](javascript:y) *em*"),
            r"a \| b &lt;script&gt;alert(1)&lt;/script&gt; &amp; \[x\](javascript:y) \*em\*"
        );
        assert_eq!(inline("one\r\ntwo\nthree"), "one<br>two<br>three");
        assert_eq!(
            inline(r"C:\path `x` ~y~ $z$"),
            r"C:\\path \`x\` \~y\~ \$z\$"
        );
        assert_eq!(inline("# not a heading"), "# not a heading");
    }

    #[test]
    fn clipping_counts_characters_and_marks_the_cut() {
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 0), "");
    }

    #[test]
    fn code_blocks_cannot_be_closed_from_inside() {
        assert_eq!(code_block("x"), "```text\nx\n```\n");
        assert_eq!(
            code_block("a\n```\n</details>\r\nb"),
            "````text\na\n```\n</details>\nb\n````\n"
        );
    }

    #[test]
    fn links_are_http_only_and_keep_their_destination_intact() {
        assert_eq!(
            link("Run", "https://github.com/a/b/actions/runs/1"),
            "[Run](https://github.com/a/b/actions/runs/1)"
        );
        assert_eq!(
            link("x]", "https://e.com/a b)<c>"),
            r"[x\]](https://e.com/a%20b%29%3Cc%3E)"
        );
        assert_eq!(
            link("Deploy", "javascript:alert(1)"),
            "Deploy: javascript:alert(1)"
        );
    }
}
