//! Integrations (Okta, SSF) and webhooks: what receives changes of risk, whether deliveries
//! arrive, and the forms to create, activate, deactivate and delete them, all through the API.

use super::api::{Api, FieldErrors, Reply, refused};
use super::error::Problem;
use super::form::Form;
use super::layout::{self, Nav, short};
use super::session::{AccountPage, Posted};
use super::time::time;
use crate::app::AppState;
use crate::auth::Operation;
use crate::auth::operations::{
    ReadDeliveries, ReadIntegrations, ReadWebhooks, WriteIntegrations, WriteWebhooks,
};
use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde_json::{Value, json};
use ztrisk_core::Permission;
use ztrisk_types::{Delivery, Integration, Webhook};

/// Deliveries shown per integration or webhook: enough to see whether they arrive.
const RECENT_DELIVERIES: u32 = 5;
/// At most this many integrations and webhooks get their deliveries read for one page.
const MAX_WITH_DELIVERIES: usize = 20;

/// What the page shows besides the lists.
#[derive(Default)]
struct View {
    done: Option<&'static str>,
    /// The form that failed and its errors: `integration` or `webhook`.
    failed: Option<(&'static str, Form, FieldErrors)>,
    /// A webhook just created: its secret, shown this once.
    created_webhook: Option<Webhook>,
    /// An id whose deletion is being confirmed.
    confirm_delete: Option<String>,
}

fn done_message(key: &str) -> Option<&'static str> {
    match key {
        "integration-created" => Some("Integration created."),
        "integration-updated" => Some("Integration updated."),
        "integration-deleted" => Some("Integration deleted."),
        "webhook-updated" => Some("Webhook updated."),
        "webhook-deleted" => Some("Webhook deleted."),
        _ => None,
    }
}

/// GET `/dashboard/{account_id}/integrations`.
pub async fn page(
    State(state): State<AppState>,
    ctx: AccountPage,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    if !ctx.may::<ReadIntegrations>() && !ctx.may::<ReadWebhooks>() {
        return Err(Problem::Forbidden(ReadIntegrations::ACCEPTED));
    }
    let params = crate::query::parse(raw.as_deref()).unwrap_or_default();
    let view = View {
        done: params.get("done").and_then(|d| done_message(d)),
        confirm_delete: params.get("delete").cloned(),
        ..View::default()
    };
    render(&state, &ctx, view, StatusCode::OK).await
}

async fn deliveries(api: &Api<'_>, path: String) -> Result<Vec<Delivery>, Problem> {
    let (list, _) = api
        .get::<Vec<Delivery>>(&format!(
            "{path}/deliveries?page=1&per_page={RECENT_DELIVERIES}"
        ))
        .await?;
    Ok(list)
}

async fn render(
    state: &AppState,
    ctx: &AccountPage,
    view: View,
    status: StatusCode,
) -> Result<Response, Problem> {
    let api = Api::new(state, ctx);
    let read_deliveries = ctx.may::<ReadDeliveries>();
    let mut integrations = Vec::new();
    if ctx.may::<ReadIntegrations>() {
        let (list, _) = api.get::<Vec<Integration>>("integrations").await?;
        for (i, integration) in list.into_iter().enumerate() {
            let recent = if read_deliveries && i < MAX_WITH_DELIVERIES {
                Some(deliveries(&api, format!("integrations/{}", integration.id)).await?)
            } else {
                None
            };
            integrations.push((integration, recent));
        }
    }
    let mut webhooks = Vec::new();
    if ctx.may::<ReadWebhooks>() {
        let (list, _) = api.get::<Vec<Webhook>>("webhooks").await?;
        for (i, webhook) in list.into_iter().enumerate() {
            let recent = if read_deliveries && i < MAX_WITH_DELIVERIES {
                Some(deliveries(&api, format!("webhooks/{}", webhook.id)).await?)
            } else {
                None
            };
            webhooks.push((webhook, recent));
        }
    }
    let now = Utc::now();
    let failed = |which: &str| view.failed.as_ref().filter(|(w, _, _)| *w == which);
    let main = html! {
        h1 { "Integrations and webhooks" }
        p.muted { "Where ztrisk sends changes of users' risk. Each change is delivered once, signed, and retried until it arrives." }
        (layout::notice(view.done))
        @if let Some(webhook) = &view.created_webhook {
            section.card.secret role="status" {
                h2 { "Webhook created" }
                p { "Its signing secret is shown this once. Store it with the receiver now; ztrisk keeps only what it needs to sign." }
                p { code.secret-value { (webhook.secret.as_deref().unwrap_or_default()) } }
            }
        }
        @if ctx.may::<ReadIntegrations>() {
            section aria-labelledby="integrations-title" {
                h2 #integrations-title { "Integrations" }
                @if integrations.is_empty() {
                    p.empty { "No integrations yet. An Okta integration sends risk to Okta Identity Threat Protection; an SSF integration lets any Shared Signals receiver subscribe." }
                } @else {
                    ul.items {
                        @for (integration, recent) in &integrations {
                            (integration_item(ctx, integration, recent.as_deref(), &view, now))
                        }
                    }
                }
                @if ctx.may::<WriteIntegrations>() { (integration_form(ctx, failed("integration"))) }
            }
        }
        @if ctx.may::<ReadWebhooks>() {
            section aria-labelledby="webhooks-title" {
                h2 #webhooks-title { "Webhooks" }
                @if webhooks.is_empty() {
                    p.empty { "No webhooks yet. A webhook posts each change of level to your URL (Standard Webhooks, signed) or to a Slack channel." }
                } @else {
                    ul.items {
                        @for (webhook, recent) in &webhooks {
                            (webhook_item(ctx, webhook, recent.as_deref(), &view, now))
                        }
                    }
                }
                @if ctx.may::<WriteWebhooks>() { (webhook_form(ctx, failed("webhook"))) }
            }
        }
    };
    Ok(layout::page(
        ctx,
        status,
        "Integrations",
        Nav::Integrations,
        main,
    ))
}

/// The last deliveries' state in a line, and the last error in full.
fn delivery_status(recent: Option<&[Delivery]>, now: chrono::DateTime<Utc>) -> Markup {
    html! {
        @match recent {
            None => {}
            Some([]) => { p.muted.small { "No deliveries yet." } }
            Some(list) => {
                @let failed = list.iter().filter(|d| d.status != "delivered").count();
                p.small {
                    "Last delivery " (time(list[0].created_at, now)) ": "
                    span class=(format!("status {}", list[0].status)) { (list[0].status) }
                    @if failed > 0 { " · " (failed) " of the last " (list.len()) " not delivered" }
                }
                // The error that matters is the one still standing: the newest delivery's.
                @if let Some(error) = list.first().filter(|d| d.status != "delivered").and_then(|d| d.last_error.as_deref()) {
                    p.small.error-text { "Last error: " (error) }
                }
            }
        }
    }
}

fn toggle_and_delete(
    ctx: &AccountPage,
    kind: &str,
    id: &str,
    active: bool,
    label: &str,
    view: &View,
) -> Markup {
    let base = ctx.path(&format!("{kind}s/{id}"));
    html! {
        div.buttons {
            form method="post" action=(format!("{base}/active")) {
                (layout::csrf(ctx))
                input type="hidden" name="active" value=(if active { "false" } else { "true" });
                button type="submit" { (if active { "Deactivate" } else { "Activate" }) span.visually-hidden { " " (label) } }
            }
            @if view.confirm_delete.as_deref() == Some(id) {
                form.confirm-inline method="post" action=(format!("{base}/delete")) {
                    (layout::csrf(ctx))
                    span { "Delete " (label) "? Pending deliveries are dropped." }
                    button.danger type="submit" { "Delete" }
                    a href=(ctx.path("integrations")) { "Cancel" }
                }
            } @else {
                a.button href=(format!("{}?delete={id}", ctx.path("integrations"))) { "Delete…" span.visually-hidden { " " (label) } }
            }
        }
    }
}

fn integration_item(
    ctx: &AccountPage,
    i: &Integration,
    recent: Option<&[Delivery]>,
    view: &View,
    now: chrono::DateTime<Utc>,
) -> Markup {
    let label = format!("{} integration {}", i.integration_type, short(&i.id));
    html! {
        li.card.item {
            h3 {
                (i.integration_type) " " code { (short(&i.id)) }
                " " @if i.active { span.tag.on { "Active" } } @else { span.tag { "Inactive" } }
            }
            dl.facts {
                div { dt { "Tenant" } dd { (i.tenant_url) } }
                @if !i.reference_id.is_empty() { div { dt { "Reference" } dd { (i.reference_id) } } }
                div { dt { "Created" } dd { (time(i.created_at, now)) } }
                div { dt { "Receivers discover it at" } dd { code { (i.well_known_url) } } }
            }
            (delivery_status(recent, now))
            @if ctx.may::<WriteIntegrations>() { (toggle_and_delete(ctx, "integration", &i.id, i.active, &label, view)) }
        }
    }
}

fn webhook_item(
    ctx: &AccountPage,
    w: &Webhook,
    recent: Option<&[Delivery]>,
    view: &View,
    now: chrono::DateTime<Utc>,
) -> Markup {
    let label = format!("webhook {}", short(&w.id));
    html! {
        li.card.item {
            h3 {
                "Webhook " code { (short(&w.id)) }
                " " @if w.active { span.tag.on { "Active" } } @else { span.tag { "Inactive" } }
            }
            dl.facts {
                div { dt { "URL" } dd { (w.url) } }
                div { dt { "Format" } dd { (w.format) } }
                div { dt { "Sends changes at or above" } dd { (layout::level_badge(Some(w.min_level))) } }
                div { dt { "Created" } dd { (time(w.created_at, now)) } }
            }
            (delivery_status(recent, now))
            @if ctx.may::<WriteWebhooks>() { (toggle_and_delete(ctx, "webhook", &w.id, w.active, &label, view)) }
        }
    }
}

/// A text field with its errors from `errors` at `pointer`.
fn text_field(
    form_id: &str,
    name: &str,
    label: &str,
    value: &str,
    errors: Option<&FieldErrors>,
    hint: Option<&str>,
) -> Markup {
    let input_id = format!("{form_id}-{name}");
    let messages = errors
        .map(|e| e.at(&format!("/{name}")))
        .unwrap_or_default();
    let error_id = format!("{input_id}-error");
    html! {
        div.field.wide {
            label for=(input_id) { (label) }
            @if let Some(hint) = hint { span.hint { (hint) } }
            input type="text" id=(input_id) name=(name) value=(value)
                aria-invalid=[(!messages.is_empty()).then_some("true")]
                aria-describedby=[(!messages.is_empty()).then_some(error_id.as_str())];
            @if !messages.is_empty() {
                p.field-error id=(error_id) { @for m in &messages { (m) br; } }
            }
        }
    }
}

fn integration_form(ctx: &AccountPage, failed: Option<&(&str, Form, FieldErrors)>) -> Markup {
    let form = failed.map(|(_, f, _)| f);
    let errors = failed.map(|(_, _, e)| e);
    let value = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let kind = value("integration_type");
    let other = errors
        .map(|e| {
            e.other(&[
                "/integration_type".into(),
                "/tenant_url".into(),
                "/reference_id".into(),
            ])
        })
        .unwrap_or_default();
    html! {
        details.card.create open[failed.is_some()] {
            summary { "Add an integration" }
            form method="post" action=(ctx.path("integrations")) novalidate {
                (layout::csrf(ctx))
                @for m in &other { p.error role="alert" { (m) } }
                div.field {
                    label for="integration-integration_type" { "Type" }
                    select #integration-integration_type name="integration_type" {
                        option value="Okta" selected[kind != "SSF"] { "Okta" }
                        option value="SSF" selected[kind == "SSF"] { "SSF (any Shared Signals receiver)" }
                    }
                }
                (text_field("integration", "tenant_url", "Tenant URL", &value("tenant_url"), errors, Some("Okta: https://your-org.okta.com · SSF: the receiver's audience")))
                (text_field("integration", "reference_id", "Reference (optional)", &value("reference_id"), errors, None))
                button.primary type="submit" { "Add integration" }
            }
        }
    }
}

fn webhook_form(ctx: &AccountPage, failed: Option<&(&str, Form, FieldErrors)>) -> Markup {
    let form = failed.map(|(_, f, _)| f);
    let errors = failed.map(|(_, _, e)| e);
    let value = |name: &str| {
        form.and_then(|f| f.get(name))
            .unwrap_or_default()
            .to_owned()
    };
    let format = value("format");
    let min_level = value("min_level");
    let other = errors
        .map(|e| e.other(&["/url".into(), "/format".into(), "/min_level".into()]))
        .unwrap_or_default();
    html! {
        details.card.create open[failed.is_some()] {
            summary { "Add a webhook" }
            form method="post" action=(ctx.path("webhooks")) novalidate {
                (layout::csrf(ctx))
                @for m in &other { p.error role="alert" { (m) } }
                (text_field("webhook", "url", "URL", &value("url"), errors, Some("https:// (http:// only for this machine)")))
                div.row {
                    div.field {
                        label for="webhook-format" { "Format" }
                        select #webhook-format name="format" {
                            option value="standard" selected[format != "slack"] { "Standard Webhooks (signed JSON)" }
                            option value="slack" selected[format == "slack"] { "Slack incoming webhook" }
                        }
                    }
                    div.field {
                        label for="webhook-min_level" { "Send changes at or above" }
                        select #webhook-min_level name="min_level" {
                            @for level in ["low", "medium", "high"] {
                                option value=(level) selected[min_level == level || (min_level.is_empty() && level == "low")] { (level) }
                            }
                        }
                    }
                }
                button.primary type="submit" { "Add webhook" }
            }
        }
    }
}

/// A refusal that is a page of its own rather than errors at the form's fields.
fn refused_as_problem(kind: Kind, status: StatusCode) -> Option<Problem> {
    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
        .then(|| refused(status, &[], kind.write_permissions()))
}

/// POST `/dashboard/{account_id}/integrations`: creates an integration.
pub async fn create_integration(
    State(state): State<AppState>,
    Posted { ctx, form }: Posted,
) -> Result<Response, Problem> {
    let mut request = json!({
        "integration_type": form.get("integration_type").unwrap_or_default(),
        "tenant_url": form.get("tenant_url").unwrap_or_default().trim(),
    });
    if let Some(reference) = form.text("reference_id") {
        request["reference_id"] = Value::String(reference);
    }
    let reply = Api::new(&state, &ctx)
        .call(Method::POST, "integrations", Some(&request))
        .await?;
    match reply {
        Reply::Ok { .. } => Ok(done(&ctx, "integration-created")),
        Reply::Refused { status, errors } => match refused_as_problem(Kind::Integration, status) {
            Some(problem) => Err(problem),
            None => {
                let view = View {
                    failed: Some(("integration", form, FieldErrors::from_api(&errors))),
                    ..View::default()
                };
                render(&state, &ctx, view, status).await
            }
        },
    }
}

/// POST `/dashboard/{account_id}/webhooks`: creates a webhook and shows its secret once.
pub async fn create_webhook(
    State(state): State<AppState>,
    Posted { ctx, form }: Posted,
) -> Result<Response, Problem> {
    let request = json!({
        "url": form.get("url").unwrap_or_default().trim(),
        "format": form.get("format").unwrap_or("standard"),
        "min_level": form.get("min_level").unwrap_or("low"),
    });
    let reply = Api::new(&state, &ctx)
        .call(Method::POST, "webhooks", Some(&request))
        .await?;
    match reply {
        // Rendered, not redirected: the secret must not travel in a URL.
        Reply::Ok { result, .. } => {
            let webhook: Webhook = serde_json::from_value(result)
                .map_err(|e| Problem::Internal(format!("decoding a created webhook: {e}")))?;
            let view = View {
                created_webhook: Some(webhook),
                ..View::default()
            };
            render(&state, &ctx, view, StatusCode::OK).await
        }
        Reply::Refused { status, errors } => match refused_as_problem(Kind::Webhook, status) {
            Some(problem) => Err(problem),
            None => {
                let view = View {
                    failed: Some(("webhook", form, FieldErrors::from_api(&errors))),
                    ..View::default()
                };
                render(&state, &ctx, view, status).await
            }
        },
    }
}

fn done(ctx: &AccountPage, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", ctx.path("integrations"))).into_response()
}

/// What the active and delete forms act on.
#[derive(Clone, Copy)]
enum Kind {
    Integration,
    Webhook,
}

impl Kind {
    /// Its collection in the API and in `done` keys.
    fn collection(self) -> &'static str {
        match self {
            Kind::Integration => "integrations",
            Kind::Webhook => "webhooks",
        }
    }

    fn write_permissions(self) -> &'static [Permission] {
        match self {
            Kind::Integration => WriteIntegrations::ACCEPTED,
            Kind::Webhook => WriteWebhooks::ACCEPTED,
        }
    }

    fn done(self, what: &str) -> String {
        match self {
            Kind::Integration => format!("integration-{what}"),
            Kind::Webhook => format!("webhook-{what}"),
        }
    }
}

impl Kind {
    /// Which collection a route serves: the same handlers act on integrations and webhooks.
    fn of(route: &MatchedPath) -> Self {
        if route.as_str().contains("/webhooks/") {
            Kind::Webhook
        } else {
            Kind::Integration
        }
    }
}

/// POST `.../integrations/{id}/active` and `.../webhooks/{id}/active` (`active=true|false`).
/// The API's PUT overwrites every field, so the current ones are read first and sent back
/// with `active` changed.
pub async fn set_active(
    State(state): State<AppState>,
    route: MatchedPath,
    Path((_, id)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> Result<Response, Problem> {
    let kind = Kind::of(&route);
    let active = form.get("active") == Some("true");
    let id = super::error::id(&id)?;
    let api = Api::new(&state, &ctx);
    let path = format!("{}/{id}", kind.collection());
    let request = match kind {
        Kind::Integration => {
            let (current, _) = api.get::<Integration>(&path).await?;
            json!({"active": active, "tenant_url": current.tenant_url, "reference_id": current.reference_id})
        }
        Kind::Webhook => {
            let (current, _) = api.get::<Webhook>(&path).await?;
            json!({"url": current.url, "active": active, "format": current.format, "min_level": current.min_level})
        }
    };
    let reply = api.call(Method::PUT, &path, Some(&request)).await?;
    finish(&ctx, kind, reply, "updated")
}

/// POST `.../integrations/{id}/delete` and `.../webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    route: MatchedPath,
    Path((_, id)): Path<(String, String)>,
    Posted { ctx, .. }: Posted,
) -> Result<Response, Problem> {
    let kind = Kind::of(&route);
    let id = super::error::id(&id)?;
    let path = format!("{}/{id}", kind.collection());
    let reply = Api::new(&state, &ctx)
        .call(Method::DELETE, &path, None)
        .await?;
    finish(&ctx, kind, reply, "deleted")
}

fn finish(ctx: &AccountPage, kind: Kind, reply: Reply, what: &str) -> Result<Response, Problem> {
    match reply {
        Reply::Ok { .. } => Ok(done(ctx, &kind.done(what))),
        Reply::Refused { status, errors } => {
            Err(refused(status, &errors, kind.write_permissions()))
        }
    }
}
