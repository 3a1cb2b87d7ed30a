//! `ztrisk events send FILE|-`: feeds a JSON or NDJSON file of events to a running server.

use crate::remote::{Remote, RemoteArgs, describe_errors};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{BufRead, Read};
use std::path::PathBuf;

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
    pub remote: RemoteArgs,
}

#[derive(Debug, Default)]
pub struct Totals {
    pub sent: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub risk_events: u64,
    pub rejected: Vec<(u64, String)>,
}

impl Totals {
    /// Adds one batch's result; `offset` turns batch indexes into positions in the input.
    pub fn add(&mut self, result: &Value, offset: u64) {
        self.accepted += result["accepted"].as_u64().unwrap_or(0);
        self.duplicates += result["duplicates"].as_u64().unwrap_or(0);
        self.risk_events += result["risk_events"].as_u64().unwrap_or(0);
        for rejection in result["rejected"].as_array().into_iter().flatten() {
            let index = offset + rejection["index"].as_u64().unwrap_or(0);
            self.rejected.push((index, describe_errors(rejection)));
        }
    }
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let remote = Remote::new(&args.remote)?;
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
    let progress = match total_bytes {
        Some(len) if len > 1024 * 1024 => {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        _ => ProgressBar::hidden(),
    };

    let mut totals = Totals::default();
    if starts_with_bracket(&mut reader)? {
        let mut text = Vec::new();
        reader.read_to_end(&mut text)?;
        let events: Vec<Value> = serde_json::from_slice(&text)
            .context("the file starts with '[' but is not a JSON array")?;
        for chunk in events.chunks(batch_size) {
            let body = serde_json::to_vec(chunk)?;
            let result = remote.post_events(body, false).await?;
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
                let result = remote.post_events(std::mem::take(&mut batch), true).await?;
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

/// Peeks past leading whitespace: `[` means a JSON array, anything else NDJSON.
fn starts_with_bracket(reader: &mut Box<dyn BufRead>) -> anyhow::Result<bool> {
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
        let rejected: Vec<Value> = totals
            .rejected
            .iter()
            .map(|(index, errors)| serde_json::json!({"index": index, "errors": errors}))
            .collect();
        let summary = serde_json::json!({
            "sent": totals.sent, "accepted": totals.accepted, "duplicates": totals.duplicates,
            "risk_events": totals.risk_events, "rejected": rejected,
        });
        println!("{summary}");
        return;
    }
    println!(
        "sent {} events: {} accepted, {} duplicates, {} rejected; {} risk events detected",
        totals.sent,
        totals.accepted,
        totals.duplicates,
        totals.rejected.len(),
        totals.risk_events
    );
    for (index, errors) in totals.rejected.iter().take(10) {
        println!("  event {index}: {errors}");
    }
    if totals.rejected.len() > 10 {
        println!(
            "  ... and {} more (use --json to see all)",
            totals.rejected.len() - 10
        );
    }
}
