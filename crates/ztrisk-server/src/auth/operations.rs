//! The one permissions table: every route of the API, the operation it performs, and the
//! permissions that operation accepts (spec 1.3). Handlers name their operation in their
//! extractor (`AccountAccess<ReadBehaviors>`); the router registers only routes listed in
//! [`ROUTES`], and a test checks both against each other, so a route cannot be added without a
//! decision here.

use axum::http::Method;
use ztrisk_core::Permission;
use ztrisk_core::Permission::{
    ZeroTrustPiiRead, ZeroTrustRead, ZeroTrustRiskEventsWrite, ZeroTrustRiskSharing, ZeroTrustWrite,
};

/// An operation on an account: at least one of `ACCEPTED` is required.
pub trait Operation: Send + Sync + 'static {
    /// Its name in [`ROUTES`].
    const NAME: &'static str;
    const ACCEPTED: &'static [Permission];
}

macro_rules! operations {
    ($( $(#[$doc:meta])* $name:ident => [$($permission:ident),+]; )*) => {
        $(
            $(#[$doc])*
            pub struct $name;
            impl Operation for $name {
                const NAME: &'static str = stringify!($name);
                const ACCEPTED: &'static [Permission] = &[$($permission),+];
            }
        )*

        /// The permissions an account operation accepts, by its name.
        pub fn accepted(name: &str) -> Option<&'static [Permission]> {
            match name {
                $( stringify!($name) => Some($name::ACCEPTED), )*
                _ => None,
            }
        }
    };
}

operations! {
    /// GET behaviors.
    ReadBehaviors => [ZeroTrustRead, ZeroTrustWrite];
    /// PUT behaviors.
    WriteBehaviors => [ZeroTrustWrite];
    /// GET summary, GET a user: users' emails and names are personal data.
    ReadRisk => [ZeroTrustPiiRead];
    /// POST a user's reset.
    ResetUser => [ZeroTrustWrite];
    /// GET decision: a reverse proxy asks whether a user may pass (ztrisk).
    Decide => [ZeroTrustPiiRead];
    /// POST a user's confirm_compromised (ztrisk).
    ConfirmCompromised => [ZeroTrustWrite];
    /// GET integrations (list, by id, by reference).
    ReadIntegrations => [ZeroTrustRead, ZeroTrustWrite];
    /// Create, update, delete integrations.
    WriteIntegrations => [ZeroTrustWrite];
    /// POST events and the ingest adapters: what a log shipper's token is for, and nothing else.
    IngestEvents => [ZeroTrustRiskEventsWrite];
    /// GET webhooks (list, by id).
    ReadWebhooks => [ZeroTrustRead, ZeroTrustWrite];
    /// Create, update, delete and test webhooks.
    WriteWebhooks => [ZeroTrustWrite];
    /// GET the deliveries of an integration or a webhook.
    ReadDeliveries => [ZeroTrustRead, ZeroTrustWrite];
    /// GET the audit log (ztrisk): it names users, tokens and key owners, so PII Read.
    ReadAudit => [ZeroTrustPiiRead];
    /// An SSF receiver manages its stream and polls it (spec 4.5): what a receiver's token is
    /// for, and nothing else.
    ManageStream => [ZeroTrustRiskSharing];
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials (liveness and readiness probes).
    Public,
    /// Any valid API token, whatever its accounts and permissions.
    AnyToken,
    /// Credentials for the account in the path with a permission the named [`Operation`]
    /// accepts.
    Account(&'static str),
    /// A Bearer API token for the account of the SSF integration in the path, with a
    /// permission the named [`Operation`] accepts.
    Integration(&'static str),
}

/// One row of the table: a method and a path (relative to `/` or `/client/v4`).
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: Method, path: &'static str, access: Access) -> Route {
    Route {
        method,
        path,
        access,
    }
}

/// Every route the server answers, with its decision.
pub const ROUTES: &[Route] = &[
    route(Method::GET, "/healthz", Access::Public),
    route(Method::GET, "/readyz", Access::Public),
    route(Method::GET, "/metrics", Access::Public),
    route(Method::GET, "/openapi.json", Access::Public),
    route(Method::GET, "/docs", Access::Public),
    route(Method::GET, "/docs/swagger-ui-bundle.js", Access::Public),
    route(Method::GET, "/docs/swagger-ui.css", Access::Public),
    route(Method::GET, "/docs/init.js", Access::Public),
    route(Method::GET, "/user/tokens/verify", Access::AnyToken),
    route(Method::GET, "/.well-known/jwks.json", Access::Public),
    route(
        Method::GET,
        "/.well-known/sse-configuration/{integration_id}",
        Access::Public,
    ),
    route(
        Method::GET,
        "/.well-known/sse-configuration/{integration_id}/",
        Access::Public,
    ),
    route(
        Method::GET,
        "/.well-known/ssf-configuration/{integration_id}",
        Access::Public,
    ),
    route(
        Method::GET,
        "/.well-known/ssf-configuration/{integration_id}/",
        Access::Public,
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/behaviors",
        Access::Account(ReadBehaviors::NAME),
    ),
    route(
        Method::PUT,
        "/accounts/{account_id}/zt_risk_scoring/behaviors",
        Access::Account(WriteBehaviors::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/summary",
        Access::Account(ReadRisk::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}",
        Access::Account(ReadRisk::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}/reset",
        Access::Account(ResetUser::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/decision",
        Access::Account(Decide::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}/confirm_compromised",
        Access::Account(ConfirmCompromised::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/integrations",
        Access::Account(ReadIntegrations::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/integrations",
        Access::Account(WriteIntegrations::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}",
        Access::Account(ReadIntegrations::NAME),
    ),
    route(
        Method::PUT,
        "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}",
        Access::Account(WriteIntegrations::NAME),
    ),
    route(
        Method::DELETE,
        "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}",
        Access::Account(WriteIntegrations::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/integrations/reference_id/{reference_id}",
        Access::Account(ReadIntegrations::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/events",
        Access::Account(IngestEvents::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/cloudflare/{dataset}",
        Access::Account(IngestEvents::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/ingest/okta",
        Access::Account(IngestEvents::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/okta",
        Access::Account(IngestEvents::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/ocsf",
        Access::Account(IngestEvents::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}/deliveries",
        Access::Account(ReadDeliveries::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}/stream",
        Access::Account(ReadIntegrations::NAME),
    ),
    route(
        Method::GET,
        "/ssf/{integration_id}/stream",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/stream",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::PATCH,
        "/ssf/{integration_id}/stream",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::PUT,
        "/ssf/{integration_id}/stream",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::DELETE,
        "/ssf/{integration_id}/stream",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::GET,
        "/ssf/{integration_id}/stream/status",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/stream/status",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/stream/verify",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/stream/subjects/add",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/stream/subjects/remove",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::POST,
        "/ssf/{integration_id}/poll",
        Access::Integration(ManageStream::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/webhooks",
        Access::Account(ReadWebhooks::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/webhooks",
        Access::Account(WriteWebhooks::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}",
        Access::Account(ReadWebhooks::NAME),
    ),
    route(
        Method::PUT,
        "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}",
        Access::Account(WriteWebhooks::NAME),
    ),
    route(
        Method::DELETE,
        "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}",
        Access::Account(WriteWebhooks::NAME),
    ),
    route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}/test",
        Access::Account(WriteWebhooks::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}/deliveries",
        Access::Account(ReadDeliveries::NAME),
    ),
    route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/audit",
        Access::Account(ReadAudit::NAME),
    ),
];

/// The decision for a method and a path pattern, if the table has one.
pub fn decision(method: &Method, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_route_once_and_every_operation_known() {
        let mut seen = HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "{r:?} is listed twice"
            );
            if let Access::Account(name) = r.access {
                assert!(accepted(name).is_some(), "{name} is not an operation");
                assert!(
                    r.path.starts_with("/accounts/{account_id}/"),
                    "{r:?} has no account in its path"
                );
            }
            if let Access::Integration(name) = r.access {
                assert!(accepted(name).is_some(), "{name} is not an operation");
                assert!(
                    r.path.starts_with("/ssf/{integration_id}/"),
                    "{r:?} has no integration in its path"
                );
            }
        }
    }
}
