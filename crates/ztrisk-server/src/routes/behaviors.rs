//! GET and PUT `/accounts/{account_id}/zt_risk_scoring/behaviors`.

use super::Api;
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::{ReadBehaviors, WriteBehaviors};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::response::{envelope_bytes, json_bytes};
use crate::views;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};

const BEHAVIORS: &str = "/accounts/{account_id}/zt_risk_scoring/behaviors";

pub(super) fn routes(api: Api) -> Api {
    api.route(Method::GET, BEHAVIORS, get_behaviors)
        .route(Method::PUT, BEHAVIORS, put_behaviors)
}

async fn get_behaviors(
    State(state): State<AppState>,
    access: AccountAccess<ReadBehaviors>,
) -> Result<Response, ApiError> {
    let generation = access.generation;
    if let Some(body) = state.caches.behaviors.get(generation, &access.account) {
        return Ok(json_bytes(body));
    }
    let behaviors = state.store.behaviors(access.account).await?;
    let body = render(&behaviors)?;
    state
        .caches
        .behaviors
        .insert(generation, access.account, body.clone());
    Ok(json_bytes(body))
}

async fn put_behaviors(
    State(state): State<AppState>,
    access: AccountAccess<WriteBehaviors>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = BehaviorUpdate::parse(&body).map_err(ApiError::Invalid)?;
    let behaviors = state
        .store
        .update_behaviors(access.account, update, &access.actor())
        .await?;
    Ok(json_bytes(render(&behaviors)?))
}

fn render(behaviors: &AccountBehaviors) -> Result<Bytes, ApiError> {
    envelope_bytes(&views::behaviors(behaviors))
}
