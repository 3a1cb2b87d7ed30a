//! API tokens and global API keys: how they look, how they are made, how they are stored.
//!
//! Both are high-entropy random strings (180 and 148 bits), so a plain SHA-256 is the right
//! storage hash: a slow password hash would buy nothing against guessing and would cost every
//! request. Only the hash is ever stored; comparisons of hashes are constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of an API token: 40 characters of `[A-Za-z0-9_-]`, as Cloudflare's.
pub const TOKEN_LEN: usize = 40;
/// Length of a global API key: 37 lowercase hex characters, as Cloudflare's.
pub const API_KEY_LEN: usize = 37;

/// SHA-256 of a secret: what is stored and looked up, never the secret itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Constant-time equality, so that comparing a presented secret leaks nothing about how
    /// many leading bytes matched.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// A new random API token (30 random bytes, base64url: exactly 40 characters).
pub fn generate_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 30]>())
}

/// A new random global API key (37 lowercase hex characters).
pub fn generate_api_key() -> String {
    let mut key = hex::encode(rand::random::<[u8; 19]>());
    key.truncate(API_KEY_LEN);
    key
}

/// Whether `token` has the shape of an API token; anything else is a malformed header.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `key` has the shape of a global API key.
pub fn is_api_key_shaped(key: &str) -> bool {
    key.len() == API_KEY_LEN && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A deliberately simple email check: one `@`, something on each side, a dot in the domain,
/// no spaces or control characters, at most 254 bytes. Deliverability is not our business.
pub fn is_email_shaped(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_their_shape() {
        for _ in 0..100 {
            let token = generate_token();
            assert!(is_token_shaped(&token), "{token}");
            let key = generate_api_key();
            assert!(is_api_key_shaped(&key), "{key}");
        }
        assert_ne!(generate_token(), generate_token());
    }

    #[test]
    fn shapes() {
        assert!(!is_token_shaped("short"));
        assert!(!is_token_shaped(&"a".repeat(39)));
        assert!(!is_token_shaped(&format!("{}!", "a".repeat(39))));
        assert!(is_token_shaped(&"Ab9_-".repeat(8)));
        assert!(!is_api_key_shaped(&"A".repeat(37)));
        assert!(is_email_shaped("user@example.com"));
        for bad in [
            "user",
            "@example.com",
            "user@",
            "user@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(!is_email_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn hashes_compare() {
        let a = SecretHash::of("x");
        assert!(a.matches(&SecretHash::of("x")));
        assert!(!a.matches(&SecretHash::of("y")));
        assert_eq!(format!("{a:?}"), "SecretHash(..)");
    }
}
