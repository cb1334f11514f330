//! The step's inputs: the runner passes each `with:` value as an environment variable
//! `INPUT_<NAME>` (upper-cased, spaces to `_`, hyphens kept) and enforces nothing, not even
//! `required: true`. [`Inputs`] reads them through a lookup function and checks them the way
//! `@actions/core` does, with errors that name the input, the value and what is accepted.
//!
//! Lists: [`Inputs::lines`] splits on newlines only (like `getMultilineInput`, safe for values
//! that may contain commas); [`Inputs::list`] also splits on `,` and `;`, as Azure/k8s-deploy
//! splits its `manifests` input, so `manifests: a.yaml,b.yaml` works as users expect.

use std::time::Duration;

/// The environment variable that carries input `name`: `slack-webhook` → `INPUT_SLACK-WEBHOOK`.
pub fn input_variable(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// The values `getBooleanInput` accepts as true.
pub const TRUE_VALUES: [&str; 3] = ["true", "True", "TRUE"];
/// The values `getBooleanInput` accepts as false.
pub const FALSE_VALUES: [&str; 3] = ["false", "False", "FALSE"];

/// What is wrong with an input's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("a value is required")]
    Missing,
    #[error("{0:?} is not a boolean (use true | True | TRUE | false | False | FALSE)")]
    NotBoolean(String),
    /// What [`shiplog_engine::duration::parse`] said about the value.
    #[error("{0}")]
    BadDuration(String),
    #[error("{value:?} is not one of {}", allowed.join(", "))]
    NotAllowed { value: String, allowed: Vec<String> },
    #[error("{0:?} is not a deploy id (a positive whole number, as in the console's /deploys/ID)")]
    NotDeployId(String),
}

/// An input that is missing or malformed, e.g. ``input `timeout`: "5 minutes" is not a
/// duration (e.g. 300s, 5m, 1h)``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {problem}")]
pub struct InputError {
    /// The input's name as the workflow writes it (`slack-webhook`).
    pub input: String,
    pub problem: Problem,
}

/// The step's inputs, read through `lookup` (an environment variable's value by name).
pub struct Inputs<L> {
    lookup: L,
}

impl<L: Fn(&str) -> Option<String>> Inputs<L> {
    pub fn new(lookup: L) -> Self {
        Inputs { lookup }
    }

    fn error(name: &str, problem: Problem) -> InputError {
        InputError {
            input: name.to_owned(),
            problem,
        }
    }

    /// The trimmed value of `name`; `None` when it is unset or blank (the runner sets every
    /// declared input, to `""` when the workflow gives none).
    pub fn text(&self, name: &str) -> Option<String> {
        let value = (self.lookup)(&input_variable(name))?;
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The value of `name`, which must be given.
    pub fn required(&self, name: &str) -> Result<String, InputError> {
        self.text(name)
            .ok_or_else(|| Self::error(name, Problem::Missing))
    }

    /// A boolean as `getBooleanInput` reads it (YAML 1.2 core schema); `default` when blank.
    pub fn boolean(&self, name: &str, default: bool) -> Result<bool, InputError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) if TRUE_VALUES.contains(&v.as_str()) => Ok(true),
            Some(v) if FALSE_VALUES.contains(&v.as_str()) => Ok(false),
            Some(v) => Err(Self::error(name, Problem::NotBoolean(v))),
        }
    }

    /// A duration as [`shiplog_engine::duration::parse`] reads it; `default` when blank.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, InputError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => shiplog_engine::duration::parse(&v)
                .map_err(|e| Self::error(name, Problem::BadDuration(e))),
        }
    }

    /// One of `allowed` (compared exactly, as YAML values are); `default` when blank.
    pub fn choice<'a>(
        &self,
        name: &str,
        allowed: &[&'a str],
        default: &'a str,
    ) -> Result<&'a str, InputError> {
        let Some(value) = self.text(name) else {
            return Ok(default);
        };
        allowed
            .iter()
            .find(|a| **a == value)
            .copied()
            .ok_or_else(|| {
                let allowed = allowed.iter().map(|a| (*a).to_owned()).collect();
                Self::error(name, Problem::NotAllowed { value, allowed })
            })
    }

    /// One item per line: trimmed, blank lines dropped.
    /// A deploy's id (`redeploy: 42`); `None` when the input is not set.
    pub fn deploy_id(&self, name: &str) -> Result<Option<i64>, InputError> {
        let Some(value) = self.text(name) else {
            return Ok(None);
        };
        match value.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(InputError {
                input: name.into(),
                problem: Problem::NotDeployId(value),
            }),
        }
    }

    pub fn lines(&self, name: &str) -> Vec<String> {
        self.split(name, &['\n'])
    }

    /// Items separated by newlines, `,` or `;`: trimmed, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.split(name, &['\n', ',', ';'])
    }

    fn split(&self, name: &str, separators: &[char]) -> Vec<String> {
        self.text(name)
            .unwrap_or_default()
            .split(separators)
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> Inputs<impl Fn(&str) -> Option<String> + use<>> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Inputs::new(move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn variable_names_keep_hyphens_and_replace_spaces() {
        assert_eq!(input_variable("slack-webhook"), "INPUT_SLACK-WEBHOOK");
        assert_eq!(input_variable("dry run"), "INPUT_DRY_RUN");
    }

    #[test]
    fn text_is_trimmed_and_blank_is_absent() {
        let inputs = inputs(&[("INPUT_NAMESPACE", "  prod \n"), ("INPUT_APP", "   ")]);
        assert_eq!(inputs.text("namespace").as_deref(), Some("prod"));
        assert_eq!(inputs.text("app"), None);
        assert_eq!(inputs.required("namespace").unwrap(), "prod");
        assert_eq!(
            inputs.required("app").unwrap_err().to_string(),
            "input `app`: a value is required"
        );
    }

    #[test]
    fn booleans_are_exactly_the_yaml_core_schema() {
        let inputs = inputs(&[
            ("INPUT_A", "True"),
            ("INPUT_B", "FALSE"),
            ("INPUT_C", "yes"),
            ("INPUT_D", "tRue"),
        ]);
        assert_eq!(inputs.boolean("a", false), Ok(true));
        assert_eq!(inputs.boolean("b", true), Ok(false));
        assert_eq!(inputs.boolean("unset", true), Ok(true));
        assert_eq!(
            inputs.boolean("c", false).unwrap_err().to_string(),
            "input `c`: \"yes\" is not a boolean (use true | True | TRUE | false | False | FALSE)"
        );
        assert!(inputs.boolean("d", false).is_err());
    }

    #[test]
    fn durations_use_kubectl_syntax() {
        let inputs = inputs(&[("INPUT_TIMEOUT", "5 minutes"), ("INPUT_WAIT", "90s")]);
        assert_eq!(
            inputs.duration("wait", Duration::ZERO),
            Ok(Duration::from_secs(90))
        );
        assert_eq!(
            inputs.duration("unset", Duration::from_secs(300)),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            inputs
                .duration("timeout", Duration::ZERO)
                .unwrap_err()
                .to_string(),
            "input `timeout`: \"5 minutes\" is not a duration (e.g. 300s, 5m, 1h30m)"
        );
        let inputs = self::inputs(&[("INPUT_TIMEOUT", "600h")]);
        assert_eq!(
            inputs
                .duration("timeout", Duration::ZERO)
                .unwrap_err()
                .to_string(),
            "input `timeout`: \"600h\" is longer than the longest duration accepted, 24h"
        );
    }

    #[test]
    fn choices_are_exact_and_listed_when_wrong() {
        let inputs = inputs(&[("INPUT_STRATEGY", "canary"), ("INPUT_MODE", "Basic")]);
        let allowed = ["basic", "canary"];
        assert_eq!(inputs.choice("strategy", &allowed, "basic"), Ok("canary"));
        assert_eq!(inputs.choice("unset", &allowed, "basic"), Ok("basic"));
        assert_eq!(
            inputs
                .choice("mode", &allowed, "basic")
                .unwrap_err()
                .to_string(),
            "input `mode`: \"Basic\" is not one of basic, canary"
        );
    }

    #[test]
    fn lines_split_on_newlines_and_lists_also_on_commas() {
        let value = "k8s/a.yaml\r\n\n  k8s/b.yaml, k8s/c.yaml;k8s/d.yaml\n";
        let inputs = inputs(&[("INPUT_MANIFESTS", value)]);
        assert_eq!(
            inputs.lines("manifests"),
            ["k8s/a.yaml", "k8s/b.yaml, k8s/c.yaml;k8s/d.yaml"]
        );
        assert_eq!(
            inputs.list("manifests"),
            ["k8s/a.yaml", "k8s/b.yaml", "k8s/c.yaml", "k8s/d.yaml"]
        );
        assert!(inputs.lines("unset").is_empty());
    }
}
