//! The audit log (spec 7): what each change records, decided here once for both backends.
//! Each backend inserts these entries inside the transaction of the change itself, so a
//! change and its entry commit together or not at all.
//!
//! An entry never holds a secret: no token secret or hash, no API key, no webhook secret, no
//! stream authorization header, no private key. URLs are reduced to their origin, because a
//! Slack webhook URL (or a receiver's URL with a token in its query) is itself a credential.

use crate::model::{
    Account, Actor, ApiUser, AuditAction, Integration, Stream, StreamDelivery, StreamEvent,
    TokenRecord, Webhook,
};
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorConfig, BehaviorUpdate};
use ztrisk_core::{AccountId, Permission, RiskLevel};

/// An entry to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// `None`: installation-wide (signing keys), listed by no account.
    pub account: Option<AccountId>,
    pub actor: String,
    pub action: AuditAction,
    pub target: String,
    pub change: Value,
}

impl Entry {
    fn new(
        account: Option<AccountId>,
        actor: &Actor,
        action: AuditAction,
        target: impl Into<String>,
        change: Value,
    ) -> Self {
        Self {
            account,
            actor: actor.to_string(),
            action,
            target: target.into(),
            change,
        }
    }

    /// The change as stored.
    pub fn change_text(&self) -> String {
        self.change.to_string()
    }
}

/// One entry per account a credential acts on, so that each account's log shows the change;
/// one installation-wide entry when it names none.
fn per_account(
    accounts: &[AccountId],
    actor: &Actor,
    action: AuditAction,
    target: &str,
    change: Value,
) -> Vec<Entry> {
    if accounts.is_empty() {
        return vec![Entry::new(None, actor, action, target, change)];
    }
    accounts
        .iter()
        .map(|account| Entry::new(Some(*account), actor, action, target, change.clone()))
        .collect()
}

fn account_ids(accounts: &[AccountId]) -> Value {
    accounts.iter().map(|a| a.to_string()).collect()
}

/// Scheme, host and port only (see the module's documentation).
fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

fn level(level: Option<RiskLevel>) -> Value {
    level.map_or(Value::Null, |l| Value::from(l.as_str()))
}

pub(crate) fn account_created(actor: &Actor, account: &Account) -> Entry {
    Entry::new(
        Some(account.id),
        actor,
        AuditAction::AccountCreate,
        account.id.to_string(),
        json!({"name": account.name}),
    )
}

/// The token's name, accounts, permissions and expiry: never its secret nor its hash.
pub(crate) fn token_created(actor: &Actor, token: &TokenRecord) -> Vec<Entry> {
    let permissions: Vec<&str> = token.permissions.iter().map(Permission::name).collect();
    let change = json!({
        "name": token.name,
        "accounts": account_ids(&token.accounts),
        "permissions": permissions,
        "expires_at": token
            .expires_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
    });
    per_account(
        &token.accounts,
        actor,
        AuditAction::TokenCreate,
        &token.id,
        change,
    )
}

pub(crate) fn token_revoked(actor: &Actor, id: &str, accounts: &[AccountId]) -> Vec<Entry> {
    per_account(accounts, actor, AuditAction::TokenRevoke, id, json!({}))
}

/// The key's user and the accounts it now acts on: never the key nor its hash.
pub(crate) fn api_key_set(actor: &Actor, user: &ApiUser) -> Vec<Entry> {
    let change = json!({"accounts": account_ids(&user.accounts)});
    per_account(
        &user.accounts,
        actor,
        AuditAction::ApiKeySet,
        &user.email,
        change,
    )
}

pub(crate) fn api_key_revoked(actor: &Actor, email: &str, accounts: &[AccountId]) -> Vec<Entry> {
    per_account(accounts, actor, AuditAction::ApiKeyRevoke, email, json!({}))
}

fn behavior(id: &str, config: Option<&BehaviorConfig>) -> Value {
    config.map_or(Value::Null, |c| {
        json!({
            "enabled": c.enabled,
            "risk_level": c.risk_level.as_str(),
            "settings": c.settings_json(id),
        })
    })
}

/// `before` and `after` of the behaviors the update changed (a behavior written again as it
/// was is left out); `None` when it changed none. The target lists their ids.
pub(crate) fn behaviors_updated(
    account: AccountId,
    actor: &Actor,
    update: &BehaviorUpdate,
    before: &AccountBehaviors,
    after: &AccountBehaviors,
) -> Option<Entry> {
    let (mut old, mut new, mut ids) = (Map::new(), Map::new(), Vec::new());
    for (id, _) in &update.entries {
        let id = id.as_str();
        let (was, is) = (before.get(id), after.get(id));
        if was == is || ids.contains(&id) {
            continue;
        }
        old.insert(id.to_owned(), behavior(id, was));
        new.insert(id.to_owned(), behavior(id, is));
        ids.push(id);
    }
    if ids.is_empty() {
        return None;
    }
    Some(Entry::new(
        Some(account),
        actor,
        AuditAction::BehaviorsUpdate,
        ids.join(","),
        json!({"before": old, "after": new}),
    ))
}

/// What a reset or a confirmation did to a user: the level change it caused is part of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UserChange {
    pub email: String,
    pub before: Option<RiskLevel>,
    pub after: Option<RiskLevel>,
}

impl UserChange {
    fn json(&self) -> Value {
        json!({
            "email": self.email,
            "risk_level": {"before": level(self.before), "after": level(self.after)},
        })
    }
}

pub(crate) fn user_reset(
    account: AccountId,
    actor: &Actor,
    user_id: Uuid,
    change: &UserChange,
) -> Entry {
    Entry::new(
        Some(account),
        actor,
        AuditAction::UserReset,
        user_id.to_string(),
        change.json(),
    )
}

/// Also the reason the administrator gave, from the evidence.
pub(crate) fn user_confirmed(
    account: AccountId,
    actor: &Actor,
    user_id: Uuid,
    change: &UserChange,
    evidence: &Value,
) -> Entry {
    let mut json = change.json();
    json["reason"] = evidence.get("reason").cloned().unwrap_or(Value::Null);
    Entry::new(
        Some(account),
        actor,
        AuditAction::UserConfirmCompromised,
        user_id.to_string(),
        json,
    )
}

fn integration_fields(i: &Integration) -> Value {
    json!({
        "integration_type": i.integration_type.as_str(),
        "active": i.active,
        "reference_id": i.reference_id,
        "tenant_url": i.tenant_url,
    })
}

/// A create or an update: the integration as it is after it.
pub(crate) fn integration(action: AuditAction, actor: &Actor, i: &Integration) -> Entry {
    Entry::new(
        Some(i.account),
        actor,
        action,
        i.id.to_string(),
        integration_fields(i),
    )
}

/// What was deleted, as it was.
pub(crate) fn integration_deleted(actor: &Actor, i: &Integration) -> Entry {
    integration(AuditAction::IntegrationDelete, actor, i)
}

fn webhook_fields(w: &Webhook) -> Value {
    json!({
        "url_origin": origin(&w.url),
        "active": w.active,
        "format": w.format.as_str(),
        "min_level": w.min_level.as_str(),
    })
}

/// A create or an update: the webhook as it is after it, without its secret, its URL reduced
/// to the origin.
pub(crate) fn webhook(action: AuditAction, actor: &Actor, w: &Webhook) -> Entry {
    Entry::new(
        Some(w.account),
        actor,
        action,
        w.id.to_string(),
        webhook_fields(w),
    )
}

pub(crate) fn webhook_deleted(actor: &Actor, w: &Webhook) -> Entry {
    webhook(AuditAction::WebhookDelete, actor, w)
}

/// A create or an update by the receiver: how the stream delivers, without the receiver's
/// authorization header, its URL reduced to the origin. Target: the integration.
pub(crate) fn stream(action: AuditAction, actor: &Actor, s: &Stream) -> Entry {
    let endpoint_origin = match &s.fields.delivery {
        StreamDelivery::Push { endpoint_url, .. } => Value::from(origin(endpoint_url)),
        StreamDelivery::Poll => Value::Null,
    };
    let change = json!({
        "stream_id": s.stream_id,
        "delivery_method": s.fields.delivery.stored(),
        "endpoint_origin": endpoint_origin,
        "events_requested": s.fields.events_requested,
        "description": s.fields.description,
    });
    Entry::new(
        Some(s.account),
        actor,
        action,
        s.integration_id.to_string(),
        change,
    )
}

pub(crate) fn stream_deleted(actor: &Actor, s: &Stream) -> Entry {
    Entry::new(
        Some(s.account),
        actor,
        AuditAction::StreamDelete,
        s.integration_id.to_string(),
        json!({"stream_id": s.stream_id}),
    )
}

pub(crate) fn stream_status(actor: &Actor, s: &Stream) -> Entry {
    Entry::new(
        Some(s.account),
        actor,
        AuditAction::StreamStatus,
        s.integration_id.to_string(),
        json!({"status": s.status.as_str(), "reason": s.reason}),
    )
}

pub(crate) fn stream_subject(
    account: AccountId,
    actor: &Actor,
    integration: Uuid,
    email: &str,
    removed: bool,
) -> Entry {
    let action = if removed {
        AuditAction::StreamSubjectRemove
    } else {
        AuditAction::StreamSubjectAdd
    };
    Entry::new(
        Some(account),
        actor,
        action,
        integration.to_string(),
        json!({"email": email}),
    )
}

/// A verification the receiver asked for (or a stream-updated event queued by hand).
pub(crate) fn stream_event(
    account: AccountId,
    actor: &Actor,
    integration: Uuid,
    event: &StreamEvent,
) -> Entry {
    let action = match event {
        StreamEvent::Verification { .. } => AuditAction::StreamVerify,
        StreamEvent::Updated { .. } => AuditAction::StreamStatus,
    };
    Entry::new(
        Some(account),
        actor,
        action,
        integration.to_string(),
        event.members(),
    )
}

/// Signing keys serve every account: installation-wide entries. Never the key material.
pub(crate) fn signing_key(action: AuditAction, actor: &Actor, kid: &str) -> Entry {
    let status = match action {
        AuditAction::SigningKeyRetire => "retired",
        _ => "active",
    };
    Entry::new(None, actor, action, kid, json!({"status": status}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(body: Value) -> BehaviorUpdate {
        BehaviorUpdate::parse(&body).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn behaviors_record_only_what_changed() {
        let account = AccountId::random();
        let before = AccountBehaviors::default();
        let mut after = before.clone();
        let change = update(json!({"behaviors": {
            "imp_travel": {"enabled": false, "risk_level": "high"},
            "failed_logins": {"enabled": true, "risk_level": "high"},
            "custom": {"enabled": true, "risk_level": "low"}
        }}));
        after.apply(&change);
        let entry = behaviors_updated(account, &Actor::Cli, &change, &before, &after)
            .unwrap_or_else(|| panic!("an entry"));
        assert_eq!(entry.target, "custom,failed_logins");
        assert_eq!(entry.change["before"]["failed_logins"]["enabled"], false);
        assert_eq!(entry.change["after"]["failed_logins"]["enabled"], true);
        assert_eq!(entry.change["before"]["custom"], Value::Null);
        assert!(entry.change["after"].get("imp_travel").is_none());
        let again = after.clone();
        assert!(behaviors_updated(account, &Actor::Cli, &change, &after, &again).is_none());
    }

    #[test]
    fn urls_keep_only_their_origin() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T0/B0/secretpart?x=1"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:9000/hook"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(origin("not a url"), "");
    }
}
