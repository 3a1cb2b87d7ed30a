//! The SQLite backend's [`generation`](crate::Store::generation): cheap enough for every
//! request, and still aware of writes by other processes (the admin CLI).
//!
//! Our own commits bump a counter in memory right after they are durable. Other processes'
//! commits are noticed through `PRAGMA data_version` on a dedicated connection, asked at most
//! every [`POLL_INTERVAL`]: the pragma takes file locks (system calls), which cost more than
//! the rest of a cached GET. A token revoked with the CLI therefore stops working within about
//! 10 ms, one revoked through the API at once.

use rusqlite::Connection;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

pub struct ChangeClock {
    /// Commits by this process's writer.
    local: AtomicU64,
    /// Changes seen in `data_version` (commits by any other connection).
    external: AtomicU64,
    /// When `data_version` was last asked, in nanoseconds since `start`.
    last_poll: AtomicU64,
    start: Instant,
    watcher: Mutex<Watcher>,
}

struct Watcher {
    conn: Connection,
    data_version: Option<i64>,
}

impl ChangeClock {
    pub fn new(conn: Connection) -> Self {
        Self {
            local: AtomicU64::new(0),
            external: AtomicU64::new(0),
            last_poll: AtomicU64::new(0),
            start: Instant::now(),
            watcher: Mutex::new(Watcher {
                conn,
                data_version: None,
            }),
        }
    }

    /// Called by the writer after each successful commit, before anyone is answered.
    pub fn committed(&self) {
        self.local.fetch_add(1, Ordering::Release);
    }

    pub fn generation(&self) -> u64 {
        let now = self.start.elapsed().as_nanos() as u64;
        let last = self.last_poll.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= POLL_INTERVAL.as_nanos() as u64;
        // One caller polls; the others go on with the counters as they are.
        if due
            && self
                .last_poll
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.poll();
        }
        // Both counters only grow, so their sum moves whenever either does.
        self.local
            .load(Ordering::Acquire)
            .wrapping_add(self.external.load(Ordering::Acquire))
    }

    fn poll(&self) {
        let Ok(mut watcher) = self.watcher.try_lock() else {
            return;
        };
        let version = watcher
            .conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)));
        match version {
            Ok(v) if watcher.data_version == Some(v) => {}
            Ok(v) => {
                watcher.data_version = Some(v);
                self.external.fetch_add(1, Ordering::Release);
            }
            // Unsure: treat as changed, so caches refill rather than serve stale data.
            Err(_) => {
                self.external.fetch_add(1, Ordering::Release);
            }
        }
    }
}
