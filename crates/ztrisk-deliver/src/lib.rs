//! Risk sharing: how ztrisk tells other systems that a user's risk level changed (spec 4).
//!
//! A level change (`ztrisk_core::scoring::LevelChange`) is queued in the store's outbox, in the
//! same transaction as the change, once per destination: an Okta integration, an SSF stream, a
//! webhook. This crate turns such a row into bytes on the wire and decides what an answer means:
//!
//! - [`keys`]: the RSA signing keys (generated with `rsa`, used with `ring`), the JWKS and the
//!   compact JWS that carries every Security Event Token.
//! - [`set`]: the claims of the SETs: Okta's `user-risk-change` and CAEP's `risk-level-change`.
//! - [`webhook`]: Standard Webhooks signatures and the webhook bodies (standard and Slack).
//! - [`retry`]: what an HTTP answer means for a delivery (delivered, retry later, failed) and when
//!   to try again.
//! - [`outbound`]: which receiver URLs ztrisk may call at all (no SSRF, no loops) and the HTTP
//!   client deliveries go through.
//!
//! - [`keyring`]: the installation's keys as loaded from the store (first key, rotation).
//! - [`send`]: one attempt of one delivery; [`worker`]: the loop that claims, sends, settles.
//!
//! The blocks above `keyring` are pure and synchronous (apart from the client's DNS resolver),
//! so they are tested with plain values; the worker is tested end to end by the server's tests.
//!
//! One crypto provider: `ring`, which rustls (reqwest's TLS) already uses. Mixing in aws-lc-rs
//! makes rustls panic at start (design.md), so nothing here may pull it in.

pub mod keyring;
pub mod keys;
pub mod outbound;
pub mod retry;
pub mod send;
pub mod set;
pub mod signer;
pub mod webhook;
pub mod worker;

/// 32 lowercase hex digits (128 random bits): a SET's `jti`, a webhook's `webhook-id`. Free of
/// `.`, which matters because Standard Webhooks signs `"{id}.{timestamp}.{body}"`. `rand`'s
/// thread RNG is a CSPRNG seeded from the OS, as ztrisk-core's ids use.
pub fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_32_lowercase_hex_and_differ() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_ne!(a, b);
    }
}
