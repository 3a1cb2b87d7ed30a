//! Integrations (spec 2.6): CRUD scoped to an account.

use super::outbox::fail_pending;
use crate::StoreError;
use crate::model::{Integration, IntegrationFields, IntegrationType};
use crate::outbox::DEACTIVATED;
use crate::time::{from_ms, now_ms};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "id, active, created_at, integration_type, reference_id, tenant_url";

fn row_to_integration(
    account: AccountId,
) -> impl Fn(&Row<'_>) -> rusqlite::Result<Option<Integration>> {
    move |r| {
        let id: String = r.get(0)?;
        let integration_type: String = r.get(3).unwrap_or_default();
        // A row this version cannot read (written by a newer one) is left out, not an error.
        let Some(integration_type) = IntegrationType::parse(&integration_type) else {
            return Ok(None);
        };
        Ok(id.parse().ok().map(|id| Integration {
            id,
            account,
            active: r.get(1).unwrap_or(false),
            created_at: from_ms(r.get(2).unwrap_or_default()),
            integration_type,
            reference_id: r.get(4).unwrap_or_default(),
            tenant_url: r.get(5).unwrap_or_default(),
        }))
    }
}

pub fn list(conn: &Connection, account: AccountId) -> Result<Vec<Integration>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM integrations WHERE account_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([account.to_string()], row_to_integration(account))?;
    let mut items = Vec::new();
    for row in rows {
        items.extend(row?);
    }
    Ok(items)
}

pub fn get(
    conn: &Connection,
    account: AccountId,
    id: Uuid,
) -> Result<Option<Integration>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM integrations WHERE account_id = ?1 AND id = ?2"
    ))?;
    Ok(stmt
        .query_row(
            params![account.to_string(), id.to_string()],
            row_to_integration(account),
        )
        .optional()?
        .flatten())
}

pub fn by_reference(
    conn: &Connection,
    account: AccountId,
    reference_id: &str,
) -> Result<Option<Integration>, StoreError> {
    if reference_id.is_empty() {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM integrations WHERE account_id = ?1 AND reference_id = ?2"
    ))?;
    Ok(stmt
        .query_row(
            params![account.to_string(), reference_id],
            row_to_integration(account),
        )
        .optional()?
        .flatten())
}

fn ensure_reference_free(
    conn: &Connection,
    account: AccountId,
    reference_id: &str,
    except: Option<Uuid>,
) -> Result<(), StoreError> {
    if let Some(existing) = by_reference(conn, account, reference_id)?
        && Some(existing.id) != except
    {
        return Err(StoreError::Conflict(format!(
            "an integration with reference_id {reference_id:?} already exists"
        )));
    }
    Ok(())
}

pub fn create(
    conn: &Connection,
    account: AccountId,
    fields: IntegrationFields,
) -> Result<Integration, StoreError> {
    ensure_reference_free(conn, account, &fields.reference_id, None)?;
    let id = Uuid::new_v4();
    let created_at = now_ms();
    conn.prepare_cached(
        "INSERT INTO integrations (id, account_id, integration_type, tenant_url, reference_id, active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id.to_string(),
        account.to_string(),
        fields.integration_type.as_str(),
        fields.tenant_url,
        fields.reference_id,
        fields.active,
        created_at
    ])?;
    Ok(Integration {
        id,
        account,
        active: fields.active,
        created_at: from_ms(created_at),
        integration_type: fields.integration_type,
        reference_id: fields.reference_id,
        tenant_url: fields.tenant_url,
    })
}

pub fn update(
    conn: &Connection,
    account: AccountId,
    id: Uuid,
    fields: IntegrationFields,
) -> Result<Option<Integration>, StoreError> {
    ensure_reference_free(conn, account, &fields.reference_id, Some(id))?;
    let changed = conn
        .prepare_cached(
            "UPDATE integrations SET active = ?3, tenant_url = ?4, reference_id = ?5
             WHERE account_id = ?1 AND id = ?2",
        )?
        .execute(params![
            account.to_string(),
            id.to_string(),
            fields.active,
            fields.tenant_url,
            fields.reference_id
        ])?;
    if changed == 0 {
        return Ok(None);
    }
    if !fields.active {
        fail_pending(conn, &id.to_string(), DEACTIVATED)?;
    }
    get(conn, account, id)
}

pub fn delete(conn: &Connection, account: AccountId, id: Uuid) -> Result<bool, StoreError> {
    super::outbox::delete_destination(conn, "integrations", account, id)
}

/// An integration by id alone (public discovery documents).
pub fn by_id(conn: &Connection, id: Uuid) -> Result<Option<Integration>, StoreError> {
    let account: Option<String> = conn
        .prepare_cached("SELECT account_id FROM integrations WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    match account.and_then(|a| a.parse().ok()) {
        Some(account) => get(conn, account, id),
        None => Ok(None),
    }
}
