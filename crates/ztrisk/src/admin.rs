//! Admin commands that work on the database directly (the server may be running: SQLite's
//! WAL lets both write, and the server notices the changes on its next request).

use crate::cli::{AccountsCommand, KeysCommand, TokensCommand};
use crate::database::Database;
use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use std::sync::Arc;
use ztrisk_core::credentials::{SecretHash, generate_api_key, generate_token, is_email_shaped};
use ztrisk_core::{AccountId, Permission, PermissionSet};
use ztrisk_store::model::Actor;
use ztrisk_store::model::{NewToken, TokenRecord};
use ztrisk_store::{Store, StoreError, Synchronous};

/// Running servers notice another process's writes within 10 ms (SQLite polls for them;
/// PostgreSQL replicas are notified): a revocation returns only after that, so a credential
/// revoked by a script is refused by the script's very next request.
pub(crate) async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}

pub(crate) async fn open(database: &str) -> anyhow::Result<Arc<dyn Store>> {
    Database::parse(database).open(Synchronous::default()).await
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_accounts(ids: &[String]) -> anyhow::Result<Vec<AccountId>> {
    ids.iter()
        .map(|id| id.parse().with_context(|| format!("--account {id:?}")))
        .collect()
}

fn explain(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::UnknownAccount(id) => {
            anyhow::anyhow!("there is no account {id} (see `ztrisk accounts list`)")
        }
        other => other.into(),
    }
}

pub(crate) fn print_json(value: serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

pub async fn accounts(database: &str, command: AccountsCommand) -> anyhow::Result<()> {
    let store = open(database).await?;
    match command {
        AccountsCommand::Create { name, output } => {
            let account = store.create_account(&name, &Actor::Cli).await?;
            if output.json {
                print_json(
                    json!({"id": account.id.to_string(), "name": account.name, "created_at": time(account.created_at)}),
                );
            } else {
                println!("created account {} ({})", account.id, account.name);
            }
        }
        AccountsCommand::List { output } => {
            let accounts = store.list_accounts().await?;
            if output.json {
                print_json(accounts.iter().map(|a| json!({"id": a.id.to_string(), "name": a.name, "created_at": time(a.created_at)})).collect());
            } else {
                println!("{:<32}  {:<20}  NAME", "ID", "CREATED");
                for a in accounts {
                    println!("{}  {:<20}  {}", a.id, time(a.created_at), a.name);
                }
            }
        }
    }
    Ok(())
}

fn token_json(t: &TokenRecord) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "accounts": t.accounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "permissions": t.permissions.iter().map(Permission::name).collect::<Vec<_>>(),
        "created_at": time(t.created_at),
        "expires_at": t.expires_at.map(time),
        "status": t.status(Utc::now()).as_str(),
    })
}

pub async fn tokens(database: &str, command: TokensCommand) -> anyhow::Result<()> {
    let store = open(database).await?;
    match command {
        TokensCommand::Create {
            accounts,
            permissions,
            name,
            expires_in,
            output,
        } => {
            let accounts = parse_accounts(&accounts)?;
            let permissions: PermissionSet = permissions
                .iter()
                .map(|p| p.parse::<Permission>())
                .collect::<Result<_, _>>()?;
            let expires_at = match expires_in {
                Some(d) => Some(
                    Utc::now()
                        + chrono::Duration::from_std(*d).context("--expires-in is too long")?,
                ),
                None => None,
            };
            let secret = generate_token();
            let record = store
                .create_token(
                    NewToken {
                        name,
                        accounts,
                        permissions,
                        expires_at,
                        secret_hash: SecretHash::of(&secret),
                    },
                    &Actor::Cli,
                )
                .await
                .map_err(explain)?;
            if output.json {
                let mut value = token_json(&record);
                value["token"] = json!(secret);
                print_json(value);
            } else {
                println!(
                    "created token {} (shown only now; store it safely):\n\n  {secret}\n",
                    record.id
                );
                let names: Vec<_> = record.permissions.iter().map(Permission::name).collect();
                println!("permissions: {}", names.join(", "));
                if let Some(at) = record.expires_at {
                    println!("expires:     {}", time(at));
                }
            }
        }
        TokensCommand::List { output } => {
            let tokens = store.list_tokens().await?;
            if output.json {
                print_json(tokens.iter().map(token_json).collect());
            } else {
                println!(
                    "{:<32}  {:<8}  {:<20}  {:<20}  PERMISSIONS",
                    "ID", "STATUS", "EXPIRES", "NAME"
                );
                for t in &tokens {
                    let perms: Vec<_> = t.permissions.iter().map(Permission::name).collect();
                    println!(
                        "{}  {:<8}  {:<20}  {:<20}  {}",
                        t.id,
                        t.status(Utc::now()).as_str(),
                        t.expires_at.map(time).unwrap_or_else(|| "never".into()),
                        t.name,
                        perms.join(", ")
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if !store.revoke_token(&id, &Actor::Cli).await? {
                bail!("there is no token {id} (see `ztrisk tokens list`)");
            }
            settle().await;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

pub async fn keys(database: &str, command: KeysCommand) -> anyhow::Result<()> {
    let store = open(database).await?;
    match command {
        KeysCommand::Create {
            email,
            accounts,
            output,
        } => {
            if !is_email_shaped(&email) {
                bail!("--email {email:?} is not an email address");
            }
            let accounts = parse_accounts(&accounts)?;
            let key = generate_api_key();
            let user = store
                .set_api_key(&email, SecretHash::of(&key), &accounts, &Actor::Cli)
                .await
                .map_err(explain)?;
            let ids: Vec<_> = user.accounts.iter().map(ToString::to_string).collect();
            if output.json {
                print_json(json!({"email": user.email, "key": key, "accounts": ids}));
            } else {
                println!(
                    "global API key for {} (shown only now; store it safely):\n\n  {key}\n",
                    user.email
                );
                println!(
                    "use it with the headers X-Auth-Email: {} and X-Auth-Key: <key>",
                    user.email
                );
                println!("accounts: {}", ids.join(", "));
            }
        }
        KeysCommand::List { output } => {
            let users = store.list_api_users().await?;
            let rows: Vec<_> = users
                .iter()
                .map(|u| {
                    json!({
                        "email": u.email,
                        "has_key": u.key_hash.is_some(),
                        "accounts": u.accounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect();
            if output.json {
                print_json(rows.into());
            } else {
                println!("{:<40}  {:<7}  ACCOUNTS", "EMAIL", "KEY");
                for u in &users {
                    let ids: Vec<_> = u.accounts.iter().map(ToString::to_string).collect();
                    println!(
                        "{:<40}  {:<7}  {}",
                        u.email,
                        if u.key_hash.is_some() {
                            "active"
                        } else {
                            "none"
                        },
                        ids.join(", ")
                    );
                }
            }
        }
        KeysCommand::Revoke { email } => {
            if !store.revoke_api_key(&email, &Actor::Cli).await? {
                bail!("{email} has no global API key");
            }
            settle().await;
            println!("revoked the global API key of {email}");
        }
    }
    Ok(())
}
