//! The audit log: who changed what, and when, newest first, filtered by action.

use super::api::Api;
use super::error::Problem;
use super::evidence;
use super::layout::{self, Nav};
use super::session::AccountPage;
use super::time::time;
use crate::app::AppState;
use crate::auth::operations::ReadAudit;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::html;
use serde_json::Value;
use ztrisk_types::{AuditAction, AuditEntry};

const PER_PAGE: u32 = 50;

/// `token:<id>`, `key:<email>`, `cli`, `system` in words.
fn actor(actor: &str) -> String {
    let object = match actor.split_once(':') {
        Some(("token", id)) => serde_json::json!({"type": "api_token", "id": id}),
        Some(("key", email)) => serde_json::json!({"type": "api_key", "email": email}),
        _ => serde_json::json!({"type": actor}),
    };
    evidence::actor(Some(&object))
}

/// GET `/dashboard/{account_id}/audit`.
pub async fn page(
    State(state): State<AppState>,
    ctx: AccountPage,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    ctx.require::<ReadAudit>()?;
    let params = crate::query::parse(raw.as_deref()).unwrap_or_default();
    let action = params.get("action").and_then(|a| AuditAction::parse(a));
    let page = params
        .get("page")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1 && *p <= 100_000)
        .unwrap_or(1);
    let mut query = format!("audit?page={page}&per_page={PER_PAGE}");
    if let Some(action) = action {
        query.push_str(&format!("&action={}", action.as_str()));
    }
    let (entries, info) = Api::new(&state, &ctx)
        .get::<Vec<AuditEntry>>(&query)
        .await?;
    let total = info.map_or(entries.len() as u64, |i| i.total_count);
    let base = ctx.path("audit");
    let now = Utc::now();
    let main = html! {
        h1 { "Audit log" }
        p.muted { "Every change made with a credential or the command line, written with the change itself." }
        form.filters method="get" action=(base) {
            div {
                label for="action" { "Action" }
                select #action name="action" {
                    option value="" selected[action.is_none()] { "Any action" }
                    @for a in AuditAction::ALL {
                        option value=(a.as_str()) selected[action == Some(*a)] { (a.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if entries.is_empty() && page > 1 {
            (layout::pagination(page, PER_PAGE, total, |p| format!("{base}?page={p}")))
        } @else if entries.is_empty() {
            p.empty { @if action.is_some() { "No entries for this action." } @else { "Nothing has been changed yet." } }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Audit log entries, newest first" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Change" } } }
                    tbody {
                        @for entry in &entries {
                            tr {
                                td { (time(entry.at, now)) }
                                td { (actor(&entry.actor)) }
                                td { code { (entry.action) } }
                                td.break { (entry.target) }
                                td {
                                    @if entry.change.is_null() || entry.change == Value::Object(Default::default()) {
                                        span.muted { "—" }
                                    } @else {
                                        details {
                                            summary { "Details" }
                                            pre { code { (serde_json::to_string_pretty(&entry.change).unwrap_or_default()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (layout::pagination(page, PER_PAGE, total, |p| {
                match action {
                    Some(a) => format!("{base}?action={}&page={p}", a.as_str()),
                    None => format!("{base}?page={p}"),
                }
            }))
        }
    };
    Ok(layout::page(
        &ctx,
        StatusCode::OK,
        "Audit log",
        Nav::Audit,
        main,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_as_words() {
        assert_eq!(actor("token:abc"), "API token abc");
        assert_eq!(actor("key:ana@example.com"), "ana@example.com");
        assert_eq!(actor("cli"), "the command line");
    }
}
