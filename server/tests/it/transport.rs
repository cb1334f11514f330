//! The transport's limits against a real listening server with short timeouts: idle keep-alive
//! connections are closed, slow heads and bodies are cut, connections beyond the limit wait.

use std::time::{Duration, Instant};

use shiplog_server::limits::Limits;
use shiplog_server::local::LocalServer;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::common::*;
use crate::wire::{address, read_head, read_to_end};

async fn server(limits: Limits) -> (LocalServer, TestDb) {
    let db = TestDb::new().await;
    let tokens = writer_only();
    let server = LocalServer::start_with_limits(db.store().await, |_| tokens.into(), limits)
        .await
        .unwrap();
    (server, db)
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

/// A keep-alive connection that has had one answered request and is now idle, and a time before
/// the server could have begun to count it idle.
async fn idle_connection(address: std::net::SocketAddr) -> (TcpStream, Instant) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let before = Instant::now();
    stream.write_all(HEALTHZ).await.unwrap();
    let (status, head) = read_head(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("a sized answer")
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    tokio::io::AsyncReadExt::read_exact(&mut stream, &mut body)
        .await
        .unwrap();
    (stream, before)
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout_while_healthz_answers() {
    let idle_timeout = Duration::from_secs(2);
    let (server, _db) = server(Limits {
        idle_timeout,
        ..Limits::default()
    })
    .await;
    let address = address(&server.base);
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(idle_connection(address).await);
    }

    // The flood does not slow the server down.
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let start = Instant::now();
        let response = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let took = start.elapsed();
        assert!(took < Duration::from_millis(100), "/healthz took {took:?}");
    }

    // Every idle connection is closed by the server: not before the idle timeout, and soon after.
    let closed = idle.into_iter().map(|(mut stream, idle_since)| {
        tokio::spawn(async move {
            let rest = read_to_end(&mut stream, idle_timeout + Duration::from_secs(5)).await;
            assert!(rest.is_empty(), "unexpected bytes: {rest:?}");
            idle_since.elapsed()
        })
    });
    for task in closed {
        let after = task.await.unwrap();
        assert!(after >= idle_timeout, "closed after {after:?}");
        assert!(
            after < idle_timeout + Duration::from_secs(3),
            "closed after {after:?}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_after_the_header_timeout() {
    let header_timeout = Duration::from_millis(500);
    let (server, _db) = server(Limits {
        header_timeout,
        ..Limits::default()
    })
    .await;
    let address = address(&server.base);

    // A connection that sends nothing is closed too.
    let start = Instant::now();
    let mut silent = TcpStream::connect(address).await.unwrap();
    assert!(
        read_to_end(&mut silent, Duration::from_secs(5))
            .await
            .is_empty()
    );
    assert!(start.elapsed() >= header_timeout);

    // Slow loris, on a new connection and on one that has served a request and idles (its idle
    // timeout, a minute, must not apply once a head has begun).
    let start = Instant::now();
    let fresh = TcpStream::connect(address).await.unwrap();
    let after = send_head_slowly(fresh, start).await;
    assert!(after >= header_timeout, "closed after {after:?}");
    assert!(
        after < header_timeout + Duration::from_secs(1),
        "closed after {after:?}"
    );
    let (used, _) = idle_connection(address).await;
    let after = send_head_slowly(used, Instant::now()).await;
    assert!(after >= header_timeout, "closed after {after:?}");
    assert!(
        after < header_timeout + Duration::from_secs(1),
        "closed after {after:?}"
    );
    server.stop().await.unwrap();
}

/// Sends a request head a byte every 20 ms (4 s in all) until the server closes the
/// connection; returns how long after `start` it did, and fails if it never did.
async fn send_head_slowly(mut stream: TcpStream, start: Instant) -> Duration {
    let (mut reader, mut writer) = stream.split();
    let slow_head = async {
        let head = format!(
            "GET /healthz HTTP/1.1\r\nhost: x\r\nuser-agent: {}\r\n\r\n",
            "loris ".repeat(30)
        );
        for byte in head.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() {
                // Closed: the reading side tells when.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let closed = async {
        let mut bytes = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes).await;
        bytes
    };
    tokio::select! {
        () = slow_head => panic!("the whole head was sent byte by byte without the server closing"),
        answer = closed => {
            assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
            start.elapsed()
        }
    }
}

#[tokio::test]
async fn a_body_that_trickles_is_408_after_the_body_timeout_and_the_connection_closed() {
    let body_timeout = Duration::from_millis(500);
    let (server, _db) = server(Limits {
        body_timeout,
        ..Limits::default()
    })
    .await;
    let mut stream = TcpStream::connect(address(&server.base)).await.unwrap();
    let body = new_deploy("api", "prod", 1).to_string();
    let head = format!(
        "POST /api/v1/deploys HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {WRITER}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        for byte in body.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        std::future::pending::<()>().await
    };
    let answer = async {
        let mut bytes = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes).await;
        bytes
    };
    let bytes = tokio::select! {
        () = trickle => unreachable!(),
        bytes = answer => bytes,
    };
    let after = start.elapsed();
    let (status, body) = crate::wire::parse_response(&bytes);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&bytes));
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], "request_timeout", "{error}");
    assert!(after >= body_timeout, "answered after {after:?}");
    assert!(
        after < body_timeout + Duration::from_secs(1),
        "answered after {after:?}"
    );
    assert_eq!(server.state.store.count().await.unwrap(), 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_in_the_backlog_until_one_closes() {
    let (server, _db) = server(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let address = address(&server.base);
    let (first, _) = idle_connection(address).await;
    let (_second, _) = idle_connection(address).await;

    // The third connection is made (the kernel's backlog takes it) but not served.
    let mut third = TcpStream::connect(address).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(300), read_head(&mut third)).await;
    assert!(waiting.is_err(), "a third connection was served");

    drop(first);
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), read_head(&mut third))
        .await
        .expect("served once a connection closed");
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn heads_over_the_limit_are_431() {
    use shiplog_server::limits::{MAX_HEAD_BYTES, MAX_HEADERS};

    let (server, _db) = server(Limits::default()).await;
    let address = address(&server.base);
    let long = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-long: {}\r\nconnection: close\r\n\r\n",
        "a".repeat(MAX_HEAD_BYTES)
    );
    assert_eq!(crate::wire::exchange(address, long.as_bytes()).await.0, 431);
    let many: String = (0..=MAX_HEADERS).map(|n| format!("x-{n}: y\r\n")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}connection: close\r\n\r\n");
    assert_eq!(crate::wire::exchange(address, many.as_bytes()).await.0, 431);
    let fits = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    assert_eq!(crate::wire::exchange(address, fits.as_bytes()).await.0, 200);
    server.stop().await.unwrap();
}
