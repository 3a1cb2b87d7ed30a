//! Users' risk: GET `/summary`, GET `/{user_id}`, POST `/{user_id}/reset`.

use super::{Api, uuid_param};
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::{ReadRisk, ResetUser};
use crate::error::ApiError;
use crate::query::{self, Problems};
use crate::response::{ok, ok_paged};
use crate::views;
use axum::extract::{OriginalUri, RawPathParams, RawQuery, State};
use axum::http::Method;
use axum::response::Response;
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
    state.sharing.wake.notify_one();
    ok(&Empty {})
}
