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

/// The largest answer a host reads whole (a list of many objects, a log): beyond it the request
/// fails with [`TransportError::TooLarge`] instead of filling the memory.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// The longest line of a streamed answer (one watch event).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A request that got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection could be made (refused, name not resolved, TLS handshake failed).
    #[error("{0}")]
    Connect(String),
    /// The connection was lost before the answer was complete.
    #[error("{0}")]
    Dropped(String),
    /// The answer, or one line of a streamed answer, was larger than the host reads
    /// ([`MAX_ANSWER_BYTES`], [`MAX_LINE_BYTES`]). Final: asking again gets the same.
    #[error("{0}")]
    TooLarge(String),
}

impl TransportError {
    /// The error for an answer over [`MAX_ANSWER_BYTES`].
    pub fn answer_too_large() -> TransportError {
        TransportError::TooLarge(format!(
            "the answer is larger than {} MiB, the most shiplog reads",
            MAX_ANSWER_BYTES >> 20
        ))
    }
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

/// Splits arriving chunks into lines; for hosts whose transport yields chunks. Linear in what
/// arrives, however it is cut into chunks and lines, and a line may take at most
/// [`MAX_LINE_BYTES`].
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
    /// Where the next line starts in `pending`.
    start: usize,
    /// How far from `start` is known to hold no newline.
    scanned: usize,
    /// The bytes after the last newline received: the line under way.
    unfinished: usize,
}

impl LineBuffer {
    /// The next complete line already buffered.
    pub fn take_line(&mut self) -> Option<Vec<u8>> {
        let from = self.start + self.scanned;
        match self.pending[from..].iter().position(|b| *b == b'\n') {
            Some(at) => {
                let end = from + at;
                let line = self.pending[self.start..end].to_vec();
                self.start = end + 1;
                self.scanned = 0;
                Some(line)
            }
            None => {
                self.scanned = self.pending.len() - self.start;
                None
            }
        }
    }

    /// Adds a chunk; fails when the line under way grows beyond [`MAX_LINE_BYTES`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TransportError> {
        // Lines already taken are dropped once per chunk, not once per line.
        self.pending.drain(..self.start);
        self.start = 0;
        self.pending.extend_from_slice(chunk);
        // Only the new chunk is searched: a long line arriving in small chunks is not read
        // again with each one.
        self.unfinished = match chunk.iter().rposition(|b| *b == b'\n') {
            Some(last) => chunk.len() - last - 1,
            None => self.unfinished + chunk.len(),
        };
        if self.unfinished > MAX_LINE_BYTES {
            return Err(TransportError::TooLarge(format!(
                "a line of the answer is longer than {} MiB, the most shiplog reads",
                MAX_LINE_BYTES >> 20
            )));
        }
        Ok(())
    }

    /// What is left when the stream ends (a last line without a newline).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = self.pending.split_off(self.start);
        self.pending.clear();
        self.start = 0;
        self.unfinished = 0;
        self.scanned = 0;
        (!rest.is_empty()).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reassembled_across_chunks() {
        let mut buffer = LineBuffer::default();
        buffer.push(b"{\"a\":").unwrap();
        assert_eq!(buffer.take_line(), None);
        buffer.push(b"1}\n{\"b\"").unwrap();
        assert_eq!(buffer.take_line().unwrap(), b"{\"a\":1}");
        assert_eq!(buffer.take_line(), None);
        buffer.push(b":2}\n\nlast").unwrap();
        assert_eq!(buffer.take_line().unwrap(), b"{\"b\":2}");
        assert_eq!(buffer.take_line().unwrap(), b"");
        assert_eq!(buffer.take_line(), None);
        assert_eq!(buffer.finish().unwrap(), b"last");
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn a_line_beyond_the_limit_is_refused_and_many_lines_cost_no_more_than_their_bytes() {
        let mut buffer = LineBuffer::default();
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..MAX_LINE_BYTES / chunk.len() {
            buffer.push(&chunk).unwrap();
            assert_eq!(buffer.take_line(), None);
        }
        assert!(matches!(
            buffer.push(b"y"),
            Err(TransportError::TooLarge(message)) if message.contains("16 MiB")
        ));

        // A million one-byte lines in one chunk: each taken without moving the rest.
        let mut buffer = LineBuffer::default();
        buffer.push(&b"a\n".repeat(1_000_000)).unwrap();
        let mut taken = 0;
        while buffer.take_line().is_some() {
            taken += 1;
        }
        assert_eq!(taken, 1_000_000);
    }
}
