//! Small results: the empty object and the status of the operations endpoints.

use serde::{Deserialize, Serialize};

/// `{}`: the `result` of a reset or a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}

/// `{"status": ...}` of `/healthz` (`"ok"`) and `/readyz` (`"ready"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Status {
    pub status: String,
}
