//! The bodies of deliveries, built once when a delivery is enqueued and stored as they are sent,
//! so a retry sends the same bytes (and the same signature).
//!
//! - generic: `{"event": "deploy.started", "delivery": 7, "deploy": {…}}` with the facts of
//!   [`DeployFacts`], never a whole record (no lists, no commit message);
//! - grafana: an annotation for `POST /api/annotations`: `time` (the start, in ms), `timeEnd`
//!   (the end, `finished` only), `tags` and a one-line `text`.
//!
//! Every text a writer chose is cut to [`MAX_TEXT`] bytes, so a body stays under
//! [`MAX_PAYLOAD`] whatever was recorded (a test holds it to that with every text at its limit).

use chrono::{DateTime, Utc};
use serde::Serialize;
use shiplog_model::limits::cut;
use shiplog_model::{DeliveryEvent, Deploy, DeployId, DeployStatus};

use super::config::Format;

/// Longest text taken from a deploy into a payload, in bytes.
pub const MAX_TEXT: usize = 128;
/// Largest body, in bytes, with a public URL of at most 256 bytes.
pub const MAX_PAYLOAD: usize = 8 * 1024;

/// What a generic delivery says about the deploy.
#[derive(Debug, Serialize)]
pub struct DeployFacts {
    pub id: DeployId,
    pub repo: String,
    pub app: String,
    pub environment: String,
    pub namespace: String,
    pub status: DeployStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The full commit SHA.
    pub commit_sha: String,
    pub actor: String,
    pub started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The deploy's page in the console.
    pub url: String,
}

impl DeployFacts {
    pub fn of(deploy: &Deploy, public_url: &str) -> DeployFacts {
        let text = |t: &str| cut(t, MAX_TEXT);
        DeployFacts {
            id: deploy.id,
            repo: text(&deploy.repo),
            app: text(&deploy.app),
            environment: text(&deploy.environment),
            namespace: text(&deploy.namespace),
            status: deploy.status,
            version: deploy.version.as_deref().map(text),
            commit_sha: text(&deploy.commit.sha),
            actor: text(&deploy.actor),
            started_at: deploy.started_at,
            finished_at: deploy.finished_at,
            url: console_link(public_url, deploy.id),
        }
    }
}

#[derive(Serialize)]
struct Generic<'a> {
    event: &'static str,
    delivery: i64,
    deploy: &'a DeployFacts,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Annotation {
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_end: Option<i64>,
    tags: Vec<String>,
    text: String,
}

/// The body of delivery `delivery` of `event` for `deploy`, in `format`.
pub fn body(
    format: Format,
    event: DeliveryEvent,
    delivery: i64,
    deploy: &Deploy,
    public_url: &str,
) -> String {
    let facts = DeployFacts::of(deploy, public_url);
    let json = match format {
        Format::Generic => serde_json::to_string(&Generic {
            event: event.wire_name(),
            delivery,
            deploy: &facts,
        }),
        Format::Grafana => serde_json::to_string(&annotation(event, &facts, deploy)),
    };
    json.expect("payloads serialise")
}

fn annotation(event: DeliveryEvent, facts: &DeployFacts, deploy: &Deploy) -> Annotation {
    let label = facts
        .version
        .clone()
        .unwrap_or_else(|| cut(deploy.commit.short_sha(), MAX_TEXT));
    Annotation {
        time: facts.started_at.timestamp_millis(),
        time_end: match event {
            DeliveryEvent::Started => None,
            DeliveryEvent::Finished => facts.finished_at.map(|t| t.timestamp_millis()),
        },
        tags: vec![
            "shiplog".into(),
            format!("app:{}", facts.app),
            format!("namespace:{}", facts.namespace),
            format!("environment:{}", facts.environment),
            format!("status:{}", facts.status),
        ],
        text: format!(
            "{} {label} to {}: {} ({})",
            facts.app, facts.namespace, facts.status, facts.url
        ),
    }
}

/// The console page of deploy `id`.
pub fn console_link(public_url: &str, id: DeployId) -> String {
    format!("{}/deploys/{id}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn deploy(text: &str) -> Deploy {
        let new: shiplog_model::NewDeploy = serde_json::from_value(json!({
            "repo": format!("acme/{text}"),
            "app": text,
            "environment": text,
            "namespace": text,
            "version": text,
            "commit": {"sha": text, "message": "a long message\n".repeat(1000)},
            "actor": text,
            "run": {"id": 1, "job": "deploy"},
            "images": vec!["ghcr.io/acme/api:v1"; 100],
            "started_at": "2026-03-01T10:00:00Z",
        }))
        .unwrap();
        let mut deploy = new.into_deploy(DeployId(42), "2026-03-01T10:00:00Z".parse().unwrap());
        deploy.status = DeployStatus::Succeeded;
        deploy.finished_at = Some("2026-03-01T10:02:00Z".parse().unwrap());
        deploy
    }

    #[test]
    fn generic_carries_the_facts_and_no_lists() {
        let body = body(
            Format::Generic,
            DeliveryEvent::Finished,
            7,
            &deploy("api"),
            "https://shiplog.test/",
        );
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "event": "deploy.finished",
                "delivery": 7,
                "deploy": {
                    "id": 42, "repo": "acme/api", "app": "api", "environment": "api",
                    "namespace": "api", "status": "succeeded", "version": "api",
                    "commit_sha": "api", "actor": "api",
                    "started_at": "2026-03-01T10:00:00Z", "finished_at": "2026-03-01T10:02:00Z",
                    "url": "https://shiplog.test/deploys/42",
                },
            })
        );
    }

    #[test]
    fn grafana_is_an_annotation() {
        let deploy = deploy("api");
        let started = body(
            Format::Grafana,
            DeliveryEvent::Started,
            1,
            &deploy,
            "https://s",
        );
        let finished = body(
            Format::Grafana,
            DeliveryEvent::Finished,
            2,
            &deploy,
            "https://s",
        );
        let start_ms = deploy.started_at.timestamp_millis();
        let value: Value = serde_json::from_str(&finished).unwrap();
        assert_eq!(
            value,
            json!({
                "time": start_ms,
                "timeEnd": start_ms + 120_000,
                "tags": ["shiplog", "app:api", "namespace:api", "environment:api", "status:succeeded"],
                "text": "api api to api: succeeded (https://s/deploys/42)",
            })
        );
        let value: Value = serde_json::from_str(&started).unwrap();
        assert!(value.get("timeEnd").is_none(), "{value}");
    }

    /// Every text at the longest a record allows, made of a character JSON escapes as
    /// `\u00XX` (six bytes for one).
    #[test]
    fn payloads_are_bounded_whatever_the_record_holds() {
        let worst = "\u{1}".repeat(shiplog_model::limits::MAX_SHORT_TEXT);
        let deploy = deploy(&worst);
        let public_url = format!("https://{}", "h".repeat(248));
        for format in [Format::Generic, Format::Grafana] {
            for event in DeliveryEvent::ALL {
                let body = body(format, event, i64::MAX, &deploy, &public_url);
                assert!(
                    body.len() <= MAX_PAYLOAD,
                    "{format:?}: {} bytes",
                    body.len()
                );
            }
        }
    }
}
