//! mrkdwn text: escaping record text (`&`, `<`, `>`) and fitting it into Slack's length limits
//! without ever cutting an escape (`&amp;`) or a link (`<url|label>`) in half. Pure.
//!
//! Lengths are counted in UTF-16 code units, which is never less than the number of
//! characters, so a text that fits here fits however Slack counts.

/// What marks a cut.
pub const ELLIPSIS: char = '…';

/// How much of a limit `text` uses.
pub fn width(text: &str) -> usize {
    text.encode_utf16().count()
}

fn escaped(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

fn push_escaped(out: &mut String, c: char) {
    match escaped(c) {
        Some(entity) => out.push_str(entity),
        None => out.push(c),
    }
}

fn escaped_width(c: char) -> usize {
    escaped(c).map_or(c.len_utf16(), str::len)
}

/// `raw` with `&`, `<` and `>` escaped, so that Slack shows it as written.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    raw.chars().for_each(|c| push_escaped(&mut out, c));
    out
}

/// `raw` escaped and cut to at most `max`; a cut ends with an ellipsis.
pub fn escape_within(raw: &str, max: usize) -> String {
    if raw.chars().map(escaped_width).sum::<usize>() <= max {
        return escape(raw);
    }
    let budget = max.saturating_sub(ELLIPSIS.len_utf16());
    let mut out = String::new();
    let mut used = 0;
    for c in raw.chars() {
        used += escaped_width(c);
        if used > budget {
            break;
        }
        push_escaped(&mut out, c);
    }
    if max >= ELLIPSIS.len_utf16() {
        out.push(ELLIPSIS);
    }
    out
}

/// The end of `raw` escaped, within `max`: for logs, whose last lines matter most. A cut
/// starts with an ellipsis and a line break.
pub fn escape_tail_within(raw: &str, max: usize) -> String {
    if raw.chars().map(escaped_width).sum::<usize>() <= max {
        return escape(raw);
    }
    let marker = "…\n";
    let budget = max.saturating_sub(width(marker));
    let mut kept: Vec<char> = Vec::new();
    let mut used = 0;
    for c in raw.chars().rev() {
        used += escaped_width(c);
        if used > budget {
            break;
        }
        kept.push(c);
    }
    let mut out = String::from(if max >= width(marker) { marker } else { "" });
    kept.iter().rev().for_each(|c| push_escaped(&mut out, *c));
    out
}

/// A link to `url` labelled with record text.
pub fn link(url: &str, label: &str) -> String {
    format!("<{}|{}>", escape(url), escape(label))
}

/// Already built mrkdwn cut to at most `max`, only where nothing is open: not inside an
/// entity or a link, and with an open code block closed again. The last guard behind every
/// block; the builders fit each piece first, so it rarely has to act.
pub fn fit(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    const FENCE: &str = "\n```";
    let reserve = ELLIPSIS.len_utf16() + if text.contains("```") { FENCE.len() } else { 0 };
    if max < reserve {
        return String::new();
    }
    let budget = max - reserve;
    let (mut used, mut safe_end) = (0, 0);
    let (mut in_entity, mut in_link) = (false, false);
    for (index, c) in text.char_indices() {
        if !in_entity && !in_link {
            safe_end = index;
        }
        used += c.len_utf16();
        if used > budget {
            break;
        }
        match c {
            '&' => in_entity = true,
            ';' => in_entity = false,
            '<' => in_link = true,
            '>' => in_link = false,
            _ => {}
        }
    }
    let mut out = text[..safe_end].to_owned();
    out.push(ELLIPSIS);
    if out.matches("```").count() % 2 == 1 {
        out.push_str(FENCE);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_the_three_control_characters() {
        assert_eq!(
            escape("a & b <c> \"d\" 'e' *f*\nx"),
            "a &amp; b &lt;c&gt; \"d\" 'e' *f*\nx"
        );
        assert_eq!(escape("<!channel>"), "&lt;!channel&gt;");
    }

    #[test]
    fn escape_within_never_cuts_an_entity_and_marks_the_cut() {
        let text = escape_within("ab&cd", 6);
        assert_eq!(text, "ab…");
        assert!(width(&text) <= 6);
        assert_eq!(escape_within("ab&cd", 9), "ab&amp;cd");
        for max in 0..20 {
            let text = escape_within("<<&&>>éé🚀🚀", max);
            assert!(width(&text) <= max, "{max}: {text}");
            assert!(!text.ends_with('&') && !text.contains("&a…") && !text.contains("&l…"));
        }
    }

    #[test]
    fn tail_keeps_the_end() {
        let text = escape_tail_within("line 1\nline 2\nline <3>", 16);
        assert_eq!(text, "…\nline &lt;3&gt;");
        assert!(width(&text) <= 16);
        assert_eq!(escape_tail_within("short", 16), "short");
    }

    #[test]
    fn widths_count_utf16_units() {
        assert_eq!(width("é"), 1);
        assert_eq!(width("🚀"), 2);
        assert_eq!(width(&escape("&")), 5);
    }

    #[test]
    fn fit_cuts_outside_links_and_entities_and_closes_code_blocks() {
        let text = format!("see {} &amp; more", link("https://example.com/a", "label"));
        for max in 0..width(&text) {
            let cut = fit(&text, max);
            assert!(width(&cut) <= max, "{max}: {cut}");
            assert_eq!(cut.matches('<').count(), cut.matches('>').count(), "{cut}");
            assert!(!cut.contains("&am…"), "{cut}");
        }
        let code = format!("log\n```{}```", "x".repeat(100));
        let cut = fit(&code, 40);
        assert!(width(&cut) <= 40);
        assert_eq!(cut.matches("```").count() % 2, 0, "{cut}");
        assert_eq!(fit("short", 10), "short");
    }
}
