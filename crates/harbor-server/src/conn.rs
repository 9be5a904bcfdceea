//! What one client connection may hold: it is closed when it has been silent for the idle
//! time-out while no request of it is in flight (a connection that never sends a byte, or
//! only the HTTP/2 preface, included), and when a response cannot be written for as long;
//! request bodies that stall are cut by [`IdleBody`].
//!
//! hyper's own `header_read_timeout` starts only with a request's first byte, and an idle
//! HTTP/2 connection is never closed by it, so the clock lives here, in the socket:
//! [`IdleIo`] times reads while the connection has no request in flight (counted by
//! [`InFlight`] guards, held from a request's arrival until its response body is done)
//! and times writes that make no progress.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures::task::AtomicWaker;
use http_body::Body as _;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Requests in flight on one connection, and the connection's reader to wake when the
/// last one ends (so that its idle clock starts).
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    in_flight: AtomicUsize,
    reader: AtomicWaker,
}

/// Counts one request from its arrival until its response body is dropped.
pub(crate) struct InFlight(Arc<ConnState>);

impl InFlight {
    pub(crate) fn enter(state: &Arc<ConnState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.reader.wake();
        }
    }
}

/// A response body that keeps its request counted until it is finished or dropped.
pub(crate) struct Tracked {
    inner: Body,
    _guard: InFlight,
}

impl Tracked {
    pub(crate) fn wrap(inner: Body, guard: InFlight) -> Body {
        Body::new(Tracked {
            inner,
            _guard: guard,
        })
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose silence is bounded (see the module docs).
pub(crate) struct IdleIo<T> {
    inner: T,
    state: Arc<ConnState>,
    idle: Duration,
    read_clock: Clock,
    write_clock: Clock,
}

impl<T> IdleIo<T> {
    pub(crate) fn new(inner: T, state: Arc<ConnState>, idle: Duration) -> Self {
        IdleIo {
            inner,
            state,
            idle,
            read_clock: Clock::default(),
            write_clock: Clock::default(),
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_owned())
}

/// A stall clock: started when an operation first waits, stopped when it makes progress.
/// Its timer is allocated once and reset, not rebuilt, so a busy stream costs no
/// allocation per wait.
#[derive(Default)]
struct Clock {
    sleep: Option<Pin<Box<Sleep>>>,
    running: bool,
}

impl Clock {
    /// Progress: the clock stops.
    fn stop(&mut self) {
        self.running = false;
    }

    /// Waiting: starts the clock (`after` from now) unless it runs; true once it passed.
    fn expired(&mut self, after: Duration, cx: &mut Context<'_>) -> bool {
        let deadline = Instant::now() + after;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.running {
            sleep.as_mut().reset(deadline);
            self.running = true;
        }
        if sleep.as_mut().poll(cx).is_ready() {
            self.running = false;
            return true;
        }
        false
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_clock.stop();
                Poll::Ready(r)
            }
            Poll::Pending => {
                // Register first, then look: a request ending in between wakes us.
                this.state.reader.register(cx.waker());
                if this.state.in_flight.load(Ordering::Acquire) > 0 {
                    // Waiting for a request's body or the next pipelined request while
                    // one is served: request bodies have their own clock (IdleBody).
                    this.read_clock.stop();
                    return Poll::Pending;
                }
                if this.read_clock.expired(this.idle, cx) {
                    return Poll::Ready(Err(timed_out("connection idle")));
                }
                Poll::Pending
            }
        }
    }
}

impl<T> IdleIo<T> {
    /// A write's outcome, with the stall clock: a write that makes no progress for the
    /// idle time-out fails (the client stopped reading).
    fn written(
        &mut self,
        r: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match r {
            Poll::Ready(r) => {
                self.write_clock.stop();
                Poll::Ready(r)
            }
            Poll::Pending if self.write_clock.expired(self.idle, cx) => {
                Poll::Ready(Err(timed_out("client stopped reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        self.written(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a request body was cut.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body stalled: nothing arrived for {0} s before its end (a Content-Length \
     larger than the body sent?)"
)]
pub(crate) struct BodyStalled(u64);

/// A request body that fails when no data arrives for `idle` while it is being read.
pub(crate) struct IdleBody {
    inner: Body,
    idle: Duration,
    clock: Clock,
}

impl IdleBody {
    pub(crate) fn wrap(inner: Body, idle: Duration) -> Body {
        Body::new(IdleBody {
            inner,
            idle,
            clock: Clock::default(),
        })
    }
}

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.clock.stop();
                Poll::Ready(frame)
            }
            Poll::Pending if this.clock.expired(this.idle, cx) => Poll::Ready(Some(Err(
                axum::Error::new(BodyStalled(this.idle.as_secs())),
            ))),
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

/// Middleware: request bodies fail once silent for too long: a blob upload's after the
/// registry's upload idle time-out, any other after `body_idle_timeout`.
pub(crate) async fn limit_body(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let upload = req.uri().path().contains("/blobs/uploads");
    let idle = if upload {
        state.registry.config().upload_idle_timeout
    } else {
        state.body_idle_timeout
    };
    next.run(req.map(|b| IdleBody::wrap(b, idle))).await
}

/// Most bytes of a request body read and thrown away after an early error.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// Longest time spent doing so.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// A request body handed to a handler, whose unread rest the caller can still reach.
pub(crate) struct Drainable(Arc<std::sync::Mutex<Option<Body>>>);

impl Drainable {
    /// Splits `body` into the body a handler reads and the handle to its rest.
    pub(crate) fn split(body: Body) -> (Body, Drainable) {
        let slot = Arc::new(std::sync::Mutex::new(Some(body)));
        (Body::new(Shared(slot.clone())), Drainable(slot))
    }

    /// Reads and discards what the handler left of the body (at most [`DRAIN_LIMIT`]
    /// bytes for at most [`DRAIN_TIME`]), so that a client still sending it reads the
    /// answer instead of a reset connection. Past the bounds the connection is given up.
    pub(crate) async fn drain(self) {
        let Some(body) = self.0.lock().ok().and_then(|mut b| b.take()) else {
            return;
        };
        if body.is_end_stream() {
            return;
        }
        let mut left = DRAIN_LIMIT;
        let mut frames = body.into_data_stream();
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            use futures::StreamExt as _;
            while let Some(Ok(chunk)) = frames.next().await {
                let n = chunk.len() as u64;
                if n >= left {
                    break;
                }
                left -= n;
            }
        })
        .await;
    }
}

/// The handler's side of a [`Drainable`] body.
struct Shared(Arc<std::sync::Mutex<Option<Body>>>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Ok(mut slot) = self.0.lock() else {
            return Poll::Ready(None);
        };
        match slot.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|b| b.size_hint()))
            .unwrap_or_default()
    }
}
