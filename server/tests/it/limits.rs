//! Records are bounded by construction, tried as a hostile writer would: every list a record
//! carries has a limit (422 naming the field beyond it), a record cannot grow past its size
//! limit by updates, and a body of the largest accepted size (1 MiB) cannot make any answer —
//! the environments, a history page, one deploy, a stream event — larger than 1 MiB.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use shiplog_model::environments::MAX_CELL_BYTES;
use shiplog_model::limits::{
    MAX_IMAGES, MAX_RECORD_BYTES, MAX_RESOURCES, MAX_SHORT_TEXT, MAX_WORKLOADS,
};
use shiplog_model::{DeployStatus, Failure, NewDeploy};
use shiplog_server::local::LocalServer;

use crate::common::*;

const MIB: usize = 1024 * 1024;

fn workloads(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"kind": "Deployment", "name": format!("workload-{i}")}))
        .collect()
}

/// The deploy of `new_deploy(app, namespace, run_id)` listing `n` workloads, images and
/// resources.
fn listing(app: &str, namespace: &str, run_id: i64, n: usize) -> Value {
    let mut body = new_deploy(app, namespace, run_id);
    body["workloads"] = workloads(n);
    body["images"] = (0..n)
        .map(|i| json!(format!("ghcr.io/acme/{i}:v1")))
        .collect();
    body["resources"] = (0..n)
        .map(|i| json!({"kind": "ConfigMap", "name": format!("cfg-{i}"), "action": "created"}))
        .collect();
    body
}

#[tokio::test]
async fn three_thousand_workloads_are_refused_naming_the_list() {
    let (state, _db) = fixture().await;
    let mut body = new_deploy("api", "prod", 1);
    body["workloads"] = workloads(3000);
    let text = body.to_string();
    assert!(
        text.len() > 100_000,
        "the POST of the review: {}",
        text.len()
    );
    let (status, answer) = send_raw(
        &state,
        Method::POST,
        "/api/v1/deploys",
        Some(WRITER),
        Some(Body::from(text)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(error["error"]["field"], "workloads", "{error}");
    assert_eq!(
        error["error"]["message"],
        "workloads: must have at most 500 entries (has 3000)"
    );
    assert!(answer.len() < 256, "the refusal echoes nothing");
    let (_, matrix) = get(&state, "/api/v1/environments").await;
    assert_eq!(matrix["cells"], json!([]), "nothing was recorded");
}

#[tokio::test]
async fn every_list_has_its_limit_on_create_and_on_update() {
    let (state, _db) = fixture().await;
    let at_limit = listing("api", "prod", 1, MAX_WORKLOADS);
    let id = create(&state, &at_limit).await;
    for (field, max) in [
        ("images", MAX_IMAGES),
        ("workloads", MAX_WORKLOADS),
        ("resources", MAX_RESOURCES),
    ] {
        let mut over = new_deploy("api", "prod", 2);
        over[field] = listing("api", "prod", 2, max + 1)[field].take();
        let (status, error) = post(&state, &over).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error["error"]["field"], field);

        let update = json!({ field: over[field] });
        let (status, error) = patch(&state, id, &update).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error["error"]["field"], field);
    }
    let details = vec![json!("line"); 101];
    let (status, error) = patch(
        &state,
        id,
        &json!({"status": "failed", "failure": {"reason": "no", "details": details}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "failure.details");
}

#[tokio::test]
async fn a_record_cannot_grow_past_its_size_by_updates() {
    let (state, _db) = fixture().await;
    // 500 workloads with long names: within every limit, most of the record's size.
    let mut body = new_deploy("api", "prod", 1);
    body["workloads"] = (0..MAX_WORKLOADS)
        .map(|i| json!({"kind": "Deployment", "name": format!("{i:0>900}")}))
        .collect();
    let id = create(&state, &body).await;
    let (_, before) = get(&state, &format!("/api/v1/deploys/{id}")).await;

    let resources: Value = (0..MAX_RESOURCES)
        .map(|i| json!({"kind": "ConfigMap", "name": format!("{i:0>200}"), "action": "created"}))
        .collect();
    let (status, error) = patch(
        &state,
        id,
        &json!({"status": "succeeded", "resources": resources}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "workloads", "the largest part");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(&MAX_RECORD_BYTES.to_string()), "{message}");
    let (_, after) = get(&state, &format!("/api/v1/deploys/{id}")).await;
    assert_eq!(after, before, "the refused update changed nothing");
}

#[tokio::test]
async fn the_environments_answer_does_not_grow_with_what_records_list() {
    let (state, _db) = fixture().await;
    let environments = |state| async move {
        let (status, bytes) =
            send_raw(state, Method::GET, "/api/v1/environments", None, None).await;
        assert_eq!(status, StatusCode::OK);
        bytes.len()
    };
    let mut small = listing("api", "prod", 1, 1);
    small["started_at"] = "2026-01-01T00:00:00Z".into();
    create(&state, &small).await;
    let one = environments(&state).await;

    let mut large = listing("api", "prod", 2, 500);
    large["started_at"] = "2026-01-02T00:00:00Z".into();
    let id = create(&state, &large).await;
    let five_hundred = environments(&state).await;
    let (_, matrix) = get(&state, "/api/v1/environments").await;
    let cell = &matrix["cells"][0];
    assert_eq!(cell["latest"]["id"], id, "{matrix}");
    assert_eq!(cell["latest"]["workloads"], 500);
    assert_eq!(cell["latest"]["resources"], 500);
    assert!(cell.get("workload").is_none(), "no cell per workload");
    assert_eq!(matrix["cells"].as_array().unwrap().len(), 1);
    // Only the counts' digits differ.
    assert!(five_hundred <= one + 4, "{one} → {five_hundred} bytes");
    assert!(five_hundred < 1024, "{five_hundred} bytes for one cell");
}

/// A record at every limit at once, made of the character JSON writes longest (`\u0001`, six
/// bytes): every short text at its limit, the environment left to default to the namespace, and
/// failure details up to the record's size. Its body, padded with spaces, is exactly 1 MiB.
fn largest_body(run_id: i64) -> String {
    let text = "\u{1}".repeat(MAX_SHORT_TEXT);
    let mut new: NewDeploy = serde_json::from_value(json!({
        "repo": text, "app": text, "namespace": text, "cluster": text, "version": text,
        "ref": text, "actor": text,
        "status": "failed",
        "started_at": "2026-01-01T00:00:00Z",
        "commit": {"sha": text, "message": "", "url": text},
        "run": {"id": run_id, "job": text, "url": text},
        "slack": {"channel": text, "ts": text, "permalink": text},
    }))
    .unwrap();
    new.failure = Some(Failure {
        reason: text.clone(),
        details: Vec::new(),
    });
    let line = "\u{1}".repeat(4096);
    while new.carried().bytes() + 6 * line.len() + 3 <= MAX_RECORD_BYTES {
        new.failure.as_mut().unwrap().details.push(line.clone());
    }
    assert_eq!(new.validate(), Ok(()));
    assert_eq!(new.status, DeployStatus::Failed);
    let mut body = serde_json::to_string(&new).unwrap();
    assert!(body.len() <= MIB, "{} bytes", body.len());
    body.extend(std::iter::repeat_n(' ', MIB - body.len()));
    body
}

/// The first SSE frame of `response`, as it came.
async fn first_frame(response: reqwest::Response) -> String {
    let mut body = response.bytes_stream();
    let mut buffer = Vec::new();
    loop {
        buffer.extend_from_slice(&body.next().await.expect("stream ended").unwrap());
        if let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            buffer.truncate(end + 2);
            return String::from_utf8(buffer).unwrap();
        }
    }
}

#[tokio::test]
async fn a_one_mebibyte_post_makes_no_answer_larger_than_one_mebibyte() {
    let db = TestDb::new().await;
    let tokens = writer_only();
    let server = LocalServer::start(db.store().await, tokens).await.unwrap();
    let client = reqwest::Client::new();
    let stream = client
        .get(format!("{}/api/v1/stream", server.base))
        .send()
        .await
        .unwrap();

    let body = largest_body(1);
    assert_eq!(body.len(), MIB);
    let created = client
        .post(format!("{}/api/v1/deploys", server.base))
        .bearer_auth(WRITER)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let event = first_frame(stream).await;
    assert!(event.starts_with("event: created"), "{}", &event[..40]);
    let mut sizes = vec![("stream event", event.len())];
    for (name, path) in [
        ("one deploy", format!("/api/v1/deploys/{id}")),
        ("history page", "/api/v1/deploys?limit=500".to_owned()),
        ("environments", "/api/v1/environments".to_owned()),
    ] {
        let answer = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{name}");
        sizes.push((name, answer.bytes().await.unwrap().len()));
    }
    for (name, size) in &sizes {
        assert!(*size <= MIB, "{name}: {size} bytes");
    }
    // Records as large as allowed, many of them: a history page still stays within 1 MiB, and
    // ends early with a cursor to the rest.
    for run_id in 2..=3 {
        let created = client
            .post(format!("{}/api/v1/deploys", server.base))
            .bearer_auth(WRITER)
            .header("content-type", "application/json")
            .body(largest_body(run_id))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let mut cursor = None::<String>;
    let mut seen = 0;
    loop {
        let mut url = format!("{}/api/v1/deploys?limit=500", server.base);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = client.get(url).send().await.unwrap().bytes().await.unwrap();
        assert!(page.len() <= MIB, "a history page of {} bytes", page.len());
        let page: Value = serde_json::from_slice(&page).unwrap();
        seen += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 3, "every record is reached through the cursors");

    let environments = sizes[3].1;
    assert!(environments <= MAX_CELL_BYTES, "{environments} bytes");
    assert!(
        sizes[1].1 > MAX_RECORD_BYTES,
        "the record is as large as allowed: {sizes:?}"
    );
    server.stop().await.unwrap();
}
