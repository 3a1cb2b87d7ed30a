//! Webhooks (spec 4.6): CRUD scoped to an account.

use super::outbox::fail_pending;
use super::{Result, execute, query, query_opt};
use crate::model::{Webhook, WebhookFields, WebhookFormat};
use crate::outbox::DEACTIVATED;
use crate::rank::{level_of, rank_of};
use crate::time::{from_ms, now_ms};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "id, url, active, format, min_rank, secret, created_at";

fn read(account: AccountId, r: &Row) -> Option<Webhook> {
    // A row this version cannot read (written by a newer one) is left out.
    Some(Webhook {
        id: r.get::<_, &str>(0).parse().ok()?,
        account,
        url: r.get(1),
        active: r.get(2),
        format: WebhookFormat::parse(r.get(3))?,
        min_level: level_of(r.get(4))?,
        secret: r.get(5),
        created_at: from_ms(r.get(6)),
    })
}

pub async fn list(c: &ClientWrapper, account: AccountId) -> Result<Vec<Webhook>> {
    let rows = query(
        c,
        &format!("SELECT {COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY created_at, id"),
        &[&account.to_string()],
    )
    .await?;
    Ok(rows.iter().filter_map(|r| read(account, r)).collect())
}

pub async fn get(c: &ClientWrapper, account: AccountId, id: Uuid) -> Result<Option<Webhook>> {
    let row = query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2"),
        &[&account.to_string(), &id.to_string()],
    )
    .await?;
    Ok(row.and_then(|r| read(account, &r)))
}

pub async fn create(
    c: &ClientWrapper,
    account: AccountId,
    fields: WebhookFields,
    secret: String,
) -> Result<Webhook> {
    let id = Uuid::new_v4();
    let created_at = now_ms();
    execute(
        c,
        "INSERT INTO webhooks (id, account_id, url, active, format, min_rank, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &id.to_string(),
            &account.to_string(),
            &fields.url,
            &fields.active,
            &fields.format.as_str(),
            &rank_of(fields.min_level),
            &secret,
            &created_at,
        ],
    )
    .await?;
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

pub async fn update(
    c: &ClientWrapper,
    account: AccountId,
    id: Uuid,
    fields: WebhookFields,
) -> Result<Option<Webhook>> {
    let changed = execute(
        c,
        "UPDATE webhooks SET url = $3, active = $4, format = $5, min_rank = $6
         WHERE account_id = $1 AND id = $2",
        &[
            &account.to_string(),
            &id.to_string(),
            &fields.url,
            &fields.active,
            &fields.format.as_str(),
            &rank_of(fields.min_level),
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(None);
    }
    if !fields.active {
        fail_pending(c, &id.to_string(), DEACTIVATED).await?;
    }
    get(c, account, id).await
}

pub async fn delete(c: &ClientWrapper, account: AccountId, id: Uuid) -> Result<bool> {
    super::outbox::delete_destination(c, "webhooks", account, id).await
}
