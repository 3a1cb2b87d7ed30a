//! `ztrisk audit list`: the account's audit log (spec 7), who changed what and when.

use super::table::Table;
use super::users::page_footer;
use super::{AccountArg, ApiArgs, UsageError, connect, print_json, time};
use crate::cli::Output;
use chrono::{DateTime, Utc};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use serde_json::Value;
use ztrisk_client::types::{AuditAction, AuditEntry, AuditParams};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The account's changes made with a credential or the CLI, newest first: when, who
    /// (token:<id>, key:<email>, cli, system), what, and its target. Never a secret.
    #[command(after_help = "\
Needs a token with \"Zero Trust: PII Read\". Events sent in and expiry are not changes and
are not listed; resets and confirmations list the level change they caused.

Examples:
  ztrisk audit list
  ztrisk audit list --action user.reset --since 7d
  ztrisk audit list --since 2026-01-10T00:00:00Z --per-page 100 --page 2
  ztrisk audit list --action behaviors.update --json | jq '.[0].change'")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only changes at or after this time: RFC 3339 (2026-01-10T10:00:00Z), or an age such as
    /// 24h or 7d.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Only changes of this kind.
    #[arg(long, value_parser = action_parser())]
    pub action: Option<AuditAction>,
    /// Page number, from 1 (default 1: the newest).
    #[arg(long)]
    pub page: Option<u32>,
    /// Entries per page, 1 to 1000 (default 25).
    #[arg(long)]
    pub per_page: Option<u32>,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

/// The vocabulary, so that `--help` lists it and a typo is refused before any request.
fn action_parser() -> impl TypedValueParser<Value = AuditAction> {
    PossibleValuesParser::new(AuditAction::ALL.iter().map(|a| a.as_str()))
        .try_map(|text| AuditAction::parse(&text).ok_or("not an audit action"))
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.to_utc());
    }
    let age = humantime::parse_duration(text.trim()).map_err(|_| {
        format!(
            "expected an RFC 3339 time (2026-01-10T10:00:00Z) or an age (24h, 7d), got {text:?}"
        )
    })?;
    let age = chrono::Duration::from_std(age).map_err(|e| format!("{text:?}: {e}"))?;
    Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(|| format!("{text:?} reaches before the start of time"))
}

pub async fn run(api: &ApiArgs, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::List(args) => list(api, args).await,
    }
}

async fn list(api: &ApiArgs, args: ListArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    if args.per_page.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(UsageError::new("--per-page must be from 1 to 1000").into());
    }
    let client = connect(api)?;
    let params = AuditParams {
        page: args.page,
        per_page: args.per_page,
        since: args.since,
        action: args.action,
    };
    let page = client
        .zero_trust()
        .risk_scoring()
        .audit()
        .list(&account, params)
        .await?;
    if args.output.json {
        return print_json(&page.result);
    }
    if page.result.is_empty() {
        match page.result_info.filter(|i| i.total_count > 0) {
            Some(info) => println!(
                "no entries on page {}: {} in all, on {} pages",
                info.page, info.total_count, info.total_pages
            ),
            None if args.since.is_some() || args.action.is_some() => {
                println!("no changes match (try without --since or --action)")
            }
            None => println!("no changes recorded for this account yet"),
        }
        return Ok(());
    }
    let mut table = Table::new(&["AT", "ACTOR", "ACTION", "TARGET", "CHANGE"]);
    for entry in &page.result {
        table.row(vec![
            time(entry.at),
            entry.actor.clone(),
            entry.action.clone(),
            or_dash(&entry.target),
            summary(entry),
        ]);
    }
    table.print();
    page_footer(page.result_info, "entries");
    Ok(())
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_owned()
    }
}

/// The longest change shown in the table, in characters (`--json` shows all of it).
const MAX_CHANGE_CHARS: usize = 120;

/// One line per entry: for behaviors, what moved (`imp_travel: risk_level high -> medium`);
/// for the rest, the fields set (`name=ci active=false`).
fn summary(entry: &AuditEntry) -> String {
    let text = if entry.action == AuditAction::BehaviorsUpdate.as_str() {
        behaviors_summary(&entry.change)
    } else {
        fields_summary(&entry.change)
    };
    let text = if text.is_empty() { "-".into() } else { text };
    if text.chars().count() > MAX_CHANGE_CHARS {
        let cut: String = text.chars().take(MAX_CHANGE_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// A value as a person reads it: strings without quotes, lists as `[a, b]`.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(plain).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", plain(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        other => other.to_string(),
    }
}

fn fields_summary(change: &Value) -> String {
    let Some(map) = change.as_object() else {
        return plain(change);
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match (k.as_str(), v) {
            // A level change reads as one: `risk_level=high -> none`.
            ("risk_level", Value::Object(m)) if m.contains_key("before") => format!(
                "risk_level={} -> {}",
                plain(&m["before"]),
                plain(&m.get("after").cloned().unwrap_or_default())
            ),
            _ => format!("{k}={}", plain(v)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn behaviors_summary(change: &Value) -> String {
    let Some(after) = change["after"].as_object() else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (id, new) in after {
        let old = &change["before"][id];
        if old.is_null() {
            parts.push(format!(
                "{id}: new ({}, {})",
                if new["enabled"] == true {
                    "enabled"
                } else {
                    "disabled"
                },
                plain(&new["risk_level"])
            ));
            continue;
        }
        let mut moved = Vec::new();
        for key in ["enabled", "risk_level"] {
            if old[key] != new[key] {
                moved.push(format!(
                    "{key} {} -> {}",
                    plain(&old[key]),
                    plain(&new[key])
                ));
            }
        }
        if let Some(settings) = new["settings"].as_object() {
            for (key, value) in settings {
                let was = &old["settings"][key];
                if was != value {
                    moved.push(format!("{key} {} -> {}", plain(was), plain(value)));
                }
            }
        }
        parts.push(format!("{id}: {}", moved.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, change: Value) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: Utc::now(),
            actor: "cli".into(),
            action: action.into(),
            target: "t".into(),
            change,
        }
    }

    #[test]
    fn changes_read_in_one_line() {
        let put = entry(
            "behaviors.update",
            json!({
                "before": {"imp_travel": {"enabled": false, "risk_level": "high",
                                          "settings": {"max_speed_kmh": 1000}},
                           "sig": null},
                "after": {"imp_travel": {"enabled": true, "risk_level": "medium",
                                         "settings": {"max_speed_kmh": 800}},
                          "sig": {"enabled": true, "risk_level": "low", "settings": {}}}
            }),
        );
        assert_eq!(
            summary(&put),
            "imp_travel: enabled false -> true, risk_level high -> medium, max_speed_kmh 1000 -> \
             800; sig: new (enabled, low)"
        );
        let reset = entry(
            "user.reset",
            json!({"email": "ana@example.com", "risk_level": {"before": "high", "after": null}}),
        );
        assert_eq!(
            summary(&reset),
            "email=ana@example.com risk_level=high -> none"
        );
        let token = entry(
            "token.create",
            json!({"name": "ci", "permissions": ["Zero Trust Read"], "expires_at": null}),
        );
        assert_eq!(summary(&token), "name=ci permissions=[Zero Trust Read]");
        assert_eq!(summary(&entry("token.revoke", json!({}))), "-");
        let long = entry("x", json!({"a": "b".repeat(300)}));
        assert_eq!(summary(&long).chars().count(), MAX_CHANGE_CHARS);
    }

    #[test]
    fn since_takes_a_time_or_an_age() {
        assert_eq!(
            parse_since("2026-01-10T10:00:00+01:00").map(|t| t.to_rfc3339()),
            Ok("2026-01-10T09:00:00+00:00".to_owned())
        );
        let day_ago = parse_since("24h").unwrap_or_default();
        let expected = Utc::now() - chrono::Duration::hours(24);
        assert!((day_ago - expected).num_seconds().abs() < 5);
        assert!(parse_since("yesterday").is_err());
    }
}
