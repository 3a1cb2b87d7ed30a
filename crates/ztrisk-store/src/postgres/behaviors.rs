use super::{Result, execute, query};
use crate::StoreError;
use crate::time::now_ms;
use deadpool_postgres::ClientWrapper;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::{AccountId, BehaviorId, RiskLevel};

pub async fn load(c: &ClientWrapper, account: AccountId) -> Result<AccountBehaviors> {
    let rows = query(
        c,
        "SELECT behavior_id, enabled, risk_level, settings FROM behaviors
         WHERE account_id = $1 ORDER BY behavior_id",
        &[&account.to_string()],
    )
    .await?;
    let mut parsed = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: &str = row.get(0);
        let level: &str = row.get(2);
        let id: BehaviorId = id
            .parse()
            .map_err(|_| StoreError::Backend(format!("stored behavior id {id:?} is malformed")))?;
        let level: RiskLevel = level.parse().map_err(|_| {
            StoreError::Backend(format!("stored risk level {level:?} is malformed"))
        })?;
        let settings: serde_json::Value = row.get(3);
        parsed.push((id, row.get::<_, bool>(1), level, settings));
    }
    Ok(AccountBehaviors::from_stored(parsed))
}

/// Read, merge and write, with the account's row locked: updates of one account are
/// serialized across every replica, and each is all-or-nothing (the caller's transaction).
/// Returns the configuration before and after the update (the audit log records what
/// changed), and whether anything was written.
pub async fn update(
    c: &ClientWrapper,
    account: AccountId,
    update: &BehaviorUpdate,
) -> Result<(AccountBehaviors, AccountBehaviors, bool)> {
    let account_text = account.to_string();
    // FOR NO KEY UPDATE: excludes other updates of this account, but not the foreign-key checks
    // of writes elsewhere that only need the account to exist.
    execute(
        c,
        "SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&account_text],
    )
    .await?;
    // A new statement, so a new snapshot: it sees what the previous holder of the lock wrote.
    let before = load(c, account).await?;
    let mut all = before.clone();
    let changed = all.apply(update);
    if changed.is_empty() {
        return Ok((before, all, false));
    }
    let mut ids = Vec::with_capacity(changed.len());
    let mut enabled = Vec::with_capacity(changed.len());
    let mut levels = Vec::with_capacity(changed.len());
    let mut settings = Vec::with_capacity(changed.len());
    for (id, config) in &changed {
        ids.push(id.as_str());
        enabled.push(config.enabled);
        levels.push(config.risk_level.as_str());
        settings.push(serde_json::Value::Object(
            config.settings_json(id.as_str()).into_iter().collect(),
        ));
    }
    let now = now_ms();
    let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] =
        &[&account_text, &ids, &enabled, &levels, &settings, &now];
    execute(
        c,
        "INSERT INTO behaviors (account_id, behavior_id, enabled, risk_level, settings, updated_at)
         SELECT $1, v.b, v.e, v.l, v.s, $6
         FROM unnest($2::text[], $3::boolean[], $4::text[], $5::jsonb[]) AS v(b, e, l, s)
         ON CONFLICT (account_id, behavior_id) DO UPDATE SET
           enabled = excluded.enabled, risk_level = excluded.risk_level,
           settings = excluded.settings, updated_at = excluded.updated_at",
        params,
    )
    .await?;
    execute(
        c,
        "INSERT INTO behavior_changes (account_id, behavior_id, enabled, risk_level, settings, changed_at)
         SELECT $1, v.b, v.e, v.l, v.s, $6
         FROM unnest($2::text[], $3::boolean[], $4::text[], $5::jsonb[]) WITH ORDINALITY
           AS v(b, e, l, s, n)
         ORDER BY v.n",
        params,
    )
    .await?;
    Ok((before, all, true))
}
