//! `ztrisk users list|show|reset|confirm-compromised`.

use super::table::{Table, fields};
use super::{AccountArg, ApiArgs, connect, print_json, time};
use crate::cli::Output;
use clap::{Args, Subcommand, ValueEnum};
use ztrisk_client::Client;
use ztrisk_client::types::{
    Direction, ResultInfo, RiskEventOrder, RiskLevel, SummaryOrder, SummaryParams, UserParams,
};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List the users at risk: everyone with risk events since their last reset.
    #[command(after_help = "\
Examples:
  ztrisk users list
  ztrisk users list --order-by event-count --per-page 20 --page 2
  ztrisk users list --json | jq -r '.users[] | select(.max_risk_level == \"high\") | .email'")]
    List(ListArgs),
    /// Show a user's risk level and risk events since the last reset.
    #[command(after_help = "\
USER is a user id, or the email of a user at risk (one listed by `ztrisk users list`).

Examples:
  ztrisk users show ana.0@example.com
  ztrisk users show 6b3e5f7c-0d8a-4c1e-9a2b-3c4d5e6f7a8b --json   # with each event's evidence")]
    Show(ShowArgs),
    /// Reset a user's risk: unscored, and out of the list until a new risk event.
    #[command(after_help = "\
USER is a user id, or the email of a user at risk. The history stays stored.

Example:
  ztrisk users reset ana.0@example.com")]
    Reset {
        /// User id (UUID) or email.
        user: String,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Confirm a user compromised: high until the next reset, with the reason and who said so
    /// in the evidence.
    #[command(after_help = "\
USER is a user id, or the email of a user at risk (a user not at risk is found by id only).

Example:
  ztrisk users confirm-compromised ana.0@example.com --reason \"token found in a public repo\"")]
    ConfirmCompromised {
        /// User id (UUID) or email.
        user: String,
        /// Why, for the evidence (at most 1024 characters).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Sort key (default: level, then newest event).
    #[arg(long, value_enum)]
    pub order_by: Option<SummaryOrderArg>,
    #[command(flatten)]
    pub paging: Paging,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// User id (UUID) or email.
    pub user: String,
    /// Sort key of the events (default: time).
    #[arg(long, value_enum)]
    pub order_by: Option<EventOrderArg>,
    #[command(flatten)]
    pub paging: Paging,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct Paging {
    /// Sort direction (default: desc).
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Page number, from 1 (default: everything).
    #[arg(long)]
    pub page: Option<u32>,
    /// Entries per page, 1 to 1000 (default 25 when --page is given).
    #[arg(long)]
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SummaryOrderArg {
    MaxRiskLevel,
    Timestamp,
    EventCount,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EventOrderArg {
    Timestamp,
    RiskLevel,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Desc,
    Asc,
}

impl From<DirectionArg> for Direction {
    fn from(d: DirectionArg) -> Self {
        match d {
            DirectionArg::Desc => Direction::Desc,
            DirectionArg::Asc => Direction::Asc,
        }
    }
}

pub fn level(level: Option<RiskLevel>) -> String {
    level.map_or_else(|| "-".to_owned(), |l| l.to_string())
}

pub fn page_footer(info: Option<ResultInfo>, what: &str) {
    if let Some(info) = info {
        println!(
            "page {} of {} ({} {what} in all)",
            info.page, info.total_pages, info.total_count
        );
    }
}

pub async fn run(api: &ApiArgs, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::List(args) => list(api, args).await,
        UsersCommand::Show(args) => show(api, args).await,
        UsersCommand::Reset {
            user,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            let (user_id, email) = resolve(&client, &account, &user).await?;
            client
                .zero_trust()
                .risk_scoring()
                .reset(&account, &user_id)
                .await?;
            if output.json {
                print_json(&serde_json::json!({"user_id": user_id, "reset": true}))
            } else {
                let who = email.map(|e| format!("{e} ({user_id})")).unwrap_or(user_id);
                println!("reset {who}: unscored until a new risk event");
                Ok(())
            }
        }
        UsersCommand::ConfirmCompromised {
            user,
            reason,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            let (user_id, email) = resolve(&client, &account, &user).await?;
            client
                .zero_trust()
                .risk_scoring()
                .confirm_compromised(&account, &user_id, reason.as_deref())
                .await?;
            if output.json {
                print_json(&serde_json::json!({"user_id": user_id, "confirmed_compromised": true}))
            } else {
                let who = email.map(|e| format!("{e} ({user_id})")).unwrap_or(user_id);
                println!("confirmed {who} compromised: high until the next reset");
                Ok(())
            }
        }
    }
}

async fn list(api: &ApiArgs, args: ListArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    let client = connect(api)?;
    let params = SummaryParams {
        page: args.paging.page,
        per_page: args.paging.per_page,
        order_by: args.order_by.map(|o| match o {
            SummaryOrderArg::MaxRiskLevel => SummaryOrder::MaxRiskLevel,
            SummaryOrderArg::Timestamp => SummaryOrder::Timestamp,
            SummaryOrderArg::EventCount => SummaryOrder::EventCount,
        }),
        direction: args.paging.direction.map(Direction::from),
    };
    let page = client
        .zero_trust()
        .risk_scoring()
        .summary()
        .get_with(&account, params)
        .await?;
    if args.output.json {
        return print_json(&page.result);
    }
    if page.result.users.is_empty() && page.result_info.is_none() {
        println!("no users at risk: nobody has risk events since their last reset");
        return Ok(());
    }
    let mut table = Table::new(&["USER ID", "EMAIL", "NAME", "LEVEL", "EVENTS", "LAST EVENT"]);
    for user in &page.result.users {
        table.row(vec![
            user.user_id.clone(),
            user.email.clone(),
            user.name.clone(),
            level(user.max_risk_level),
            user.event_count.to_string(),
            time(user.last_event),
        ]);
    }
    table.print();
    page_footer(page.result_info, "users");
    Ok(())
}

async fn show(api: &ApiArgs, args: ShowArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    let client = connect(api)?;
    let (user_id, _) = resolve(&client, &account, &args.user).await?;
    let params = UserParams {
        page: args.paging.page,
        per_page: args.paging.per_page,
        order_by: args.order_by.map(|o| match o {
            EventOrderArg::Timestamp => RiskEventOrder::Timestamp,
            EventOrderArg::RiskLevel => RiskEventOrder::RiskLevel,
        }),
        direction: args.paging.direction.map(Direction::from),
    };
    let page = client
        .zero_trust()
        .risk_scoring()
        .get_with(&account, &user_id, params)
        .await?;
    if args.output.json {
        return print_json(&page.result);
    }
    let user = &page.result;
    print!(
        "{}",
        fields(&[
            ("user id", user_id),
            ("email", user.email.clone()),
            ("name", user.name.clone()),
            (
                "risk level",
                user.risk_level
                    .map_or_else(|| "unscored".to_owned(), |l| l.to_string())
            ),
            (
                "last reset",
                user.last_reset_time
                    .map_or_else(|| "never".to_owned(), time)
            ),
        ])
    );
    println!();
    if user.events.is_empty() {
        println!("no risk events since the last reset");
        return Ok(());
    }
    let mut table = Table::new(&["TIME", "LEVEL", "BEHAVIOR", "EVENT ID"]);
    for event in &user.events {
        table.row(vec![
            time(event.timestamp),
            level(event.risk_level),
            event.name.clone(),
            event.id.clone(),
        ]);
    }
    table.print();
    page_footer(page.result_info, "risk events");
    Ok(())
}

/// A user id as given, or the id of the user at risk with this email.
async fn resolve(
    client: &Client,
    account: &str,
    user: &str,
) -> anyhow::Result<(String, Option<String>)> {
    if !user.contains('@') {
        return Ok((user.to_owned(), None));
    }
    let summary = client
        .zero_trust()
        .risk_scoring()
        .summary()
        .get(account)
        .await?;
    summary
        .users
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(user))
        .map(|u| (u.user_id, Some(u.email)))
        .ok_or_else(|| {
            NotAtRisk(format!(
                "{user} is not among the users at risk (`ztrisk users list`); a user without \
                 risk events since the last reset is found by id only"
            ))
            .into()
        })
}

/// An email that matches no user at risk (exit code 4, like a 404).
#[derive(Debug)]
pub struct NotAtRisk(pub String);

impl std::fmt::Display for NotAtRisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAtRisk {}
