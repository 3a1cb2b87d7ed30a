//! `ztrisk integrations list|create|get|update|delete|deliveries|stream`.

use super::deliveries::{self, DeliveriesArgs};
use super::table::{Table, yes_no};
use super::{
    AccountArg, ApiArgs, UsageError, connect, print_deleted, print_json, print_record, time,
};
use crate::cli::Output;
use clap::{Args, Subcommand};
use ztrisk_client::types::{Integration, IntegrationCreate, IntegrationUpdate};

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List the account's integrations.
    List {
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Create an integration exporting risk changes (active at once): to an Okta tenant, or
    /// (`--type SSF`) to any Shared Signals receiver, which then creates its own stream.
    #[command(after_help = "\
Examples:
  ztrisk integrations create --tenant-url https://acme.okta.com --reference-id $OKTA_IDP_ID
  ztrisk integrations create --type SSF --tenant-url https://receiver.example.com")]
    Create {
        /// The tenant's base URL (https://, or http:// for loopback hosts); for SSF, the
        /// receiver's audience (the `aud` of its SETs).
        #[arg(long)]
        tenant_url: String,
        /// A reference of yours, unique in the account (e.g. the Access Okta IdP id).
        #[arg(long)]
        reference_id: Option<String>,
        /// The integration type: Okta or SSF.
        #[arg(long = "type", default_value = "Okta")]
        integration_type: String,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Show an integration, by id or by reference id.
    #[command(after_help = "\
Examples:
  ztrisk integrations get 0b9c3f6e-7d2a-4e1b-8c5d-9f0a1b2c3d4e
  ztrisk integrations get --reference-id okta-main")]
    Get {
        /// Integration id (UUID).
        #[arg(required_unless_present = "reference_id")]
        id: Option<String>,
        /// Find the integration by its reference id instead.
        #[arg(long, conflicts_with = "id")]
        reference_id: Option<String>,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// Change an integration; what is not given keeps its value.
    #[command(after_help = "\
Examples:
  ztrisk integrations update $ID --active false
  ztrisk integrations update $ID --tenant-url https://new.okta.com --reference-id okta-2")]
    Update(UpdateArgs),
    /// Delete an integration.
    Delete {
        /// Integration id (UUID).
        id: String,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
    /// The risk changes sent to the integration's tenant, newest first: status, attempts,
    /// last error.
    #[command(after_help = "\
Examples:
  ztrisk integrations deliveries $ID
  ztrisk integrations deliveries $ID --page 2 --per-page 50
  ztrisk integrations deliveries $ID --json | jq -r '.[] | select(.status == \"failed\") | .last_error'")]
    Deliveries(DeliveriesArgs),
    /// An SSF integration's stream: how it delivers, its status, removed subjects, and how
    /// many SETs wait to be pushed or polled.
    #[command(after_help = "\
Examples:
  ztrisk integrations stream $ID
  ztrisk integrations stream $ID --json | jq .backlog")]
    Stream {
        /// Integration id (UUID).
        id: String,
        #[command(flatten)]
        account: AccountArg,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Integration id (UUID).
    pub id: String,
    /// Export risk changes (true) or pause the integration (false).
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new(), value_name = "true|false")]
    pub active: Option<bool>,
    /// The tenant's base URL.
    #[arg(long)]
    pub tenant_url: Option<String>,
    /// A new reference id.
    #[arg(long, conflicts_with = "clear_reference_id")]
    pub reference_id: Option<String>,
    /// Remove the reference id.
    #[arg(long)]
    pub clear_reference_id: bool,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

fn show(integration: &Integration, json: bool) -> anyhow::Result<()> {
    print_record(
        integration,
        json,
        &[
            ("id", integration.id.clone()),
            ("type", integration.integration_type.clone()),
            ("active", yes_no(integration.active)),
            ("tenant url", integration.tenant_url.clone()),
            ("reference id", or_dash(&integration.reference_id)),
            ("created", time(integration.created_at)),
            ("well-known url", integration.well_known_url.clone()),
        ],
    )
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_owned()
    }
}

pub async fn run(api: &ApiArgs, command: IntegrationsCommand) -> anyhow::Result<()> {
    match command {
        IntegrationsCommand::List { account, output } => {
            let account = account.require()?;
            let client = connect(api)?;
            let list = client
                .zero_trust()
                .risk_scoring()
                .integrations()
                .list(&account)
                .await?;
            if output.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!(
                    "no integrations (create one with `ztrisk integrations create --tenant-url ...`)"
                );
                return Ok(());
            }
            let mut table = Table::new(&[
                "ID",
                "TYPE",
                "ACTIVE",
                "REFERENCE ID",
                "TENANT URL",
                "CREATED",
            ]);
            for i in &list {
                table.row(vec![
                    i.id.clone(),
                    i.integration_type.clone(),
                    yes_no(i.active),
                    or_dash(&i.reference_id),
                    i.tenant_url.clone(),
                    time(i.created_at),
                ]);
            }
            table.print();
            Ok(())
        }
        IntegrationsCommand::Create {
            tenant_url,
            reference_id,
            integration_type,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            let params = IntegrationCreate {
                integration_type,
                tenant_url,
                reference_id,
            };
            let created = client
                .zero_trust()
                .risk_scoring()
                .integrations()
                .create(&account, params)
                .await?;
            if !output.json {
                println!("created integration {}\n", created.id);
            }
            show(&created, output.json)
        }
        IntegrationsCommand::Get {
            id,
            reference_id,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            let integrations = client.zero_trust().risk_scoring().integrations();
            let found = match (id, reference_id) {
                (_, Some(reference)) => integrations.references().get(&account, &reference).await?,
                (Some(id), None) => integrations.get(&account, &id).await?,
                (None, None) => {
                    return Err(UsageError::new("give an integration id or --reference-id").into());
                }
            };
            show(&found, output.json)
        }
        IntegrationsCommand::Update(args) => {
            let account = args.account.require()?;
            if args.active.is_none()
                && args.tenant_url.is_none()
                && args.reference_id.is_none()
                && !args.clear_reference_id
            {
                return Err(UsageError::new(
                    "nothing to change: give --active, --tenant-url, --reference-id or \
                     --clear-reference-id",
                )
                .into());
            }
            let client = connect(api)?;
            let integrations = client.zero_trust().risk_scoring().integrations();
            // PUT overwrites every field: the current values fill the gaps.
            let current = integrations.get(&account, &args.id).await?;
            let reference_id = if args.clear_reference_id {
                None
            } else {
                args.reference_id
                    .or(Some(current.reference_id))
                    .filter(|r| !r.is_empty())
            };
            let params = IntegrationUpdate {
                active: args.active.unwrap_or(current.active),
                tenant_url: args.tenant_url.unwrap_or(current.tenant_url),
                reference_id,
            };
            let updated = integrations.update(&account, &args.id, params).await?;
            if !args.output.json {
                println!("updated integration {}\n", updated.id);
            }
            show(&updated, args.output.json)
        }
        IntegrationsCommand::Delete {
            id,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            client
                .zero_trust()
                .risk_scoring()
                .integrations()
                .delete(&account, &id)
                .await?;
            print_deleted("integration", &id, output.json)
        }
        IntegrationsCommand::Stream {
            id,
            account,
            output,
        } => {
            let account = account.require()?;
            let client = connect(api)?;
            let stream = client
                .zero_trust()
                .risk_scoring()
                .integrations()
                .stream(&account, &id)
                .await?;
            let method = match stream.delivery_method.as_str() {
                "urn:ietf:rfc:8935" => "push (RFC 8935)".to_owned(),
                "urn:ietf:rfc:8936" => "poll (RFC 8936)".to_owned(),
                other => other.to_owned(),
            };
            let oldest = stream
                .backlog
                .oldest_pending_at
                .map(|t| format!(", oldest queued {}", time(t)))
                .unwrap_or_default();
            let removed = if stream.removed_subjects.is_empty() {
                "none".to_owned()
            } else {
                stream.removed_subjects.join(", ")
            };
            print_record(
                &stream,
                output.json,
                &[
                    ("stream id", stream.stream_id.clone()),
                    (
                        "status",
                        match &stream.reason {
                            Some(reason) => format!("{} ({reason})", stream.status),
                            None => stream.status.clone(),
                        },
                    ),
                    ("delivery", method),
                    ("endpoint url", stream.endpoint_url.clone()),
                    ("events", stream.events_delivered.join(", ")),
                    (
                        "description",
                        stream.description.clone().unwrap_or_else(|| "-".into()),
                    ),
                    ("removed subjects", removed),
                    (
                        "backlog",
                        format!("{} SETs pending{oldest}", stream.backlog.pending),
                    ),
                    ("created", time(stream.created_at)),
                    ("updated", time(stream.updated_at)),
                ],
            )
        }
        IntegrationsCommand::Deliveries(args) => {
            let account = args.account.require()?;
            let client = connect(api)?;
            let page = client
                .zero_trust()
                .risk_scoring()
                .integrations()
                .deliveries(&account, &args.id, args.params())
                .await?;
            deliveries::print(&page, args.output.json, "integration")
        }
    }
}
