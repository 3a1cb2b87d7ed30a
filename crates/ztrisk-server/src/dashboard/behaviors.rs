//! Behaviors: enable, level and settings, one form per behavior, saved with the API's PUT
//! `/behaviors` so its validation errors are shown at the fields they point to.

use super::api::{Api, FieldErrors, Reply, refused};
use super::error::Problem;
use super::form::Form;
use super::layout::{self, Nav};
use super::session::{AccountPage, Posted};
use crate::app::AppState;
use crate::auth::Operation;
use crate::auth::operations::{ReadBehaviors, WriteBehaviors};
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use ztrisk_core::RiskLevel;
use ztrisk_core::behaviors::Predefined;
use ztrisk_types::{Behavior, Behaviors};

/// A behavior as the form shows it: what is stored, or what was just submitted.
struct Shown {
    enabled: bool,
    risk_level: String,
    settings: BTreeMap<String, Value>,
}

impl From<&Behavior> for Shown {
    fn from(b: &Behavior) -> Self {
        Self {
            enabled: b.enabled,
            risk_level: b.risk_level.as_str().to_owned(),
            settings: b.settings.clone().unwrap_or_default(),
        }
    }
}

/// GET `/dashboard/{account_id}/behaviors`.
pub async fn page(
    State(state): State<AppState>,
    ctx: AccountPage,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    ctx.require::<ReadBehaviors>()?;
    let behaviors = read(&Api::new(&state, &ctx)).await?;
    let saved = crate::query::parse(raw.as_deref())
        .ok()
        .and_then(|p| p.get("saved").cloned())
        .filter(|id| behaviors.get(id).is_some());
    Ok(render(
        &ctx,
        &behaviors,
        saved.as_deref(),
        None,
        StatusCode::OK,
    ))
}

/// The account's behaviors in the catalog's order (the predefined ones as the API lists them,
/// then custom ones by id): a JSON object read back does not keep its order.
async fn read(api: &Api<'_>) -> Result<Behaviors, Problem> {
    let (mut behaviors, _) = api.get::<Behaviors>("behaviors").await?;
    behaviors.behaviors.sort_by_key(|(id, _)| {
        let rank = Predefined::from_id(id).map_or(usize::MAX, |p| p as usize);
        (rank, id.clone())
    });
    Ok(behaviors)
}

/// Where a setting goes in its form: thresholds first, then the controls of spec 6.1.
fn setting_rank(key: &str) -> usize {
    const ORDER: [&str; 10] = [
        "max_speed_kmh",
        "min_distance_km",
        "threshold",
        "window_seconds",
        "max_score",
        "same_ip_is_same_place",
        "trusted_networks",
        "monitor_only",
        "expire_after_days",
        "exclude_users",
    ];
    ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len())
}

fn render(
    ctx: &AccountPage,
    behaviors: &Behaviors,
    saved: Option<&str>,
    failed: Option<(&str, Shown, FieldErrors)>,
    status: StatusCode,
) -> Response {
    let writable = ctx.may::<WriteBehaviors>();
    let saved_name = saved
        .and_then(|id| behaviors.get(id))
        .and_then(|b| b.name.clone());
    let main = html! {
        h1 { "Behaviors" }
        p.muted { "What ztrisk detects, at which level, and how. Changes apply to events from now on; risk events already recorded keep their level." }
        @if let Some(name) = saved_name { (layout::notice(Some(&format!("Saved “{name}”.")))) }
        @if !writable {
            p.card { "The credential you signed in with can read behaviors but not change them (that needs " strong { (layout::permission_names(WriteBehaviors::ACCEPTED)) } ")." }
        }
        @for (id, behavior) in behaviors.iter() {
            @match &failed {
                Some((failed_id, shown, errors)) if *failed_id == id => {
                    (behavior_card(ctx, id, behavior, shown, errors, writable))
                }
                _ => { (behavior_card(ctx, id, behavior, &Shown::from(behavior), &FieldErrors::none(), writable)) }
            }
        }
    };
    layout::page(ctx, status, "Behaviors", Nav::Behaviors, main)
}

/// A setting's label, with its unit.
fn label(key: &str) -> &str {
    match key {
        "max_speed_kmh" => "Max speed (km/h)",
        "min_distance_km" => "Min distance (km)",
        "threshold" => "Threshold (events)",
        "window_seconds" => "Window (seconds)",
        "max_score" => "Max score",
        "trusted_networks" => "Trusted networks (CIDRs, one per line)",
        "same_ip_is_same_place" => "Same IP is the same place",
        "exclude_users" => "Excluded users (email patterns, one per line)",
        "monitor_only" => "Monitor only (record, don't count)",
        "expire_after_days" => "Expire after (days, 0 = never)",
        other => other,
    }
}

fn behavior_card(
    ctx: &AccountPage,
    id: &str,
    behavior: &Behavior,
    shown: &Shown,
    errors: &FieldErrors,
    writable: bool,
) -> Markup {
    let name = behavior.name.clone().unwrap_or_else(|| id.to_owned());
    let pointer = |field: &str| format!("/behaviors/{id}/{field}");
    let mut fields: Vec<String> = vec![pointer("enabled"), pointer("risk_level")];
    fields.extend(
        shown
            .settings
            .keys()
            .map(|k| pointer(&format!("settings/{k}"))),
    );
    let other = errors.other(&fields);
    html! {
        section.card.behavior #(format!("behavior-{id}")) aria-labelledby=(format!("{id}-title")) {
            h2 #(format!("{id}-title")) {
                (name) " " code.muted { (id) }
                " " @if behavior.enabled { span.tag.on { "Enabled" } } @else { span.tag { "Disabled" } }
            }
            @if let Some(description) = &behavior.description { p.muted { (description) } }
            @if writable {
                // The fragment brings the person back to this behavior when it was not saved.
                form method="post" action=(format!("{}/{id}#behavior-{id}", ctx.path("behaviors"))) novalidate {
                    (layout::csrf(ctx))
                    @if errors.any() {
                        p.error role="alert" { "Not saved: " (name) " has problems, marked below." }
                    }
                    @for message in &other { p.error { (message) } }
                    div.row {
                        (checkbox(id, "enabled", "Enabled", shown.enabled, &errors.at(&pointer("enabled"))))
                        (level_select(id, &shown.risk_level, &errors.at(&pointer("risk_level"))))
                    }
                    @if !shown.settings.is_empty() {
                        details.settings-group open[!errors.at(&pointer("settings")).is_empty()] {
                            summary { "Settings" span.visually-hidden { " of " (name) } }
                            div.settings {
                                @for (key, value) in ordered(&shown.settings) {
                                    (setting_field(id, key, value, &errors.at(&pointer(&format!("settings/{key}")))))
                                }
                            }
                        }
                    }
                    button.primary type="submit" { "Save " span.visually-hidden { (name) } }
                }
            } @else {
                dl.facts {
                    div { dt { "Level" } dd { (layout::level_badge(Some(behavior.risk_level))) } }
                    @for (key, value) in ordered(&shown.settings) {
                        div { dt { (label(key)) } dd { (display(value)) } }
                    }
                }
            }
        }
    }
}

fn ordered(settings: &BTreeMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut list: Vec<_> = settings.iter().collect();
    list.sort_by_key(|(key, _)| setting_rank(key));
    list
}

fn display(value: &Value) -> String {
    match value {
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        Value::Array(items) if items.is_empty() => "None".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => text(other),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The messages under a field, and the attributes that tie them to it.
fn field_errors(input_id: &str, messages: &[&str]) -> Markup {
    html! {
        @if !messages.is_empty() {
            p.field-error id=(format!("{input_id}-error")) {
                @for (i, m) in messages.iter().enumerate() { @if i > 0 { br; } (m) }
            }
        }
    }
}

fn described_by(input_id: &str, messages: &[&str]) -> Option<String> {
    (!messages.is_empty()).then(|| format!("{input_id}-error"))
}

fn checkbox(id: &str, key: &str, label_text: &str, checked: bool, messages: &[&str]) -> Markup {
    let input_id = format!("{id}-{key}");
    html! {
        div.field.check {
            input type="checkbox" id=(input_id) name=(key) checked[checked]
                aria-invalid=[(!messages.is_empty()).then_some("true")]
                aria-describedby=[described_by(&input_id, messages)];
            label for=(input_id) { (label_text) }
            (field_errors(&input_id, messages))
        }
    }
}

fn level_select(id: &str, current: &str, messages: &[&str]) -> Markup {
    let input_id = format!("{id}-risk_level");
    html! {
        div.field {
            label for=(input_id) { "Level" }
            select id=(input_id) name="risk_level"
                aria-invalid=[(!messages.is_empty()).then_some("true")]
                aria-describedby=[described_by(&input_id, messages)] {
                @for level in [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High] {
                    option value=(level.as_str()) selected[current == level.as_str()] { (layout::level_name(level)) }
                }
            }
            (field_errors(&input_id, messages))
        }
    }
}

fn setting_field(id: &str, key: &str, value: &Value, messages: &[&str]) -> Markup {
    let input_id = format!("{id}-{key}");
    let name = format!("settings.{key}");
    let invalid = (!messages.is_empty()).then_some("true");
    let describe = described_by(&input_id, messages);
    match value {
        Value::Bool(checked) => html! {
            div.field.check {
                input type="checkbox" id=(input_id) name=(name) checked[*checked] aria-invalid=[invalid] aria-describedby=[describe];
                label for=(input_id) { (label(key)) }
                (field_errors(&input_id, messages))
            }
        },
        Value::Array(items) => html! {
            div.field.wide {
                label for=(input_id) { (label(key)) }
                textarea id=(input_id) name=(name) rows="3" spellcheck="false" aria-invalid=[invalid] aria-describedby=[describe] {
                    (items.iter().map(text).collect::<Vec<_>>().join("\n"))
                }
                (field_errors(&input_id, messages))
            }
        },
        other => html! {
            div.field {
                label for=(input_id) { (label(key)) }
                input type="text" inputmode=[other.is_number().then_some("decimal")] id=(input_id) name=(name) value=(text(other))
                    aria-invalid=[invalid] aria-describedby=[describe];
                (field_errors(&input_id, messages))
            }
        },
    }
}

/// A submitted form as the behavior it asks for, typed like the stored settings: numbers
/// that do not parse are sent as text, so the API's own validation names the problem.
fn submitted(form: &Form, stored: &Behavior) -> Shown {
    let settings = stored
        .settings
        .iter()
        .flatten()
        .map(|(key, current)| {
            let name = format!("settings.{key}");
            let raw = form.get(&name).unwrap_or_default();
            let value = match current {
                Value::Bool(_) => Value::Bool(form.checked(&name)),
                Value::Array(_) => Value::Array(
                    raw.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| Value::String(l.to_owned()))
                        .collect(),
                ),
                Value::Number(_) => raw
                    .trim()
                    .parse::<serde_json::Number>()
                    .map(Value::Number)
                    .unwrap_or_else(|_| Value::String(raw.trim().to_owned())),
                _ => Value::String(raw.to_owned()),
            };
            (key.clone(), value)
        })
        .collect();
    Shown {
        enabled: form.checked("enabled"),
        risk_level: form.get("risk_level").unwrap_or_default().to_owned(),
        settings,
    }
}

/// POST `/dashboard/{account_id}/behaviors/{behavior_id}`.
pub async fn save(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> Result<Response, Problem> {
    ctx.require::<WriteBehaviors>()?;
    let api = Api::new(&state, &ctx);
    let behaviors = read(&api).await?;
    let stored = behaviors.get(&id).ok_or(Problem::NotFound)?;
    let shown = submitted(&form, stored);
    let mut entry = Map::new();
    entry.insert("enabled".into(), Value::Bool(shown.enabled));
    entry.insert("risk_level".into(), Value::String(shown.risk_level.clone()));
    if !shown.settings.is_empty() {
        entry.insert("settings".into(), json!(shown.settings));
    }
    let update = json!({ "behaviors": { id.as_str(): entry } });
    match api.call(Method::PUT, "behaviors", Some(&update)).await? {
        Reply::Ok { .. } => Ok(Redirect::to(&format!(
            "{}?saved={id}#behavior-{id}",
            ctx.path("behaviors")
        ))
        .into_response()),
        Reply::Refused {
            status: status @ (StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            errors,
        } => Err(refused(status, &errors, WriteBehaviors::ACCEPTED)),
        Reply::Refused { status, errors } => Ok(render(
            &ctx,
            &behaviors,
            None,
            Some((&id, shown, FieldErrors::from_api(&errors))),
            status,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_form_becomes_the_behavior_it_describes() {
        let stored = Behavior {
            name: None,
            description: None,
            enabled: true,
            risk_level: RiskLevel::High,
            settings: Some(BTreeMap::from([
                ("max_speed_kmh".to_owned(), json!(900)),
                ("monitor_only".to_owned(), json!(false)),
                ("trusted_networks".to_owned(), json!([])),
            ])),
        };
        let form = Form::parse(&Bytes::from_static(
            b"risk_level=low&settings.max_speed_kmh=12.5&settings.monitor_only=on&settings.trusted_networks=10.0.0.0%2F8%0D%0A%0D%0A192.168.0.0%2F16",
        ));
        let shown = submitted(&form, &stored);
        assert!(!shown.enabled);
        assert_eq!(shown.risk_level, "low");
        assert_eq!(shown.settings["max_speed_kmh"], json!(12.5));
        assert_eq!(shown.settings["monitor_only"], json!(true));
        assert_eq!(
            shown.settings["trusted_networks"],
            json!(["10.0.0.0/8", "192.168.0.0/16"])
        );
        let bad = submitted(
            &Form::parse(&Bytes::from_static(b"settings.max_speed_kmh=fast")),
            &stored,
        );
        assert_eq!(bad.settings["max_speed_kmh"], json!("fast"));
    }
}
