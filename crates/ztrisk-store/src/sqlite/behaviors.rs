use crate::StoreError;
use crate::time::now_ms;
use rusqlite::{Connection, params};
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::{AccountId, BehaviorId, RiskLevel};

pub fn load(conn: &Connection, account: AccountId) -> Result<AccountBehaviors, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT behavior_id, enabled, risk_level, settings FROM behaviors WHERE account_id = ?1",
    )?;
    let rows = stmt.query_map([account.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut parsed = Vec::new();
    for row in rows {
        let (id, enabled, level, settings) = row?;
        let id: BehaviorId = id
            .parse()
            .map_err(|_| StoreError::Backend(format!("stored behavior id {id:?} is malformed")))?;
        let level: RiskLevel = level.parse().map_err(|_| {
            StoreError::Backend(format!("stored risk level {level:?} is malformed"))
        })?;
        let settings = serde_json::from_str(&settings).unwrap_or(serde_json::Value::Null);
        parsed.push((id, enabled, level, settings));
    }
    Ok(AccountBehaviors::from_stored(parsed))
}

/// Read, merge and write inside the writer's transaction: updates of one account are thereby
/// serialized, and each is all-or-nothing. Returns the configuration before and after (the
/// audit log records what changed).
pub fn update(
    conn: &Connection,
    account: AccountId,
    update: &BehaviorUpdate,
) -> Result<(AccountBehaviors, AccountBehaviors), StoreError> {
    let before = load(conn, account)?;
    let mut all = before.clone();
    let changed = all.apply(update);
    if changed.is_empty() {
        return Ok((before, all));
    }
    let account_text = account.to_string();
    let now = now_ms();
    let mut upsert = conn.prepare_cached(
        "INSERT INTO behaviors (account_id, behavior_id, enabled, risk_level, settings, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account_id, behavior_id) DO UPDATE SET
           enabled = excluded.enabled, risk_level = excluded.risk_level,
           settings = excluded.settings, updated_at = excluded.updated_at",
    )?;
    let mut history = conn.prepare_cached(
        "INSERT INTO behavior_changes (account_id, behavior_id, enabled, risk_level, settings, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (id, config) in &changed {
        let settings = serde_json::to_string(&config.settings_json(id.as_str()))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let values = params![
            account_text,
            id.as_str(),
            config.enabled,
            config.risk_level.as_str(),
            settings,
            now
        ];
        upsert.execute(values)?;
        history.execute(values)?;
    }
    Ok((before, all))
}
