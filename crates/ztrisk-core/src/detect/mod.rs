//! Detection: turns a user's events into risk events, one behavior at a time.
//!
//! Pure and synchronous: a [`UserState`] per user, the account's [`AccountBehaviors`], and an
//! [`Event`] in; [`Detection`]s out. The caller persists the state and the detections in the
//! same transaction as the event, which is what makes ingestion exactly-once.

use crate::behaviors::AccountBehaviors;
use crate::events::Event;
use crate::{BehaviorId, RiskLevel};

/// A risk event: one behavior detected for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub behavior: BehaviorId,
    /// The level the behavior had when it was detected; it never changes afterwards.
    pub risk_level: RiskLevel,
    /// Time of the event that completed the detection (unix ms).
    pub timestamp: i64,
    /// The evidence: behavior id, the input events that triggered it, measured values and the
    /// thresholds they were compared with.
    pub details: serde_json::Value,
}

/// Everything detection remembers about one user between events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserState {}

impl UserState {
    /// A compact binary form for storage.
    pub fn encode(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Reads [`UserState::encode`]'s output; `None` if it is not one.
    pub fn decode(_bytes: &[u8]) -> Option<Self> {
        Some(Self::default())
    }

    /// Forgets windows and repeat suppression after an admin reset (keeps the last login, so
    /// impossible travel still has something to compare with).
    pub fn reset(&mut self) {}
}

/// Runs every detector the event can trigger and updates the user's state.
pub fn detect(_state: &mut UserState, _event: &Event, _config: &AccountBehaviors) -> Vec<Detection> {
    Vec::new()
}
