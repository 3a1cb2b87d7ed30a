//! Export and import of whole tables (see [`crate::dump`]).

use crate::StoreError;
use crate::dump::{CHUNK_ROWS, ColumnType, DumpChunk, DumpValue, TABLES, TableSpec};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};
use tokio::sync::mpsc;

/// SQLite's name for a dump column: `accounts.key` is the rowid.
fn column_sql(table: &TableSpec, column: &str) -> String {
    if table.name == "accounts" && column == "key" {
        "rowid".to_owned()
    } else {
        column.to_owned()
    }
}

/// Reads every table in one read transaction (a consistent snapshot) and sends it in chunks.
pub fn export(conn: &Connection, sink: &mpsc::Sender<DumpChunk>) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN")?;
    let result = export_tables(conn, sink);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn export_tables(conn: &Connection, sink: &mpsc::Sender<DumpChunk>) -> Result<(), StoreError> {
    for table in TABLES {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(c, _)| column_sql(table, c))
            .collect();
        let order: Vec<String> = table
            .order_by
            .split(", ")
            .map(|c| column_sql(table, c))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            order.join(", ")
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, (name, kind)) in table.columns.iter().enumerate() {
                values.push(
                    read_value(row.get_ref(i)?, *kind)
                        .map_err(|e| StoreError::Backend(format!("{}.{name}: {e}", table.name)))?,
                );
            }
            chunk.push(values);
            if chunk.len() == CHUNK_ROWS {
                send(sink, table, std::mem::take(&mut chunk))?;
            }
        }
        if !chunk.is_empty() {
            send(sink, table, chunk)?;
        }
    }
    Ok(())
}

fn send(
    sink: &mpsc::Sender<DumpChunk>,
    table: &'static TableSpec,
    rows: Vec<Vec<DumpValue>>,
) -> Result<(), StoreError> {
    sink.blocking_send(DumpChunk { table, rows })
        .map_err(|_| StoreError::Backend("the export was abandoned".into()))
}

fn read_value(value: ValueRef<'_>, kind: ColumnType) -> Result<DumpValue, String> {
    Ok(match (kind, value) {
        (_, ValueRef::Null) => DumpValue::Null,
        (ColumnType::Int, ValueRef::Integer(i)) => DumpValue::Int(i),
        (ColumnType::Bool, ValueRef::Integer(i)) => DumpValue::Bool(i != 0),
        (ColumnType::Text, ValueRef::Text(t)) => {
            DumpValue::Text(String::from_utf8(t.to_vec()).map_err(|e| e.to_string())?)
        }
        (ColumnType::Json, ValueRef::Text(t)) => {
            DumpValue::Json(serde_json::from_slice(t).map_err(|e| e.to_string())?)
        }
        (ColumnType::Bytes, ValueRef::Blob(b)) => DumpValue::Bytes(b.to_vec()),
        (kind, other) => return Err(format!("expected {kind:?}, found {:?}", other.data_type())),
    })
}

fn to_sql(value: &DumpValue) -> Result<SqlValue, StoreError> {
    Ok(match value {
        DumpValue::Null => SqlValue::Null,
        DumpValue::Int(i) => SqlValue::Integer(*i),
        DumpValue::Text(s) => SqlValue::Text(s.clone()),
        DumpValue::Bytes(b) => SqlValue::Blob(b.clone()),
        DumpValue::Bool(b) => SqlValue::Integer(i64::from(*b)),
        DumpValue::Json(v) => SqlValue::Text(
            serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))?,
        ),
    })
}

/// Inserts rows as they are (keys included), in the writer's transaction.
pub fn import(conn: &Connection, chunk: &DumpChunk) -> Result<(), StoreError> {
    let table = chunk.table;
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|(c, _)| column_sql(table, c))
        .collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    // `OR FAIL`, as ingest writes: the counter triggers on users and risk_events (migration
    // 0008) would otherwise keep a statement journal per row. A failed row fails the chunk,
    // which the writer's savepoint undoes whole.
    let sql = format!(
        "INSERT OR FAIL INTO {} ({}) VALUES ({})",
        table.name,
        columns.join(", "),
        placeholders.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in &chunk.rows {
        if row.len() != columns.len() {
            return Err(StoreError::Backend(format!(
                "{}: a row has {} values for {} columns",
                table.name,
                row.len(),
                columns.len()
            )));
        }
        let values = row.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?;
        stmt.execute(params_from_iter(values))?;
    }
    Ok(())
}
