//! The delivery worker of `ztrisk serve`: claims due deliveries from the outbox, sends them
//! concurrently, settles each. Every replica runs one; the outbox's claims keep one delivery
//! on one replica at a time, and a user's changes in order.
//!
//! It wakes when a request of this process queued deliveries, when the next retry is due,
//! and at least every `idle_poll` (for what other replicas queued).

use crate::keyring::KeyRing;
use crate::send::{Context, attempt};
use crate::signer::Signer;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use ztrisk_store::Store;
use ztrisk_store::model::Settled;

/// Attempts recorded in one write at most.
const SETTLE_CHUNK: usize = 64;
/// How long loaded signing keys are used before they are read again.
const KEYS_TTL: Duration = Duration::from_secs(5);
/// How long a finished attempt waits to be recorded with others.
const SETTLE_WITHIN: Duration = Duration::from_millis(20);

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub context: Context,
    /// Deliveries claimed at once (and sent concurrently).
    pub batch: usize,
    /// How long a claim holds: longer than an attempt can take (the 10 s timeout).
    pub lease: Duration,
    /// The longest sleep without a wake-up.
    pub idle_poll: Duration,
    /// Settled deliveries are kept this long for the deliveries API (spec 4.2: 7 days).
    pub keep_for: Duration,
}

impl WorkerConfig {
    pub fn new(context: Context) -> Self {
        Self {
            context,
            batch: 128,
            // An attempt takes at most the 10 s timeout; a replica that dies mid-attempt holds
            // its claims this long (on SQLite a restart releases them at once).
            lease: crate::outbound::DELIVERY_TIMEOUT + Duration::from_secs(5),
            idle_poll: Duration::from_secs(1),
            keep_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The running worker: [`WorkerHandle::join`] waits until it has stopped.
pub struct WorkerHandle {
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// Runs the worker until `stop` says `true`. Its I/O runs on the caller's runtime; signing,
/// the costly part, on a low-priority thread ([`Signer`]).
pub fn spawn(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    config: WorkerConfig,
    stop: watch::Receiver<bool>,
) -> std::io::Result<WorkerHandle> {
    let signer = Signer::spawn()?;
    Ok(WorkerHandle {
        task: tokio::spawn(run(store, wake, config, signer, stop)),
    })
}

async fn run(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    config: WorkerConfig,
    signer: Signer,
    mut stop: watch::Receiver<bool>,
) {
    let http = match crate::outbound::client(crate::outbound::DELIVERY_TIMEOUT) {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "delivery worker cannot build its HTTP client");
            return;
        }
    };
    let mut worker = Worker {
        store,
        http,
        signer,
        config,
        keys: None,
        last_prune: None,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        // Stopping abandons attempts in flight (dropping the round aborts them): their
        // claims lapse and they are sent again later, by this process or another.
        let sent = tokio::select! {
            round = worker.round() => match round {
                Ok(sent) => sent,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery round failed; trying again shortly");
                    0
                }
            },
            _ = stop.changed() => return,
        };
        if sent > 0 {
            // More may be due at once (a full batch, or users' next changes).
            continue;
        }
        let nap = worker.nap().await;
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(nap) => {}
            // A dropped sender means nobody can stop us any more: stop now.
            changed = stop.changed() => if changed.is_err() { return; },
        }
    }
}

struct Worker {
    store: Arc<dyn Store>,
    http: reqwest::Client,
    signer: Signer,
    config: WorkerConfig,
    /// The keys, and when they were loaded.
    keys: Option<(Instant, Arc<KeyRing>)>,
    last_prune: Option<std::time::Instant>,
}

impl Worker {
    /// Claims one batch and settles it; returns how many were sent.
    async fn round(&mut self) -> Result<usize, ztrisk_store::StoreError> {
        self.prune().await;
        let tasks = self
            .store
            .claim_deliveries(Utc::now(), self.config.lease, self.config.batch)
            .await?;
        tracing::debug!(claimed = tasks.len(), "delivery round");
        if tasks.is_empty() {
            return Ok(0);
        }
        let keys = self.keys().await?;
        let count = tasks.len();
        let mut running = JoinSet::new();
        for task in tasks {
            let (http, keys, signer) = (self.http.clone(), keys.clone(), self.signer.clone());
            let context = self.config.context.clone();
            running.spawn(async move {
                let (result, payload) =
                    attempt(&http, &signer, &task, &keys, &context, Utc::now()).await;
                tracing::debug!(id = %task.record.id, ?result, "delivery attempt");
                Settled {
                    seq: task.seq,
                    result,
                    payload,
                }
            });
        }
        // Attempts are recorded in chunks as they finish: one write per chunk, and a slow
        // receiver does not hold back the record of the others for long.
        let mut done = Vec::new();
        let mut oldest: Option<Instant> = None;
        loop {
            let next = match oldest {
                None => running.join_next().await,
                Some(at) => {
                    let wait = SETTLE_WITHIN.saturating_sub(at.elapsed());
                    match tokio::time::timeout(wait, running.join_next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            self.settle(&mut done).await;
                            oldest = None;
                            continue;
                        }
                    }
                }
            };
            match next {
                None => break,
                Some(Ok(settled)) => {
                    done.push(settled);
                    oldest.get_or_insert_with(Instant::now);
                }
                Some(Err(e)) => tracing::error!(error = %e, "a delivery attempt panicked"),
            }
            if done.len() >= SETTLE_CHUNK {
                self.settle(&mut done).await;
                oldest = None;
            }
        }
        self.settle(&mut done).await;
        Ok(count)
    }

    /// Records finished attempts. A failure leaves them claimed: the claims lapse and the
    /// deliveries are attempted again, so nothing is lost (a receiver may see one twice, with
    /// the same id, as at-least-once delivery allows).
    async fn settle(&self, done: &mut Vec<Settled>) {
        if done.is_empty() {
            return;
        }
        let batch = std::mem::take(done);
        if let Err(e) = self.store.finish_deliveries(Utc::now(), batch).await {
            tracing::warn!(error = %e, "could not record delivery attempts");
        }
    }

    /// The signing keys, reloaded every [`KEYS_TTL`]. Not per store generation: on SQLite that
    /// moves with every commit, and loading (parsing RSA keys) on every round under ingest
    /// load cost more than the deliveries. A rotation is picked up within seconds, and the key
    /// it replaces stays published meanwhile, so nothing signed in between fails to verify.
    async fn keys(&mut self) -> Result<Arc<KeyRing>, ztrisk_store::StoreError> {
        if let Some((at, keys)) = &self.keys
            && at.elapsed() < KEYS_TTL
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(KeyRing::load(self.store.as_ref()).await?);
        self.keys = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// How long to sleep: until the next retry is due, at most `idle_poll`.
    async fn nap(&self) -> Duration {
        let idle = self.config.idle_poll;
        match self.store.next_delivery_due().await {
            Ok(Some(due)) => (due - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(5), idle),
            _ => idle,
        }
    }

    /// Deletes settled deliveries older than `keep_for`, hourly.
    async fn prune(&mut self) {
        let due = self
            .last_prune
            .is_none_or(|at| at.elapsed() > Duration::from_secs(3600));
        if !due {
            return;
        }
        self.last_prune = Some(std::time::Instant::now());
        let before =
            Utc::now() - chrono::Duration::from_std(self.config.keep_for).unwrap_or_default();
        match self.store.prune_deliveries(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned settled deliveries"),
            Err(e) => tracing::warn!(error = %e, "pruning deliveries failed"),
        }
    }
}
