//! `--token-file`: write tokens scoped to repositories, one per line as
//! `TOKEN-SHA256 REPO-GLOB…` (the SHA-256 of the token in hex, as `sha256sum` prints it, then
//! one or more `OWNER/NAME` globs). `#` starts a comment; blank lines are skipped. The file holds
//! no token, only digests, so it may be kept in a repository or a ConfigMap.

use std::path::Path;

use super::scope::RepoScope;
use super::secret::SecretDigest;

/// One line of a token file.
#[derive(Debug, Clone)]
pub struct ScopedToken {
    pub digest: SecretDigest,
    pub scope: RepoScope,
    /// `FILE:LINE`, naming the token in logs.
    pub origin: String,
}

/// Reads and checks a token file; an error names the file and the line.
pub fn read(path: &Path) -> Result<Vec<ScopedToken>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the token file {}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses a token file's text; `name` is what errors and origins call it.
pub fn parse(name: &str, text: &str) -> Result<Vec<ScopedToken>, String> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let origin = format!("{name}:{}", index + 1);
        let content = line.split_once('#').map_or(line, |(before, _)| before);
        let mut fields = content.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        let digest = SecretDigest::from_hex(first).ok_or_else(|| {
            format!(
                "{origin}: the first field must be the token's SHA-256 in hex (64 digits, as \
                 `printf %s \"$TOKEN\" | sha256sum` prints it)"
            )
        })?;
        let scope = RepoScope::parse(fields).map_err(|e| format!("{origin}: {e}"))?;
        if scope.is_empty() {
            return Err(format!(
                "{origin}: name the repositories this token may write after its digest \
                 (e.g. acme/*)"
            ));
        }
        if tokens
            .iter()
            .any(|t: &ScopedToken| t.digest.matches(&digest))
        {
            return Err(format!("{origin}: this token is already listed above"));
        }
        tokens.push(ScopedToken {
            digest,
            scope,
            origin,
        });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn lines_hold_a_digest_and_globs() {
        let text = format!(
            "# CI tokens\n\n{ABC} acme/* acme-labs/shop  # the shop\n   \n{} */infra\n",
            "0".repeat(64)
        );
        let tokens = parse("tokens.txt", &text).unwrap();
        assert_eq!(tokens.len(), 2);
        assert!(tokens[0].digest.matches(&SecretDigest::of("abc")));
        assert!(tokens[0].scope.allows("acme-labs/shop"));
        assert!(!tokens[0].scope.allows("acme-labs/x"));
        assert_eq!(tokens[0].origin, "tokens.txt:3");
        assert_eq!(tokens[1].origin, "tokens.txt:5");
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("abc acme/*", "tokens.txt:1: the first field must be"),
            (ABC, "tokens.txt:1: name the repositories"),
            (
                &format!("# x\n{ABC} acme") as &str,
                "tokens.txt:2: the repository pattern \"acme\"",
            ),
            (
                &format!("{ABC} a/b\n{ABC} c/d"),
                "tokens.txt:2: this token is already listed",
            ),
        ];
        for (text, expected) in cases {
            let error = parse("tokens.txt", text).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
