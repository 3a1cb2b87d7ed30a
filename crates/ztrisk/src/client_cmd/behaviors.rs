//! `ztrisk behaviors get|set`.

use super::table::{Table, yes_no};
use super::{AccountArg, ApiArgs, UsageError, connect, print_json};
use crate::cli::Output;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use ztrisk_client::types::{BehaviorSetting, Behaviors, BehaviorsUpdate, RiskLevel};

#[derive(Debug, Subcommand)]
pub enum BehaviorsCommand {
    /// Show every behavior of the account: enabled or not, level, thresholds.
    #[command(after_help = "Example:\n  ztrisk behaviors get --account $ACCOUNT")]
    Get {
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Configure behaviors; the others keep their configuration.
    #[command(after_help = "\
A field left out keeps its current value. An id that is not predefined creates a custom
behavior, signalled with events of type \"behavior\".

Examples:
  ztrisk behaviors set imp_travel --enable --level high
  ztrisk behaviors set imp_travel failed_logins high_dlp --enable
  ztrisk behaviors set failed_logins --setting threshold=5 --setting window_seconds=600
  ztrisk behaviors set imp_travel --setting trusted_networks=10.0.0.0/8,203.0.113.0/24
  ztrisk behaviors set high_dlp --setting exclude_users='svc-*@example.com' --setting monitor_only=true
  ztrisk behaviors set foo --enable --level low
  ztrisk behaviors set --file behaviors.json      # a PUT /behaviors body")]
    Set(SetArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Behavior ids to change (predefined, e.g. imp_travel, or a custom id).
    #[arg(required_unless_present = "file")]
    pub ids: Vec<String>,
    /// Detect these behaviors.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Stop detecting these behaviors.
    #[arg(long)]
    pub disable: bool,
    /// The level their risk events get.
    #[arg(long, value_enum)]
    pub level: Option<Level>,
    /// A threshold as KEY=VALUE (repeatable), e.g. threshold=5.
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, Value)>,
    /// A JSON body of PUT /behaviors ({"behaviors": {...}}), `-` for standard input.
    #[arg(long, conflicts_with_all = ["ids", "enable", "disable", "level", "settings"])]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

/// A risk level on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Level {
    Low,
    Medium,
    High,
}

impl From<Level> for RiskLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Low => RiskLevel::Low,
            Level::Medium => RiskLevel::Medium,
            Level::High => RiskLevel::High,
        }
    }
}

/// Settings that hold lists: `KEY=a,b,c` (or a JSON array) on the command line.
const LIST_SETTINGS: [&str; 2] = ["trusted_networks", "exclude_users"];

/// The controls at their defaults, left out of the table so it shows what was changed.
const DEFAULT_CONTROLS: [(&str, &str); 5] = [
    ("exclude_users", "[]"),
    ("trusted_networks", "[]"),
    ("monitor_only", "false"),
    ("expire_after_days", "0"),
    ("same_ip_is_same_place", "true"),
];

fn parse_setting(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    let (key, value) = (key.trim(), value.trim());
    let json = serde_json::from_str::<Value>(value).ok();
    let value = match json {
        Some(value) if !LIST_SETTINGS.contains(&key) || value.is_array() => value,
        _ if LIST_SETTINGS.contains(&key) => Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(Value::from)
                .collect(),
        ),
        _ => Value::from(value),
    };
    Ok((key.to_owned(), value))
}

pub async fn run(api: &ApiArgs, command: BehaviorsCommand) -> anyhow::Result<()> {
    match command {
        BehaviorsCommand::Get { account, output } => {
            let account = account.require()?;
            let client = connect(api)?;
            let behaviors = client
                .zero_trust()
                .risk_scoring()
                .behaviours()
                .get(&account)
                .await?;
            if output.json {
                print_json(&behaviors)
            } else {
                print_table(&behaviors, None);
                Ok(())
            }
        }
        BehaviorsCommand::Set(args) => set(api, args).await,
    }
}

async fn set(api: &ApiArgs, args: SetArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    let client = connect(api)?;
    let behaviours = client.zero_trust().risk_scoring().behaviours();
    let update = match &args.file {
        Some(path) => read_update(path)?,
        None => {
            let enabled = match (args.enable, args.disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let level = args.level.map(RiskLevel::from);
            if enabled.is_none() && level.is_none() && args.settings.is_empty() {
                return Err(UsageError::new(
                    "nothing to change: give --enable, --disable, --level or --setting",
                )
                .into());
            }
            // PUT needs both fields of every entry: the current ones fill the gaps.
            let current = if enabled.is_none() || level.is_none() {
                Some(behaviours.get(&account).await?)
            } else {
                None
            };
            let mut update = BehaviorsUpdate::new();
            for id in &args.ids {
                let existing = current.as_ref().and_then(|c| c.get(id));
                let risk_level = match (level, existing) {
                    (Some(level), _) => level,
                    (None, Some(b)) => b.risk_level,
                    (None, None) => {
                        return Err(UsageError::new(format!(
                            "`{id}` is not a behavior of this account yet: give --level to \
                             create it (`ztrisk behaviors get` lists the existing ones)"
                        ))
                        .into());
                    }
                };
                let enabled = enabled.or(existing.map(|b| b.enabled)).unwrap_or(true);
                let mut setting = BehaviorSetting::new(enabled, risk_level);
                for (key, value) in &args.settings {
                    setting = setting.setting(key.clone(), value.clone());
                }
                update = update.entry(id.clone(), setting);
            }
            update
        }
    };
    let changed: Vec<String> = update.behaviors.keys().cloned().collect();
    let result = behaviours.update(&account, update).await?;
    if args.output.json {
        return print_json(&result);
    }
    println!(
        "updated {} behavior{}:",
        changed.len(),
        if changed.len() == 1 { "" } else { "s" }
    );
    print_table(&result, Some(&changed));
    Ok(())
}

fn read_update(path: &PathBuf) -> anyhow::Result<BehaviorsUpdate> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    }
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| UsageError::new(format!("{} is not JSON: {e}", path.display())))?;
    // Either a whole body, or just the map of behaviors.
    let body = if value.get("behaviors").is_some() {
        value
    } else {
        serde_json::json!({ "behaviors": value })
    };
    serde_json::from_value(body).map_err(|e| {
        UsageError::new(format!(
            "{}: expected {{\"behaviors\": {{\"<id>\": {{\"enabled\": true, \"risk_level\": \
             \"low\"}}}}}}: {e}",
            path.display()
        ))
        .into()
    })
}

fn print_table(behaviors: &Behaviors, only: Option<&[String]>) {
    let mut table = Table::new(&["ID", "ENABLED", "LEVEL", "NAME", "SETTINGS"]);
    for (id, behavior) in behaviors.iter() {
        if only.is_some_and(|ids| !ids.iter().any(|i| i == id)) {
            continue;
        }
        table.row(vec![
            id.to_owned(),
            yes_no(behavior.enabled),
            behavior.risk_level.to_string(),
            behavior.name.clone().unwrap_or_default(),
            settings_text(behavior.settings.as_ref()),
        ]);
    }
    table.print();
}

fn settings_text(settings: Option<&BTreeMap<String, Value>>) -> String {
    settings
        .into_iter()
        .flatten()
        .filter(|(key, value)| {
            !DEFAULT_CONTROLS.contains(&(key.as_str(), value.to_string().as_str()))
        })
        .map(|(key, value)| match value {
            Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect();
                format!("{key}={}", items.join(","))
            }
            _ => format!("{key}={value}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
