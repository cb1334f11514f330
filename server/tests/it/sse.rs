//! Reading a server-sent event stream over a real socket, as a browser's EventSource does.

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde_json::Value;

use crate::wire;

/// The events of one `GET /api/v1/stream` response, one at a time.
pub struct SseReader {
    body: BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event with data: its name and its data as JSON.
    pub async fn next(&mut self) -> (String, Value) {
        self.try_next().await.expect("stream ended early")
    }

    /// The next event with data, or `None` once the stream has ended.
    pub async fn try_next(&mut self) -> Option<(String, Value)> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some((event, data)) = wire::sse_events(&frame).pop() {
                    return Some((event, serde_json::from_str(&data).unwrap()));
                }
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}
