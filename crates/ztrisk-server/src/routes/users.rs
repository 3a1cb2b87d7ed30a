//! Users' risk: GET `/summary`, GET `/{user_id}`, POST `/{user_id}/reset` and (ztrisk)
//! `/{user_id}/confirm_compromised`.

use super::{Api, uuid_param};
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::{ConfirmCompromised, ReadRisk, ResetUser};
use crate::body::check_json_content_type;
use crate::error::ApiError;
use crate::query::{self, Problems};
use crate::response::{ok, ok_paged};
use crate::views;
use axum::extract::{FromRequest, OriginalUri, RawPathParams, RawQuery, Request, State};
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use ztrisk_store::model::{SummaryQuery, UserEventsQuery};
use ztrisk_types::Empty;

pub(super) fn routes(api: Api) -> Api {
    api.route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/summary",
        summary,
    )
    .route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}",
        user,
    )
    .route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}/reset",
        reset,
    )
    .route(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/{user_id}/confirm_compromised",
        confirm_compromised,
    )
}

async fn summary(
    State(state): State<AppState>,
    access: AccountAccess<ReadRisk>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let query = SummaryQuery {
        paging: problems.paging(&params),
        order_by: problems.choice(&params, "order_by").unwrap_or_default(),
        direction: problems.direction(&params),
    };
    problems.finish()?;
    if query.paging.is_none() {
        return crate::streaming::summary(&state, access.account, query).await;
    }
    let page = state.store.summary(access.account, query).await?;
    let result = views::summary(&page);
    match query.paging {
        Some(paging) => ok_paged(&result, views::result_info(&page, paging)),
        None => ok(&result),
    }
}

async fn user(
    State(state): State<AppState>,
    access: AccountAccess<ReadRisk>,
    params: RawPathParams,
    uri: OriginalUri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = uuid_param(&params, "user_id", &uri)?;
    let query_params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let query = UserEventsQuery {
        paging: problems.paging(&query_params),
        order_by: problems
            .choice(&query_params, "order_by")
            .unwrap_or_default(),
        direction: problems.direction(&query_params),
    };
    problems.finish()?;
    if query.paging.is_none() {
        return crate::streaming::user(&state, access.account, user_id, query).await;
    }
    let risk = state
        .store
        .user_risk(access.account, user_id, query)
        .await?
        .ok_or(ApiError::NotFound("User"))?;
    let result = views::user_risk(&risk);
    match query.paging {
        Some(paging) => ok_paged(&result, views::result_info(&risk.events, paging)),
        None => ok(&result),
    }
}

async fn reset(
    State(state): State<AppState>,
    access: AccountAccess<ResetUser>,
    params: RawPathParams,
    uri: OriginalUri,
) -> Result<Response, ApiError> {
    let user_id = uuid_param(&params, "user_id", &uri)?;
    if !state
        .store
        .reset_user(access.account, user_id, &access.actor())
        .await?
    {
        return Err(ApiError::NotFound("User"));
    }
    // A reset may have queued deliveries: let the worker look now.
    state.sharing.queued();
    state.decisions.levels_changed();
    ok(&Empty {})
}

/// The longest reason kept, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 1024;

/// Spec 6.2: an administrator confirms the user compromised (`{"reason"?}`, or no body). The
/// evidence names who did it and why; the user is `high` until the next reset.
async fn confirm_compromised(
    State(state): State<AppState>,
    access: AccountAccess<ConfirmCompromised>,
    params: RawPathParams,
    uri: OriginalUri,
    request: Request,
) -> Result<Response, ApiError> {
    let user_id = uuid_param(&params, "user_id", &uri)?;
    check_json_content_type(request.headers())?;
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|_| ApiError::MalformedJson)?;
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<Value>(&body).map_err(|_| ApiError::MalformedJson)? {
            Value::Object(fields) => match fields.get("reason") {
                None | Some(Value::Null) => None,
                Some(Value::String(reason)) if reason.chars().count() <= MAX_REASON_CHARS => {
                    Some(reason.clone())
                }
                Some(_) => {
                    return Err(ApiError::invalid(
                        "/reason",
                        "expected a string of at most 1024 characters",
                    ));
                }
            },
            _ => {
                return Err(ApiError::invalid(
                    "",
                    "expected an object {\"reason\"?: string}",
                ));
            }
        }
    };
    let evidence = json!({
        "behavior": "confirmed_compromised",
        "reason": reason,
        "confirmed_by": views::actor(&access.actor()),
        "confirmed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if !state
        .store
        .confirm_compromised(access.account, user_id, evidence, &access.actor())
        .await?
    {
        return Err(ApiError::NotFound("User"));
    }
    state.sharing.queued();
    state.decisions.levels_changed();
    ok(&Empty {})
}
