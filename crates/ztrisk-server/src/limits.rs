//! What a slow or oversized client may not do (spec 1.4), as far as the router can see it: a
//! request head over [`ServerConfig::max_header_bytes`] is 431 (1431), and a body that takes
//! longer than [`ServerConfig::body_read_timeout`] to arrive is 408 (1408) with the connection
//! closed. The connection-level limits (header read timeout, connection count, the parser's
//! hard cap on the head) are the serving loop's, in `server.rs`.

use crate::app::ServerConfig;
use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

pub(crate) async fn layer(
    State(config): State<Arc<ServerConfig>>,
    request: Request,
    next: Next,
) -> Response {
    if head_size(&request) > config.max_header_bytes {
        return ApiError::HeadersTooLarge.into_response();
    }
    // Most requests (GETs) have no body: nothing to time, no allocation on the hot path.
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let limit = config.body_read_timeout;
    let flag = timed_out.clone();
    let request = request.map(|body| Body::new(DeadlineBody::new(body, limit, flag)));
    let response = next.run(request).await;
    // Whatever the handler made of the failed read (most map any body error to 6007), the
    // client is told what happened.
    if timed_out.load(Ordering::Acquire) {
        return ApiError::RequestTimeout.into_response();
    }
    response
}

/// The size of the request line and headers as they were sent (give or take the spaces the
/// client put around colons).
fn head_size(request: &Request) -> usize {
    let line = request.method().as_str().len()
        + request
            .uri()
            .path_and_query()
            .map_or(1, |p| p.as_str().len())
        + " HTTP/1.1\r\n".len()
        + 1;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    line + headers + "\r\n".len()
}

/// A request body that fails once reading it has taken longer than `limit`, counted from the
/// first read: a handler that never reads the body is not timed, and a client sending one byte
/// a second cannot hold a handler (and its connection) for longer than `limit`.
struct DeadlineBody {
    inner: Body,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl DeadlineBody {
    fn new(inner: Body, limit: Duration, timed_out: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            limit,
            deadline: None,
            timed_out,
        }
    }
}

/// The error a timed-out body read fails with.
#[derive(Debug)]
struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for BodyTimedOut {}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.timed_out.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.limit)))));
        }
        let limit = this.limit;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        // Data already there is handed out even past the deadline: only waiting is timed.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.timed_out.store(true, Ordering::Release);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(limit)))))
            }
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
