//! Integrations (spec 2.6): CRUD scoped to an account.

use super::outbox::fail_pending;
use super::{Failure, Result, is_unique_violation, query, query_opt};
use crate::StoreError;
use crate::model::{Integration, IntegrationFields, IntegrationType};
use crate::outbox::DEACTIVATED;
use crate::time::{from_ms, now_ms};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "id, active, created_at, integration_type, reference_id, tenant_url";

fn read(account: AccountId, r: &Row) -> Option<Integration> {
    let id: &str = r.get(0);
    // A row this version cannot read (written by a newer one) is left out, not an error.
    let integration_type = IntegrationType::parse(r.get(3))?;
    id.parse().ok().map(|id| Integration {
        id,
        account,
        active: r.get(1),
        created_at: from_ms(r.get(2)),
        integration_type,
        reference_id: r.get(4),
        tenant_url: r.get(5),
    })
}

pub async fn list(c: &ClientWrapper, account: AccountId) -> Result<Vec<Integration>> {
    let rows = query(
        c,
        &format!(
            "SELECT {COLUMNS} FROM integrations WHERE account_id = $1 ORDER BY created_at, id"
        ),
        &[&account.to_string()],
    )
    .await?;
    Ok(rows.iter().filter_map(|r| read(account, r)).collect())
}

pub async fn get(c: &ClientWrapper, account: AccountId, id: Uuid) -> Result<Option<Integration>> {
    let row = query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM integrations WHERE account_id = $1 AND id = $2"),
        &[&account.to_string(), &id.to_string()],
    )
    .await?;
    Ok(row.as_ref().and_then(|r| read(account, r)))
}

pub async fn by_reference(
    c: &ClientWrapper,
    account: AccountId,
    reference_id: &str,
) -> Result<Option<Integration>> {
    if reference_id.is_empty() {
        return Ok(None);
    }
    let row = query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM integrations WHERE account_id = $1 AND reference_id = $2"),
        &[&account.to_string(), &reference_id],
    )
    .await?;
    Ok(row.as_ref().and_then(|r| read(account, r)))
}

fn conflict(reference_id: &str) -> Failure {
    StoreError::Conflict(format!(
        "an integration with reference_id {reference_id:?} already exists"
    ))
    .into()
}

async fn ensure_reference_free(
    c: &ClientWrapper,
    account: AccountId,
    reference_id: &str,
    except: Option<Uuid>,
) -> Result<()> {
    if let Some(existing) = by_reference(c, account, reference_id).await?
        && Some(existing.id) != except
    {
        return Err(conflict(reference_id));
    }
    Ok(())
}

/// A write that lost a race for the reference id to another replica fails on the unique index:
/// the same conflict as the check before it.
fn map_unique(e: tokio_postgres::Error, reference_id: &str) -> Failure {
    if is_unique_violation(&e) {
        conflict(reference_id)
    } else {
        e.into()
    }
}

pub async fn create(
    c: &ClientWrapper,
    account: AccountId,
    fields: IntegrationFields,
) -> Result<Integration> {
    ensure_reference_free(c, account, &fields.reference_id, None).await?;
    let id = Uuid::new_v4();
    let created_at = now_ms();
    let statement = c
        .prepare_cached(
            "INSERT INTO integrations
               (id, account_id, integration_type, tenant_url, reference_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    c.execute(
        &statement,
        &[
            &id.to_string(),
            &account.to_string(),
            &fields.integration_type.as_str(),
            &fields.tenant_url,
            &fields.reference_id,
            &fields.active,
            &created_at,
        ],
    )
    .await
    .map_err(|e| map_unique(e, &fields.reference_id))?;
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

pub async fn update(
    c: &ClientWrapper,
    account: AccountId,
    id: Uuid,
    fields: IntegrationFields,
) -> Result<Option<Integration>> {
    ensure_reference_free(c, account, &fields.reference_id, Some(id)).await?;
    let statement = c
        .prepare_cached(
            "UPDATE integrations SET active = $3, tenant_url = $4, reference_id = $5
             WHERE account_id = $1 AND id = $2",
        )
        .await?;
    let changed = c
        .execute(
            &statement,
            &[
                &account.to_string(),
                &id.to_string(),
                &fields.active,
                &fields.tenant_url,
                &fields.reference_id,
            ],
        )
        .await
        .map_err(|e| map_unique(e, &fields.reference_id))?;
    if changed == 0 {
        return Ok(None);
    }
    if !fields.active {
        fail_pending(c, &id.to_string(), DEACTIVATED).await?;
    }
    get(c, account, id).await
}

pub async fn delete(c: &ClientWrapper, account: AccountId, id: Uuid) -> Result<bool> {
    super::outbox::delete_destination(c, "integrations", account, id).await
}

/// An integration by id alone (public discovery documents).
pub async fn by_id(c: &ClientWrapper, id: Uuid) -> Result<Option<Integration>> {
    let row = query_opt(
        c,
        "SELECT account_id FROM integrations WHERE id = $1",
        &[&id.to_string()],
    )
    .await?;
    match row.and_then(|r| r.get::<_, &str>(0).parse().ok()) {
        Some(account) => get(c, account, id).await,
        None => Ok(None),
    }
}
