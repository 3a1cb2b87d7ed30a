//! The signing keys as the server and the worker use them: loaded from the store (where
//! replicas share them), the first one made at first start, rotated by `ztrisk signing-keys`.

use crate::keys::{KeyError, SigningKey, generate_pkcs8, jwks};
use serde_json::Value;
use ztrisk_store::model::{Actor, SigningKeyStatus, StoredSigningKey};
use ztrisk_store::{Store, StoreError};

/// What can go wrong with keys: the store, or the key material itself.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The keys of the installation: the one that signs, and those still published.
#[derive(Debug, Default)]
pub struct KeyRing {
    active: Option<SigningKey>,
    published: Vec<SigningKey>,
}

impl KeyRing {
    /// Loads every key that is not retired. A key that does not load (damaged) is left out
    /// with a warning rather than taking the JWKS down with it.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        Ok(Self::from_stored(store.signing_keys().await?))
    }

    /// The ring of keys as the store lists them (parsing each private key: about a
    /// millisecond, so callers keep the ring while the list is the same).
    pub fn from_stored(keys: Vec<StoredSigningKey>) -> Self {
        let mut ring = KeyRing::default();
        for stored in keys {
            if stored.status == SigningKeyStatus::Retired {
                continue;
            }
            match SigningKey::from_pkcs8(&stored.private_key) {
                Ok(key) if stored.status == SigningKeyStatus::Active && ring.active.is_none() => {
                    ring.active = Some(key);
                }
                Ok(key) => ring.published.push(key),
                Err(e) => tracing::warn!(kid = %stored.kid, error = %e, "signing key left out"),
            }
        }
        ring
    }

    /// The key that signs new SETs; `None` before the first start made one.
    pub fn active(&self) -> Option<&SigningKey> {
        self.active.as_ref()
    }

    /// `/.well-known/jwks.json`: the active key first, then those still verifying.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&SigningKey> = self.active.iter().chain(&self.published).collect();
        jwks(&keys)
    }
}

/// Makes the first signing key if the installation has none (every start calls it; replicas
/// starting together keep one). Key generation takes a moment: it runs off the async threads.
pub async fn ensure_signing_key(store: &dyn Store) -> Result<(), KeyRingError> {
    if !store.signing_keys().await?.is_empty() {
        return Ok(());
    }
    let (kid, der) = new_key().await?;
    if store
        .add_first_signing_key(&kid, der, &Actor::System)
        .await?
    {
        tracing::info!(%kid, "created the first signing key");
    }
    Ok(())
}

/// Makes a new key the signer; the previous one stays published. Returns the new kid.
pub async fn rotate(store: &dyn Store, actor: &Actor) -> Result<String, KeyRingError> {
    let (kid, der) = new_key().await?;
    store.rotate_signing_key(&kid, der, actor).await?;
    Ok(kid)
}

async fn new_key() -> Result<(String, Vec<u8>), KeyError> {
    let der = tokio::task::spawn_blocking(generate_pkcs8)
        .await
        .map_err(|e| KeyError::Generate(e.to_string()))??;
    let kid = SigningKey::from_pkcs8(&der)?.kid().to_owned();
    Ok((kid, der))
}
