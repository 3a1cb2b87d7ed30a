//! `ztrisk migrate`, `ztrisk export` and `ztrisk import`: schema upgrades and moving an
//! installation between SQLite and PostgreSQL.
//!
//! A dump is JSON Lines: a header line, then for each table a line naming it and its columns,
//! followed by one JSON array per row (bytes in base64).

use crate::database::Database;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use tokio::sync::mpsc;
use ztrisk_store::dump::{self, CHUNK_ROWS, DumpChunk, DumpValue};
use ztrisk_store::{PostgresOptions, PostgresStore, Synchronous};

const FORMAT: &str = "ztrisk-dump";
const VERSION: u64 = 1;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write the dump here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A dump written by `ztrisk export`; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    pub file: PathBuf,
}

pub async fn migrate(database: &str) -> anyhow::Result<()> {
    match Database::parse(database) {
        Database::Postgres(url) => {
            let report = PostgresStore::migrate(&url, &PostgresOptions::default())
                .await
                .with_context(|| format!("migrating {}", Database::parse(database).display()))?;
            println!("{report:?}");
        }
        sqlite @ Database::Sqlite(_) => {
            // Opening applies what is missing.
            sqlite.open(Synchronous::default()).await?;
            println!("{} is up to date", sqlite.display());
        }
    }
    Ok(())
}

pub async fn export(database: &str, args: ExportArgs) -> anyhow::Result<()> {
    let store = Database::parse(database)
        .open(Synchronous::default())
        .await?;
    let mut out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    writeln!(
        out,
        "{}",
        json!({"format": FORMAT, "version": VERSION, "exported_at": chrono::Utc::now().to_rfc3339()})
    )?;
    let (sink, mut chunks) = mpsc::channel::<DumpChunk>(4);
    let producer = tokio::spawn(async move { store.export(sink).await });
    let mut current = "";
    let mut rows = 0u64;
    while let Some(chunk) = chunks.recv().await {
        if chunk.table.name != current {
            current = chunk.table.name;
            let columns: Vec<&str> = chunk.table.columns.iter().map(|(c, _)| *c).collect();
            writeln!(out, "{}", json!({"table": current, "columns": columns}))?;
        }
        for row in &chunk.rows {
            let values: Vec<Value> = row.iter().map(DumpValue::to_json).collect();
            serde_json::to_writer(&mut out, &values)?;
            out.write_all(b"\n")?;
            rows += 1;
        }
    }
    producer.await.context("the export task failed")??;
    out.flush()?;
    eprintln!("exported {rows} rows");
    Ok(())
}

pub async fn import(database: &str, args: ImportArgs) -> anyhow::Result<()> {
    let target = Database::parse(database);
    let store = target.open(Synchronous::default()).await?;
    if !store.list_accounts().await?.is_empty() {
        bail!(
            "{} already holds accounts: import only into an empty database (a new file, or a new PostgreSQL database or schema)",
            target.display()
        );
    }
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut lines = reader.lines().enumerate();
    let header: Value = match lines.next() {
        Some((_, line)) => serde_json::from_str(&line?).context("line 1 is not a dump header")?,
        None => bail!("the dump is empty"),
    };
    if header["format"] != FORMAT || header["version"] != VERSION {
        bail!("not a ztrisk dump of version {VERSION}: {header}");
    }
    let mut table: Option<(&'static dump::TableSpec, Vec<usize>)> = None;
    let mut rows = Vec::with_capacity(CHUNK_ROWS);
    let mut total = 0u64;
    for (index, line) in lines {
        let line = line?;
        let value: Value =
            serde_json::from_str(&line).with_context(|| format!("line {}", index + 1))?;
        match value {
            Value::Object(header) => {
                if let Some((spec, _)) = table.take() {
                    flush(&*store, spec, &mut rows).await?;
                }
                let name = header
                    .get("table")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let spec = dump::table(name)
                    .with_context(|| format!("line {}: unknown table {name:?}", index + 1))?;
                // Columns are matched by name, so a dump from a build that ordered them
                // differently still imports.
                let columns: Vec<&str> = header
                    .get("columns")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut positions = Vec::new();
                for (column, _) in spec.columns {
                    let at = columns.iter().position(|c| c == column).with_context(|| {
                        format!("line {}: table {name} lacks column {column}", index + 1)
                    })?;
                    positions.push(at);
                }
                table = Some((spec, positions));
            }
            Value::Array(values) => {
                let Some((spec, positions)) = &table else {
                    bail!("line {}: a row before any table", index + 1);
                };
                let mut row = Vec::with_capacity(positions.len());
                for ((column, kind), at) in spec.columns.iter().zip(positions) {
                    let raw = values.get(*at).cloned().unwrap_or(Value::Null);
                    row.push(DumpValue::from_json(*kind, raw).map_err(|e| {
                        anyhow::anyhow!("line {}: {}.{column}: {e}", index + 1, spec.name)
                    })?);
                }
                rows.push(row);
                total += 1;
                if rows.len() >= CHUNK_ROWS {
                    flush(&*store, spec, &mut rows).await?;
                }
            }
            _ => bail!("line {}: expected a table header or a row", index + 1),
        }
    }
    if let Some((spec, _)) = table {
        flush(&*store, spec, &mut rows).await?;
    }
    store.import_finished().await?;
    eprintln!("imported {total} rows into {}", target.display());
    Ok(())
}

async fn flush(
    store: &dyn ztrisk_store::Store,
    spec: &'static dump::TableSpec,
    rows: &mut Vec<Vec<DumpValue>>,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let chunk = DumpChunk {
        table: spec,
        rows: std::mem::take(rows),
    };
    store
        .import(chunk)
        .await
        .with_context(|| format!("importing into {}", spec.name))
}
