//! Graceful shutdown of the real binary: on SIGTERM or Ctrl-C (SIGINT) it stops accepting,
//! finishes the request under way, ends the event streams, and exits 0.

use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::binary::start;
use crate::common::*;
use crate::wire;

#[tokio::test]
async fn sigterm_lets_the_write_under_way_finish_then_exits_0() {
    let db = TestDb::new().await;
    let mut server = start(&db.url).await;
    let address = wire::address(&server.base);
    let stream = reqwest::get(format!("{}/api/v1/stream", server.base))
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    // A write under way: the server has read its head and asked for the body
    // (`100 Continue`), which has not been sent yet.
    let body = new_deploy("api", "prod", 1).to_string();
    let mut write = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/deploys HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {WRITER}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let (status, _) = wire::read_head(&mut write).await;
    assert_eq!(status, 100);

    server.signal("TERM");
    server.logged("shutting down").await;

    // The event stream ends; new connections are not served.
    let rest = tokio::time::timeout(Duration::from_secs(10), stream.bytes())
        .await
        .expect("the event stream ended");
    assert!(rest.is_ok());
    let refused = reqwest::get(format!("{}/healthz", server.base)).await;
    assert!(refused.is_err(), "served after SIGTERM: {refused:?}");

    // The write completes and is stored.
    write.write_all(body.as_bytes()).await.unwrap();
    let answer = wire::read_to_end(&mut write, Duration::from_secs(10)).await;
    let (status, created) = wire::parse_response(&answer);
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let created: serde_json::Value = serde_json::from_slice(&created).unwrap();

    let exit = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("the server exited")
        .unwrap();
    assert!(exit.success(), "{exit}");
    let store = db.store().await;
    let stored = store
        .get(shiplog_model::DeployId(created["id"].as_i64().unwrap()))
        .await
        .unwrap();
    assert_eq!(stored.app, "api");
}

#[tokio::test]
async fn ctrl_c_stops_an_idle_server_with_exit_0() {
    let db = TestDb::new().await;
    let mut server = start(&db.url).await;
    server.signal("INT");
    let exit = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("the server exited")
        .unwrap();
    assert!(exit.success(), "{exit}");
}
