//! Workflow commands: lines printed on stdout that the runner acts on (`::add-mask::`,
//! `::error …::`, `::group::`). Each function returns the lines to print, escaped exactly as
//! `@actions/core` escapes them, so that record text can never end a command early or start
//! another one.

/// Escapes a command's message: `%`, `\r` and `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as [`escape_data`], and `:` and `,` which end a value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::name key=value,…::message`; properties without a value are left out.
fn command(name: &str, properties: &[(&str, Option<String>)], message: &str) -> String {
    let properties: Vec<String> = properties
        .iter()
        .filter_map(|(key, value)| Some(format!("{key}={}", escape_property(value.as_ref()?))))
        .collect();
    let separator = if properties.is_empty() { "" } else { " " };
    format!(
        "::{name}{separator}{}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// The commands that mask `secret` in the rest of the job's log.
///
/// The runner masks a value where it occurs within one log line, so a multi-line secret (a
/// PEM key, a kubeconfig) is masked line by line: every distinct non-blank line, trimmed.
/// A blank secret needs no mask.
pub fn add_mask(secret: &str) -> Vec<String> {
    let mut parts: Vec<&str> = Vec::new();
    if secret.contains(['\n', '\r']) {
        for line in secret.split(['\n', '\r']).map(str::trim) {
            if !line.is_empty() && !parts.contains(&line) {
                parts.push(line);
            }
        }
    } else if !secret.trim().is_empty() {
        parts.push(secret);
    }
    parts
        .into_iter()
        .map(|part| command("add-mask", &[], part))
        .collect()
}

/// How serious an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    /// The command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// An annotation on the run, optionally on a file's line (then shown in the diff too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotation<'a> {
    pub title: Option<&'a str>,
    /// A path relative to the repository root.
    pub file: Option<&'a str>,
    /// The first line, 1-based.
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    /// The column, 1-based; GitHub ignores it when `end_line` differs from `line`.
    pub col: Option<u32>,
    pub message: &'a str,
}

/// The annotation command, properties in `@actions/core`'s order (title, file, line,
/// endLine, col).
pub fn annotation(level: Level, annotation: &Annotation<'_>) -> String {
    let number = |n: Option<u32>| n.map(|n| n.to_string());
    command(
        level.as_str(),
        &[
            ("title", annotation.title.map(str::to_owned)),
            ("file", annotation.file.map(str::to_owned)),
            ("line", number(annotation.line)),
            ("endLine", number(annotation.end_line)),
            ("col", number(annotation.col)),
        ],
        annotation.message,
    )
}

/// Starts a foldable group of log lines.
pub fn group(name: &str) -> String {
    command("group", &[], name)
}

/// Ends the group [`group`] started.
pub fn end_group() -> String {
    command("endgroup", &[], "")
}

/// The longest line of untrusted text printed to the step log, in bytes: a longer one is cut
/// on a character boundary and says how many bytes it lost.
pub const MAX_LOG_LINE: usize = 4096;

/// Tokens tried before [`inert`] gives up on framing a text and defuses it instead: a random
/// token of 128 bits is in the text by chance never, so only a broken source of tokens gets
/// there.
const TOKEN_TRIES: usize = 8;

/// Whether the runner could read a line of `text` as a workflow command: the current form
/// starts a line with `::` (after white space, which the runner trims), the legacy form
/// `##[name …]` is honoured anywhere in a line.
fn could_command(text: &str) -> bool {
    text.contains("::") || text.contains("##[")
}

/// `text` (container logs, event messages, object names: anything a cluster or a manifest
/// wrote) as log lines the runner will neither act on nor let steer the terminal:
///
/// - every control character but the tab is shown as its Unicode control picture (`␛` for
///   ESC, so no ANSI sequence can colour, hide or rewrite a line; `␍` for a carriage
///   return), C1 controls and bidirectional overrides as `�`;
/// - each line is cut at [`MAX_LOG_LINE`] bytes, saying so;
/// - text that could hold a workflow command ([`could_command`]) is framed by
///   `::stop-commands::{token}` and `::{token}::`, with a token from `token` checked not to
///   occur in the text (should none of [`TOKEN_TRIES`] tokens do, every `::` and `##[` is
///   broken with a zero-width space instead).
pub fn inert(text: &str, mut token: impl FnMut() -> String) -> Vec<String> {
    let shown = text
        .split('\n')
        .map(|line| fit_line(&printable(line)))
        .collect::<Vec<_>>()
        .join("\n");
    if !could_command(&shown) {
        return vec![shown];
    }
    let fresh = (0..TOKEN_TRIES)
        .map(|_| token())
        .find(|t| !t.is_empty() && !shown.contains(t.as_str()));
    match fresh {
        Some(token) => vec![
            format!("::stop-commands::{token}"),
            shown,
            format!("::{token}::"),
        ],
        None => vec![
            shown
                .replace("::", ":\u{200b}:")
                .replace("##[", "##\u{200b}["),
        ],
    }
}

/// `line` with every character a terminal or the log viewer would act on made visible.
fn printable(line: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !line.chars().any(acts) {
        return line.into();
    }
    line.chars()
        .map(|c| match c {
            '\t' => c,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            c if acts(c) => '\u{fffd}',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// `line` cut at [`MAX_LOG_LINE`] bytes on a character boundary, saying how much was cut.
fn fit_line(line: &str) -> String {
    if line.len() <= MAX_LOG_LINE {
        return line.to_owned();
    }
    let kept = shiplog_model::limits::prefix_within(line, MAX_LOG_LINE);
    format!("{kept} … ({} more bytes)", line.len() - kept.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens from a list, as a source of random ones would hand them out.
    fn tokens<'a>(list: &'a [&'a str]) -> impl FnMut() -> String + 'a {
        let mut next = list.iter().cycle();
        move || next.next().unwrap().to_string()
    }

    #[test]
    fn untrusted_text_cannot_issue_commands() {
        assert_eq!(
            inert("plain log line", tokens(&["t0k"])),
            ["plain log line"]
        );
        assert_eq!(
            inert(
                "pod log\n::add-mask::x\n::error::injected",
                tokens(&["t0k"])
            ),
            [
                "::stop-commands::t0k",
                "pod log\n::add-mask::x\n::error::injected",
                "::t0k::"
            ]
        );
        // The legacy form is honoured anywhere in a line, with no `::` in sight.
        assert_eq!(
            inert(
                "level=info ##[set-output name=status;]succeeded",
                tokens(&["t0k"])
            )[0],
            "::stop-commands::t0k"
        );
    }

    #[test]
    fn a_token_found_in_the_text_is_never_used() {
        let text = "::t0k::\n::add-mask::x";
        assert_eq!(
            inert(text, tokens(&["t0k", "", "fr3sh"])),
            ["::stop-commands::fr3sh", text, "::fr3sh::"]
        );
        // A source that only ever hands out tokens in the text: the commands are broken instead.
        let defused = inert(text, tokens(&["t0k"]));
        assert_eq!(defused.len(), 1);
        assert!(!defused[0].contains("::") && !defused[0].contains("##["));
        assert_eq!(defused[0].replace('\u{200b}', ""), text);
    }

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let text = "\u{1b}[8mhidden\u{1b}[0m\tok\rover\u{7f}\u{9b}2J\u{202e}txt";
        assert_eq!(
            inert(text, tokens(&["t0k"])),
            ["␛[8mhidden␛[0m\tok␍over␡\u{fffd}2J\u{fffd}txt"]
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let line = format!("{}é{}", "a".repeat(MAX_LOG_LINE - 1), "b".repeat(9_000));
        let shown = inert(&format!("{line}\nnext"), tokens(&["t0k"]));
        let (first, second) = shown[0].split_once('\n').unwrap();
        assert_eq!(
            first,
            format!("{} … (9002 more bytes)", "a".repeat(MAX_LOG_LINE - 1))
        );
        assert_eq!(second, "next");
    }

    #[test]
    fn escaping_matches_actions_core() {
        assert_eq!(escape_data("100%\r\ndone: a,b"), "100%25%0D%0Adone: a,b");
        assert_eq!(
            escape_property("k8s/a.yaml: line 3, col 1\n%"),
            "k8s/a.yaml%3A line 3%2C col 1%0A%25"
        );
    }

    #[test]
    fn single_line_secrets_are_masked_whole_and_multi_line_ones_line_by_line() {
        assert_eq!(add_mask("s3cr%t"), ["::add-mask::s3cr%25t"]);
        assert_eq!(
            add_mask("-----BEGIN KEY-----\r\n  abc \n\nabc\n-----END KEY-----\n"),
            [
                "::add-mask::-----BEGIN KEY-----",
                "::add-mask::abc",
                "::add-mask::-----END KEY-----",
            ]
        );
        assert!(add_mask("").is_empty());
        assert!(add_mask(" \n \n").is_empty());
    }

    #[test]
    fn annotations_carry_escaped_properties_in_order() {
        let located = Annotation {
            title: Some("Invalid: Service, name"),
            file: Some("k8s/svc.yaml"),
            line: Some(3),
            end_line: Some(5),
            col: None,
            message: "metadata.name: \"a.b\"\nmust be a DNS-1035 label",
        };
        assert_eq!(
            annotation(Level::Error, &located),
            "::error title=Invalid%3A Service%2C name,file=k8s/svc.yaml,line=3,endLine=5::metadata.name: \"a.b\"%0Amust be a DNS-1035 label"
        );
        let bare = Annotation {
            message: "rolled back",
            ..Annotation::default()
        };
        assert_eq!(annotation(Level::Notice, &bare), "::notice::rolled back");
        assert_eq!(annotation(Level::Warning, &bare), "::warning::rolled back");
    }

    #[test]
    fn groups_open_and_close() {
        assert_eq!(
            group("Apply\n(12 objects)"),
            "::group::Apply%0A(12 objects)"
        );
        assert_eq!(end_group(), "::endgroup::");
    }
}
