//! Webhooks (spec 4.6): CRUD scoped to an account.

use super::outbox::fail_pending;
use crate::StoreError;
use crate::model::{Webhook, WebhookFields, WebhookFormat};
use crate::outbox::DEACTIVATED;
use crate::rank::{level_of, rank_of};
use crate::time::{from_ms, now_ms};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "id, url, active, format, min_rank, secret, created_at";

fn row_to_webhook(account: AccountId) -> impl Fn(&Row<'_>) -> rusqlite::Result<Option<Webhook>> {
    move |r| {
        let id: String = r.get(0)?;
        let format: String = r.get(3)?;
        let (Ok(id), Some(format), Some(min_level)) = (
            id.parse(),
            WebhookFormat::parse(&format),
            level_of(r.get(4)?),
        ) else {
            // A row this version cannot read (written by a newer one) is left out.
            return Ok(None);
        };
        Ok(Some(Webhook {
            id,
            account,
            url: r.get(1)?,
            active: r.get(2)?,
            format,
            min_level,
            secret: r.get(5)?,
            created_at: from_ms(r.get(6)?),
        }))
    }
}

pub fn list(conn: &Connection, account: AccountId) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = ?1 ORDER BY created_at, id"
    ))?;
    let mut items = Vec::new();
    for row in stmt.query_map([account.to_string()], row_to_webhook(account))? {
        items.extend(row?);
    }
    Ok(items)
}

pub fn get(conn: &Connection, account: AccountId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = ?1 AND id = ?2"
    ))?;
    Ok(stmt
        .query_row(
            params![account.to_string(), id.to_string()],
            row_to_webhook(account),
        )
        .optional()?
        .flatten())
}

pub fn create(
    conn: &Connection,
    account: AccountId,
    fields: WebhookFields,
    secret: String,
) -> Result<Webhook, StoreError> {
    let id = Uuid::new_v4();
    let created_at = now_ms();
    conn.prepare_cached(
        "INSERT INTO webhooks (id, account_id, url, active, format, min_rank, secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        account.to_string(),
        fields.url,
        fields.active,
        fields.format.as_str(),
        rank_of(fields.min_level),
        secret,
        created_at
    ])?;
    Ok(Webhook {
        id,
        account,
        url: fields.url,
        active: fields.active,
        format: fields.format,
        min_level: fields.min_level,
        secret,
        created_at: from_ms(created_at),
    })
}

pub fn update(
    conn: &Connection,
    account: AccountId,
    id: Uuid,
    fields: WebhookFields,
) -> Result<Option<Webhook>, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE webhooks SET url = ?3, active = ?4, format = ?5, min_rank = ?6
             WHERE account_id = ?1 AND id = ?2",
        )?
        .execute(params![
            account.to_string(),
            id.to_string(),
            fields.url,
            fields.active,
            fields.format.as_str(),
            rank_of(fields.min_level)
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
    super::outbox::delete_destination(conn, "webhooks", account, id)
}
