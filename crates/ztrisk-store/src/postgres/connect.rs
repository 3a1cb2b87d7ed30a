//! How connections are made: the pool, single connections, and the errors a person reads when
//! the server cannot be reached.
//!
//! TLS is not supported yet (the issue this backend answers runs the database next to the
//! replicas). Everything that changes when it is added is in this file: the connector type
//! [`Tls`], [`tls_for`] and the stream type of [`Conn`].

use super::Failure;
use crate::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Client, Config, Connection, NoTls, Socket};

/// The TLS connector every connection uses.
pub(super) type Tls = NoTls;

/// A connection's driver half, for the one connection that is polled by hand (the listener).
pub(super) type Conn = Connection<Socket, NoTlsStream>;

/// The connector for `config`; refuses a configuration that demands TLS.
pub(super) fn tls_for(config: &Config) -> Result<Tls, StoreError> {
    match config.get_ssl_mode() {
        SslMode::Disable | SslMode::Prefer => Ok(NoTls),
        _ => Err(StoreError::Backend(format!(
            "the PostgreSQL URL asks for TLS (sslmode=require) but this ztrisk connects without \
             TLS; use sslmode=disable or sslmode=prefer to reach {}",
            describe_target(config)
        ))),
    }
}

/// Parses a `postgres://` URL (or a `key=value` connection string).
pub(super) fn parse(url: &str, connect_timeout: Duration) -> Result<Config, StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL is not valid: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("ztrisk");
    }
    // A replica behind a dead network path finds out in about a minute rather than two hours.
    config.keepalives_idle(Duration::from_secs(30));
    Ok(config)
}

pub(super) fn pool(
    config: &Config,
    max_size: usize,
    acquire_timeout: Duration,
) -> Result<Pool, StoreError> {
    let tls = tls_for(config)?;
    let manager = Manager::from_config(
        config.clone(),
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let create_timeout = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(Duration::from_secs(10));
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(create_timeout))
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))
}

/// Opens one connection outside the pool. The caller polls `Conn` (or spawns it).
pub(super) async fn connect(config: &Config) -> Result<(Client, Conn), Failure> {
    let tls = tls_for(config)?;
    config
        .connect(tls)
        .await
        .map_err(|e| Failure::from(unreachable(config, &e)))
}

/// Opens one connection and drives it on its own task.
pub(super) async fn connect_spawned(config: &Config) -> Result<Client, Failure> {
    let (client, conn) = connect(config).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// `host:port` (or the socket path) and database, for messages.
pub(super) fn describe_target(config: &Config) -> String {
    let hosts = config.get_hosts();
    let ports = config.get_ports();
    let mut targets = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let port = ports
            .get(i)
            .or_else(|| ports.first())
            .copied()
            .unwrap_or(5432);
        targets.push(match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
        });
    }
    if targets.is_empty() {
        targets.push(format!(
            "localhost:{}",
            ports.first().copied().unwrap_or(5432)
        ));
    }
    let db = config.get_dbname().or(config.get_user()).unwrap_or("?");
    format!("{} (database \"{db}\")", targets.join(", "))
}

/// The message for a connection that could not be made: where, why, and how to check.
pub(super) fn unreachable(config: &Config, e: &tokio_postgres::Error) -> StoreError {
    let target = describe_target(config);
    if let Some(db) = e.as_db_error() {
        // The server answered: wrong database, user, password...
        return StoreError::Backend(format!(
            "PostgreSQL at {target} refused the connection: {} ({}); check the URL's user, \
             password and database name",
            db.message(),
            db.code().code()
        ));
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    let (host, port) = first_host_port(config);
    StoreError::Backend(format!(
        "cannot connect to PostgreSQL at {target}: {reason}. Is the server running and accepting \
         TCP connections there? Check with `pg_isready -h {host} -p {port}` (on Debian: \
         `pg_lsclusters`, then `pg_ctlcluster <version> main start`)"
    ))
}

fn first_host_port(config: &Config) -> (String, u16) {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    (host, port)
}
