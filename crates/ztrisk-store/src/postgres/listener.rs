//! [`Store::generation`](crate::Store::generation) for many replicas: `LISTEN`/`NOTIFY`.
//!
//! Every write transaction of every process sends `NOTIFY ztrisk_changes, '<schema>'`, which
//! PostgreSQL delivers at commit (and only if it commits). One task per store holds a dedicated
//! connection that listens on the channel and bumps an atomic counter for each notification
//! about its schema; the store also bumps it right after each of its own commits, so this
//! replica's caches are right at once without waiting for the round trip.
//!
//! While the listener is disconnected, notifications may be missed, so [`Generation::get`]
//! returns a new value on every call (caches are bypassed rather than stale). The task
//! reconnects with backoff and bumps once when it listens again.

use super::connect::{self, Conn, Target};
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client};

/// The notification channel every ztrisk process on a database uses. The payload is the
/// schema that changed, so stores in different schemas of one database do not disturb each
/// other.
pub(super) const CHANNEL: &str = "ztrisk_changes";

/// How often the listener checks that its connection is alive.
const PING_EVERY: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(super) struct Generation {
    value: AtomicU64,
    listening: AtomicBool,
    /// The listener connection's backend pid (0 while disconnected), for tests.
    backend_pid: AtomicI32,
}

impl Generation {
    /// One atomic load while listening; a fresh value on every call while not.
    pub(super) fn get(&self) -> u64 {
        if self.listening.load(Ordering::SeqCst) {
            self.value.load(Ordering::SeqCst)
        } else {
            self.value.fetch_add(1, Ordering::SeqCst) + 1
        }
    }

    pub(super) fn bump(&self) {
        self.value.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn backend_pid(&self) -> Option<i32> {
        match self.backend_pid.load(Ordering::SeqCst) {
            0 => None,
            pid => Some(pid),
        }
    }

    fn set_listening(&self, pid: Option<i32>) {
        self.backend_pid.store(pid.unwrap_or(0), Ordering::SeqCst);
        if pid.is_some() {
            // Anything committed while we were deaf is covered by this bump: a reader that
            // sees `listening` sees a value no cache was filled under.
            self.bump();
        }
        self.listening.store(pid.is_some(), Ordering::SeqCst);
    }
}

/// The listening task; stops when dropped.
pub(super) struct Listener {
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts listening; returns once the first `LISTEN` is in place, so a store never starts deaf.
pub(super) async fn start(
    target: Target,
    schema: String,
    generation: Arc<Generation>,
) -> Result<Listener, super::Failure> {
    let mut target = target;
    target.config.application_name("ztrisk listener");
    let (client, mut conn) = connect::connect(&target).await?;
    let pid = listen(&client, &mut conn, &schema, &generation)
        .await
        .map_err(|e| super::Failure::from(crate::StoreError::Backend(e)))?;
    generation.set_listening(Some(pid));
    let task = tokio::spawn(run(target, schema, generation, client, conn));
    Ok(Listener { task })
}

async fn run(
    target: Target,
    schema: String,
    generation: Arc<Generation>,
    client: Client,
    conn: Conn,
) {
    let mut session = Some((client, conn));
    let mut backoff = BACKOFF_MIN;
    loop {
        if let Some((client, conn)) = session.take() {
            let why = serve(client, conn, &schema, &generation).await;
            generation.set_listening(None);
            tracing::warn!(reason = %why, "lost the PostgreSQL change listener; caches are bypassed until it is back");
        }
        tokio::time::sleep(backoff).await;
        match connect::connect(&target).await {
            Ok((client, mut conn)) => {
                match listen(&client, &mut conn, &schema, &generation).await {
                    Ok(pid) => {
                        generation.set_listening(Some(pid));
                        tracing::info!("PostgreSQL change listener is back");
                        backoff = BACKOFF_MIN;
                        session = Some((client, conn));
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "change listener: LISTEN failed");
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e.error, "change listener: reconnect failed");
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Issues `LISTEN` while driving the connection; returns the listener's backend pid.
async fn listen(
    client: &Client,
    conn: &mut Conn,
    schema: &str,
    generation: &Generation,
) -> Result<i32, String> {
    let setup = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(|e| super::describe(&e))?;
        let row = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .map_err(|e| super::describe(&e))?;
        Ok::<i32, String>(row.get(0))
    };
    tokio::select! {
        why = pump(conn, schema, generation) => Err(why),
        pid = setup => pid,
    }
}

/// Drives the connection until it fails; returns why.
async fn serve(client: Client, mut conn: Conn, schema: &str, generation: &Generation) -> String {
    let ping = async {
        loop {
            tokio::time::sleep(PING_EVERY).await;
            match tokio::time::timeout(PING_TIMEOUT, client.simple_query("SELECT 1")).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return super::describe(&e),
                Err(_) => return "the server did not answer a ping".to_owned(),
            }
        }
    };
    tokio::select! {
        why = pump(&mut conn, schema, generation) => why,
        why = ping => why,
    }
}

/// Reads the connection's messages, bumping the generation for each change of our schema.
async fn pump(conn: &mut Conn, schema: &str, generation: &Generation) -> String {
    loop {
        match poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(n))) => {
                if n.channel() == CHANNEL && n.payload() == schema {
                    generation.bump();
                }
            }
            Some(Ok(AsyncMessage::Notice(notice))) => {
                tracing::debug!(notice = %notice.message(), "change listener notice");
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return super::describe(&e),
            None => return "the connection was closed".to_owned(),
        }
    }
}
