//! One user: their level, last reset, and the timeline of risk events with readable evidence;
//! Reset and Confirm compromised, each behind a confirmation.

use super::api::{Api, Reply, refused};
use super::error::Problem;
use super::evidence;
use super::layout::{self, Nav, level_badge, thousands};
use super::session::{AccountPage, Posted};
use super::time::{absolute, time};
use super::users::display_name;
use crate::app::AppState;
use crate::auth::Operation;
use crate::auth::operations::{ConfirmCompromised, ReadRisk, ResetUser};
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;
use ztrisk_core::Permission;
use ztrisk_store::model::{Paging, RiskEventRecord, UserEventsQuery};
use ztrisk_types::{Direction, RiskEventOrder};

const PER_PAGE: u32 = 50;
/// As the API allows (spec 6.2).
use crate::routes::users::MAX_REASON_CHARS;

/// What the page shows besides the user.
#[derive(Default)]
struct View {
    page: u32,
    /// `reset` or `compromised`: the confirmation asked for.
    confirm: Option<String>,
    /// What was just done, said at the top.
    done: Option<&'static str>,
    /// An error the last action got.
    error: Option<String>,
}

impl View {
    fn parse(raw: Option<&str>) -> Self {
        let params: HashMap<String, String> = crate::query::parse(raw).unwrap_or_default();
        Self {
            page: params
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1 && *p <= 100_000)
                .unwrap_or(1),
            confirm: params
                .get("confirm")
                .filter(|c| matches!(c.as_str(), "reset" | "compromised"))
                .cloned(),
            done: match params.get("done").map(String::as_str) {
                Some("reset") => Some("Risk reset. The user is unscored until a new risk event."),
                Some("compromised") => {
                    Some("Confirmed compromised: the user is now at high risk until reset.")
                }
                _ => None,
            },
            error: None,
        }
    }
}

/// GET `/dashboard/{account_id}/users/{user_id}`.
pub async fn page(
    State(state): State<AppState>,
    ctx: AccountPage,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    render(
        &state,
        &ctx,
        super::error::id(&id)?,
        View::parse(raw.as_deref()),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    ctx: &AccountPage,
    id: Uuid,
    view: View,
    status: StatusCode,
) -> Result<Response, Problem> {
    // The user's data is personal: only for credentials that may read it, whatever brought
    // the page here (an action's refusal too).
    ctx.require::<ReadRisk>()?;
    let query = UserEventsQuery {
        paging: Some(Paging {
            page: view.page,
            per_page: PER_PAGE,
        }),
        order_by: RiskEventOrder::Timestamp,
        direction: Direction::Desc,
    };
    let user = state
        .store
        .user_risk(ctx.account, id, query)
        .await?
        .ok_or(Problem::NotFound)?;
    let now = Utc::now();
    let base = format!("{}/{id}", ctx.path("users"));
    let name = display_name(&user.name, &user.email).to_owned();
    let main = html! {
        p.breadcrumb { a href=(ctx.path("users")) { "← Users at risk" } }
        (layout::notice(view.done))
        @if let Some(error) = &view.error { p.error role="alert" { (error) } }
        header.user-head {
            div {
                h1 { (name) }
                @if name != user.email { p.muted { (user.email) } }
            }
            div.level { span.muted { "Level " } (level_badge(user.risk_level)) }
        }
        dl.facts {
            div { dt { "Last reset" } dd { @if let Some(t) = user.last_reset_time { (time(t, now)) } @else { "Never" } } }
            div { dt { @if user.last_reset_time.is_some() { "Risk events since the reset" } @else { "Risk events" } } dd { (thousands(user.events.total_count)) } }
        }
        (actions(ctx, &base, &view))
        h2 { "Timeline" }
        @if user.events.items.is_empty() && view.page > 1 {
            (layout::pagination(view.page, PER_PAGE, user.events.total_count, |p| format!("{base}?page={p}")))
        } @else if user.events.items.is_empty() {
            p.empty { "No risk events since the last reset." }
        } @else {
            ol.timeline {
                @for event in &user.events.items { (timeline_entry(event, now)) }
            }
            @if user.events.total_count > u64::from(PER_PAGE) {
                (layout::pagination(view.page, PER_PAGE, user.events.total_count, |p| format!("{base}?page={p}")))
            }
        }
    };
    Ok(layout::page(ctx, status, &name, Nav::Users, main))
}

/// The buttons this credential may use, and the confirmation asked for.
fn actions(ctx: &AccountPage, base: &str, view: &View) -> Markup {
    let reset = ctx.may::<ResetUser>();
    let confirm = ctx.may::<ConfirmCompromised>();
    html! {
        @if reset || confirm {
            @match view.confirm.as_deref() {
                Some("reset") if reset => {
                    form.card.confirm method="post" action=(format!("{base}/reset")) {
                        (layout::csrf(ctx))
                        h2 { "Reset this user's risk?" }
                        p { "Their level becomes unscored and they leave the users at risk until a new risk event. The history stays, and receivers are told of the change." }
                        div.buttons {
                            button.danger type="submit" { "Reset risk" }
                            a href=(base) { "Cancel" }
                        }
                    }
                }
                Some("compromised") if confirm => {
                    form.card.confirm method="post" action=(format!("{base}/confirm-compromised")) {
                        (layout::csrf(ctx))
                        h2 { "Confirm this user compromised?" }
                        p { "This records a high risk event, counted until the next reset, and tells receivers at once." }
                        label for="reason" { "Reason (optional)" }
                        textarea #reason name="reason" rows="2" maxlength=(MAX_REASON_CHARS) {}
                        div.buttons {
                            button.danger type="submit" { "Confirm compromised" }
                            a href=(base) { "Cancel" }
                        }
                    }
                }
                _ => {
                    div.actions {
                        @if reset { a.button href=(format!("{base}?confirm=reset")) { "Reset risk…" } }
                        @if confirm { a.button href=(format!("{base}?confirm=compromised")) { "Confirm compromised…" } }
                    }
                }
            }
        }
    }
}

fn timeline_entry(event: &RiskEventRecord, now: DateTime<Utc>) -> Markup {
    let name = crate::views::risk_event(event).name;
    let monitor_only = event
        .details
        .get("monitor_only")
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    let expired = event.expires_at.filter(|t| *t <= now);
    let described = evidence::describe(&event.details);
    let raw = serde_json::to_string_pretty(&event.details).unwrap_or_default();
    html! {
        li.event.muted-event[monitor_only || expired.is_some()] {
            div.when { (time(event.timestamp, now)) }
            div.what {
                h3 {
                    (name) " " (level_badge(Some(event.risk_level)))
                    @if monitor_only { " " span.tag title="Recorded only: it does not count toward the level" { "Monitor only" } }
                    @if let Some(at) = expired { " " span.tag title=(format!("Stopped counting {}", absolute(at))) { "Expired" } }
                }
                p { (described.headline) }
                @if !described.facts.is_empty() {
                    dl.evidence {
                        @for (label, value) in &described.facts { div { dt { (label) } dd { (value) } } }
                    }
                }
                details {
                    summary { "Raw evidence" }
                    pre { code { (raw) } }
                }
            }
        }
    }
}

/// POST `/dashboard/{account_id}/users/{user_id}/reset`.
pub async fn reset(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { ctx, .. }: Posted,
) -> Result<Response, Problem> {
    let id = super::error::id(&id)?;
    act(&state, &ctx, id, Action::Reset, None).await
}

/// POST `/dashboard/{account_id}/users/{user_id}/confirm-compromised`.
pub async fn confirm_compromised(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> Result<Response, Problem> {
    let id = super::error::id(&id)?;
    let body = match form.text("reason") {
        Some(reason) => json!({ "reason": reason }),
        None => json!({}),
    };
    act(&state, &ctx, id, Action::ConfirmCompromised, Some(body)).await
}

/// What a user's page can do to them.
#[derive(Clone, Copy)]
enum Action {
    Reset,
    ConfirmCompromised,
}

impl Action {
    /// Its API path under the user, its permissions, and its `confirm`/`done` key.
    fn api(self) -> (&'static str, &'static [Permission], &'static str) {
        match self {
            Action::Reset => ("reset", ResetUser::ACCEPTED, "reset"),
            Action::ConfirmCompromised => (
                "confirm_compromised",
                ConfirmCompromised::ACCEPTED,
                "compromised",
            ),
        }
    }
}

/// Performs the action through the API; back to the user's page with what happened.
async fn act(
    state: &AppState,
    ctx: &AccountPage,
    id: Uuid,
    action: Action,
    body: Option<serde_json::Value>,
) -> Result<Response, Problem> {
    let (path, accepted, key) = action.api();
    let api = Api::new(state, ctx);
    match api
        .call(Method::POST, &format!("{id}/{path}"), body.as_ref())
        .await?
    {
        Reply::Ok { .. } => {
            Ok(Redirect::to(&format!("{}/{id}?done={key}", ctx.path("users"))).into_response())
        }
        Reply::Refused { status, errors } => match refused(status, &errors, accepted) {
            // Said on the page, with the confirmation to try again.
            Problem::Refused(message) => {
                let view = View {
                    page: 1,
                    confirm: Some(key.to_owned()),
                    done: None,
                    error: Some(message),
                };
                render(state, ctx, id, view, status).await
            }
            problem => Err(problem),
        },
    }
}
