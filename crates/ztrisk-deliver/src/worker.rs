//! The delivery worker of `ztrisk serve`: claims due deliveries from the outbox, sends them
//! concurrently, settles each. Every replica runs one; the outbox's claims keep one delivery
//! on one replica at a time, and a user's changes in order.
//!
//! It wakes when a request of this process queued deliveries, when the next retry is due,
//! and at least every `idle_poll` (for what other replicas queued).

use crate::keyring::KeyRing;
use crate::send::{Context, attempt};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use ztrisk_store::Store;

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
            batch: 64,
            // An attempt takes at most the 10 s timeout; a replica that dies mid-attempt holds
            // its claims this long (on SQLite a restart releases them at once).
            lease: crate::outbound::DELIVERY_TIMEOUT + Duration::from_secs(5),
            idle_poll: Duration::from_secs(1),
            keep_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Runs the worker until `stop` says `true`.
pub fn spawn(
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    config: WorkerConfig,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
    })
}

struct Worker {
    store: Arc<dyn Store>,
    http: reqwest::Client,
    config: WorkerConfig,
    /// The keys as of a store generation.
    keys: Option<(u64, Arc<KeyRing>)>,
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
        if tasks.is_empty() {
            return Ok(0);
        }
        let keys = self.keys().await?;
        let count = tasks.len();
        let mut running = JoinSet::new();
        for task in tasks {
            let (http, keys, store) = (self.http.clone(), keys.clone(), self.store.clone());
            let context = self.config.context.clone();
            running.spawn(async move {
                let now = Utc::now();
                let (result, payload) = attempt(&http, &task, &keys, &context, now).await;
                tracing::debug!(id = %task.record.id, ?result, "delivery attempt");
                store
                    .finish_delivery(&task.record.id, Utc::now(), result, payload)
                    .await
            });
        }
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(())) => {}
                // The claim expires and another round retries it: nothing is lost.
                Ok(Err(e)) => tracing::warn!(error = %e, "could not record a delivery attempt"),
                Err(e) => tracing::error!(error = %e, "a delivery attempt panicked"),
            }
        }
        Ok(count)
    }

    async fn keys(&mut self) -> Result<Arc<KeyRing>, ztrisk_store::StoreError> {
        let generation = self.store.generation();
        if let Some((at, keys)) = &self.keys
            && *at == generation
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(KeyRing::load(self.store.as_ref()).await?);
        self.keys = Some((generation, keys.clone()));
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
