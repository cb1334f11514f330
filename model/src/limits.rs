//! How much one deploy record may carry, and the check that holds a record to it.
//!
//! Every text of a record has a maximum size, every list a maximum length, and the lists and the
//! commit message together a maximum serialised size ([`MAX_RECORD_BYTES`]). So one record, and
//! every answer made of records (one deploy, a history page, a stream event), is bounded by
//! these numbers rather than by what a writer chose to send. `NewDeploy::validate` and
//! `DeployUpdate::apply_to` call [`check_limits`]: a writer checks a payload before sending it
//! and the server refuses the same payloads (422, naming the field).
//!
//! Not for: deciding what a record leaves out to fit. Writers do (the Action keeps the most
//! telling entries and says how many it left out); [`cut`] is the one way to shorten a text.

use std::io;

use serde::Serialize;

use crate::deploy::{Deploy, Failure, ResourceChange, WorkloadRef};
use crate::error::FieldError;
use crate::ingest::NewDeploy;

/// Longest accepted short text field (names, refs, URLs, a failure's reason), in bytes.
pub const MAX_SHORT_TEXT: usize = 1024;
/// Longest accepted long text field (a commit message, a failure detail, a resource's message),
/// in bytes.
pub const MAX_LONG_TEXT: usize = 64 * 1024;
/// Most images a record may list.
pub const MAX_IMAGES: usize = 500;
/// Most workloads a record may list.
pub const MAX_WORKLOADS: usize = 500;
/// Most resources (per-object outcomes) a record may list.
pub const MAX_RESOURCES: usize = 500;
/// Most lines of detail a failure may carry.
pub const MAX_FAILURE_DETAILS: usize = 100;
/// Most bytes that a record's images, workloads, resources, failure and commit message may take
/// together, serialised as JSON.
pub const MAX_RECORD_BYTES: usize = 512 * 1024;
/// What a stored record takes at most as JSON, with its short texts at their limit: a
/// consequence of the limits above (checked by a test), not a check of its own.
pub const MAX_STORED_RECORD_BYTES: usize = 640 * 1024;

/// Most bytes of records one history page holds; the page ends early (with a cursor to the rest)
/// rather than exceed it, so that with its envelope it stays within 1 MiB. One record always
/// fits: a stored record is under 640 KiB.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024 - 1024;

/// The parts of a record whose size is up to the writer: what [`check_limits`] holds to the
/// limits. Borrowed from a `NewDeploy`, or from a `Deploy` as an update would leave it.
#[derive(Debug, Clone, Copy)]
pub struct Carried<'a> {
    pub commit_message: &'a str,
    pub images: &'a [String],
    pub workloads: &'a [WorkloadRef],
    pub resources: &'a [ResourceChange],
    pub failure: Option<&'a Failure>,
}

impl Carried<'_> {
    /// What each part takes serialised, by field name.
    pub fn sizes(&self) -> [(&'static str, usize); 5] {
        [
            ("commit.message", json_len(&self.commit_message)),
            ("images", json_len(&self.images)),
            ("workloads", json_len(&self.workloads)),
            ("resources", json_len(&self.resources)),
            ("failure", self.failure.map_or(0, json_len)),
        ]
    }

    /// What the parts take together, serialised (compare with [`MAX_RECORD_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.sizes().iter().map(|(_, size)| size).sum()
    }
}

/// What a record carries that [`check_limits`] bounds, for every shape of record.
macro_rules! carried {
    ($($record:ty),*) => {$(
        impl $record {
            /// What the record carries that [`check_limits`] bounds.
            pub fn carried(&self) -> Carried<'_> {
                Carried {
                    commit_message: &self.commit.message,
                    images: &self.images,
                    workloads: &self.workloads,
                    resources: &self.resources,
                    failure: self.failure.as_ref(),
                }
            }
        }
    )*};
}

carried!(Deploy, NewDeploy);

/// Checks the lengths of a record's lists, then the size of what it carries; an error names the
/// list that is too long, or the largest part of a record that is too big.
pub fn check_limits(carried: &Carried<'_>) -> Result<(), FieldError> {
    let details = carried.failure.map_or(0, |f| f.details.len());
    for (field, len, max) in [
        ("images", carried.images.len(), MAX_IMAGES),
        ("workloads", carried.workloads.len(), MAX_WORKLOADS),
        ("resources", carried.resources.len(), MAX_RESOURCES),
        ("failure.details", details, MAX_FAILURE_DETAILS),
    ] {
        if len > max {
            return Err(FieldError::new(
                field,
                format!("must have at most {max} entries (has {len})"),
            ));
        }
    }
    let sizes = carried.sizes();
    let total: usize = sizes.iter().map(|(_, size)| size).sum();
    if total > MAX_RECORD_BYTES {
        let (field, size) = sizes
            .into_iter()
            .max_by_key(|(_, size)| *size)
            .expect("five parts");
        return Err(FieldError::new(
            field,
            format!(
                "takes {size} bytes: a record's images, workloads, resources, failure and commit \
                 message may take {MAX_RECORD_BYTES} bytes together (these take {total})"
            ),
        ));
    }
    Ok(())
}

/// `text` if it fits in `max` bytes (at least 32), otherwise shortened to fit and saying so:
/// a text of several lines keeps as many whole first lines as fit and ends with
/// `… 812 more lines` on a line of its own; a single line, or one whose first line alone is too
/// long, keeps its longest prefix that ends on a character boundary, then `…`.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    if let Some(kept) = whole_lines_within(text, max) {
        return kept;
    }
    format!(
        "{}…",
        prefix_within(text, max.saturating_sub('…'.len_utf8()))
    )
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn prefix_within(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The first lines of `text` and a note counting the rest, within `max` bytes; `None` when
/// not even one line fits with the note.
fn whole_lines_within(text: &str, max: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let note = |left: usize| {
        let noun = if left == 1 { "line" } else { "lines" };
        format!("\n… {left} more {noun}")
    };
    let mut kept = 0;
    let mut size = 0;
    for (i, line) in lines.iter().enumerate() {
        let grown = size + usize::from(i > 0) + line.len();
        if grown + note(lines.len() - i - 1).len() > max {
            break;
        }
        kept = i + 1;
        size = grown;
    }
    (kept > 0).then(|| format!("{}{}", lines[..kept].join("\n"), note(lines.len() - kept)))
}

/// The length of `value` serialised as JSON, without building the text.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).expect("model types serialise");
    counter.0
}

struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::ResourceAction;

    fn carried<'a>(
        images: &'a [String],
        workloads: &'a [WorkloadRef],
        resources: &'a [ResourceChange],
        failure: Option<&'a Failure>,
    ) -> Carried<'a> {
        Carried {
            commit_message: "Ship it",
            images,
            workloads,
            resources,
            failure,
        }
    }

    fn workloads(n: usize) -> Vec<WorkloadRef> {
        (0..n)
            .map(|i| WorkloadRef {
                kind: "Deployment".into(),
                name: format!("w{i}"),
            })
            .collect()
    }

    #[test]
    fn each_list_has_a_length_named_in_the_error() {
        let at_limit = workloads(MAX_WORKLOADS);
        assert_eq!(check_limits(&carried(&[], &at_limit, &[], None)), Ok(()));
        let over = workloads(MAX_WORKLOADS + 1);
        let err = check_limits(&carried(&[], &over, &[], None)).unwrap_err();
        assert_eq!(err.field, "workloads");
        assert_eq!(err.message, "must have at most 500 entries (has 501)");

        let images = vec!["ghcr.io/acme/api:v1".to_owned(); MAX_IMAGES + 1];
        let err = check_limits(&carried(&images, &[], &[], None)).unwrap_err();
        assert_eq!(err.field, "images");

        let resource = ResourceChange {
            diff: None,
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "cfg".into(),
            namespace: None,
            action: ResourceAction::Unchanged,
            message: None,
        };
        let resources = vec![resource; MAX_RESOURCES + 1];
        let err = check_limits(&carried(&[], &[], &resources, None)).unwrap_err();
        assert_eq!(err.field, "resources");

        let failure = Failure {
            reason: "no".into(),
            details: vec!["line".into(); MAX_FAILURE_DETAILS + 1],
        };
        let err = check_limits(&carried(&[], &[], &[], Some(&failure))).unwrap_err();
        assert_eq!(err.field, "failure.details");
    }

    #[test]
    fn the_largest_part_is_named_when_the_whole_is_too_big() {
        // Each detail is within its own limit; together they are not.
        let failure = Failure {
            reason: "no".into(),
            details: vec!["x".repeat(MAX_LONG_TEXT); 9],
        };
        let few = workloads(3);
        let parts = carried(&[], &few, &[], Some(&failure));
        assert!(parts.bytes() > MAX_RECORD_BYTES);
        let err = check_limits(&parts).unwrap_err();
        assert_eq!(err.field, "failure");
        assert!(err.message.contains("524288"), "{}", err.message);

        let fits = Failure {
            reason: "no".into(),
            details: vec!["x".repeat(MAX_LONG_TEXT); 7],
        };
        assert_eq!(check_limits(&carried(&[], &few, &[], Some(&fits))), Ok(()));
    }

    #[test]
    fn a_record_at_every_limit_is_stored_in_less_than_its_bound() {
        // Every short text at its limit, in the character JSON writes longest (six bytes).
        let text = "\u{1}".repeat(MAX_SHORT_TEXT);
        let mut new: NewDeploy = serde_json::from_value(serde_json::json!({
            "repo": text, "app": text, "namespace": text, "cluster": text, "version": text,
            "ref": text, "actor": text, "status": "failed",
            "commit": {"sha": text, "url": text},
            "run": {"id": i64::MAX, "job": text, "url": text},
            "slack": {"channel": text, "ts": text, "permalink": text},
            "github_deployment": {"id": i64::MAX, "url": format!("https://{}", &text[8..])},
            "failure": {"reason": text},
        }))
        .unwrap();
        let detail = "\u{1}".repeat(1000);
        while new.carried().bytes() + json_len(&detail) < MAX_RECORD_BYTES {
            new.failure.as_mut().unwrap().details.push(detail.clone());
        }
        assert_eq!(new.validate(), Ok(()));
        let at = "2026-01-01T00:00:00.123456789Z".parse().unwrap();
        let stored = new.into_deploy(crate::DeployId(i64::MAX), at);
        let size = json_len(&stored);
        assert!(size <= MAX_STORED_RECORD_BYTES, "{size} bytes");
    }

    #[test]
    fn texts_are_cut_on_a_character_and_say_so() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdefgh", 6), "abc…");
        let cut_accents = cut(&"é".repeat(10), 8);
        assert_eq!(cut_accents, "éé…");
        assert!(cut_accents.len() <= 8);
    }

    #[test]
    fn texts_of_lines_keep_whole_lines_and_count_the_rest() {
        let log: String = (1..=1000).map(|n| format!("line {n}\n")).collect();
        let kept = cut(&log, 100);
        assert!(kept.len() <= 100, "{} bytes", kept.len());
        assert!(kept.starts_with("line 1\nline 2\n"), "{kept}");
        let (shown, note) = kept.rsplit_once('\n').unwrap();
        let left = 1001 - shown.lines().count();
        assert_eq!(
            note,
            format!("… {left} more lines"),
            "the empty last line counts too"
        );
        // A first line too long to keep whole is cut within it.
        let wide = format!("{}\nsecond", "x".repeat(200));
        assert_eq!(cut(&wide, 40), format!("{}…", "x".repeat(37)));
    }

    #[test]
    fn json_len_is_the_serialised_length() {
        let value = ("\u{1}é\"", vec![1, 2]);
        assert_eq!(json_len(&value), serde_json::to_vec(&value).unwrap().len());
    }
}
