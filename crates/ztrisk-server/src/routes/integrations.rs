//! Integrations (spec 2.6): CRUD and lookup by reference id.

use super::{Api, uuid_param};
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::{ReadIntegrations as Read, WriteIntegrations as Write};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::response::ok;
use crate::views;
use axum::extract::{OriginalUri, RawPathParams, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_store::StoreError;
use ztrisk_store::model::{Integration, IntegrationFields, IntegrationType};
use ztrisk_types::Empty;

const INTEGRATIONS: &str = "/accounts/{account_id}/zt_risk_scoring/integrations";
const INTEGRATION: &str = "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}";
const STREAM: &str = "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}/stream";
const BY_REFERENCE: &str =
    "/accounts/{account_id}/zt_risk_scoring/integrations/reference_id/{reference_id}";

pub(super) fn routes(api: Api) -> Api {
    api.route(Method::GET, INTEGRATIONS, list)
        .route(Method::POST, INTEGRATIONS, create)
        .route(Method::GET, INTEGRATION, fetch)
        .route(Method::PUT, INTEGRATION, update)
        .route(Method::DELETE, INTEGRATION, delete)
        .route(Method::GET, BY_REFERENCE, by_reference)
        .route(Method::GET, STREAM, stream)
}

fn view(state: &AppState, i: &Integration) -> ztrisk_types::Integration {
    views::integration(i, &state.config.public_url)
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(message) => ApiError::Conflict(message),
        other => other.into(),
    }
}

async fn list(
    State(state): State<AppState>,
    access: AccountAccess<Read>,
) -> Result<Response, ApiError> {
    let items = state.store.list_integrations(access.account).await?;
    ok(&items.iter().map(|i| view(&state, i)).collect::<Vec<_>>())
}

async fn create(
    State(state): State<AppState>,
    access: AccountAccess<Write>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = parse_fields(&body, None, &state.sharing.own_urls)?;
    let created = state
        .store
        .create_integration(access.account, fields, &access.actor())
        .await
        .map_err(conflict)?;
    ok(&view(&state, &created))
}

async fn fetch(
    State(state): State<AppState>,
    access: AccountAccess<Read>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    let found = state.store.integration(access.account, id).await?;
    ok(&view(
        &state,
        &found.ok_or(ApiError::NotFound("Integration"))?,
    ))
}

async fn by_reference(
    State(state): State<AppState>,
    access: AccountAccess<Read>,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    let reference = params
        .iter()
        .find(|(name, _)| *name == "reference_id")
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default();
    let found = state
        .store
        .integration_by_reference(access.account, &reference)
        .await?;
    ok(&view(
        &state,
        &found.ok_or(ApiError::NotFound("Integration"))?,
    ))
}

async fn update(
    State(state): State<AppState>,
    access: AccountAccess<Write>,
    params: RawPathParams,
    uri: OriginalUri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    // The body is judged first (400 before 404), by the rules of the integration's type.
    let existing = state.store.integration(access.account, id).await?;
    let fields = parse_fields(
        &body,
        Some(existing.map(|i| i.integration_type).unwrap_or_default()),
        &state.sharing.own_urls,
    )?;
    let updated = state
        .store
        .update_integration(access.account, id, fields, &access.actor())
        .await
        .map_err(conflict)?;
    ok(&view(
        &state,
        &updated.ok_or(ApiError::NotFound("Integration"))?,
    ))
}

/// An SSF integration's stream, as its receiver configured it, with what it has not delivered
/// yet (`ztrisk integrations stream ID`).
async fn stream(
    State(state): State<AppState>,
    access: AccountAccess<Read>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    let integration = state
        .store
        .integration(access.account, id)
        .await?
        .ok_or(ApiError::NotFound("Integration"))?;
    let stream = state
        .store
        .stream(access.account, id)
        .await?
        .ok_or(ApiError::NotFound("Stream"))?;
    let backlog = state.store.stream_backlog(access.account, id).await?;
    ok(&views::integration_stream(
        &state.config.public_url,
        &integration,
        &stream,
        backlog,
    ))
}

async fn delete(
    State(state): State<AppState>,
    access: AccountAccess<Write>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    if !state
        .store
        .delete_integration(access.account, id, &access.actor())
        .await?
    {
        return Err(ApiError::NotFound("Integration"));
    }
    ok(&Empty {})
}

/// Validates a create (`integration_type`, `tenant_url`, `reference_id`?) or an update
/// (`active`, `tenant_url`, `reference_id`?) body; `existing` is the type of the integration
/// an update changes. Unknown fields are ignored: the SDKs send `integration_type` on update too.
fn parse_fields(
    body: &Value,
    existing: Option<IntegrationType>,
    own_urls: &[url::Url],
) -> Result<IntegrationFields, ApiError> {
    let creating = existing.is_none();
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("", "expected a JSON object"));
    };
    let mut errors = Vec::new();
    // An update never changes the type (the SDKs send it anyway): it is ignored there.
    let integration_type = if creating {
        let given = object.get("integration_type");
        match given.map(|v| v.as_str().and_then(IntegrationType::parse)) {
            Some(Some(integration_type)) => integration_type,
            Some(None) => {
                errors.push(FieldError::new(
                    "/integration_type",
                    format!("expected {}", IntegrationType::expected()),
                ));
                IntegrationType::default()
            }
            None => {
                errors.push(FieldError::new(
                    "/integration_type",
                    format!(
                        "`integration_type` is required: {}",
                        IntegrationType::expected()
                    ),
                ));
                IntegrationType::default()
            }
        }
    } else {
        existing.unwrap_or_default()
    };
    let active = if creating {
        true
    } else {
        match object.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(FieldError::new("/active", "expected a boolean"));
                false
            }
            None => {
                errors.push(FieldError::new(
                    "/active",
                    "`active` is required: a boolean",
                ));
                false
            }
        }
    };
    let tenant_url = match object.get("tenant_url") {
        Some(Value::String(u)) if integration_type == IntegrationType::Ssf => {
            match check_audience(u) {
                Ok(()) => u.trim().to_owned(),
                Err(message) => {
                    errors.push(FieldError::new("/tenant_url", message));
                    String::new()
                }
            }
        }
        Some(Value::String(u)) => match check_tenant_url(u, own_urls) {
            Ok(()) => u.trim().to_owned(),
            Err(message) => {
                errors.push(FieldError::new("/tenant_url", message));
                String::new()
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "/tenant_url",
                "expected an absolute https:// URL",
            ));
            String::new()
        }
        None => {
            errors.push(FieldError::new(
                "/tenant_url",
                "`tenant_url` is required: an absolute https:// URL",
            ));
            String::new()
        }
    };
    let reference_id = match object.get("reference_id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(r)) if r.chars().count() <= 256 => r.clone(),
        Some(_) => {
            errors.push(FieldError::new(
                "/reference_id",
                "expected a string of at most 256 characters, or null",
            ));
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(IntegrationFields {
        integration_type,
        active,
        reference_id,
        tenant_url,
    })
}

/// An absolute `https://` URL (`http://` only for loopback hosts, for local testing) that
/// ztrisk may call: the rules of every receiver URL (`ztrisk_deliver::outbound`).
fn check_tenant_url(text: &str, own: &[url::Url]) -> Result<(), String> {
    ztrisk_deliver::outbound::check_url(text, own).map(|_| ())
}

/// An SSF integration's `tenant_url` is the receiver's audience (`aud`): ztrisk never calls
/// it (pushes go to the stream's endpoint), so any identifier the receiver expects will do.
fn check_audience(text: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1024 || text.chars().any(char::is_control) {
        return Err(
            "expected the receiver's audience: 1 to 1024 characters, usually its URL".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_urls() {
        assert!(check_tenant_url("https://example.okta.com", &[]).is_ok());
        assert!(check_tenant_url("http://127.0.0.1:9000/x", &[]).is_ok());
        assert!(check_tenant_url("http://localhost", &[]).is_ok());
        assert!(check_tenant_url("http://[::1]:80", &[]).is_ok());
        assert!(check_tenant_url("http://example.com", &[]).is_err());
        assert!(check_tenant_url("ftp://example.com", &[]).is_err());
        assert!(check_tenant_url("example.com", &[]).is_err());
    }
}
