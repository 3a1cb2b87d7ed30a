//! `GET /user/tokens/verify`: whether the presented token is valid, as Cloudflare answers it.

use super::Api;
use crate::app::AppState;
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::response::ok;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use chrono::SecondsFormat;
use ztrisk_types::TokenVerifyResult;

pub(super) fn routes(api: Api) -> Api {
    api.route(Method::GET, "/user/tokens/verify", verify)
}

async fn verify(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    match authenticate(&state, &headers).await? {
        Principal::Token(token) => ok(&TokenVerifyResult {
            id: token.id.clone(),
            status: "active".into(),
            expires_on: token
                .expires_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }),
        Principal::ApiKey(_) => Err(ApiError::Unauthorized(
            "token verification needs an API token (Authorization: Bearer), not a global API key"
                .into(),
        )),
    }
}
