//! `ztrisk events send FILE|-`: feeds a JSON or NDJSON file of events to a running server; and
//! the summary of a sending, shared with `events import` and `demo`.

use crate::client_cmd::{AccountArg, ApiArgs, connect};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use ztrisk_client::resources::EventsFormat;
use ztrisk_client::types::IngestResult;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// A JSON array of events, or NDJSON (one event per line); `-` reads standard input.
    pub file: PathBuf,
    /// Events per request (at most 16 MiB per request is accepted).
    #[arg(long, default_value_t = 10_000)]
    pub batch_size: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub account: AccountArg,
}

/// What the records of a summary are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// ztrisk's own events (`events send`, `demo`, `events import --format ztrisk`).
    Events,
    /// A vendor's records, read by an ingest adapter (one record may give several events).
    Records,
}

impl Unit {
    pub fn plural(self) -> &'static str {
        match self {
            Unit::Events => "events",
            Unit::Records => "records",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Unit::Events => "event",
            Unit::Records => "record",
        }
    }
}

/// Where a rejected record is in the input: its index among the records (0-based, blank
/// lines not counted, as the server counts), and its file (`events import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: Option<Arc<str>>,
    pub index: u64,
}

#[derive(Debug)]
pub struct Totals {
    pub unit: Unit,
    pub sent: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Well-formed records without a signal: counted by the ingest adapters only.
    pub skipped: Option<u64>,
    pub risk_events: u64,
    pub rejected: Vec<(Position, String)>,
}

impl Default for Totals {
    fn default() -> Self {
        Self::new(Unit::Events)
    }
}

impl Totals {
    pub fn new(unit: Unit) -> Self {
        Self {
            unit,
            sent: 0,
            accepted: 0,
            duplicates: 0,
            skipped: None,
            risk_events: 0,
            rejected: Vec::new(),
        }
    }

    /// Adds one batch's result; `offset` turns batch indexes into positions in the input.
    pub fn add(&mut self, result: &IngestResult, offset: u64) {
        self.add_at(result, |index| Position {
            file: None,
            index: offset + index,
        });
    }

    /// Adds one batch's result; `position` turns a batch index into a position in the input.
    pub fn add_at(&mut self, result: &IngestResult, position: impl Fn(u64) -> Position) {
        self.accepted += result.accepted;
        self.duplicates += result.duplicates;
        self.risk_events += result.risk_events;
        if let Some(skipped) = result.skipped {
            self.skipped = Some(self.skipped.unwrap_or(0) + skipped);
        }
        for rejection in &result.rejected {
            let errors: Vec<String> = rejection
                .errors
                .iter()
                .map(ztrisk_client::describe_item)
                .collect();
            self.rejected
                .push((position(rejection.index), errors.join("; ")));
        }
    }
}

/// Attempts per batch are 1 + this: transient failures (connection errors, 429, 5xx) are
/// retried, and event ids make a retried batch idempotent.
pub const RETRIES: u32 = 4;
/// Longest wait for the answer to one batch.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(args: SendArgs, api: &ApiArgs) -> anyhow::Result<()> {
    let account = args.account.require()?;
    let client = connect(api)?
        .with_max_retries(RETRIES)
        .with_timeout(BATCH_TIMEOUT);
    let sender = client.zero_trust().risk_scoring().events();
    let batch_size = args.batch_size.clamp(1, 50_000);
    let stdin = args.file.as_os_str() == "-";
    let mut reader: Box<dyn BufRead> = if stdin {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let total_bytes = if stdin {
        None
    } else {
        std::fs::metadata(&args.file).ok().map(|m| m.len())
    };
    let progress = byte_progress(total_bytes);

    let mut totals = Totals::default();
    if starts_with_bracket(&mut reader)? {
        let mut text = Vec::new();
        reader.read_to_end(&mut text)?;
        let events: Vec<Value> = serde_json::from_slice(&text)
            .context("the file starts with '[' but is not a JSON array")?;
        for chunk in events.chunks(batch_size) {
            let body = serde_json::to_vec(chunk)?;
            let result = sender
                .ingest_raw(&account, body, EventsFormat::JsonArray)
                .await?;
            totals.add(&result, totals.sent);
            totals.sent += chunk.len() as u64;
            progress.inc((text.len() as u64 * chunk.len() as u64) / events.len().max(1) as u64);
            progress.set_message(format!("{} events", totals.sent));
        }
    } else {
        let mut batch = Vec::new();
        let mut lines = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line)?;
            if read > 0 && !line.trim().is_empty() {
                batch.extend_from_slice(line.trim_end().as_bytes());
                batch.push(b'\n');
                lines += 1;
            }
            progress.inc(read as u64);
            if (read == 0 && lines > 0) || lines >= batch_size {
                let result = sender
                    .ingest_raw(&account, std::mem::take(&mut batch), EventsFormat::NdJson)
                    .await?;
                totals.add(&result, totals.sent);
                totals.sent += lines as u64;
                lines = 0;
                progress.set_message(format!("{} events", totals.sent));
            }
            if read == 0 {
                break;
            }
        }
    }
    progress.finish_and_clear();
    print_totals(&totals, args.json);
    Ok(())
}

/// A progress bar over `total` bytes of input; hidden when the size is unknown (standard
/// input) or small enough to be sent at once (and by indicatif when stderr is no terminal).
pub fn byte_progress(total: Option<u64>) -> ProgressBar {
    match total {
        Some(len) if len > 1024 * 1024 => {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

/// Peeks past leading whitespace: `[` means a JSON array, anything else NDJSON.
pub fn starts_with_bracket<R: BufRead + ?Sized>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(false);
        }
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let bracket = buffer[i] == b'[';
                reader.consume(i);
                return Ok(bracket);
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
}

pub fn print_totals(totals: &Totals, json: bool) {
    if json {
        println!("{}", totals_json(totals));
        return;
    }
    let skipped = totals
        .skipped
        .map(|n| format!("{n} skipped, "))
        .unwrap_or_default();
    println!(
        "sent {} {}: {} accepted, {} duplicates, {skipped}{} rejected; {} risk events detected",
        totals.sent,
        totals.unit.plural(),
        totals.accepted,
        totals.duplicates,
        totals.rejected.len(),
        totals.risk_events
    );
    for (position, errors) in totals.rejected.iter().take(10) {
        let place = match &position.file {
            Some(file) => format!("{file} {}", totals.unit.singular()),
            None => totals.unit.singular().to_owned(),
        };
        println!("  {place} {}: {errors}", position.index);
    }
    if totals.rejected.len() > 10 {
        println!(
            "  ... and {} more (use --json to see all)",
            totals.rejected.len() - 10
        );
    }
}

/// The summary `--json` prints: `skipped` and rejections' `file` only when known.
fn totals_json(totals: &Totals) -> Value {
    let rejected: Vec<Value> = totals
        .rejected
        .iter()
        .map(|(position, errors)| {
            let mut rejection = serde_json::json!({"index": position.index, "errors": errors});
            if let Some(file) = &position.file {
                rejection["file"] = Value::from(&**file);
            }
            rejection
        })
        .collect();
    let mut summary = serde_json::json!({
        "sent": totals.sent, "accepted": totals.accepted, "duplicates": totals.duplicates,
        "risk_events": totals.risk_events, "rejected": rejected,
    });
    if let Some(skipped) = totals.skipped {
        summary["skipped"] = Value::from(skipped);
    }
    summary
}
