use crate::OKTA;
use crate::lenient::{null_as_default, rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An integration: where changes of users' risk are exported (Shared Signals Framework).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integration {
    /// The integration's id (a UUID).
    pub id: String,
    /// The account it belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub account_tag: String,
    /// Whether changes of risk are exported.
    pub active: bool,
    /// When it was created.
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// An [`IntegrationType`](crate::IntegrationType) spelling (`"Okta"`); a string, so that a
    /// client still reads an answer naming a type it does not know yet.
    #[serde(default, deserialize_with = "null_as_default")]
    pub integration_type: String,
    /// A reference chosen by the client (e.g. the Access Okta IdP id); `""` when none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub reference_id: String,
    /// The tenant's base URL, e.g. `https://tenant.okta.com`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tenant_url: String,
    /// The Shared Signals Framework configuration URL of this integration.
    #[serde(default, deserialize_with = "null_as_default")]
    pub well_known_url: String,
}

/// Body of POST `/integrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationCreate {
    /// `"Okta"` (see [`OKTA`]).
    pub integration_type: String,
    /// The tenant's base URL: an absolute `https://` URL.
    pub tenant_url: String,
    /// An optional reference, unique per account when not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
}

impl IntegrationCreate {
    /// An Okta integration for `tenant_url`, without a reference id.
    pub fn okta(tenant_url: impl Into<String>) -> Self {
        Self {
            integration_type: OKTA.to_owned(),
            tenant_url: tenant_url.into(),
            reference_id: None,
        }
    }

    /// Sets the reference id.
    pub fn reference_id(mut self, reference_id: impl Into<String>) -> Self {
        self.reference_id = Some(reference_id.into());
        self
    }
}

/// Body of PUT `/integrations/{integration_id}`: every field is overwritten, and an omitted
/// `reference_id` becomes `""`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationUpdate {
    /// Whether changes of risk are exported.
    pub active: bool,
    /// The tenant's base URL: an absolute `https://` URL.
    pub tenant_url: String,
    /// The reference id; `None` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
}

impl IntegrationUpdate {
    /// An update setting `active` and `tenant_url`, and clearing the reference id.
    pub fn new(active: bool, tenant_url: impl Into<String>) -> Self {
        Self {
            active,
            tenant_url: tenant_url.into(),
            reference_id: None,
        }
    }

    /// Sets the reference id.
    pub fn reference_id(mut self, reference_id: impl Into<String>) -> Self {
        self.reference_id = Some(reference_id.into());
        self
    }
}
