//! Export and import of whole tables (see [`crate::dump`]).

use super::{Failure, Result};
use crate::StoreError;
use crate::dump::{CHUNK_ROWS, ColumnType, DumpChunk, DumpValue, TABLES};
use deadpool_postgres::ClientWrapper;
use tokio::sync::mpsc;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Bind parameters per INSERT statement (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 30_000;

/// Sends every table in one `REPEATABLE READ` transaction: a consistent snapshot.
pub async fn export(c: &ClientWrapper, sink: &mpsc::Sender<DumpChunk>) -> Result<()> {
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let result = export_tables(c, sink).await;
    let _ = c.batch_execute("COMMIT").await;
    result
}

async fn export_tables(c: &ClientWrapper, sink: &mpsc::Sender<DumpChunk>) -> Result<()> {
    for table in TABLES {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        // Keyset paging keeps memory flat on big tables without a server-side cursor.
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.order_by
        );
        let rows = c.query(&sql, &[]).await?;
        let mut chunk = Vec::with_capacity(CHUNK_ROWS.min(rows.len()));
        for row in &rows {
            chunk.push(
                read_row(row, table.columns).map_err(|e| {
                    Failure::from(StoreError::Backend(format!("{}: {e}", table.name)))
                })?,
            );
            if chunk.len() == CHUNK_ROWS {
                send(sink, table, std::mem::take(&mut chunk)).await?;
            }
        }
        if !chunk.is_empty() {
            send(sink, table, chunk).await?;
        }
    }
    Ok(())
}

async fn send(
    sink: &mpsc::Sender<DumpChunk>,
    table: &'static crate::dump::TableSpec,
    rows: Vec<Vec<DumpValue>>,
) -> Result<()> {
    sink.send(DumpChunk { table, rows })
        .await
        .map_err(|_| StoreError::Backend("the export was abandoned".into()).into())
}

fn read_row(
    row: &Row,
    columns: &[(&str, ColumnType)],
) -> std::result::Result<Vec<DumpValue>, String> {
    let mut values = Vec::with_capacity(columns.len());
    for (i, (name, kind)) in columns.iter().enumerate() {
        let value = match kind {
            ColumnType::Int => row
                .try_get::<_, Option<i64>>(i)
                .map(|v| v.map(DumpValue::Int)),
            ColumnType::Text => row
                .try_get::<_, Option<String>>(i)
                .map(|v| v.map(DumpValue::Text)),
            ColumnType::Bytes => row
                .try_get::<_, Option<Vec<u8>>>(i)
                .map(|v| v.map(DumpValue::Bytes)),
            ColumnType::Bool => row
                .try_get::<_, Option<bool>>(i)
                .map(|v| v.map(DumpValue::Bool)),
            ColumnType::Json => row
                .try_get::<_, Option<serde_json::Value>>(i)
                .map(|v| v.map(DumpValue::Json)),
        };
        values.push(
            value
                .map_err(|e| format!("{name}: {e}"))?
                .unwrap_or(DumpValue::Null),
        );
    }
    Ok(values)
}

/// A value ready to bind, typed as its column.
enum Param {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(Option<bool>),
    Json(Option<serde_json::Value>),
}

impl Param {
    fn new(kind: ColumnType, value: &DumpValue) -> std::result::Result<Self, String> {
        let mismatch = || format!("a {kind:?} column cannot hold {value:?}");
        Ok(match (kind, value) {
            (ColumnType::Int, DumpValue::Null) => Param::Int(None),
            (ColumnType::Text, DumpValue::Null) => Param::Text(None),
            (ColumnType::Bytes, DumpValue::Null) => Param::Bytes(None),
            (ColumnType::Bool, DumpValue::Null) => Param::Bool(None),
            (ColumnType::Json, DumpValue::Null) => Param::Json(None),
            (ColumnType::Int, DumpValue::Int(i)) => Param::Int(Some(*i)),
            (ColumnType::Text, DumpValue::Text(s)) => Param::Text(Some(s.clone())),
            (ColumnType::Bytes, DumpValue::Bytes(b)) => Param::Bytes(Some(b.clone())),
            (ColumnType::Bool, DumpValue::Bool(b)) => Param::Bool(Some(*b)),
            // SQLite keeps booleans as integers; a dump from it may still say 0/1.
            (ColumnType::Bool, DumpValue::Int(i)) => Param::Bool(Some(*i != 0)),
            (ColumnType::Json, DumpValue::Json(v)) => Param::Json(Some(v.clone())),
            _ => return Err(mismatch()),
        })
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Int(v) => v,
            Param::Text(v) => v,
            Param::Bytes(v) => v,
            Param::Bool(v) => v,
            Param::Json(v) => v,
        }
    }
}

/// Inserts rows as they are (keys included), in multi-row statements.
pub async fn import(c: &ClientWrapper, chunk: &DumpChunk) -> Result<()> {
    let table = chunk.table;
    let width = table.columns.len();
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let per_statement = (MAX_PARAMS / width).max(1);
    for rows in chunk.rows.chunks(per_statement) {
        let mut params = Vec::with_capacity(rows.len() * width);
        let mut tuples = Vec::with_capacity(rows.len());
        for row in rows {
            if row.len() != width {
                return Err(StoreError::Backend(format!(
                    "{}: a row has {} values for {width} columns",
                    table.name,
                    row.len()
                ))
                .into());
            }
            let placeholders: Vec<String> = (0..width)
                .map(|i| format!("${}", params.len() + i + 1))
                .collect();
            tuples.push(format!("({})", placeholders.join(", ")));
            for ((name, kind), value) in table.columns.iter().zip(row) {
                params.push(Param::new(*kind, value).map_err(|e| {
                    Failure::from(StoreError::Backend(format!("{}.{name}: {e}", table.name)))
                })?);
            }
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            columns.join(", "),
            tuples.join(", ")
        );
        let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(Param::as_sql).collect();
        c.execute(&sql, &bound).await?;
    }
    Ok(())
}

/// Identity columns were given explicit values: move their sequences past them, so the next
/// generated key does not collide.
pub async fn finish(c: &ClientWrapper) -> Result<()> {
    for (table, column) in [
        ("accounts", "key"),
        ("users", "key"),
        ("risk_events", "key"),
        ("behavior_changes", "seq"),
        ("deliveries", "seq"),
        ("audit_log", "id"),
    ] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             GREATEST((SELECT max({column}) FROM {table}), 1), \
             (SELECT max({column}) FROM {table}) IS NOT NULL)"
        );
        c.batch_execute(&sql).await?;
    }
    Ok(())
}
