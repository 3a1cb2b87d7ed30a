//! `ztrisk signing-keys list|rotate|retire`: the keys that sign Security Event Tokens, on the
//! database directly (like `ztrisk tokens`). Running servers pick changes up by themselves:
//! the store's generation moves, and they reload the key ring.

use crate::admin::{open, print_json, settle, time};
use crate::cli::SigningKeysCommand;
use crate::client_cmd::NotFound;
use crate::client_cmd::table::Table;
use anyhow::bail;
use serde_json::json;
use ztrisk_store::model::{Actor, RetireOutcome, SigningKeyStatus, StoredSigningKey};

/// A key as shown: never its material.
fn key_json(key: &StoredSigningKey) -> serde_json::Value {
    json!({
        "kid": key.kid,
        "status": key.status.as_str(),
        "created_at": time(key.created_at),
        "retired_at": key.retired_at.map(time),
    })
}

fn unknown(kid: &str) -> anyhow::Error {
    NotFound(format!(
        "there is no signing key {kid:?} (`ztrisk signing-keys list` shows the kids)"
    ))
    .into()
}

pub async fn run(database: &str, command: SigningKeysCommand) -> anyhow::Result<()> {
    let store = open(database).await?;
    match command {
        SigningKeysCommand::List { output } => {
            let keys = store.signing_keys().await?;
            if output.json {
                print_json(keys.iter().map(key_json).collect());
                return Ok(());
            }
            if keys.is_empty() {
                println!(
                    "no signing keys yet (`ztrisk serve` makes the first at its first start, \
                     or `ztrisk signing-keys rotate` now)"
                );
                return Ok(());
            }
            let mut table = Table::new(&["KID", "STATUS", "CREATED", "RETIRED"]);
            for key in &keys {
                table.row(vec![
                    key.kid.clone(),
                    key.status.as_str().to_owned(),
                    time(key.created_at),
                    key.retired_at.map_or_else(|| "-".to_owned(), time),
                ]);
            }
            table.print();
        }
        SigningKeysCommand::Rotate { output } => {
            let previous = store
                .signing_keys()
                .await?
                .into_iter()
                .find(|k| k.status == SigningKeyStatus::Active);
            let kid = ztrisk_deliver::keyring::rotate(store.as_ref(), &Actor::Cli).await?;
            settle().await;
            let previous = previous.map(|k| k.kid);
            if output.json {
                print_json(json!({"kid": kid, "previous": previous}));
                return Ok(());
            }
            println!("rotated: {kid} now signs new Security Event Tokens");
            if let Some(previous) = previous {
                println!(
                    "the previous key {previous} stays published in the JWKS until you retire \
                     it, once receivers have fetched the new one:\n\n  ztrisk signing-keys \
                     retire {previous}"
                );
            }
        }
        SigningKeysCommand::Retire { kid, output } => {
            let kid = kid.trim();
            let before = store.signing_keys().await?;
            let Some(key) = before.iter().find(|k| k.kid == kid) else {
                return Err(unknown(kid));
            };
            let was_retired = key.status == SigningKeyStatus::Retired;
            match store.retire_signing_key(kid, &Actor::Cli).await? {
                RetireOutcome::Retired => {}
                RetireOutcome::NotFound => return Err(unknown(kid)),
                RetireOutcome::Active => bail!(
                    "{kid} is the active key: it signs new SETs and cannot be retired. Rotate \
                     first (`ztrisk signing-keys rotate`), then retire it once receivers have \
                     fetched the new key"
                ),
            }
            settle().await;
            if output.json {
                print_json(json!({"kid": kid, "status": "retired"}));
            } else if was_retired {
                println!("{kid} was already retired");
            } else {
                println!("retired {kid}: it is no longer published in the JWKS");
            }
        }
    }
    Ok(())
}
