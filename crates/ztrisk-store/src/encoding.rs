//! Encodings both backends share: how an event id and a detector state are stored.

use sha2::{Digest, Sha256};
use ztrisk_core::detect::UserState;

/// The stored form of an event id: the first 16 bytes of its SHA-256. Only the digest is
/// kept (ids may carry whatever the sender put in them), and 128 bits keep collisions out of
/// reach for any number of events.
pub fn event_id_hash(id: &str) -> [u8; 16] {
    let digest = Sha256::digest(id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A user's stored detector state; an unreadable one (written by a future version, or
/// damaged) starts afresh rather than failing every batch of that user.
pub fn decode_state(user_key: i64, stored: Option<&[u8]>) -> UserState {
    match stored.map(UserState::decode) {
        Some(Some(state)) => state,
        Some(None) => {
            tracing::warn!(user_key, "unreadable detector state; starting afresh");
            UserState::default()
        }
        None => UserState::default(),
    }
}
