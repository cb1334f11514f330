//! HTTP/1.1 over raw sockets, for tests that must misbehave as no HTTP client library would:
//! invented methods, heads and bodies sent a byte at a time, clients that stop reading.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// The `host:port` of a `http://host:port` base URL.
pub fn address(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// A connection whose receive buffer is as small as the kernel allows, so that a client that
/// stops reading is felt by the server after a few kilobytes.
pub async fn connect_small(address: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(address).await.unwrap()
}

/// Reads until the server closes the connection; fails after `limit`.
pub async fn read_to_end(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut bytes))
        .await
        .unwrap_or_else(|_| panic!("the server did not close the connection within {limit:?}"))
        .or_else(|e| match e.kind() {
            // A reset after the server dropped a connection with unread data also closes it.
            std::io::ErrorKind::ConnectionReset => Ok(0),
            _ => Err(e),
        })
        .unwrap();
    bytes
}

/// Reads one response head (status line and headers); returns the status code and the head.
pub async fn read_head(stream: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "connection closed inside a response head: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a response head: {head:?}"));
    (status, head)
}

/// A whole response to a request sent with `Connection: close`: the status and the body, with
/// a chunked body decoded.
pub async fn exchange(address: SocketAddr, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let bytes = read_to_end(&mut stream, Duration::from_secs(30)).await;
    parse_response(&bytes)
}

/// The status and body of the complete response in `bytes`.
pub fn parse_response(bytes: &[u8]) -> (u16, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = &bytes[end + 4..];
    if head.contains("transfer-encoding: chunked") {
        (status, dechunk(body))
    } else {
        (status, body.to_vec())
    }
}

/// The data of a chunked body, as far as it goes (a body cut off mid-chunk yields what came).
pub fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size_text:?}"));
        body = &body[line_end + 2..];
        if size == 0 {
            break;
        }
        let take = size.min(body.len());
        data.extend_from_slice(&body[..take]);
        if take < size {
            break;
        }
        body = body.get(size + 2..).unwrap_or_default();
    }
    data
}

/// The `(event, data)` pairs of a server-sent events text.
pub fn sse_events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter_map(|frame| {
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_owned)
            };
            Some((field("event: ")?, field("data: ")?))
        })
        .collect()
}
