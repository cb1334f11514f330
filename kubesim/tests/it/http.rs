//! The API at the HTTP level, where kubectl hides the details: watch resume and expiry,
//! bookmarks, `limit`/`continue`, injected 429s with `Retry-After`, dropped connections.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::harness::Sim;

fn config_map(name: &str, value: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}).to_string()
}

async fn apply(client: &Client, base: &str, name: &str, value: &str) -> Value {
    let response = client
        .patch(format!(
            "{base}/api/v1/namespaces/default/configmaps/{name}?fieldManager=test"
        ))
        .header("Content-Type", "application/apply-patch+yaml")
        .body(config_map(name, value))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Reads watch events until `count` have arrived.
async fn events(response: &mut reqwest::Response, count: usize) -> Vec<Value> {
    let mut buffer = Vec::new();
    let mut out = Vec::new();
    while out.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("a watch event in time")
            .unwrap()
            .expect("the watch stays open");
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            out.push(serde_json::from_slice(&line).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version() {
    let sim = Sim::start(&["--insecure-http"]);
    let client = Client::new();
    let first = apply(&client, &sim.url, "a", "1").await;
    apply(&client, &sim.url, "b", "1").await;
    apply(&client, &sim.url, "a", "2").await;

    let mut watch = client
        .get(format!(
            "{}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={}&allowWatchBookmarks=true",
            sim.url,
            rv(&first)
        ))
        .send()
        .await
        .unwrap();
    let seen = events(&mut watch, 2).await;
    assert_eq!(seen[0]["type"], "ADDED");
    assert_eq!(seen[0]["object"]["metadata"]["name"], "b");
    assert_eq!(seen[1]["type"], "MODIFIED");
    assert_eq!(seen[1]["object"]["data"]["v"], "2");

    client
        .delete(format!(
            "{}/api/v1/namespaces/default/configmaps/b",
            sim.url
        ))
        .send()
        .await
        .unwrap();
    let seen = events(&mut watch, 1).await;
    assert_eq!(
        (
            seen[0]["type"].as_str(),
            seen[0]["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("b"))
    );
}

#[tokio::test]
async fn list_pages_with_limit_and_continue() {
    let sim = Sim::start(&["--insecure-http"]);
    let client = Client::new();
    for name in ["a", "b", "c"] {
        apply(&client, &sim.url, name, "1").await;
    }
    let url = format!("{}/api/v1/namespaces/default/configmaps?limit=2", sim.url);
    let page: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["metadata"]["remainingItemCount"], 1);
    let token = page["metadata"]["continue"].as_str().unwrap();
    let next: Value = client
        .get(format!("{url}&continue={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["metadata"]["name"], "c");
    assert!(next["metadata"].get("continue").is_none());
}

#[tokio::test]
async fn injected_429_carries_retry_after() {
    let sim = Sim::start(&["--insecure-http", "--fault", "*:429:1"]);
    let response = Client::new()
        .get(format!("{}/api/v1/namespaces", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], "TooManyRequests");
}

#[tokio::test]
async fn injected_drops_cut_the_connection() {
    let sim = Sim::start(&["--insecure-http", "--fault", "GET:drop:1"]);
    let result = async {
        Client::new()
            .get(format!("{}/api/v1/namespaces", sim.url))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(result.is_err(), "{result:?}");
    assert!(sim.requests().iter().any(|r| r["dropped"] == true));
}

#[tokio::test]
async fn initial_events_end_with_a_bookmark() {
    let sim = Sim::start(&["--insecure-http"]);
    let client = Client::new();
    apply(&client, &sim.url, "a", "1").await;
    let mut watch = client
        .get(format!(
            "{}/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
            sim.url
        ))
        .send()
        .await
        .unwrap();
    let seen = events(&mut watch, 2).await;
    assert_eq!(seen[0]["type"], "ADDED");
    assert_eq!(seen[1]["type"], "BOOKMARK");
    assert_eq!(
        seen[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}
