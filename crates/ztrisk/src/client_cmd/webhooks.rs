//! `ztrisk webhooks list|create|get|update|delete|test|deliveries`.

use super::behaviors::Level;
use super::deliveries::{self, DeliveriesArgs};
use super::table::{Table, yes_no};
use super::{
    AccountArg, ApiArgs, UsageError, connect, print_deleted, print_json, print_record, time,
};
use crate::cli::Output;
use clap::{Args, Subcommand, ValueEnum};
use ztrisk_client::resources::Webhooks;
use ztrisk_client::types::{Webhook, WebhookFields, WebhookFormat};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List the account's webhooks (never their secrets).
    List {
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Create a webhook: each change of a user's risk level is POSTed to its URL.
    #[command(after_help = "\
The signing secret (whsec_...) is printed once: receivers verify the webhook-signature header
with it (Standard Webhooks). Slack webhooks get {\"text\": ...} messages instead.

Examples:
  ztrisk webhooks create --url https://hooks.example.com/ztrisk
  ztrisk webhooks create --url https://hooks.slack.com/services/T000/B000/XXXX --format slack --min-level high")]
    Create {
        #[command(flatten)]
        fields: FieldArgs,
        /// Create it paused: nothing is sent until `ztrisk webhooks update ID --active true`.
        #[arg(long)]
        inactive: bool,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Show a webhook.
    #[command(after_help = "Example:\n  ztrisk webhooks get 0b9c3f6e-7d2a-4e1b-8c5d-9f0a1b2c3d4e")]
    Get(WebhookArgs),
    /// Change a webhook; what is not given keeps its value (the secret always does).
    #[command(after_help = "\
Examples:
  ztrisk webhooks update $ID --active false
  ztrisk webhooks update $ID --url https://hooks.example.com/v2 --min-level medium")]
    Update(UpdateArgs),
    /// Delete a webhook and its deliveries.
    Delete(WebhookArgs),
    /// Send a signed `webhook.test` now and show how the receiver answered.
    #[command(after_help = "\
Exits with 1 when the receiver did not answer 2xx.

Example:
  ztrisk webhooks test $ID")]
    Test(WebhookArgs),
    /// The webhook's deliveries, newest first: status, attempts, last error.
    #[command(after_help = "\
Examples:
  ztrisk webhooks deliveries $ID
  ztrisk webhooks deliveries $ID --page 2 --per-page 50
  ztrisk webhooks deliveries $ID --json | jq -r '.[] | select(.status == \"failed\") | .last_error'")]
    Deliveries(DeliveriesArgs),
}

impl WebhooksCommand {
    fn account(&self) -> &AccountArg {
        match self {
            Self::List { account, .. } | Self::Create { account, .. } => account,
            Self::Get(args) | Self::Delete(args) | Self::Test(args) => &args.account,
            Self::Update(args) => &args.account,
            Self::Deliveries(args) => &args.account,
        }
    }
}

/// A webhook's id, with the account and output flags.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Webhook id (UUID).
    pub id: String,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

/// What `create` sets.
#[derive(Debug, Args)]
pub struct FieldArgs {
    /// Where changes are POSTed: https:// (http:// only to a loopback host).
    #[arg(long)]
    pub url: String,
    /// The body: `standard` (Standard Webhooks, signed JSON) or `slack` ({"text": ...}).
    #[arg(long, value_enum, default_value_t = FormatArg::Standard)]
    pub format: FormatArg,
    /// Send a change only when the level before or after is at least this.
    #[arg(long, value_enum, default_value_t = Level::Low)]
    pub min_level: Level,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Webhook id (UUID).
    pub id: String,
    /// A new URL.
    #[arg(long)]
    pub url: Option<String>,
    /// A new body format.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// A new minimum level.
    #[arg(long, value_enum)]
    pub min_level: Option<Level>,
    /// Send changes (true) or pause the webhook (false; its pending deliveries fail).
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new(), value_name = "true|false")]
    pub active: Option<bool>,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

/// A webhook body format on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Standard,
    Slack,
}

impl FormatArg {
    fn wire(self) -> String {
        match self {
            FormatArg::Standard => WebhookFormat::Standard,
            FormatArg::Slack => WebhookFormat::Slack,
        }
        .as_str()
        .to_owned()
    }
}

fn show(hook: &Webhook, json: bool) -> anyhow::Result<()> {
    print_record(
        hook,
        json,
        &[
            ("id", hook.id.clone()),
            ("url", hook.url.clone()),
            ("active", yes_no(hook.active)),
            ("format", hook.format.clone()),
            ("min level", hook.min_level.to_string()),
            ("created", time(hook.created_at)),
        ],
    )
}

pub async fn run(api: &ApiArgs, command: WebhooksCommand) -> anyhow::Result<()> {
    let account = command.account().require()?;
    let client = connect(api)?;
    let webhooks = client.zero_trust().risk_scoring().webhooks();
    match command {
        WebhooksCommand::List { output, .. } => {
            let list = webhooks.list(&account).await?;
            if output.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no webhooks (create one with `ztrisk webhooks create --url ...`)");
                return Ok(());
            }
            let mut table = Table::new(&["ID", "ACTIVE", "FORMAT", "MIN LEVEL", "URL", "CREATED"]);
            for hook in &list {
                table.row(vec![
                    hook.id.clone(),
                    yes_no(hook.active),
                    hook.format.clone(),
                    hook.min_level.to_string(),
                    hook.url.clone(),
                    time(hook.created_at),
                ]);
            }
            table.print();
            Ok(())
        }
        WebhooksCommand::Create {
            fields,
            inactive,
            output,
            ..
        } => {
            let params = WebhookFields {
                url: fields.url,
                active: Some(!inactive),
                format: Some(fields.format.wire()),
                min_level: Some(fields.min_level.into()),
            };
            let created = webhooks.create(&account, params).await?;
            if output.json {
                return print_json(&created);
            }
            println!("created webhook {}\n", created.id);
            show(&created, false)?;
            if let Some(secret) = &created.secret {
                println!(
                    "\nsigning secret (shown only now; it will not be shown again, store it \
                     safely):\n\n  {secret}\n"
                );
            }
            Ok(())
        }
        WebhooksCommand::Get(WebhookArgs { id, output, .. }) => {
            show(&webhooks.get(&account, &id).await?, output.json)
        }
        WebhooksCommand::Update(args) => update(webhooks, &account, args).await,
        WebhooksCommand::Delete(WebhookArgs { id, output, .. }) => {
            webhooks.delete(&account, &id).await?;
            print_deleted("webhook", &id, output.json)
        }
        WebhooksCommand::Test(WebhookArgs { id, output, .. }) => {
            let result = webhooks.test(&account, &id).await?;
            let status = result
                .status
                .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            if output.json {
                print_json(&result)?;
            } else if result.delivered {
                println!("delivered: the receiver answered {status}");
            } else {
                println!(
                    "not delivered: {}",
                    result.error.as_deref().unwrap_or(&status)
                );
            }
            if result.delivered {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the receiver did not accept the test delivery ({status}): check the URL \
                     (`ztrisk webhooks get {id}`) and that the receiver answers 2xx"
                ))
            }
        }
        WebhooksCommand::Deliveries(args) => {
            let page = webhooks
                .deliveries(&account, &args.id, args.params())
                .await?;
            deliveries::print(&page, args.output.json, "webhook")
        }
    }
}

async fn update(webhooks: Webhooks<'_>, account: &str, args: UpdateArgs) -> anyhow::Result<()> {
    if args.url.is_none()
        && args.format.is_none()
        && args.min_level.is_none()
        && args.active.is_none()
    {
        return Err(UsageError::new(
            "nothing to change: give --url, --format, --min-level or --active",
        )
        .into());
    }
    // PUT overwrites every field: the current values fill the gaps.
    let current = webhooks.get(account, &args.id).await?;
    let params = WebhookFields {
        url: args.url.unwrap_or(current.url),
        active: Some(args.active.unwrap_or(current.active)),
        format: Some(args.format.map_or(current.format, FormatArg::wire)),
        min_level: Some(args.min_level.map_or(current.min_level, Into::into)),
    };
    let updated = webhooks.update(account, &args.id, params).await?;
    if !args.output.json {
        println!("updated webhook {}\n", updated.id);
    }
    show(&updated, args.output.json)
}
