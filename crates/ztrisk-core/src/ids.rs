//! Identifiers that arrive in paths and bodies, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

/// An account id: 32 lowercase hex characters, like Cloudflare's account tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 16]);

impl AccountId {
    /// A fresh random account id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an account id is 32 lowercase hexadecimal characters")]
pub struct InvalidAccountId;

impl FromStr for AccountId {
    type Err = InvalidAccountId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Uppercase is refused on purpose: ids are compared as text in URLs and logs.
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(InvalidAccountId);
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| InvalidAccountId)?;
        Ok(Self(bytes))
    }
}

/// The id of a behavior: one of the predefined ids or a custom one matching
/// `^[a-z][a-z0-9_]{0,63}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BehaviorId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a behavior id starts with a lowercase letter, followed by at most 63 lowercase letters, digits or underscores"
)]
pub struct InvalidBehaviorId;

impl BehaviorId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BehaviorId {
    type Err = InvalidBehaviorId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = s.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if first_ok && rest_ok && s.len() <= 64 {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidBehaviorId)
        }
    }
}

impl fmt::Display for BehaviorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token id: 32 lowercase hex characters (the form Cloudflare's token ids take).
pub fn random_token_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn account_ids() {
        let id = AccountId::random();
        assert_eq!(id.to_string().parse::<AccountId>(), Ok(id));
        assert!(
            "023e105f4ecef8ad9ca31a8372d0c35"
                .parse::<AccountId>()
                .is_err()
        );
        assert!(
            "023E105F4ECEF8AD9CA31A8372D0C353"
                .parse::<AccountId>()
                .is_err()
        );
        assert!(
            "023e105f4ecef8ad9ca31a8372d0c353"
                .parse::<AccountId>()
                .is_ok()
        );
    }

    #[test]
    fn behavior_ids() {
        for ok in ["foo", "a", "imp_travel", "x9_", &"a".repeat(64)] {
            assert!(ok.parse::<BehaviorId>().is_ok(), "{ok}");
        }
        for bad in ["", "9a", "_a", "Foo", "a-b", "a b", "é", &"a".repeat(65)] {
            assert!(bad.parse::<BehaviorId>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn behavior_id_matches_its_pattern(s in "\\PC{0,70}") {
            let pattern_ok = s.len() <= 64
                && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            prop_assert_eq!(s.parse::<BehaviorId>().is_ok(), pattern_ok);
        }
    }
}
