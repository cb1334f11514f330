//! The live event stream, read over a real socket as a browser's EventSource would.

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use shiplog_server::auth::Tokens;
use shiplog_server::local::LocalServer;

use crate::common::*;

/// Reads SSE frames from `response` until `count` events have arrived.
async fn read_events(response: reqwest::Response, count: usize) -> Vec<(String, Value)> {
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = body.next().await.expect("stream ended early").unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_owned)
            };
            if let (Some(event), Some(data)) = (field("event: "), field("data: ")) {
                events.push((event, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn created_and_updated_deploys_are_streamed() {
    let db = TestDb::new().await;
    let tokens = Tokens {
        write: vec![WRITER.into()],
        read: None,
    };
    let server = LocalServer::start(db.store().await, tokens).await.unwrap();
    let state = server.state.clone();

    let response = reqwest::get(format!("{}/api/v1/stream", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The subscription exists once the response headers are back, so nothing is missed.
    let id = create(&state, &new_deploy("api", "prod", 1)).await;
    patch(&state, id, &json!({"status": "succeeded"})).await;

    let events = read_events(response, 2).await;
    assert_eq!(events[0].0, "created");
    assert_eq!(events[0].1["deploy"]["id"], id);
    assert_eq!(events[0].1["deploy"]["status"], "in_progress");
    assert_eq!(events[1].0, "updated");
    assert_eq!(events[1].1["deploy"]["status"], "succeeded");

    server.stop().await.unwrap();
}
