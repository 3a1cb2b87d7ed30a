//! Records the store hands out.

use chrono::{DateTime, Utc};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::{AccountId, PermissionSet};

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A token to store: its secret exists only as a hash by now.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub permissions: PermissionSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub secret_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub permissions: PermissionSet,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub secret_hash: SecretHash,
}

/// Whether a token may be used at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

impl TokenRecord {
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

/// A person known by email, who may hold a global API key acting on their accounts.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub email: String,
    pub key_hash: Option<SecretHash>,
    pub accounts: Vec<AccountId>,
    pub created_at: DateTime<Utc>,
}
