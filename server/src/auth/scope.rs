//! Which repositories a credential may write: a list of `OWNER/NAME` globs (`acme/*`,
//! `acme/shop`, `*/infra`). `*` and `?` never cross the `/`, and matching ignores ASCII case, as
//! GitHub's repository names do.

use glob::{MatchOptions, Pattern};

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: false,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// One `OWNER/NAME` glob.
#[derive(Debug, Clone)]
pub struct RepoPattern {
    text: String,
    pattern: Pattern,
}

impl RepoPattern {
    pub fn parse(text: &str) -> Result<RepoPattern, String> {
        let shaped = text.split_once('/').is_some_and(|(owner, name)| {
            !owner.is_empty() && !name.is_empty() && !name.contains('/')
        });
        if !shaped {
            return Err(format!(
                "the repository pattern {text:?} is not OWNER/NAME (globs allowed, e.g. acme/*)"
            ));
        }
        let pattern = Pattern::new(text)
            .map_err(|e| format!("the repository pattern {text:?} is not a glob: {e}"))?;
        Ok(RepoPattern {
            text: text.to_owned(),
            pattern,
        })
    }

    pub fn matches(&self, repo: &str) -> bool {
        self.pattern.matches_with(repo, OPTIONS)
    }
}

/// The repositories a credential may write: any of its patterns.
#[derive(Debug, Clone)]
pub struct RepoScope(Vec<RepoPattern>);

impl RepoScope {
    pub fn new(patterns: Vec<RepoPattern>) -> RepoScope {
        RepoScope(patterns)
    }

    pub fn parse<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<RepoScope, String> {
        patterns
            .into_iter()
            .map(RepoPattern::parse)
            .collect::<Result<_, _>>()
            .map(RepoScope)
    }

    pub fn allows(&self, repo: &str) -> bool {
        self.0.iter().any(|p| p.matches(repo))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for RepoScope {
    /// `acme/*, acme-labs/shop`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<&str> = self.0.iter().map(|p| p.text.as_str()).collect();
        f.write_str(&texts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_stay_within_owner_and_name() {
        let scope = RepoScope::parse(["acme/*", "*/infra", "solo/sh?p"]).unwrap();
        assert!(scope.allows("acme/shop"));
        assert!(scope.allows("ACME/Shop"), "GitHub's names ignore case");
        assert!(scope.allows("evil/infra"));
        assert!(scope.allows("solo/shop"));
        assert!(!scope.allows("acme"));
        assert!(!scope.allows("acme-evil/shop"));
        assert!(!scope.allows("evil/acme/shop"));
        assert!(!scope.allows("evil/x"));
        assert_eq!(scope.to_string(), "acme/*, */infra, solo/sh?p");
    }

    #[test]
    fn patterns_must_name_owner_and_repository() {
        for bad in ["*", "acme", "acme/", "/shop", "a/b/c", "acme/[x"] {
            let error = RepoPattern::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }
}
