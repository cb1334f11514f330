//! The server's connections: an accept loop over hyper's HTTP/1 connections that enforces the
//! [`Limits`] — at most `max_connections` at once (further ones wait in the accept backlog), a
//! request head within `header_timeout` of its first byte (or of the connection's start), a body
//! within `body_timeout` of its head, idle keep-alive connections closed after `idle_timeout` —
//! and shuts down gracefully: stop accepting, let requests under way finish, then return.
//!
//! Timers are lazy: reading bytes, starting and finishing a request only store a timestamp; the
//! connection's task wakes at the current wait's deadline, or after the shorter timeout, and
//! looks again, so requests cost no timer work.
//!
//! Not for routing or request handling: the application is an axum [`Router`] handed in.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::Request;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep, sleep_until};

use crate::limits::{Limits, MAX_HEAD_BYTES};

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then waits for the
/// open connections to finish their requests.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Arc<Limits>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: until then new connections wait in the
        // listener's backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            router.clone(),
            limits.clone(),
            closing_rx.clone(),
            slot,
        ));
    }
    drop(listener);
    drop(closing_rx);
    let _ = closing.send(true);
    // Every connection task holds a receiver: this returns when the last one has ended.
    closing.closed().await;
    Ok(())
}

/// Errors of one connection are the peer's business; others (out of file descriptors) are
/// logged and the loop pauses, as axum::serve does.
async fn accept_error(error: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it ends, times out, is closed by its [`ConnectionHandle`], or the
/// server shuts down (then after its request under way).
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Arc<Limits>,
    mut closing: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let (handle, mut close_at) = ConnectionHandle::new();
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        let body_timeout = limits.body_timeout;
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let in_flight = activity.request_started();
            let mut request = request.map(|body| DeadlineBody::new(body, body_timeout));
            request.extensions_mut().insert(handle.clone());
            let response = tower::ServiceExt::oneshot(router.clone(), request);
            async move {
                let response = response.await?;
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(MAX_HEAD_BYTES)
        .max_header_size(MAX_HEAD_BYTES)
        // The header and idle timeouts are enforced here: hyper's header timeout would also
        // cut idle keep-alive connections.
        .header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut shutting_down = false;
    loop {
        let wake = activity.next_check(&limits, *close_at.borrow());
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = closing.changed(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = close_at.changed() => {}
            () = sleep_until(wake) => {
                if activity.expired(&limits, *close_at.borrow(), Instant::now()) {
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}

/// Lets a request's handler close its connection later (the event stream does, for a client
/// that fell behind): it is closed then, whatever it is doing.
#[derive(Clone)]
pub struct ConnectionHandle {
    close_at: Arc<watch::Sender<Option<Instant>>>,
}

impl ConnectionHandle {
    fn new() -> (Self, watch::Receiver<Option<Instant>>) {
        let (sender, receiver) = watch::channel(None);
        (
            ConnectionHandle {
                close_at: Arc::new(sender),
            },
            receiver,
        )
    }

    /// Closes the connection `grace` from now (or earlier, if asked before).
    pub fn close_after(&self, grace: Duration) {
        let at = Instant::now() + grace;
        self.close_at.send_if_modified(|current| {
            let sooner = current.is_none_or(|c| at < c);
            if sooner {
                *current = Some(at);
            }
            sooner
        });
    }
}

/// What a connection is doing, as the timeouts need it. Updated from the connection's own task
/// (reads, requests starting, response bodies finishing), read by its timer.
struct Activity {
    epoch: Instant,
    /// Requests whose response has not been written in full.
    in_flight: AtomicUsize,
    /// Nanoseconds after `epoch` when the current wait began: for a request head (`head`) or,
    /// with nothing under way, idle.
    since: AtomicU64,
    head: AtomicBool,
}

impl Activity {
    /// A new connection waits for its first request's head.
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            since: AtomicU64::new(0),
            head: AtomicBool::new(true),
        }
    }

    fn now(&self) -> u64 {
        Instant::now().duration_since(self.epoch).as_nanos() as u64
    }

    /// Bytes arrived: with nothing under way, they begin a request head.
    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && !self.head.load(Ordering::Relaxed) {
            self.since.store(self.now(), Ordering::Relaxed);
            self.head.store(true, Ordering::Relaxed);
        }
    }

    /// A request's head was read; the guard ends the request when dropped.
    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head.store(false, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// When the current wait ends, if nothing happens meanwhile.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let timeout = if self.head.load(Ordering::Relaxed) {
            limits.header_timeout
        } else {
            limits.idle_timeout
        };
        let since = Duration::from_nanos(self.since.load(Ordering::Relaxed));
        Some(self.epoch + since + timeout)
    }

    /// When to look again: the current wait's deadline, but no later than the shorter timeout
    /// from now. A wait that begins later ends at least that timeout after it begins, so no
    /// deadline is passed unseen, and reads and requests never need to wake the timer.
    fn next_check(&self, limits: &Limits, close_at: Option<Instant>) -> Instant {
        let soonest = Instant::now() + limits.idle_timeout.min(limits.header_timeout);
        let check = self.deadline(limits).map_or(soonest, |at| at.min(soonest));
        close_at.map_or(check, |at| at.min(check))
    }

    fn expired(&self, limits: &Limits, close_at: Option<Instant>, now: Instant) -> bool {
        close_at.is_some_and(|at| at <= now) || self.deadline(limits).is_some_and(|at| at <= now)
    }
}

/// A request under way, until its response body is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            activity.since.store(activity.now(), Ordering::Relaxed);
            activity.head.store(false, Ordering::Relaxed);
        }
    }
}

/// The socket, telling [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The error of a request body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

/// A request body that fails with [`BodyTimedOut`] once its deadline has passed. The timer is
/// only set up when the body is not all there at once.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            timeout,
            deadline: Instant::now() + timeout,
            timer: None,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut(this.timeout).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as under way until it is written.
struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B: HttpBody + Unpin> HttpBody for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deadline` is `expected` from now, give or take the time the test takes.
    fn about(deadline: Option<Instant>, expected: Duration) -> bool {
        let Some(deadline) = deadline else {
            return false;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        left <= expected && left + Duration::from_secs(1) > expected
    }

    #[tokio::test]
    async fn the_wait_for_a_head_and_the_idle_wait_have_their_own_timeouts() {
        let limits = Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..Limits::default()
        };
        let activity = Arc::new(Activity::new());
        // A new connection must send its head within the header timeout.
        assert!(about(activity.deadline(&limits), limits.header_timeout));
        let request = activity.request_started();
        let second = activity.request_started();
        assert_eq!(activity.deadline(&limits), None);
        // Bytes while a request is under way (its body, a pipelined head) change nothing.
        activity.bytes_read();
        drop(request);
        assert_eq!(activity.deadline(&limits), None);
        drop(second);
        assert!(about(activity.deadline(&limits), limits.idle_timeout));
        // While idle the timer looks again after the shorter timeout at the latest.
        assert!(about(
            Some(activity.next_check(&limits, None)),
            limits.header_timeout
        ));
        activity.bytes_read();
        assert!(about(activity.deadline(&limits), limits.header_timeout));
        let now = Instant::now();
        assert!(!activity.expired(&limits, None, now));
        assert!(activity.expired(&limits, None, now + limits.header_timeout));
        assert!(activity.expired(&limits, Some(now), now));
    }
}
