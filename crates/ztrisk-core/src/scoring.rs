//! Scoring: what an ingested event does to a user's detector state and score. Both storage
//! backends run a batch through [`Touched`]; they only load users before and write the dirty
//! ones back after, each in its own SQL.

use crate::RiskLevel;
use crate::behaviors::AccountBehaviors;
use crate::detect::{Detection, UserState, detect};
use crate::events::Event;

/// A user's score since their last reset: what the summary and the user's level show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserScore {
    /// The highest level among the risk events; `None` while there are none.
    pub level: Option<RiskLevel>,
    /// How many risk events.
    pub event_count: i64,
    /// Time of the newest risk event (unix ms).
    pub last_event_at: Option<i64>,
}

impl UserScore {
    /// Whether the user appears in the summary.
    pub fn is_scored(&self) -> bool {
        self.event_count > 0
    }

    /// Counts one more risk event.
    pub fn record(&mut self, detection: &Detection) {
        self.level = self.level.max(Some(detection.risk_level));
        self.event_count += 1;
        self.last_event_at = Some(
            self.last_event_at
                .map_or(detection.timestamp, |t| t.max(detection.timestamp)),
        );
    }
}

/// Everything ingest needs to know about a user.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringUser {
    pub state: UserState,
    pub name: String,
    /// When the user was last reset (unix ms).
    pub last_reset_at: Option<i64>,
    pub score: UserScore,
}

impl ScoringUser {
    /// A user seen for the first time.
    pub fn new(name: String) -> Self {
        Self {
            state: UserState::default(),
            name,
            last_reset_at: None,
            score: UserScore::default(),
        }
    }
}

/// The name a new user gets when the event gives none: the local part of the email.
pub fn default_name(email: &str) -> String {
    email.split('@').next().unwrap_or_default().to_owned()
}

/// A user touched by a batch, under the backend's key `K`: loaded once, changed by each of the
/// batch's events in order, written back once (only what changed).
#[derive(Debug, Clone)]
pub struct Touched<K> {
    pub key: K,
    pub user: ScoringUser,
    was_scored: bool,
    /// The detector state must be written back.
    pub state_dirty: bool,
    /// The user's row (name, score) must be written back.
    pub row_dirty: bool,
}

impl<K> Touched<K> {
    pub fn new(key: K, user: ScoringUser) -> Self {
        Self {
            key,
            was_scored: user.score.is_scored(),
            user,
            state_dirty: false,
            row_dirty: false,
        }
    }

    /// Takes the name the event gives the user, if any. Runs for duplicates too: the newest
    /// name a client sends wins.
    pub fn rename(&mut self, event: &Event) {
        if let Some(name) = &event.user.name
            && *name != self.user.name
        {
            self.user.name.clone_from(name);
            self.row_dirty = true;
        }
    }

    /// Runs detection on an accepted event and counts what it found. Returns the detections
    /// and the time they are recorded as detected: `now`, but strictly after the user's last
    /// reset even within the same millisecond, so a reset never hides a later detection.
    pub fn detect(
        &mut self,
        event: &Event,
        config: &AccountBehaviors,
        now: i64,
    ) -> (i64, Vec<Detection>) {
        let detected_at = self
            .user
            .last_reset_at
            .map_or(now, |reset| now.max(reset + 1));
        let before = self.user.state.clone();
        let detections = detect(&mut self.user.state, event, config);
        // Most events (clean DNS, healthy posture) change nothing: those users need no write.
        self.state_dirty |= self.user.state != before;
        self.row_dirty |= !detections.is_empty();
        for detection in &detections {
            self.user.score.record(detection);
        }
        (detected_at, detections)
    }

    /// Whether this batch made the user appear in the summary (for the scored-user count).
    pub fn newly_scored(&self) -> bool {
        !self.was_scored && self.user.score.is_scored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BehaviorId;

    fn detection(level: RiskLevel, timestamp: i64) -> Detection {
        Detection {
            behavior: "foo"
                .parse::<BehaviorId>()
                .unwrap_or_else(|e| panic!("{e:?}")),
            risk_level: level,
            timestamp,
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn scores_keep_the_highest_level_and_newest_time() {
        let mut score = UserScore::default();
        assert!(!score.is_scored());
        score.record(&detection(RiskLevel::Medium, 20));
        score.record(&detection(RiskLevel::Low, 10));
        assert_eq!(
            score,
            UserScore {
                level: Some(RiskLevel::Medium),
                event_count: 2,
                last_event_at: Some(20)
            }
        );
        let mut touched = Touched::new(1, ScoringUser::new("a".into()));
        assert!(!touched.newly_scored());
        touched.user.score = score;
        assert!(touched.newly_scored());
        assert_eq!(default_name("alice@example.com"), "alice");
    }
}
