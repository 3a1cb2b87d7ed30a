//! Webhooks (spec 4.6): CRUD, a test delivery, and the deliveries of webhooks and
//! integrations (spec 4.7).

use super::{Api, uuid_param};
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::{ReadDeliveries, ReadWebhooks, WriteWebhooks};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::query::{self, Problems};
use crate::response::{ok, ok_paged};
use crate::views;
use axum::extract::{OriginalUri, RawPathParams, RawQuery, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;
use ztrisk_core::{FieldError, RiskLevel};
use ztrisk_deliver::webhook;
use ztrisk_store::model::{Destination, Paging, WebhookFields, WebhookFormat};
use ztrisk_types::{Empty, WebhookTestResult};

const WEBHOOKS: &str = "/accounts/{account_id}/zt_risk_scoring/webhooks";
const WEBHOOK: &str = "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}";
const TEST: &str = "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}/test";
const WEBHOOK_DELIVERIES: &str =
    "/accounts/{account_id}/zt_risk_scoring/webhooks/{webhook_id}/deliveries";
const INTEGRATION_DELIVERIES: &str =
    "/accounts/{account_id}/zt_risk_scoring/integrations/{integration_id}/deliveries";

pub(super) fn routes(api: Api) -> Api {
    api.route(Method::GET, WEBHOOKS, list)
        .route(Method::POST, WEBHOOKS, create)
        .route(Method::GET, WEBHOOK, fetch)
        .route(Method::PUT, WEBHOOK, update)
        .route(Method::DELETE, WEBHOOK, delete)
        .route(Method::POST, TEST, test)
        .route(Method::GET, WEBHOOK_DELIVERIES, webhook_deliveries)
        .route(Method::GET, INTEGRATION_DELIVERIES, integration_deliveries)
}

async fn list(
    State(state): State<AppState>,
    access: AccountAccess<ReadWebhooks>,
) -> Result<Response, ApiError> {
    let hooks = state.store.list_webhooks(access.account).await?;
    ok(&hooks.iter().map(views::webhook).collect::<Vec<_>>())
}

async fn create(
    State(state): State<AppState>,
    access: AccountAccess<WriteWebhooks>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let fields = parse_fields(&state, &body)?;
    let secret = webhook::generate_secret();
    let created = state
        .store
        .create_webhook(access.account, fields, secret, &access.actor())
        .await?;
    // The only time the secret is shown.
    let mut view = views::webhook(&created);
    view.secret = Some(created.secret.clone());
    ok(&view)
}

async fn fetch(
    State(state): State<AppState>,
    access: AccountAccess<ReadWebhooks>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "webhook_id", &uri)?;
    let found = state.store.webhook(access.account, id).await?;
    ok(&views::webhook(
        &found.ok_or(ApiError::NotFound("Webhook"))?,
    ))
}

async fn update(
    State(state): State<AppState>,
    access: AccountAccess<WriteWebhooks>,
    params: RawPathParams,
    uri: OriginalUri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "webhook_id", &uri)?;
    let fields = parse_fields(&state, &body)?;
    let updated = state
        .store
        .update_webhook(access.account, id, fields, &access.actor())
        .await?;
    ok(&views::webhook(
        &updated.ok_or(ApiError::NotFound("Webhook"))?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    access: AccountAccess<WriteWebhooks>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "webhook_id", &uri)?;
    if !state
        .store
        .delete_webhook(access.account, id, &access.actor())
        .await?
    {
        return Err(ApiError::NotFound("Webhook"));
    }
    ok(&Empty {})
}

/// Sends a `webhook.test` now and says how the receiver answered.
async fn test(
    State(state): State<AppState>,
    access: AccountAccess<WriteWebhooks>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "webhook_id", &uri)?;
    let hook = state
        .store
        .webhook(access.account, id)
        .await?
        .ok_or(ApiError::NotFound("Webhook"))?;
    let http = state
        .sharing
        .http
        .as_ref()
        .ok_or_else(|| ApiError::Internal("no HTTP client for webhook tests".into()))?;
    let outcome = ztrisk_deliver::send::test_webhook(http, &hook, &state.sharing.own_urls).await;
    ok(&WebhookTestResult {
        status: outcome.status,
        delivered: outcome.delivered,
        error: outcome.error,
    })
}

async fn webhook_deliveries(
    state: State<AppState>,
    access: AccountAccess<ReadDeliveries>,
    params: RawPathParams,
    uri: OriginalUri,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "webhook_id", &uri)?;
    deliveries(state, access, Destination::Webhook(id), "Webhook", raw).await
}

async fn integration_deliveries(
    state: State<AppState>,
    access: AccountAccess<ReadDeliveries>,
    params: RawPathParams,
    uri: OriginalUri,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let id = uuid_param(&params, "integration_id", &uri)?;
    deliveries(
        state,
        access,
        Destination::Integration(id),
        "Integration",
        raw,
    )
    .await
}

/// A destination's deliveries, newest first, always paged (default 25 a page).
async fn deliveries(
    State(state): State<AppState>,
    access: AccountAccess<ReadDeliveries>,
    destination: Destination,
    thing: &'static str,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let paging = problems.paging(&params).unwrap_or(Paging {
        page: 1,
        per_page: query::DEFAULT_PER_PAGE,
    });
    problems.finish()?;
    let page = state
        .store
        .deliveries(access.account, destination, paging)
        .await?
        .ok_or(ApiError::NotFound(thing))?;
    let items: Vec<_> = page.items.iter().map(views::delivery).collect();
    ok_paged(&items, views::result_info(&page, paging))
}

/// Validates a create or update body: `url` (required), `active`, `format`, `min_level`.
/// Omitted optional fields take their defaults (an update overwrites every field).
fn parse_fields(state: &AppState, body: &Value) -> Result<WebhookFields, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("", "expected a JSON object"));
    };
    let mut errors = Vec::new();
    let url = match object.get("url") {
        Some(Value::String(url)) => {
            match ztrisk_deliver::outbound::check_url(url, &state.sharing.own_urls) {
                Ok(_) => url.trim().to_owned(),
                Err(message) => {
                    errors.push(FieldError::new("/url", message));
                    String::new()
                }
            }
        }
        Some(_) => {
            errors.push(FieldError::new("/url", "expected an https:// URL"));
            String::new()
        }
        None => {
            errors.push(FieldError::new(
                "/url",
                "`url` is required: an https:// URL",
            ));
            String::new()
        }
    };
    let active = match object.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(active)) => *active,
        Some(_) => {
            errors.push(FieldError::new("/active", "expected a boolean"));
            true
        }
    };
    let format = match object.get("format") {
        None | Some(Value::Null) => WebhookFormat::default(),
        Some(value) => match value.as_str().and_then(WebhookFormat::parse) {
            Some(format) => format,
            None => {
                errors.push(FieldError::new(
                    "/format",
                    format!("expected one of {}", WebhookFormat::expected()),
                ));
                WebhookFormat::default()
            }
        },
    };
    let min_level = match object.get("min_level") {
        None | Some(Value::Null) => RiskLevel::Low,
        Some(value) => match value.as_str().map(str::parse::<RiskLevel>) {
            Some(Ok(level)) => level,
            _ => {
                errors.push(FieldError::new(
                    "/min_level",
                    "expected one of \"low\", \"medium\", \"high\"",
                ));
                RiskLevel::Low
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(WebhookFields {
        url,
        active,
        format,
        min_level,
    })
}
