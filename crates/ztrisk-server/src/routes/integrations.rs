//! Integrations (spec 2.6): CRUD and lookup by reference id.

use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::response::ok;
use crate::routes::behaviors::ReadBehaviors as Read;
use crate::routes::users::{Write, rfc3339};
use crate::routes::uuid_param;
use axum::Router;
use axum::extract::{OriginalUri, RawPathParams, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use ztrisk_core::FieldError;
use ztrisk_store::StoreError;
use ztrisk_store::model::{Integration, IntegrationFields};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/{account_id}/zt_risk_scoring/integrations",
            get(list).post(create),
        )
        .route(
            "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}",
            get(fetch).put(update).delete(delete),
        )
        .route(
            "/accounts/{account_id}/zt_risk_scoring/integrations/reference_id/{reference_id}",
            get(by_reference),
        )
}

/// The integration types Cloudflare accepts.
const TYPES: &[&str] = &["Okta"];

fn view(state: &AppState, i: &Integration) -> Value {
    json!({
        "id": i.id,
        "account_tag": i.account.to_string(),
        "active": i.active,
        "created_at": rfc3339(i.created_at),
        "integration_type": i.integration_type,
        "reference_id": i.reference_id,
        "tenant_url": i.tenant_url,
        "well_known_url": format!(
            "{}/.well-known/sse-configuration/{}/",
            state.config.public_url.trim_end_matches('/'),
            i.id
        ),
    })
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
    let fields = parse_fields(&body, true)?;
    let created = state
        .store
        .create_integration(access.account, fields)
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
    let fields = parse_fields(&body, false)?;
    let updated = state
        .store
        .update_integration(access.account, id, fields)
        .await
        .map_err(conflict)?;
    ok(&view(
        &state,
        &updated.ok_or(ApiError::NotFound("Integration"))?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    access: AccountAccess<Write>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    if !state.store.delete_integration(access.account, id).await? {
        return Err(ApiError::NotFound("Integration"));
    }
    ok(&json!({}))
}

/// Validates a create (`integration_type`, `tenant_url`, `reference_id`?) or an update
/// (`active`, `tenant_url`, `reference_id`?) body. Unknown fields are ignored: the SDKs send
/// `integration_type` on update too.
fn parse_fields(body: &Value, creating: bool) -> Result<IntegrationFields, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("", "expected a JSON object"));
    };
    let mut errors = Vec::new();
    let integration_type = if creating {
        match object.get("integration_type") {
            Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.clone(),
            Some(_) => {
                errors.push(FieldError::new("/integration_type", "expected \"Okta\""));
                String::new()
            }
            None => {
                errors.push(FieldError::new(
                    "/integration_type",
                    "`integration_type` is required: \"Okta\"",
                ));
                String::new()
            }
        }
    } else {
        String::new()
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
        Some(Value::String(u)) => match check_tenant_url(u) {
            Ok(()) => u.clone(),
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

/// An absolute `https://` URL; `http://` only for loopback hosts (local testing).
fn check_tenant_url(text: &str) -> Result<(), String> {
    let url =
        url::Url::parse(text).map_err(|e| format!("expected an absolute https:// URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("expected an absolute https:// URL with a host".into()),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("expected https:// (http:// is accepted only for loopback hosts)".into()),
        other => Err(format!("expected an https:// URL, got scheme {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_urls() {
        assert!(check_tenant_url("https://example.okta.com").is_ok());
        assert!(check_tenant_url("http://127.0.0.1:9000/x").is_ok());
        assert!(check_tenant_url("http://localhost").is_ok());
        assert!(check_tenant_url("http://[::1]:80").is_ok());
        assert!(check_tenant_url("http://example.com").is_err());
        assert!(check_tenant_url("ftp://example.com").is_err());
        assert!(check_tenant_url("example.com").is_err());
    }
}
