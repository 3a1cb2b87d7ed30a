//! Wire types of the Cloudflare `zt_risk_scoring` API as ztrisk serves it.
//!
//! Only shapes live here: no validation, no IO. The server and the Rust client share them, so a
//! field renamed here is renamed on both sides of the wire at once.

mod behaviors;
mod envelope;
mod tokens;

pub use behaviors::{BehaviorView, BehaviorsResult};
pub use envelope::{Envelope, ErrorChainItem, ErrorItem, ErrorSource, ResultInfo};
pub use tokens::TokenVerifyResult;
