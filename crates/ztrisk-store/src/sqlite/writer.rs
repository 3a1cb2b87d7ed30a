//! The single writer: one thread owns the read-write connection and commits in groups.
//!
//! SQLite allows one writer at a time anyway; funnelling writes through one thread turns
//! contention into a queue, and lets one transaction (one fsync) carry every write that
//! arrived while the previous commit was in flight. Each write runs inside its own savepoint,
//! so a failing write is rolled back alone, and its caller is answered only after the commit
//! that holds it is durable.

use crate::StoreError;
use rusqlite::Connection;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Writes folded into one transaction at most.
const MAX_GROUP: usize = 512;

trait Job: Send {
    /// Whether the write may skip the fsync at commit (see [`Writer::write_relaxed`]).
    fn relaxed(&self) -> bool;
    /// Runs the write; `false` when it failed and its savepoint must be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the fate of the transaction is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Pending<T, F> {
    relaxed: bool,
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn relaxed(&self) -> bool {
        self.relaxed
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let result = match self.work.take() {
            Some(work) => work(conn),
            None => Err(StoreError::Backend("write ran twice".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let outcome = match (committed, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(e), _) => Err(StoreError::Backend(e)),
            (Ok(()), None) => Err(StoreError::Backend("write was not run".into())),
        };
        // The caller may have gone away (client disconnected); the write stands regardless.
        let _ = self.reply.send(outcome);
    }
}

pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// Told, on the writer thread, whether each group commit succeeded.
pub type CommitObserver = Box<dyn Fn(bool) + Send>;

impl Writer {
    pub fn spawn(conn: Connection, observer: CommitObserver) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("ztrisk-sqlite-writer".into())
            .spawn(move || run(conn, queue, observer))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in a write transaction and returns once it is committed and durable.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(false, work).await
    }

    /// Runs `work` in a write transaction that need not survive a power failure, only a
    /// process crash: a group made only of such writes commits without an fsync (WAL with
    /// `synchronous=NORMAL`), and the next durable commit makes it durable too. For bookkeeping
    /// whose loss repeats work without losing any: the outbox's claims and attempt records (a
    /// lost record means the delivery is sent again, with the same id).
    pub async fn write_relaxed<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(true, work).await
    }

    async fn submit<T, F>(&self, relaxed: bool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            relaxed,
            work: Some(work),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Backend("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the writer thread dropped a write".into()))?
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Box<dyn Job>>, observer: CommitObserver) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let relaxed = group.iter().all(|job| job.relaxed());
        let committed = if relaxed {
            commit_relaxed(&conn, &mut group)
        } else {
            commit_group(&conn, &mut group)
        };
        observer(committed.is_ok());
        if let Err(e) = &committed {
            tracing::error!(error = %e, writes = group.len(), "sqlite group commit failed");
        }
        for job in group {
            job.finish(committed.clone());
        }
    }
}

/// Commits a group of relaxed writes with `synchronous=NORMAL`, then restores the connection's
/// own setting for the next group.
fn commit_relaxed(conn: &Connection, group: &mut [Box<dyn Job>]) -> Result<(), String> {
    let level: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if level <= 1 {
        return commit_group(conn, group);
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| e.to_string())?;
    let committed = commit_group(conn, group);
    let restored = conn
        .pragma_update(None, "synchronous", level)
        .map_err(|e| e.to_string());
    committed.and(restored)
}

fn commit_group(conn: &Connection, group: &mut [Box<dyn Job>]) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for job in group.iter_mut() {
        let step = conn.execute_batch("SAVEPOINT job").and_then(|()| {
            if job.run(conn) {
                conn.execute_batch("RELEASE job")
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")
            }
        });
        if let Err(e) = step {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.to_string());
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    })
}
