//! The page shell every dashboard page shares, its security headers, and small shared pieces
//! (level badges, hidden form tokens, pagination).

use super::session::AccountPage;
use crate::auth::Principal;
use crate::auth::operations::{ReadAudit, ReadBehaviors, ReadIntegrations, ReadRisk, ReadWebhooks};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use ztrisk_core::RiskLevel;

/// No script runs on these pages, nothing is framed, and forms post only here.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Users,
    Behaviors,
    Integrations,
    Audit,
}

fn document(title: &str, header: Markup, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="same-origin";
                title { (title) " · ztrisk" }
                link rel="icon" href=(format!("/dashboard/assets/icon.svg?v={}", super::ASSET_VERSION)) type="image/svg+xml";
                link rel="stylesheet" href=(format!("/dashboard/assets/dashboard.css?v={}", super::ASSET_VERSION));
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (header)
                main #main tabindex="-1" { (main) }
            }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show personal data: never kept by the browser or a proxy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A page without navigation (sign-in, errors before an account is known).
pub fn bare_page(status: StatusCode, title: &str, main: Markup) -> Response {
    let header = html! {
        header.top { div.brand { (logo()) span { "ztrisk" } } }
    };
    respond(status, document(title, header, main))
}

/// A short page that says what happened and what to do.
pub fn message_page(status: StatusCode, title: &str, body: Markup) -> Response {
    bare_page(
        status,
        title,
        html! { section.card.narrow { h1 { (title) } (body) } },
    )
}

fn logo() -> Markup {
    html! { img src=(format!("/dashboard/assets/icon.svg?v={}", super::ASSET_VERSION)) alt="" width="24" height="24"; }
}

/// Who is signed in, as the header says it.
fn who(principal: &Principal) -> String {
    match principal {
        Principal::Token(t) => format!("token “{}”", t.name),
        Principal::ApiKey(u) => u.email.clone(),
    }
}

/// A page of an account: navigation limited to what the credential may read, the account
/// switcher, and sign-out.
pub fn page(
    ctx: &AccountPage,
    status: StatusCode,
    title: &str,
    current: Nav,
    main: Markup,
) -> Response {
    let principal = &ctx.signed.principal;
    let items = [
        (Nav::Users, "users", "Users at risk", ctx.may::<ReadRisk>()),
        (
            Nav::Behaviors,
            "behaviors",
            "Behaviors",
            ctx.may::<ReadBehaviors>(),
        ),
        (
            Nav::Integrations,
            "integrations",
            "Integrations",
            ctx.may::<ReadIntegrations>() || ctx.may::<ReadWebhooks>(),
        ),
        (Nav::Audit, "audit", "Audit log", ctx.may::<ReadAudit>()),
    ];
    let accounts = principal.account_ids();
    let header = html! {
        header.top {
            a.brand href="/dashboard" { (logo()) span { "ztrisk" } }
            nav aria-label="Sections" {
                ul {
                    @for (nav, path, label, allowed) in items {
                        @if allowed {
                            li {
                                a href=(ctx.path(path)) aria-current=[(nav == current).then_some("page")] { (label) }
                            }
                        }
                    }
                }
            }
            div.session {
                @if accounts.len() > 1 {
                    details.accounts {
                        summary { "Account " code { (short(&ctx.account.to_string())) } }
                        ul {
                            @for account in accounts {
                                li { a href=(format!("{}/{account}/users", super::ROOT)) aria-current=[(*account == ctx.account).then_some("true")] { code { (account) } } }
                            }
                        }
                    }
                }
                span.muted.who { "Signed in with " (who(principal)) }
                form method="post" action="/dashboard/sign-out" {
                    (csrf(ctx))
                    button.link type="submit" { "Sign out" }
                }
            }
        }
    };
    respond(status, document(title, header, main))
}

/// The first characters of a long id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The hidden field every form carries ([`super::session::Signed::form`] checks it).
pub fn csrf(ctx: &AccountPage) -> Markup {
    html! { input type="hidden" name="_csrf" value=(ctx.signed.csrf); }
}

/// A level's name as the pages write it.
pub fn level_name(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::High => "High",
        RiskLevel::Medium => "Medium",
        RiskLevel::Low => "Low",
    }
}

/// "Zero Trust Write" or "Zero Trust Read or Zero Trust Write": what an operation accepts.
pub fn permission_names(accepted: &[ztrisk_core::Permission]) -> String {
    accepted
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A level as a colored badge with its name (color is never the only cue).
pub fn level_badge(level: Option<RiskLevel>) -> Markup {
    let (class, label) = match level {
        Some(level) => (format!("badge {}", level.as_str()), level_name(level)),
        None => ("badge none".to_owned(), "Unscored"),
    };
    html! { span class=(class) { (label) } }
}

/// A notice at the top of a page after an action.
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p.notice role="status" { (text) }
        }
    }
}

/// "1–25 of 1,000" with previous and next links.
pub fn pagination(page: u32, per_page: u32, total: u64, href: impl Fn(u32) -> String) -> Markup {
    let pages = total.div_ceil(u64::from(per_page)).max(1);
    let first = u64::from(page.saturating_sub(1)) * u64::from(per_page) + 1;
    let last = (first + u64::from(per_page) - 1).min(total);
    html! {
        nav.pagination aria-label="Pages" {
            span { @if first > total { (thousands(total)) " in all" } @else { (thousands(first)) "–" (thousands(last)) " of " (thousands(total)) } }
            // Past the end (an old link, a shrunk list): a way back to the start.
            @if u64::from(page) > pages { a href=(href(1)) { "← First page" } }
            @else if page > 1 { a href=(href(page - 1)) rel="prev" { "← Previous" } }
            @if u64::from(page) < pages { a href=(href(page + 1)) rel="next" { "Next →" } }
        }
    }
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn text_is_escaped() {
        let markup = notice(Some("<script>alert(1)</script>")).into_string();
        assert!(!markup.contains("<script>"));
        assert!(markup.contains("&lt;script&gt;"));
    }
}
