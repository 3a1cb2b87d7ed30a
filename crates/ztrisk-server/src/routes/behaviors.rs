//! GET and PUT `/accounts/{account_id}/zt_risk_scoring/behaviors`.

use crate::app::AppState;
use crate::auth::{AccountAccess, Operation};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::response::{envelope_bytes, json_bytes};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use ztrisk_core::Permission;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_types::{BehaviorView, BehaviorsResult};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/accounts/{account_id}/zt_risk_scoring/behaviors",
        get(get_behaviors).put(put_behaviors),
    )
}

pub struct ReadBehaviors;
impl Operation for ReadBehaviors {
    const ACCEPTED: &'static [Permission] =
        &[Permission::ZeroTrustRead, Permission::ZeroTrustWrite];
}

pub struct WriteBehaviors;
impl Operation for WriteBehaviors {
    const ACCEPTED: &'static [Permission] = &[Permission::ZeroTrustWrite];
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
    let behaviors = state.store.update_behaviors(access.account, update).await?;
    Ok(json_bytes(render(&behaviors)?))
}

fn render(behaviors: &AccountBehaviors) -> Result<Bytes, ApiError> {
    let result = BehaviorsResult {
        behaviors: behaviors
            .iter()
            .map(|(id, name, description, specs, config)| {
                let settings = (!specs.is_empty()).then(|| config.settings.to_json(specs));
                let view = BehaviorView {
                    name: name.to_owned(),
                    description: description.to_owned(),
                    enabled: config.enabled,
                    risk_level: config.risk_level.as_str().to_owned(),
                    settings,
                };
                (id.to_owned(), view)
            })
            .collect(),
    };
    envelope_bytes(&result)
}
