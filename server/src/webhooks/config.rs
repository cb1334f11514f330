//! The webhook file (`--webhooks FILE`): which receivers hear about deploys, in which format,
//! with which secret. Read once at start-up; a bad file stops the server with an error naming
//! the file, the entry and the field.
//!
//! ```yaml
//! webhooks:
//!   - name: deploy-log            # unique; a-z, 0-9 and '-', at most 64
//!     url: https://hooks.example/shiplog
//!     secret_file: /run/secrets/deploy-log   # the HMAC key (generic format: required)
//!     events: [started, finished]            # default: both
//!     namespaces: [prod]                     # default: every namespace
//!     apps: [api, worker]                    # default: every app
//!   - name: grafana
//!     url: https://grafana.example/api/annotations
//!     format: grafana
//!     token_file: /run/secrets/grafana-token # sent as `Authorization: Bearer …`
//! ```
//!
//! Relative `secret_file` and `token_file` paths are relative to the webhook file's directory.
//! Secrets and tokens are read here and never shown: [`Secret`]'s `Debug` prints `***`, and a
//! webhook's `Debug` shows its URL's origin only (a URL's path or query may hold a key too).
//! Not for sending anything: see [`super::worker`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shiplog_model::{DeliveryEvent, Deploy};

/// Most webhooks one file may configure: every deploy event writes one row per webhook, in
/// the transaction of the deploy write.
pub const MAX_WEBHOOKS: usize = 20;
/// Longest webhook name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest secret or token file, in bytes.
const MAX_SECRET_FILE: u64 = 4096;

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// shiplog's own JSON, signed with HMAC-SHA256 (`X-Shiplog-Signature`).
    #[default]
    Generic,
    /// A Grafana annotation (`POST /api/annotations`).
    Grafana,
}

/// Key material read from a file: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Secret {
        Secret(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One configured receiver.
#[derive(Clone)]
pub struct Webhook {
    pub name: String,
    pub url: reqwest::Url,
    pub format: Format,
    /// The HMAC key (generic format).
    pub secret: Option<Secret>,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// The events it hears about, each once.
    pub events: Vec<DeliveryEvent>,
    /// Only deploys to these namespaces; empty: all.
    pub namespaces: Vec<String>,
    /// Only deploys of these apps; empty: all.
    pub apps: Vec<String>,
}

impl Webhook {
    /// Whether this webhook hears about `event` of `deploy`.
    pub fn wants(&self, event: DeliveryEvent, deploy: &Deploy) -> bool {
        self.events.contains(&event)
            && (self.namespaces.is_empty() || self.namespaces.contains(&deploy.namespace))
            && (self.apps.is_empty() || self.apps.contains(&deploy.app))
    }
}

/// Shows the URL's origin only, and no secret.
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &self.url.origin().ascii_serialization())
            .field("format", &self.format)
            .field("secret", &self.secret)
            .field("token", &self.token)
            .field("events", &self.events)
            .field("namespaces", &self.namespaces)
            .field("apps", &self.apps)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    webhooks: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    url: String,
    #[serde(default)]
    format: Format,
    secret_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
    events: Option<Vec<DeliveryEvent>>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

/// Reads and checks the webhook file at `path`, and the secret and token files it names.
pub fn read(path: &Path) -> Result<Vec<Webhook>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the webhook file {}: {e}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&path.display().to_string(), &text, base)
}

/// Parses a webhook file's text; `name` is what errors call it, `base` the directory relative
/// secret and token paths start from.
pub fn parse(name: &str, text: &str, base: &Path) -> Result<Vec<Webhook>, String> {
    let file: File = serde_norway::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    if file.webhooks.len() > MAX_WEBHOOKS {
        return Err(format!(
            "{name}: webhooks: {} entries; at most {MAX_WEBHOOKS} are allowed",
            file.webhooks.len()
        ));
    }
    let mut hooks: Vec<Webhook> = Vec::with_capacity(file.webhooks.len());
    for (index, entry) in file.webhooks.into_iter().enumerate() {
        let at = format!("{name}: webhooks[{index}]");
        let hook = check(entry, base).map_err(|(field, e)| format!("{at}: {field}: {e}"))?;
        if hooks.iter().any(|h| h.name == hook.name) {
            return Err(format!(
                "{at}: name: {:?} is already the name of an entry above",
                hook.name
            ));
        }
        hooks.push(hook);
    }
    Ok(hooks)
}

/// One entry, checked; an error names the field.
fn check(entry: Entry, base: &Path) -> Result<Webhook, (&'static str, String)> {
    let name = entry.name;
    let name_ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err((
            "name",
            format!("{name:?} must be 1 to {MAX_NAME} characters of a-z, 0-9 and '-'"),
        ));
    }
    let url = reqwest::Url::parse(&entry.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or(("url", "must be an http:// or https:// URL".to_owned()))?;
    let secret = match (entry.format, entry.secret_file) {
        (Format::Generic, None) => {
            return Err((
                "secret_file",
                "is required for the generic format: it names the file holding the key \
                 deliveries are signed with"
                    .into(),
            ));
        }
        (Format::Generic, Some(path)) => {
            Some(read_secret(base, &path).map_err(|e| ("secret_file", e))?)
        }
        (Format::Grafana, Some(_)) => {
            return Err((
                "secret_file",
                "Grafana does not check signatures: give its service-account token as \
                 token_file instead"
                    .into(),
            ));
        }
        (Format::Grafana, None) => None,
    };
    let token = entry
        .token_file
        .map(|path| read_secret(base, &path))
        .transpose()
        .map_err(|e| ("token_file", e))?;
    let mut events = Vec::new();
    for event in entry.events.unwrap_or_else(|| DeliveryEvent::ALL.to_vec()) {
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err((
            "events",
            "lists no event: name started, finished or both, or leave it out for both".into(),
        ));
    }
    for (field, names) in [("namespaces", &entry.namespaces), ("apps", &entry.apps)] {
        if names.iter().any(String::is_empty) {
            return Err((field, "has an empty name".into()));
        }
    }
    Ok(Webhook {
        name,
        url,
        format: entry.format,
        secret,
        token,
        events,
        namespaces: entry.namespaces,
        apps: entry.apps,
    })
}

/// The content of a secret or token file, without its trailing line break.
fn read_secret(base: &Path, path: &Path) -> Result<Secret, String> {
    let path = base.join(path);
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_SECRET_FILE + 1),
        &mut bytes,
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{} is longer than {MAX_SECRET_FILE} bytes",
            path.display()
        ));
    }
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_secrets() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("token"), "glsa_token").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        dir
    }

    fn parse_in(dir: &tempfile::TempDir, text: &str) -> Result<Vec<Webhook>, String> {
        parse("hooks.yaml", text, dir.path())
    }

    #[test]
    fn entries_take_defaults_and_relative_secret_files() {
        let dir = dir_with_secrets();
        let hooks = parse_in(
            &dir,
            "webhooks:\n\
             - name: deploy-log\n  url: https://hooks.example/x?key=k\n  secret_file: secret\n\
             - name: grafana\n  url: http://grafana:3000/api/annotations\n  format: grafana\n  \
               token_file: token\n  events: [finished]\n  namespaces: [prod]\n",
        )
        .unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0].format, Format::Generic);
        assert_eq!(hooks[0].secret, Some(Secret::new("s3cret")));
        assert_eq!(hooks[0].events, DeliveryEvent::ALL);
        assert_eq!(hooks[1].format, Format::Grafana);
        assert_eq!(hooks[1].token, Some(Secret::new("glsa_token")));
        assert_eq!(hooks[1].events, [DeliveryEvent::Finished]);
        assert_eq!(hooks[1].namespaces, ["prod"]);
        let shown = format!("{hooks:?}");
        for hidden in ["s3cret", "glsa_token", "key=k", "/x"] {
            assert!(!shown.contains(hidden), "{hidden} in {shown}");
        }
        assert!(parse_in(&dir, "webhooks: []\n").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_named_by_file_index_and_field() {
        let dir = dir_with_secrets();
        let entry =
            |rest: &str| format!("webhooks:\n- name: ok\n  url: https://h.example/\n{rest}");
        for (text, expected) in [
            (
                "webhooks:\n- name: Bad_Name\n  url: https://h/\n  secret_file: secret\n".into(),
                "hooks.yaml: webhooks[0]: name: ",
            ),
            (
                "webhooks:\n- name: a\n  url: ftp://h/\n  secret_file: secret\n".into(),
                "hooks.yaml: webhooks[0]: url: must be an http",
            ),
            (
                entry(""),
                "hooks.yaml: webhooks[0]: secret_file: is required",
            ),
            (
                entry("  secret_file: missing\n"),
                "hooks.yaml: webhooks[0]: secret_file: ",
            ),
            (
                entry("  secret_file: empty\n"),
                "hooks.yaml: webhooks[0]: secret_file: ",
            ),
            (
                entry("  format: grafana\n  secret_file: secret\n"),
                "hooks.yaml: webhooks[0]: secret_file: Grafana",
            ),
            (
                entry("  secret_file: secret\n  events: []\n"),
                "hooks.yaml: webhooks[0]: events: lists no event",
            ),
            (
                format!(
                    "{}- name: ok\n  url: https://h/\n  secret_file: secret\n",
                    entry("  secret_file: secret\n")
                ),
                "hooks.yaml: webhooks[1]: name: \"ok\" is already",
            ),
        ] {
            let error = parse_in(&dir, &text).unwrap_err();
            assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
        }
        for (text, mentions) in [
            (entry("  secret_file: secret\n  events: [begun]\n"), "begun"),
            (entry("  secret_file: secret\n  secret: inline\n"), "secret"),
            (entry("  secret_file: secret\n  format: slack\n"), "slack"),
        ] {
            let error = parse_in(&dir, &text).unwrap_err();
            assert!(
                error.starts_with("hooks.yaml: ") && error.contains(mentions),
                "{error}"
            );
        }
        let error = parse_in(
            &dir,
            "webhooks:\n- name: a\n  url: https://h/\n  secret_file: missing\n",
        )
        .unwrap_err();
        assert!(error.contains("missing"), "{error}");
    }
}
