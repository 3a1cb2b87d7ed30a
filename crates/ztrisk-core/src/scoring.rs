//! Scoring: what an ingested event does to a user's detector state and score. Both storage
//! backends run a batch through [`Touched`]; they only load users before and write the dirty
//! ones back after, each in its own SQL.

use crate::behaviors::{AccountBehaviors, Predefined};
use crate::detect::{Detection, UserState, detect};
use crate::events::Event;
use crate::{BehaviorId, RiskLevel};

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

/// What made a user's level change (spec 4.1, 4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeCause {
    /// A detection of this behavior set the new level.
    Detection(BehaviorId),
    /// An administrator reset the user.
    Reset,
    /// An administrator confirmed the user compromised.
    ConfirmedCompromised,
    /// Risk events aged out.
    Expiry,
}

/// The `behavior_id` a confirmed-compromised risk event is stored under: not a valid behavior
/// id, so no custom behavior can be mistaken for it.
pub const CONFIRMED_COMPROMISED: &str = "ztrisk:confirmed_compromised";
/// Its display name (spec 6.2).
pub const CONFIRMED_COMPROMISED_NAME: &str = "Confirmed compromised by an administrator";

impl ChangeCause {
    /// Who started it, as Okta's `initiating_entity` says it.
    pub fn initiating_entity(&self) -> &'static str {
        match self {
            ChangeCause::Detection(_) => "policy",
            ChangeCause::Reset | ChangeCause::ConfirmedCompromised => "admin",
            ChangeCause::Expiry => "system",
        }
    }

    /// A short machine reason: the behavior id, `reset`, `confirmed_compromised` or `expired`
    /// (CAEP `risk_reason`, webhooks' `reason`).
    pub fn code(&self) -> &str {
        match self {
            ChangeCause::Detection(behavior) => behavior.as_str(),
            ChangeCause::Reset => "reset",
            ChangeCause::ConfirmedCompromised => "confirmed_compromised",
            ChangeCause::Expiry => "expired",
        }
    }

    /// A sentence for administrators (Okta's `reason_admin`): the behavior's display name (a
    /// custom behavior's id), or what an administrator or ztrisk did.
    pub fn describe(&self) -> String {
        match self {
            ChangeCause::Detection(behavior) => Predefined::from_id(behavior.as_str())
                .map(|p| p.name().to_owned())
                .unwrap_or_else(|| behavior.as_str().to_owned()),
            ChangeCause::Reset => "Risk reset by an administrator".into(),
            ChangeCause::ConfirmedCompromised => {
                "User confirmed compromised by an administrator".into()
            }
            ChangeCause::Expiry => "Risk expired".into(),
        }
    }

    /// The cause stored with a change, and read back from it ([`ChangeCause::code`]).
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "reset" => ChangeCause::Reset,
            "confirmed_compromised" => ChangeCause::ConfirmedCompromised,
            "expired" => ChangeCause::Expiry,
            behavior => ChangeCause::Detection(behavior.parse().ok()?),
        })
    }
}

/// A user's level before and after one transaction, when they differ (spec 4.1): what the
/// outbox delivers. `None` is "unscored".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelChange {
    pub previous: Option<RiskLevel>,
    pub current: Option<RiskLevel>,
    pub cause: ChangeCause,
    /// When it happened (unix ms).
    pub at: i64,
}

impl LevelChange {
    /// The change a transaction made, if the level moved.
    pub fn between(
        previous: Option<RiskLevel>,
        current: Option<RiskLevel>,
        cause: ChangeCause,
        at: i64,
    ) -> Option<Self> {
        (previous != current).then_some(Self {
            previous,
            current,
            cause,
            at,
        })
    }

    /// Whether a destination that wants levels from `min_level` up is told: when the level
    /// before or after is at or above it (unscored is below every level).
    pub fn reaches(&self, min_level: RiskLevel) -> bool {
        self.previous.max(self.current) >= Some(min_level)
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
    /// The level before the batch.
    initial_level: Option<RiskLevel>,
    /// The behavior whose detection set the current level, once the batch raised it.
    raised_by: Option<BehaviorId>,
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
            initial_level: user.score.level,
            raised_by: None,
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
        // Monitor-only detections are stored and shown, but never count (spec 6.1).
        for detection in detections.iter().filter(|d| !d.monitor_only) {
            if Some(detection.risk_level) > self.user.score.level {
                self.raised_by = Some(detection.behavior.clone());
            }
            self.user.score.record(detection);
        }
        (detected_at, detections)
    }

    /// The user's level change over the whole batch, if any: one per batch, with the final
    /// level, caused by the detection that set it.
    pub fn level_change(&self, at: i64) -> Option<LevelChange> {
        let behavior = self.raised_by.clone()?;
        LevelChange::between(
            self.initial_level,
            self.user.score.level,
            ChangeCause::Detection(behavior),
            at,
        )
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
            monitor_only: false,
            expire_after_days: 0,
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

    #[test]
    fn one_change_per_batch_with_the_final_level() {
        let mut touched = Touched::new(1, ScoringUser::new("a".into()));
        assert_eq!(touched.level_change(5), None);
        let foo = "foo"
            .parse::<BehaviorId>()
            .unwrap_or_else(|e| panic!("{e:?}"));
        let bar = "bar"
            .parse::<BehaviorId>()
            .unwrap_or_else(|e| panic!("{e:?}"));
        for (behavior, level) in [(&foo, RiskLevel::Medium), (&bar, RiskLevel::High)] {
            let d = Detection {
                behavior: behavior.clone(),
                risk_level: level,
                timestamp: 1,
                details: serde_json::Value::Null,
                monitor_only: false,
                expire_after_days: 0,
            };
            if Some(d.risk_level) > touched.user.score.level {
                touched.raised_by = Some(d.behavior.clone());
            }
            touched.user.score.record(&d);
        }
        let change = touched.level_change(7);
        assert_eq!(
            change,
            Some(LevelChange {
                previous: None,
                current: Some(RiskLevel::High),
                cause: ChangeCause::Detection(bar),
                at: 7
            })
        );
        let change = change.unwrap_or_else(|| panic!("a change"));
        assert_eq!(change.cause.initiating_entity(), "policy");
        assert!(change.reaches(RiskLevel::High));
        let reset = LevelChange::between(Some(RiskLevel::Low), None, ChangeCause::Reset, 8);
        assert!(reset.as_ref().is_some_and(|r| r.reaches(RiskLevel::Low)));
        assert!(!reset.as_ref().is_some_and(|r| r.reaches(RiskLevel::Medium)));
        assert_eq!(
            LevelChange::between(None, None, ChangeCause::Reset, 8),
            None
        );
        for cause in [
            ChangeCause::Reset,
            ChangeCause::Expiry,
            ChangeCause::ConfirmedCompromised,
        ] {
            assert_eq!(ChangeCause::from_code(cause.code()), Some(cause));
        }
        assert_eq!(
            ChangeCause::Reset.describe(),
            "Risk reset by an administrator"
        );
        assert_eq!(
            ChangeCause::from_code("imp_travel").map(|c| c.describe()),
            Some("Impossible Travel".to_owned())
        );
    }
}
