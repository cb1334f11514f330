//! The binary's own flags: `--version`, and `--log-format json` giving one JSON object per
//! stderr line, fatal errors included.

use serde_json::Value;
use tokio::process::Command;

use crate::binary::{BINARY, start_with};
use crate::common::*;

#[tokio::test]
async fn version_prints_the_crate_version() {
    let output = Command::new(BINARY)
        .arg("--version")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("shiplog-server {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `line` as a JSON log event: an object with a level and a message among its fields.
fn event(line: &str) -> Value {
    let event: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert!(
        ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
            .contains(&event["level"].as_str().unwrap_or("")),
        "no level: {line}"
    );
    assert!(event["fields"]["message"].is_string(), "no message: {line}");
    event
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let db = TestDb::new().await;
    let mut server = start_with(BINARY, &db.url, &["--log-format", "json"]).await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/deploys", server.base))
        .bearer_auth(WRITER)
        .json(&new_deploy("api", "prod", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    server.signal("TERM");
    assert!(server.child.wait().await.unwrap().success());
    let mut events = Vec::new();
    while let Some(line) = server.logs.recv().await {
        events.push(event(&line));
    }
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["fields"]["message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"database ready"), "{messages:?}");
    assert!(messages.contains(&"stopped"), "{messages:?}");
    let ready = &events[messages
        .iter()
        .position(|m| *m == "database ready")
        .unwrap()];
    assert_eq!(ready["level"], "INFO");
    assert_eq!(
        ready["fields"]["database"],
        shiplog_server::config::redact_url(&db.url)
    );

    // A server that cannot start says why in JSON too.
    let output = Command::new(BINARY)
        .args(["--log-format", "json", "--database", "mysql://db/shiplog"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = event(stderr.lines().last().unwrap_or_default());
    assert_eq!(last["level"], "ERROR");
    let message = last["fields"]["message"].as_str().unwrap();
    assert!(message.contains("must start with sqlite:"), "{message}");
    for line in stderr.lines() {
        event(line);
    }
}
