//! Users at risk: counts by level, the last 30 days' risk events, and the summary, sortable,
//! filterable and paged.

use super::chart;
use super::error::Problem;
use super::layout::{self, Nav, level_badge, level_name, thousands};
use super::session::AccountPage;
use super::time::time;
use crate::app::AppState;
use crate::auth::Operation;
use crate::auth::operations::ReadRisk;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use std::collections::HashMap;
use ztrisk_core::RiskLevel;
use ztrisk_store::model::{Paging, SummaryQuery, UserFilter};
use ztrisk_types::{Direction, SummaryOrder};

const PER_PAGE: u32 = 25;
const CHART_DAYS: u32 = 30;
/// The longest email prefix searched (emails are at most 254 characters).
const MAX_SEARCH: usize = 254;

/// The page's query: what is shown, and how.
#[derive(Clone)]
struct View {
    level: Option<RiskLevel>,
    search: Option<String>,
    order: SummaryOrder,
    direction: Direction,
    page: u32,
}

impl View {
    /// Parsed leniently: a person edits URLs, and a bad value just means the default.
    fn parse(raw: Option<&str>) -> Self {
        let params: HashMap<String, String> = crate::query::parse(raw).unwrap_or_default();
        let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        Self {
            level: get("level").and_then(|l| l.parse().ok()),
            search: get("q").map(|q| q.to_lowercase().chars().take(MAX_SEARCH).collect()),
            order: get("order")
                .and_then(SummaryOrder::parse)
                .unwrap_or_default(),
            direction: get("dir").and_then(Direction::parse).unwrap_or_default(),
            page: get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1 && *p <= 1_000_000)
                .unwrap_or(1),
        }
    }

    fn href(&self, base: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(level) = self.level {
            query.append_pair("level", level.as_str());
        }
        if let Some(q) = &self.search {
            query.append_pair("q", q);
        }
        if self.order != SummaryOrder::default() || self.direction != Direction::default() {
            query.append_pair("order", self.order.as_str());
            query.append_pair("dir", self.direction.as_str());
        }
        if self.page > 1 {
            query.append_pair("page", &self.page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{query}")
        }
    }

    /// This view sorted by `order`: the other direction when it already is.
    fn sorted_by(&self, order: SummaryOrder) -> Self {
        let direction = if self.order == order && self.direction == Direction::Desc {
            Direction::Asc
        } else {
            Direction::Desc
        };
        Self {
            order,
            direction,
            page: 1,
            ..self.clone()
        }
    }
}

/// GET `/dashboard/{account_id}/users`.
pub async fn page(
    State(state): State<AppState>,
    ctx: AccountPage,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    if !ctx.may::<ReadRisk>() {
        return Ok(no_permission(&ctx));
    }
    let view = View::parse(raw.as_deref());
    let today = Utc::now().date_naive();
    let since = today - Duration::days(i64::from(CHART_DAYS) - 1);
    let filter = UserFilter {
        level: view.level,
        email_prefix: view.search.clone(),
    };
    let query = SummaryQuery {
        paging: Some(Paging {
            page: view.page,
            per_page: PER_PAGE,
        }),
        order_by: view.order,
        direction: view.direction,
    };
    let (overview, users) = tokio::try_join!(
        state.store.risk_overview(ctx.account, since),
        state.store.find_users(ctx.account, filter, query),
    )?;
    let now = Utc::now();
    let base = ctx.path("users");
    let counts = overview.users;
    let scored = counts.low + counts.medium + counts.high;
    let filtered = view.level.is_some() || view.search.is_some();
    let main = html! {
        h1 { "Users at risk" }
        section.counts aria-label="Users by level" {
            @for (level, n) in [(RiskLevel::High, counts.high), (RiskLevel::Medium, counts.medium), (RiskLevel::Low, counts.low)] {
                a class=(format!("count {}", level.as_str())) href=(View { level: Some(level), search: None, order: SummaryOrder::default(), direction: Direction::default(), page: 1 }.href(&base))
                    aria-current=[(view.level == Some(level)).then_some("true")] {
                    span.n { (thousands(n)) }
                    span.label { (level_name(level)) " risk" }
                }
            }
            a.count.all href=(base) aria-current=[(!filtered).then_some("true")] {
                span.n { (thousands(scored)) }
                span.label { "Scored users" }
            }
        }
        (chart::chart(&chart::days(&overview.daily, today, CHART_DAYS)))
        @if scored == 0 {
            (empty_state(&ctx))
        } @else {
            form.filters method="get" action=(base) role="search" {
                div {
                    label for="level" { "Level" }
                    select #level name="level" {
                        option value="" selected[view.level.is_none()] { "Any level" }
                        @for level in [RiskLevel::High, RiskLevel::Medium, RiskLevel::Low] {
                            option value=(level.as_str()) selected[view.level == Some(level)] { (level_name(level)) }
                        }
                    }
                }
                div.grow {
                    label for="q" { "Email starts with" }
                    input #q name="q" type="search" value=[view.search.as_deref()] placeholder="e.g. ana or ana@example.com" autocomplete="off" maxlength="254";
                }
                @if view.order != SummaryOrder::default() || view.direction != Direction::default() {
                    input type="hidden" name="order" value=(view.order.as_str());
                    input type="hidden" name="dir" value=(view.direction.as_str());
                }
                button type="submit" { "Filter" }
                @if filtered { a href=(base) { "Clear" } }
            }
            @if users.items.is_empty() && view.page > 1 {
                (layout::pagination(view.page, PER_PAGE, users.total_count, |page| View { page, ..view.clone() }.href(&base)))
            } @else if users.items.is_empty() {
                p.empty role="status" { "No scored user matches these filters." }
            } @else {
                div.table-wrap {
                    table.users {
                        caption.visually-hidden { "Users with risk since their last reset" }
                        thead {
                            tr {
                                th scope="col" { "User" }
                                (sort_header(&view, &base, SummaryOrder::MaxRiskLevel, "Level"))
                                (sort_header(&view, &base, SummaryOrder::EventCount, "Risk events"))
                                (sort_header(&view, &base, SummaryOrder::Timestamp, "Last risk event"))
                            }
                        }
                        tbody {
                            @for user in &users.items {
                                tr {
                                    td {
                                        a href=(format!("{base}/{}", user.user_id)) { (display_name(&user.name, &user.email)) }
                                        @if !user.name.is_empty() && user.name != user.email { br; span.muted.small { (user.email) } }
                                    }
                                    td { (level_badge(Some(user.max_risk_level))) }
                                    td.num { (thousands(user.event_count)) }
                                    td { (time(user.last_event, now)) }
                                }
                            }
                        }
                    }
                }
                (layout::pagination(view.page, PER_PAGE, users.total_count, |page| View { page, ..view.clone() }.href(&base)))
            }
        }
    };
    Ok(layout::page(
        &ctx,
        StatusCode::OK,
        "Users at risk",
        Nav::Users,
        main,
    ))
}

/// The name a person goes by, or their email when ztrisk has no name.
pub fn display_name<'a>(name: &'a str, email: &'a str) -> &'a str {
    if name.trim().is_empty() { email } else { name }
}

/// A column header that sorts by its column (and says how it is sorted now).
fn sort_header(view: &View, base: &str, order: SummaryOrder, label: &str) -> Markup {
    let sorted = (view.order == order).then_some(match view.direction {
        Direction::Desc => "descending",
        Direction::Asc => "ascending",
    });
    let arrow = match sorted {
        Some("descending") => " ↓",
        Some(_) => " ↑",
        None => "",
    };
    html! {
        th scope="col" aria-sort=[sorted] {
            a href=(view.sorted_by(order).href(base)) { (label) span aria-hidden="true" { (arrow) } }
        }
    }
}

fn empty_state(ctx: &AccountPage) -> Markup {
    html! {
        section.card.empty-state {
            h2 { "No one is at risk yet" }
            p { "ztrisk scores users from the security events it receives. Nobody has a risk event since their last reset." }
            p { "To see the dashboard populated, send a generated day of events with planted incidents:" }
            pre { code { "ztrisk demo --token $TOKEN --account " (ctx.account) } }
            p { "Or send your own logs: Cloudflare Logpush, Okta Event Hooks, OCSF or ztrisk's events API (see the README)." }
        }
    }
}

fn no_permission(ctx: &AccountPage) -> Response {
    let main = html! {
        h1 { "Users at risk" }
        section.card {
            p { "The credential you signed in with cannot read users' risk: that needs " strong { (layout::permission_names(ReadRisk::ACCEPTED)) } "." }
        }
    };
    layout::page(ctx, StatusCode::OK, "Users at risk", Nav::Users, main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_their_links() {
        let view = View::parse(Some("level=high&q=Ana%40&order=event_count&dir=asc&page=3"));
        assert_eq!(view.level, Some(RiskLevel::High));
        assert_eq!(view.search.as_deref(), Some("ana@"));
        let again = View::parse(view.href("/x").split_once('?').map(|(_, q)| q));
        assert_eq!(again.href("/x"), view.href("/x"));
        assert_eq!(View::parse(Some("page=0&level=bogus")).href("/x"), "/x");
    }

    #[test]
    fn sorting_a_sorted_column_flips_it() {
        let view = View::parse(None);
        let by_level = view.sorted_by(SummaryOrder::MaxRiskLevel);
        assert_eq!(by_level.direction, Direction::Asc);
        assert_eq!(
            view.sorted_by(SummaryOrder::EventCount).direction,
            Direction::Desc
        );
    }
}
