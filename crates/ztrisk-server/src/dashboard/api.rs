//! The API, called in-process as the signed-in credential: every change the dashboard makes
//! is an API request, so it is checked, validated, audited and delivered exactly as the same
//! request from a script would be, and its errors point at the same fields.

use super::error::Problem;
use super::session::AccountPage;
use crate::app::AppState;
use crate::auth::ActingAs;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;
use ztrisk_core::Permission;
use ztrisk_types::{Envelope, ErrorItem, ResultInfo};

/// Largest API answer the dashboard reads (pages ask for bounded pages).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the API answered.
pub enum Reply {
    Ok {
        result: Value,
        info: Option<ResultInfo>,
    },
    /// A 4xx the person can act on: the API's errors, with their pointers.
    Refused {
        status: StatusCode,
        errors: Vec<ErrorItem>,
    },
}

/// API calls on one account page's account, as its credential.
pub struct Api<'a> {
    page: &'a AccountPage,
    router: Router,
}

impl<'a> Api<'a> {
    pub fn new(state: &AppState, page: &'a AccountPage) -> Self {
        Self {
            page,
            router: crate::routes::api().into_router().with_state(state.clone()),
        }
    }

    /// `method` on `/accounts/{account}/zt_risk_scoring/{path}` with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Problem> {
        let uri = format!("/accounts/{}/zt_risk_scoring/{path}", self.page.account);
        let body = match body {
            Some(value) => {
                Body::from(serde_json::to_vec(value).map_err(|e| Problem::Internal(e.to_string()))?)
            }
            None => Body::empty(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| Problem::Internal(e.to_string()))?;
        request
            .extensions_mut()
            .insert(ActingAs(self.page.signed.principal.clone()));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| Problem::Internal(e.to_string()))?;
        let status = response.status();
        // The API's own failure, as it would have been logged (this router has no request-id
        // layer of its own: the dashboard's request carries it).
        if let Some(crate::error::InternalErrorDetail(detail)) = response.extensions().get() {
            return Err(Problem::Internal(detail.clone()));
        }
        let bytes = axum::body::to_bytes(response.into_body(), MAX_BODY)
            .await
            .map_err(|e| Problem::Internal(e.to_string()))?;
        let envelope: Envelope<Value> = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::Internal(format!("the API answered {status} with {e}")))?;
        if status.is_success() {
            return Ok(Reply::Ok {
                result: envelope.result.unwrap_or(Value::Null),
                info: envelope.result_info,
            });
        }
        match status {
            StatusCode::UNAUTHORIZED => Err(Problem::SessionEnded),
            StatusCode::TOO_MANY_REQUESTS => Err(Problem::RateLimited(60)),
            StatusCode::SERVICE_UNAVAILABLE => Err(Problem::Unavailable),
            s if s.is_client_error() => Ok(Reply::Refused {
                status,
                errors: envelope.errors,
            }),
            _ => Err(Problem::Internal(format!(
                "the API answered {status}: {:?}",
                envelope.errors
            ))),
        }
    }

    /// A read whose refusal is a problem (not found, forbidden), decoded into a wire type.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<ResultInfo>), Problem> {
        match self.call(Method::GET, path, None).await? {
            Reply::Ok { result, info } => serde_json::from_value(result)
                .map(|value| (value, info))
                .map_err(|e| Problem::Internal(format!("decoding {path}: {e}"))),
            Reply::Refused { status, errors } => Err(refused(status, &errors, &[])),
        }
    }
}

/// A refusal as the page to show, for an operation accepting `accepted`: 403 and 404 are
/// pages of their own, anything else is what the API said (field errors are shown at their
/// fields by the pages that have them, before this).
pub fn refused(
    status: StatusCode,
    errors: &[ErrorItem],
    accepted: &'static [Permission],
) -> Problem {
    match status {
        StatusCode::FORBIDDEN => Problem::Forbidden(accepted),
        StatusCode::NOT_FOUND => Problem::NotFound,
        _ => Problem::Refused(
            errors
                .iter()
                .map(|e| detail(&e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// What an error message says past its code's name ("Invalid request: expected ..."): the
/// field it is shown at already says it is invalid.
fn detail(message: &str) -> &str {
    let prefix = ztrisk_types::Code::InvalidRequest.message();
    message
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(message)
}

/// The messages of errors, with their pointers, for showing at fields.
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn none() -> Self {
        Self(Vec::new())
    }

    pub fn from_api(errors: &[ErrorItem]) -> Self {
        Self(
            errors
                .iter()
                .map(|e| {
                    let pointer = e
                        .source
                        .as_ref()
                        .map(|s| s.pointer.clone())
                        .unwrap_or_default();
                    (pointer, detail(&e.message).to_owned())
                })
                .collect(),
        )
    }

    /// Whether there is any error to show.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Messages for the field at `pointer` or anything under it (`/settings/x/2`).
    pub fn at(&self, pointer: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(p, _)| p == pointer || p.starts_with(&format!("{pointer}/")))
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// Messages no field of `fields` shows.
    pub fn other(&self, fields: &[String]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(p, _)| {
                !fields
                    .iter()
                    .any(|f| p == f || p.starts_with(&format!("{f}/")))
            })
            .map(|(_, m)| m.as_str())
            .collect()
    }
}
