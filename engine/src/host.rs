//! The host interface: everything the engine needs from the world — send an HTTP request to
//! one server, stream an answer line by line (watches), and wait. The native host
//! (crate `shiplog`'s `http`, reqwest + tokio) implements it, and so does the Action's Node host
//! (crate `shiplog-action`). Futures need not be `Send`: the engine runs its concurrency on
//! one task with `futures_util`.

use std::time::Duration;

use crate::kube::request::Request;

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request that got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection could be made (refused, name not resolved, TLS handshake failed).
    #[error("{0}")]
    Connect(String),
    /// The connection was lost before the answer was complete.
    #[error("{0}")]
    Dropped(String),
}

/// One server, as the engine sees it.
#[allow(async_fn_in_trait)]
pub trait Host {
    type Lines: Lines;

    async fn send(&self, request: &Request) -> Result<Response, TransportError>;

    /// Starts a streamed request (a watch). A non-success status comes back complete.
    async fn open(
        &self,
        request: &Request,
    ) -> Result<Result<Self::Lines, Response>, TransportError>;

    async fn sleep(&self, duration: Duration);
}

/// The lines of a streamed answer.
#[allow(async_fn_in_trait)]
pub trait Lines {
    /// The next line without its newline, or `None` at the end of the stream.
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, TransportError>;
}

/// Splits arriving chunks into lines; for hosts whose transport yields chunks.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The next complete line already buffered.
    pub fn take_line(&mut self) -> Option<Vec<u8>> {
        let end = self.pending.iter().position(|b| *b == b'\n')?;
        let mut line: Vec<u8> = self.pending.drain(..=end).collect();
        line.pop();
        Some(line)
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
    }

    /// What is left when the stream ends (a last line without a newline).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reassembled_across_chunks() {
        let mut buffer = LineBuffer::default();
        buffer.push(b"{\"a\":");
        assert_eq!(buffer.take_line(), None);
        buffer.push(b"1}\n{\"b\"");
        assert_eq!(buffer.take_line().unwrap(), b"{\"a\":1}");
        assert_eq!(buffer.take_line(), None);
        buffer.push(b":2}");
        assert_eq!(buffer.finish().unwrap(), b"{\"b\":2}");
        assert_eq!(buffer.finish(), None);
    }
}
