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

/// `text` as log lines the runner will not read as workflow commands: untrusted text (container
/// logs, event messages, commit messages) could otherwise hold `::add-mask::` or `::error::`
/// lines. Text without `::` is returned as is; otherwise it is framed by
/// `::stop-commands::{token}` and `::{token}::`, with `token` random and not in the text.
pub fn inert(text: &str, token: &str) -> Vec<String> {
    if !text.contains("::") {
        return vec![text.to_owned()];
    }
    debug_assert!(
        !text.contains(token),
        "the token must not occur in the text"
    );
    vec![
        format!("::stop-commands::{token}"),
        text.to_owned(),
        format!("::{token}::"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_issue_commands() {
        assert_eq!(inert("plain log line", "t0k"), ["plain log line"]);
        assert_eq!(
            inert("pod log\n::add-mask::x\n::error::injected", "t0k"),
            [
                "::stop-commands::t0k",
                "pod log\n::add-mask::x\n::error::injected",
                "::t0k::"
            ]
        );
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
