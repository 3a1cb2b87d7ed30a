use crate::cli::{LogFormat, ServeArgs, SyncMode};
use crate::database::Database;
use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;
use ztrisk_core::PermissionSet;
use ztrisk_core::credentials::{SecretHash, generate_token};
use ztrisk_ingest::GeoIp;
use ztrisk_server::{AppState, ServerConfig, Tls, router, serve_with, start_sharing};
use ztrisk_store::model::NewToken;
use ztrisk_store::{Store, Synchronous};

pub async fn run(database: &str, args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let database = Database::parse(database);
    let sync = match args.sync {
        SyncMode::Full => Synchronous::Full,
        SyncMode::Normal => Synchronous::Normal,
    };
    let store = database.open(sync).await?;
    // Before binding: a certificate that does not load must not leave a half-started server.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(Tls::load(cert, key)?)),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;

    bootstrap(store.as_ref(), addr, scheme).await?;

    let config = ServerConfig {
        body_limit: args.body_limit,
        rate_limit_per_minute: args.rate_limit,
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", loopback_if_unspecified(addr))),
        header_read_timeout: args.header_timeout.into(),
        body_read_timeout: args.body_timeout.into(),
        max_connections: args.max_connections,
        ..ServerConfig::default()
    };
    let limits = config.clone();
    let mut state = AppState::new(store, config);
    state.own_listen_address(addr);
    if let Some(path) = &args.geoip {
        let geoip = GeoIp::open(path).map_err(anyhow::Error::msg)?;
        tracing::info!(path = %path.display(), database_type = geoip.database_type(), "loaded GeoIP database");
        state = state.with_geoip(geoip);
    }
    let (stop_worker, worker_stops) = tokio::sync::watch::channel(false);
    let worker = if args.no_deliveries {
        tracing::warn!("--no-deliveries: this process queues deliveries but sends none");
        ztrisk_deliver::keyring::ensure_signing_key(state.store.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("making the first signing key: {e}"))?;
        None
    } else {
        let worker = start_sharing(&state, worker_stops).await.map_err(|e| {
            anyhow::anyhow!("starting risk sharing (signing keys, delivery worker): {e}")
        })?;
        Some(worker)
    };
    let app = router(state);
    tracing::info!(%addr, database = %database.display(), "listening");
    if let Some(tls) = &tls {
        reload_on_hangup(tls.clone())?;
        tracing::info!(cert = %tls.cert_path().display(), key = %tls.key_path().display(), "serving HTTPS; SIGHUP reloads the certificate and key");
    }
    // One write, and a closed standard output is no reason to stop serving (a supervisor or
    // a test may stop reading once it has the address).
    let _ = writeln!(
        std::io::stdout().lock(),
        "ztrisk listening on {scheme}://{addr}\ndashboard: {scheme}://{}/dashboard",
        loopback_if_unspecified(addr)
    );
    serve_with(listener, app, &limits, tls, shutdown_signal()).await?;
    // Deliveries in flight finish or keep their claim: what is not settled is retried later.
    let _ = stop_worker.send(true);
    if let Some(worker) = worker {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(15), worker.join()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// On a new installation, creates the first account and an admin token and shows them once.
async fn bootstrap(store: &dyn Store, addr: SocketAddr, scheme: &str) -> anyhow::Result<()> {
    let token = generate_token();
    let admin = NewToken {
        name: "admin (created at first start)".into(),
        accounts: Vec::new(),
        permissions: PermissionSet::all(),
        expires_at: None,
        secret_hash: SecretHash::of(&token),
    };
    let Some((account, _)) = store.bootstrap("Default account", admin).await? else {
        return Ok(());
    };
    let root = format!("{scheme}://{}", loopback_if_unspecified(addr));
    let base = format!("{root}/client/v4");
    let id = account.id;
    // Printed, not logged: the token must not end up in log storage.
    println!(
        r#"
ztrisk: first start on an empty database. Created an account and an admin API token
(all permissions, no expiry). The token is shown only this once; keep it somewhere safe.

  account id:  {id}
  API token:   {token}

Open the dashboard and sign in with the token:
  {root}/dashboard

See it populated with a generated day of events and a few planted incidents:
  ztrisk demo --token {token} --account {id}

Try it with curl:
  curl -s {base}/accounts/{id}/zt_risk_scoring/behaviors -H "Authorization: Bearer {token}"

Or with Cloudflare's Python SDK (pip install cloudflare):
  from cloudflare import Cloudflare
  client = Cloudflare(api_token="{token}", base_url="{base}")
  client.zero_trust.risk_scoring.behaviours.update(
      account_id="{id}", behaviors={{"imp_travel": {{"enabled": True, "risk_level": "high"}}}})
  print(client.zero_trust.risk_scoring.behaviours.get(account_id="{id}"))
"#
    );
    Ok(())
}

/// The address a local client should use for `addr` (0.0.0.0 is not one).
fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), addr.port())
    } else {
        addr
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Re-reads the certificate and key at every SIGHUP (what certbot's and most renewal tools'
/// deploy hooks send); a pair that does not load is logged and the one in force kept.
#[cfg(unix)]
fn reload_on_hangup(tls: Arc<Tls>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let reloading = tls.clone();
            match tokio::task::spawn_blocking(move || reloading.reload()).await {
                Ok(Ok(())) => tracing::info!(
                    cert = %tls.cert_path().display(),
                    "SIGHUP: reloaded the TLS certificate and key; new connections use them"
                ),
                Ok(Err(e)) => tracing::error!(
                    error = %e,
                    "SIGHUP: the new TLS certificate and key were not loaded; keeping the previous ones"
                ),
                Err(e) => tracing::error!(error = %e, "SIGHUP: reloading TLS failed"),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_tls: Arc<Tls>) -> anyhow::Result<()> {
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
