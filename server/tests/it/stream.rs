//! The live event stream, read over a real socket as a browser's EventSource would; clients
//! that fall behind, stop reading, or outlive the server.

use std::time::Duration;

use serde_json::{Value, json};
use shiplog_server::limits::Limits;
use shiplog_server::local::LocalServer;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::common::*;
use crate::sse::SseReader;
use crate::wire;

/// Reads SSE frames from `response` until `count` events have arrived.
async fn read_events(response: reqwest::Response, count: usize) -> Vec<(String, Value)> {
    let mut events = SseReader::new(response);
    let mut read = Vec::new();
    while read.len() < count {
        read.push(events.next().await);
    }
    read
}

/// Reads `response`'s events as they come, in a task of their own.
fn follow(response: reqwest::Response) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = SseReader::new(response);
        while let Some(event) = events.try_next().await {
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    receiver
}

#[tokio::test]
async fn created_and_updated_deploys_are_streamed() {
    let db = TestDb::new().await;
    let tokens = writer_only();
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

/// A server whose stream clients may fall `buffer` events behind, and its database.
async fn server_with_buffer(buffer: usize, resync_grace: Duration) -> (LocalServer, TestDb) {
    let db = TestDb::new().await;
    let tokens = writer_only();
    let limits = Limits {
        stream_buffer: buffer,
        resync_grace,
        ..Limits::default()
    };
    let server = LocalServer::start_with_limits(db.store().await, |_| tokens.into(), limits)
        .await
        .unwrap();
    (server, db)
}

/// A client that asks for the stream and then reads nothing, on a small receive buffer; returns
/// once the server has subscribed it.
async fn silent_client(server: &LocalServer, clients_before: usize) -> TcpStream {
    let mut stream = wire::connect_small(wire::address(&server.base)).await;
    stream
        .write_all(b"GET /api/v1/stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, head) = wire::read_head(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(server.state.events.client_count(), clients_before + 1);
    stream
}

/// Creates deploys until the server has dropped a stream client (the count of clients falls to
/// `remaining`), at most `max`; returns the ids created.
async fn publish_until_dropped(server: &LocalServer, remaining: usize, max: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 1..=max {
        ids.push(create(&server.state, &new_deploy("api", "prod", n)).await);
        if server.state.events.client_count() == remaining {
            return ids;
        }
    }
    panic!("no stream client was dropped after {max} events");
}

#[tokio::test]
async fn a_stalled_client_is_disconnected_while_another_receives_every_event() {
    let buffer = 16;
    let (server, _db) = server_with_buffer(buffer, Duration::from_millis(200)).await;
    let reader = follow(
        reqwest::get(format!("{}/api/v1/stream", server.base))
            .await
            .unwrap(),
    );
    let mut stalled = silent_client(&server, 1).await;

    let mut ids = publish_until_dropped(&server, 1, 20_000).await;
    assert!(
        ids.len() > buffer,
        "dropped after {} events, within its buffer",
        ids.len()
    );
    for n in 0..10 {
        ids.push(create(&server.state, &new_deploy("api", "stage", n)).await);
    }

    // The stalled client's connection was closed: reading now drains what the kernel held,
    // then ends.
    let bytes = wire::read_to_end(&mut stalled, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&wire::dechunk(&bytes)).into_owned();
    let stalled_ids: Vec<i64> = wire::sse_events(&text)
        .iter()
        .filter(|(event, _)| event == "created")
        .map(|(_, data)| {
            serde_json::from_str::<Value>(data).unwrap()["deploy"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(
        stalled_ids.len() < ids.len(),
        "the stalled client got every event"
    );
    assert_eq!(
        stalled_ids,
        ids[..stalled_ids.len()],
        "what it got came in order"
    );

    // The other client received every event, in order.
    let mut reader = reader;
    let mut received_ids = Vec::new();
    while received_ids.len() < ids.len() {
        let (_, event) = reader.recv().await.expect("the other stream is open");
        received_ids.push(event["deploy"]["id"].as_i64().unwrap());
    }
    assert_eq!(received_ids, ids);
    assert_eq!(server.state.events.client_count(), 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_fell_behind_gets_a_final_resync_event() {
    let buffer = 8;
    let (server, _db) = server_with_buffer(buffer, Duration::from_secs(30)).await;
    let mut slow = silent_client(&server, 0).await;
    let ids = publish_until_dropped(&server, 0, 20_000).await;

    // It reads again within the grace period: every event it was sent, then `resync`, then the
    // end of the stream and of the connection.
    let bytes = wire::read_to_end(&mut slow, Duration::from_secs(10)).await;
    let events = wire::sse_events(&String::from_utf8(wire::dechunk(&bytes)).unwrap());
    let (last, others) = events.split_last().unwrap();
    assert_eq!(last.0, "resync", "{last:?}");
    assert!(others.iter().all(|(event, _)| event == "created"));
    assert!(others.len() < ids.len());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn streams_end_when_the_server_stops() {
    let (server, _db) = server_with_buffer(16, Duration::from_secs(5)).await;
    let response = reqwest::get(format!("{}/api/v1/stream", server.base))
        .await
        .unwrap();
    let stop = tokio::spawn(server.stop());
    let rest = tokio::time::timeout(Duration::from_secs(10), response.bytes())
        .await
        .expect("the stream ended");
    assert!(rest.is_ok());
    stop.await.unwrap().unwrap();
}
