//! Users' risk: GET `/summary`, GET `/{user_id}`, POST `/{user_id}/reset`.

use crate::app::AppState;
use crate::auth::{AccountAccess, Operation};
use crate::error::ApiError;
use crate::query::{self, Problems};
use crate::response::{ok, ok_paged};
use crate::routes::uuid_param;
use axum::Router;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use ztrisk_core::Permission;
use ztrisk_core::behaviors::Predefined;
use ztrisk_store::model::{
    Page, Paging, RiskEventOrder, SummaryOrder, SummaryQuery, UserEventsQuery,
};
use ztrisk_types::ResultInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/accounts/{account_id}/zt_risk_scoring/summary",
            get(summary),
        )
        .route(
            "/accounts/{account_id}/zt_risk_scoring/{user_id}",
            get(user),
        )
        .route(
            "/accounts/{account_id}/zt_risk_scoring/{user_id}/reset",
            post(reset),
        )
}

pub struct ReadPii;
impl Operation for ReadPii {
    const ACCEPTED: &'static [Permission] = &[Permission::ZeroTrustPiiRead];
}

pub struct Write;
impl Operation for Write {
    const ACCEPTED: &'static [Permission] = &[Permission::ZeroTrustWrite];
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn result_info<T>(page: &Page<T>, paging: Paging) -> ResultInfo {
    ResultInfo {
        page: paging.page,
        per_page: paging.per_page,
        count: page.items.len() as u64,
        total_count: page.total_count,
        total_pages: page.total_count.div_ceil(u64::from(paging.per_page)),
    }
}

async fn summary(
    State(state): State<AppState>,
    access: AccountAccess<ReadPii>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let query = SummaryQuery {
        paging: problems.paging(&params),
        order_by: problems
            .choice(
                &params,
                "order_by",
                &[
                    ("max_risk_level", SummaryOrder::MaxRiskLevel),
                    ("timestamp", SummaryOrder::Timestamp),
                    ("event_count", SummaryOrder::EventCount),
                ],
            )
            .unwrap_or_default(),
        direction: problems.direction(&params),
    };
    problems.finish()?;
    let page = state.store.summary(access.account, query).await?;
    let users: Vec<Value> = page
        .items
        .iter()
        .map(|u| {
            json!({
                "user_id": u.user_id,
                "name": u.name,
                "email": u.email,
                "event_count": u.event_count,
                "last_event": rfc3339(u.last_event),
                "max_risk_level": u.max_risk_level.as_str(),
            })
        })
        .collect();
    let result = json!({ "users": users });
    match query.paging {
        Some(paging) => ok_paged(&result, result_info(&page, paging)),
        None => ok(&result),
    }
}

async fn user(
    State(state): State<AppState>,
    access: AccountAccess<ReadPii>,
    params: RawPathParams,
    uri: axum::extract::OriginalUri,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let user_id = uuid_param(&params, "user_id", &uri)?;
    let query_params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let query = UserEventsQuery {
        paging: problems.paging(&query_params),
        order_by: problems
            .choice(
                &query_params,
                "order_by",
                &[
                    ("timestamp", RiskEventOrder::Timestamp),
                    ("risk_level", RiskEventOrder::RiskLevel),
                ],
            )
            .unwrap_or_default(),
        direction: problems.direction(&query_params),
    };
    problems.finish()?;
    let risk = state
        .store
        .user_risk(access.account, user_id, query)
        .await?
        .ok_or(ApiError::NotFound("User"))?;
    let events: Vec<Value> = risk
        .events
        .items
        .iter()
        .map(|e| {
            let name = Predefined::from_id(&e.behavior_id)
                .map(|p| p.name().to_owned())
                .unwrap_or_else(|| e.behavior_id.clone());
            json!({
                "id": e.id,
                "name": name,
                "risk_level": e.risk_level.as_str(),
                "timestamp": rfc3339(e.timestamp),
                "event_details": e.details,
            })
        })
        .collect();
    let result = json!({
        "email": risk.email,
        "name": risk.name,
        "risk_level": risk.risk_level.map(|l| l.as_str()),
        "last_reset_time": risk.last_reset_time.map(rfc3339),
        "events": events,
    });
    match query.paging {
        Some(paging) => ok_paged(&result, result_info(&risk.events, paging)),
        None => ok(&result),
    }
}

async fn reset(
    State(state): State<AppState>,
    access: AccountAccess<Write>,
    params: RawPathParams,
    uri: axum::extract::OriginalUri,
) -> Result<Response, ApiError> {
    let user_id = uuid_param(&params, "user_id", &uri)?;
    if !state.store.reset_user(access.account, user_id).await? {
        return Err(ApiError::NotFound("User"));
    }
    ok(&json!({}))
}
