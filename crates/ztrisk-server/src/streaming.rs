//! Unpaged reads, streamed (spec 7; issue: bounded memory). The official SDKs call
//! `GET /summary` without paging, so it may list every scored user of an account; a user may
//! have a long history. Such answers are written as the store reads them, a chunk at a time:
//! the bytes on the wire are the ones the whole answer serialized at once would be, but a
//! request holds one chunk, not the answer. How many run at once is bounded, so a few
//! concurrent calls cannot take the process down either.

use crate::app::AppState;
use crate::error::ApiError;
use crate::response::{JSON, envelope_bytes};
use crate::views;
use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_store::StoreError;
use ztrisk_store::model::{SummaryQuery, UserEventsQuery, UserRiskChunk};
use ztrisk_types::SummaryResult;

/// Unpaged reads running at once, per process. Each holds a store connection and a chunk.
pub const CONCURRENT: usize = 4;
/// How long one waits for its turn before it is told to come back (429).
const WAIT: Duration = Duration::from_secs(10);
/// Chunks read ahead of the client: the store never runs far ahead of a slow reader.
const AHEAD: usize = 2;

/// The turns of unpaged reads.
pub fn limiter() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(CONCURRENT))
}

async fn turn(state: &AppState) -> Result<OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(WAIT, state.streams.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::RateLimited {
            retry_after_secs: 5,
        }),
    }
}

/// The bytes around the items of the last (empty) array of `empty`'s envelope: what comes
/// before its items and what comes after. The streamed body is `head`, the items separated by
/// commas, `tail`: exactly what serializing the whole answer gives, since that array is the
/// answer's last member (`users`, `events`).
fn around_last_array<T: Serialize>(empty: &T) -> Result<(Bytes, Bytes), ApiError> {
    let bytes = envelope_bytes(empty)?;
    let at = bytes
        .windows(2)
        .rposition(|w| w == b"[]")
        .ok_or_else(|| ApiError::Internal("no array to stream into".into()))?;
    Ok((bytes.slice(..=at), bytes.slice(at + 1..)))
}

/// The items of one chunk, comma-separated (with a leading comma after the first chunk).
fn items<T: Serialize>(chunk: &[T], first: &mut bool) -> Result<Bytes, serde_json::Error> {
    let mut out = Vec::with_capacity(chunk.len() * 160);
    for item in chunk {
        if !std::mem::take(first) {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, item)?;
    }
    Ok(Bytes::from(out))
}

/// A 200 whose body is `head`, then what `next` yields, then `tail`; `next` returning `None`
/// ends the items. An error after the head can only cut the body short (the status is sent):
/// the client sees a truncated answer, never a wrong one, and the log says why.
fn body<S, F>(head: Bytes, tail: Bytes, state: S, next: F, permit: OwnedSemaphorePermit) -> Response
where
    S: Send + 'static,
    F: AsyncNext<S>,
{
    enum Phase<S> {
        Head(S),
        Items(S),
        Tail,
        Done,
    }
    let head = Some(head);
    let chunks = stream::unfold(
        (Phase::Head(state), head, Some(tail), next, permit),
        |(phase, mut head, mut tail, next, permit)| async move {
            match phase {
                Phase::Head(s) => {
                    let bytes = head.take().unwrap_or_default();
                    Some((Ok(bytes), (Phase::Items(s), head, tail, next, permit)))
                }
                Phase::Items(mut s) => match next.next(&mut s).await {
                    Some(Ok(bytes)) => {
                        Some((Ok(bytes), (Phase::Items(s), head, tail, next, permit)))
                    }
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "a streamed answer was cut short");
                        Some((
                            Err(std::io::Error::other(e)),
                            (Phase::Done, head, tail, next, permit),
                        ))
                    }
                    None => Some((
                        Ok(tail.take().unwrap_or_default()),
                        (Phase::Tail, head, tail, next, permit),
                    )),
                },
                Phase::Tail | Phase::Done => None,
            }
        },
    );
    let mut response = Response::new(Body::from_stream(chunks));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// The next piece of a streamed body, from its state.
pub trait AsyncNext<S>: Send + Sync + 'static {
    fn next(&self, state: &mut S) -> impl Future<Output = Option<Result<Bytes, String>>> + Send;
}

/// What a streamed summary reads from: the store's chunks, and its task (to learn how it
/// ended).
struct Reading<T> {
    chunks: mpsc::Receiver<T>,
    task: Option<JoinHandle<Result<(), StoreError>>>,
    /// A chunk received before the answer started (to learn that the read works), to be
    /// written before the others.
    held: Option<T>,
    first: bool,
}

impl<T> Reading<T> {
    fn new(chunks: mpsc::Receiver<T>, task: JoinHandle<Result<(), StoreError>>) -> Self {
        Self {
            chunks,
            task: Some(task),
            held: None,
            first: true,
        }
    }

    /// The held chunk, else the next one the store sends.
    async fn recv(&mut self) -> Option<T> {
        match self.held.take() {
            Some(chunk) => Some(chunk),
            None => self.chunks.recv().await,
        }
    }

    /// How the store's read ended, once its chunks are all received.
    async fn ended(&mut self) -> Result<(), String> {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("read task: {e}")),
            },
            None => Ok(()),
        }
    }
}

struct SummaryItems;

impl AsyncNext<Reading<Vec<ztrisk_store::model::UserSummary>>> for SummaryItems {
    async fn next(
        &self,
        reading: &mut Reading<Vec<ztrisk_store::model::UserSummary>>,
    ) -> Option<Result<Bytes, String>> {
        match reading.recv().await {
            Some(chunk) => {
                let users: Vec<_> = chunk.iter().map(views::summary_user).collect();
                Some(items(&users, &mut reading.first).map_err(|e| e.to_string()))
            }
            None => reading.ended().await.err().map(Err),
        }
    }
}

/// GET `/summary` without paging.
pub async fn summary(
    state: &AppState,
    account: AccountId,
    query: SummaryQuery,
) -> Result<Response, ApiError> {
    let permit = turn(state).await?;
    let (head, tail) = around_last_array(&SummaryResult::default())?;
    let (sink, chunks) = mpsc::channel(AHEAD);
    let store = state.store.clone();
    let task = tokio::spawn(async move { store.stream_summary(account, query, sink).await });
    let mut reading = Reading::new(chunks, task);
    // Nothing is answered before the read has either produced or failed: a store that fails
    // at once is a clean 500, not a cut body.
    match reading.chunks.recv().await {
        Some(chunk) => reading.held = Some(chunk),
        None => reading.ended().await.map_err(ApiError::Internal)?,
    }
    Ok(body(head, tail, reading, SummaryItems, permit))
}

struct EventItems;

impl AsyncNext<Reading<UserRiskChunk>> for EventItems {
    async fn next(&self, reading: &mut Reading<UserRiskChunk>) -> Option<Result<Bytes, String>> {
        match reading.recv().await {
            Some(UserRiskChunk::Events(chunk)) => {
                let events: Vec<_> = chunk.iter().map(views::risk_event).collect();
                Some(items(&events, &mut reading.first).map_err(|e| e.to_string()))
            }
            Some(UserRiskChunk::User(_)) => Some(Err("a second user in one read".into())),
            None => reading.ended().await.err().map(Err),
        }
    }
}

/// GET `/{user_id}` without paging.
pub async fn user(
    state: &AppState,
    account: AccountId,
    user_id: Uuid,
    query: UserEventsQuery,
) -> Result<Response, ApiError> {
    let permit = turn(state).await?;
    let (sink, chunks) = mpsc::channel(AHEAD);
    let store = state.store.clone();
    let task =
        tokio::spawn(async move { store.stream_user_risk(account, user_id, query, sink).await });
    let mut reading = Reading::new(chunks, task);
    let user = match reading.chunks.recv().await {
        Some(UserRiskChunk::User(user)) => user,
        Some(UserRiskChunk::Events(_)) => {
            return Err(ApiError::Internal("events before their user".into()));
        }
        None => {
            reading.ended().await.map_err(ApiError::Internal)?;
            return Err(ApiError::NotFound("User"));
        }
    };
    let (head, tail) = around_last_array(&views::user_risk(&user))?;
    Ok(body(head, tail, reading, EventItems, permit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use ztrisk_types::{RiskLevel, SummaryUser};

    fn user(i: u32) -> SummaryUser {
        SummaryUser {
            user_id: format!("00000000-0000-4000-8000-{i:012}"),
            name: format!("user [] {i}"),
            email: format!("u{i}@example.com"),
            event_count: u64::from(i),
            last_event: DateTime::from_timestamp(1_795_000_000 + i64::from(i), 0)
                .unwrap_or_default(),
            max_risk_level: Some(RiskLevel::High),
        }
    }

    /// The streamed bytes are the bytes of the whole answer, for no, one and many chunks.
    #[test]
    fn streamed_bytes_are_the_whole_answers_bytes() {
        let Ok((head, tail)) = around_last_array(&SummaryResult::default()) else {
            panic!("no array");
        };
        for sizes in [vec![], vec![1], vec![3, 1, 2]] {
            let mut n = 0;
            let mut first = true;
            let mut streamed = head.to_vec();
            let mut all = Vec::new();
            for size in sizes {
                let chunk: Vec<_> = (n..n + size).map(user).collect();
                n += size;
                streamed.extend_from_slice(&items(&chunk, &mut first).unwrap_or_default());
                all.extend(chunk);
            }
            streamed.extend_from_slice(&tail);
            let whole = envelope_bytes(&SummaryResult { users: all }).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&streamed),
                String::from_utf8_lossy(&whole)
            );
        }
    }
}
