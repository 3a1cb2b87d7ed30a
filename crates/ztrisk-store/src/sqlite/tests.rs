use super::*;
use serde_json::json;
use ztrisk_core::{Permission, PermissionSet, RiskLevel};

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default())
        .unwrap_or_else(|e| panic!("open: {e}"));
    (dir, store)
}

fn new_token(secret: &str, accounts: Vec<AccountId>) -> NewToken {
    NewToken {
        name: "t".into(),
        accounts,
        permissions: [Permission::ZeroTrustRead].into_iter().collect(),
        expires_at: None,
        secret_hash: SecretHash::of(secret),
    }
}

fn update(body: serde_json::Value) -> BehaviorUpdate {
    BehaviorUpdate::parse(&body).unwrap_or_else(|e| panic!("{e:?}"))
}

#[tokio::test]
async fn bootstrap_happens_once() -> Result<(), StoreError> {
    let (_dir, store) = temp_store();
    let admin = NewToken {
        permissions: PermissionSet::all(),
        ..new_token("admin", vec![])
    };
    let first = store.bootstrap("Default", admin.clone()).await?;
    let (account, token) = first.unwrap_or_else(|| panic!("no bootstrap"));
    assert_eq!(token.accounts, vec![account.id]);
    assert!(store.bootstrap("Again", admin).await?.is_none());
    assert_eq!(store.list_accounts().await?.len(), 1);
    let found = store.token_by_hash(&SecretHash::of("admin")).await?;
    assert_eq!(found.map(|t| t.permissions), Some(PermissionSet::all()));
    Ok(())
}

#[tokio::test]
async fn tokens_and_keys() -> Result<(), StoreError> {
    let (_dir, store) = temp_store();
    let a = store.create_account("a", &Actor::Cli).await?;
    let missing = AccountId::random();
    assert!(matches!(
        store.create_token(new_token("x", vec![missing]), &Actor::Cli).await,
        Err(StoreError::UnknownAccount(id)) if id == missing
    ));
    let token = store
        .create_token(new_token("s1", vec![a.id]), &Actor::Cli)
        .await?;
    assert!(
        store
            .token_by_hash(&SecretHash::of("nope"))
            .await?
            .is_none()
    );
    assert!(store.revoke_token(&token.id, &Actor::Cli).await?);
    assert!(!store.revoke_token("unknown", &Actor::Cli).await?);
    let revoked = store.token_by_hash(&SecretHash::of("s1")).await?;
    assert!(revoked.is_some_and(|t| t.revoked_at.is_some()));
    assert_eq!(store.list_tokens().await?.len(), 1);

    let user = store
        .set_api_key(
            "Admin@Example.com",
            SecretHash::of("k"),
            &[a.id],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(user.email, "admin@example.com");
    let user = store.api_user("admin@example.com").await?;
    assert!(user.as_ref().is_some_and(|u| u.accounts == vec![a.id]));
    assert!(
        store
            .revoke_api_key("admin@example.com", &Actor::Cli)
            .await?
    );
    let user = store.api_user("admin@example.com").await?;
    assert!(user.is_some_and(|u| u.key_hash.is_none()));
    Ok(())
}

#[tokio::test]
async fn behaviors_merge_and_persist() -> Result<(), StoreError> {
    let (dir, store) = temp_store();
    let a = store.create_account("a", &Actor::Cli).await?;
    let b = store.create_account("b", &Actor::Cli).await?;
    store
        .update_behaviors(
            a.id,
            update(json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}})),
            &Actor::Cli,
        )
        .await?;
    let after = store
        .update_behaviors(
            a.id,
            update(json!({"behaviors": {"imp_travel": {"enabled": true, "risk_level": "medium"}}})),
            &Actor::Cli,
        )
        .await?;
    assert_eq!(after.get("foo").map(|c| c.risk_level), Some(RiskLevel::Low));
    assert_eq!(store.behaviors(b.id).await?, AccountBehaviors::default());
    drop(store);
    let reopened = SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default())?;
    assert_eq!(reopened.behaviors(a.id).await?, after);
    Ok(())
}

#[tokio::test]
async fn concurrent_updates_all_survive() -> Result<(), StoreError> {
    let (_dir, store) = temp_store();
    let store = std::sync::Arc::new(store);
    let a = store.create_account("a", &Actor::Cli).await?;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("custom_{i}");
            store
                .update_behaviors(
                    a.id,
                    update(json!({"behaviors": {id: {"enabled": true, "risk_level": "high"}}})),
                    &Actor::Cli,
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("join: {e}"))?;
    }
    assert_eq!(store.behaviors(a.id).await?.iter().count(), 9 + 64);
    Ok(())
}

#[tokio::test]
async fn a_failing_write_is_rolled_back_alone() -> Result<(), StoreError> {
    let (_dir, store) = temp_store();
    let a = store.create_account("a", &Actor::Cli).await?;
    // Writes to an account that does not exist violate a foreign key: that one fails, the
    // others committed in the same group stand.
    let ghost = AccountId::random();
    let ok = update(json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}));
    let (x, y, z) = tokio::join!(
        store.update_behaviors(a.id, ok.clone(), &Actor::Cli),
        store.update_behaviors(ghost, ok.clone(), &Actor::Cli),
        store.create_account("c", &Actor::Cli),
    );
    assert!(x.is_ok() && z.is_ok());
    assert!(matches!(y, Err(StoreError::Backend(_))));
    assert!(store.behaviors(ghost).await?.get("foo").is_none());
    Ok(())
}

#[tokio::test]
async fn generation_moves_on_any_write() -> Result<(), StoreError> {
    let (dir, store) = temp_store();
    let g0 = store.generation();
    assert_eq!(g0, store.generation());
    store.create_account("a", &Actor::Cli).await?;
    let g1 = store.generation();
    assert_ne!(g0, g1);
    // Another process (the admin CLI) writing to the same file is seen too, within a poll.
    let other = SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default())?;
    let g2 = store.generation();
    other.create_account("b", &Actor::Cli).await?;
    tokio::time::sleep(changes::POLL_INTERVAL * 2).await;
    assert_ne!(store.generation(), g2);
    Ok(())
}

#[test]
fn older_databases_are_upgraded_in_place() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("old.db");
    {
        let mut conn = Connection::open(&path)?;
        migrations::apply(&mut conn, 1)?;
        conn.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES ('0123456789abcdef0123456789abcdef', 'old', 0)",
            [],
        )?;
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let accounts = runtime.block_on(store.list_accounts())?;
    assert_eq!(accounts.len(), 1);
    let behaviors = runtime.block_on(store.behaviors(accounts[0].id))?;
    assert_eq!(behaviors, AccountBehaviors::default());
    let version: i64 =
        Connection::open(&path)?.pragma_query_value(None, "user_version", |r| r.get(0))?;
    assert_eq!(version, migrations::latest());
    Ok(())
}

#[test]
fn newer_databases_are_refused() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("new.db");
    Connection::open(&path)?.pragma_update(None, "user_version", 99)?;
    let err = SqliteStore::open(&path, SqliteOptions::default()).err();
    assert!(
        matches!(err, Some(StoreError::SchemaTooNew { found: 99, .. })),
        "{err:?}"
    );
    Ok(())
}
