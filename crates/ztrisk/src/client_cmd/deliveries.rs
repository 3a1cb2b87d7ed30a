//! The deliveries of an integration or a webhook (`ztrisk integrations deliveries`,
//! `ztrisk webhooks deliveries`): one table for both.

use super::table::Table;
use super::users::{level, page_footer};
use super::{AccountArg, print_json, time};
use crate::cli::Output;
use clap::Args;
use ztrisk_client::Paged;
use ztrisk_client::types::{DeliveriesParams, Delivery};

/// Arguments of `integrations deliveries` and `webhooks deliveries`.
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// The integration's or webhook's id (UUID).
    pub id: String,
    /// Page number, from 1 (default 1: the newest).
    #[arg(long)]
    pub page: Option<u32>,
    /// Deliveries per page, 1 to 1000 (default 25).
    #[arg(long)]
    pub per_page: Option<u32>,
    #[command(flatten)]
    pub account: AccountArg,
    #[command(flatten)]
    pub output: Output,
}

impl DeliveriesArgs {
    pub fn params(&self) -> DeliveriesParams {
        DeliveriesParams {
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// `unscored -> high`.
fn change(delivery: &Delivery) -> String {
    let side = |l| match l {
        None => "unscored".to_owned(),
        some => level(some),
    };
    format!(
        "{} -> {}",
        side(delivery.previous_level),
        side(delivery.current_level)
    )
}

/// Prints a page of deliveries, newest first; `to` names the destination in the empty case.
pub fn print(page: &Paged<Vec<Delivery>>, json: bool, to: &str) -> anyhow::Result<()> {
    if json {
        return print_json(&page.result);
    }
    if page.result.is_empty() {
        match page.result_info.filter(|i| i.total_count > 0) {
            Some(info) => println!(
                "no deliveries on page {}: {} in all, on {} pages",
                info.page, info.total_count, info.total_pages
            ),
            None => println!(
                "no deliveries to this {to} yet (one is queued for each change of a user's \
                 risk level; delivered and failed ones are kept 7 days)"
            ),
        }
        return Ok(());
    }
    let mut table = Table::new(&[
        "ID",
        "CREATED",
        "EMAIL",
        "CHANGE",
        "STATUS",
        "ATTEMPTS",
        "NEXT ATTEMPT",
        "LAST ERROR",
    ]);
    for d in &page.result {
        table.row(vec![
            d.id.clone(),
            time(d.created_at),
            d.email.clone(),
            change(d),
            d.status.clone(),
            d.attempts.to_string(),
            d.next_attempt_at.map_or_else(|| "-".to_owned(), time),
            d.last_error.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    table.print();
    page_footer(page.result_info, "deliveries");
    Ok(())
}
