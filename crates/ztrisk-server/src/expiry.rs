//! The expiry sweeper (spec 6.1): risk events of behaviors with `expire_after_days` stop
//! counting that many days after detection. Each user's next expiry is kept on their row, so a
//! sweep reads only the users it changes; it runs at start (expiries that fell due while the
//! server was down) and then every [`INTERVAL`]. A level that drops is a level change for the
//! outbox, like a reset.

use crate::app::AppState;
use std::time::Duration;
use tokio::sync::watch;
use ztrisk_store::model::ExpiryOutcome;

/// How often expiries are applied: a level drops at most this late.
pub const INTERVAL: Duration = Duration::from_secs(30);
/// Users recomputed per store transaction.
const BATCH: usize = 500;

/// Sweeps now and every [`INTERVAL`] until `stop` turns `true`.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            sweep(&state).await;
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
            }
        }
    });
}

/// Applies every expiry due now; a failure is logged and retried at the next sweep.
pub async fn sweep(state: &AppState) -> ExpiryOutcome {
    let mut total = ExpiryOutcome::default();
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let outcome = match state.store.expire_risk(now, BATCH).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, "expiring risk events failed; retrying at the next sweep");
                break;
            }
        };
        if outcome.level_changes > 0 {
            state.decisions.levels_changed();
        }
        if outcome.deliveries_queued > 0 {
            state.sharing.queued();
        }
        total.users += outcome.users;
        total.level_changes += outcome.level_changes;
        total.deliveries_queued += outcome.deliveries_queued;
        if outcome.users < BATCH as u64 {
            break;
        }
    }
    total
}
