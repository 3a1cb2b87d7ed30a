//! The ztrisk domain, pure and synchronous: identifiers, risk levels, the behavior catalog and
//! its settings, permissions and credentials. No IO, no async, no SQL: everything here can be
//! tested with plain values.

pub mod behaviors;
pub mod categories;
pub mod credentials;
pub mod detect;
pub mod events;
pub mod field_error;
pub mod ids;
pub mod permissions;
pub mod scoring;

pub use field_error::FieldError;
pub use ids::{AccountId, BehaviorId};
pub use permissions::{Permission, PermissionSet};
/// The one risk level, from the wire vocabulary (strict `FromStr` for requests).
pub use ztrisk_types::RiskLevel;
