//! How connections are made: the URL and its TLS settings, the pool, single connections, and
//! the errors a person reads when the server cannot be reached.
//!
//! TLS follows libpq's `sslmode` (spec 7), with rustls on the ring provider (never a second
//! provider: two in one binary make rustls panic at start):
//!
//! | `sslmode` | ztrisk |
//! |---|---|
//! | `disable`, `allow`, `prefer` (default) | no TLS |
//! | `require` | TLS, the certificate not checked (as libpq; with `sslrootcert`, as `verify-ca`) |
//! | `verify-ca` | TLS, the certificate signed by a CA of `sslrootcert` |
//! | `verify-full` | as `verify-ca`, and the certificate names the host of the URL |
//!
//! tokio-postgres knows neither the `verify-*` modes nor `sslrootcert`, so both are taken out of
//! the URL here and turned into the rustls configuration of the connector.

use super::Failure;
use crate::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The TLS connector every connection uses (unused when the mode asks for no TLS).
pub(super) type Tls = MakeRustlsConnect;

/// A connection's driver half, for the one connection that is polled by hand (the listener).
pub(super) type Conn = Connection<Socket, <Tls as MakeTlsConnect<Socket>>::Stream>;

/// A parsed URL: what tokio-postgres reads, and the connector its `sslmode` asks for.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) config: Config,
    pub(super) tls: Tls,
}

/// `sslmode` as libpq reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `disable`, `allow` and `prefer`: TLS is optional, and ztrisk goes without.
    Plain,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "disable" | "allow" | "prefer" => Ok(Mode::Plain),
            "require" => Ok(Mode::Require),
            "verify-ca" => Ok(Mode::VerifyCa),
            "verify-full" => Ok(Mode::VerifyFull),
            other => Err(StoreError::Backend(format!(
                "the PostgreSQL URL has sslmode={other}; expected disable, allow, prefer, \
                 require, verify-ca or verify-full"
            ))),
        }
    }
}

/// Parses a `postgres://` URL (or a `key=value` connection string), with its TLS settings.
pub(super) fn parse(url: &str, connect_timeout: Duration) -> Result<Target, StoreError> {
    let (rest, ssl) = take_ssl_params(url)?;
    let mut config: Config = rest
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
    let mode = ssl.mode.as_deref().map(Mode::parse).transpose()?;
    let mode = mode.unwrap_or(Mode::Plain);
    let roots = ssl.root_cert.as_deref().map(read_roots).transpose()?;
    let client = match (mode, roots) {
        (Mode::Plain, _) => {
            config.ssl_mode(SslMode::Disable);
            // Never used with SslMode::Disable; the connector type is the same for every mode.
            unverified()?
        }
        (Mode::Require, None) => unverified()?,
        // libpq: "if a root CA file exists, require behaves like verify-ca".
        (Mode::Require | Mode::VerifyCa, Some(roots)) => verified(roots, false)?,
        (Mode::VerifyFull, Some(roots)) => verified(roots, true)?,
        (Mode::VerifyCa | Mode::VerifyFull, None) => {
            return Err(StoreError::Backend(format!(
                "the PostgreSQL URL has sslmode={} but no sslrootcert: add \
                 sslrootcert=/path/to/ca.pem (the PEM certificate of the CA that signed the \
                 server's certificate)",
                ssl.mode.as_deref().unwrap_or_default()
            )));
        }
    };
    if mode != Mode::Plain {
        config.ssl_mode(SslMode::Require);
    }
    Ok(Target {
        config,
        tls: MakeRustlsConnect::new(client),
    })
}

/// `sslmode` and `sslrootcert` as the URL gives them.
#[derive(Debug, Default, PartialEq, Eq)]
struct SslParams {
    mode: Option<String>,
    root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of `url` (tokio-postgres refuses the `verify-*` modes
/// and does not know `sslrootcert`); the rest is left for tokio-postgres to parse.
fn take_ssl_params(url: &str) -> Result<(String, SslParams), StoreError> {
    let mut ssl = SslParams::default();
    let mut keep = |key: &str, value: String| -> bool {
        match key {
            "sslmode" => ssl.mode = Some(value),
            "sslrootcert" => ssl.root_cert = Some(value),
            _ => return true,
        }
        false
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((head, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), ssl));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if keep(&percent_decode(key), percent_decode(value)) {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            head.to_owned()
        } else {
            format!("{head}?{}", kept.join("&"))
        };
        return Ok((rest, ssl));
    }
    let mut kept = Vec::new();
    for (key, value) in key_values(url)? {
        if keep(&key, value.clone()) {
            // Quoted, with \ and ' escaped, as tokio-postgres reads it back.
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok((kept.join(" "), ssl))
}

/// The pairs of a `key=value` connection string, read as tokio-postgres (and libpq) read them:
/// values bare or in single quotes, `\` escaping the next character.
fn key_values(text: &str) -> Result<Vec<(String, String)>, StoreError> {
    let invalid = |why: &str| {
        StoreError::Backend(format!(
            "the PostgreSQL URL (or key=value connection string) is not valid: {why}"
        ))
    };
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err(invalid("a parameter without a name"));
            }
            return Ok(pairs);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(invalid(&format!("expected = after {key}")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(invalid(&format!("unterminated quoted value of {key}"))),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// `%XX` escapes decoded (URLs' query values); anything else kept as is.
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The CAs of `sslrootcert`.
fn read_roots(path: &str) -> Result<RootCertStore, StoreError> {
    if path == "system" {
        return Err(StoreError::Backend(
            "sslrootcert=system (the operating system's CAs) is not supported: give the path \
             of a PEM file with the CA certificate(s)"
                .into(),
        ));
    }
    let pem = std::fs::read(path)
        .map_err(|e| StoreError::Backend(format!("cannot read sslrootcert {path}: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Backend(format!("sslrootcert {path} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(StoreError::Backend(format!(
            "sslrootcert {path} holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)"
        )));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            StoreError::Backend(format!(
                "sslrootcert {path} holds a certificate that cannot be a CA: {e}"
            ))
        })?;
    }
    Ok(roots)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("cannot configure TLS for PostgreSQL: {e}"))
}

/// The CA chain is checked against `roots`; the host name too when `check_name`.
fn verified(roots: RootCertStore, check_name: bool) -> Result<ClientConfig, StoreError> {
    let provider = provider();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(tls_error)?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let config = if check_name {
        builder.with_webpki_verifier(webpki).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(webpki)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// `require`: encrypted, but any certificate is accepted (libpq does the same).
fn unverified() -> Result<ClientConfig, StoreError> {
    let provider = provider();
    Ok(ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth())
}

/// Accepts any certificate, but still checks that the server holds its key (the handshake's
/// signatures), so the session keys are the server's.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the name in the certificate is not. webpki checks the
/// chain before the name, so a name error means the chain was good.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

pub(super) fn pool(
    target: &Target,
    max_size: usize,
    acquire_timeout: Duration,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        target.config.clone(),
        target.tls.clone(),
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let create_timeout = target
        .config
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
pub(super) async fn connect(target: &Target) -> Result<(Client, Conn), Failure> {
    target
        .config
        .connect(target.tls.clone())
        .await
        .map_err(|e| Failure::from(unreachable(&target.config, &e)))
}

/// Opens one connection and drives it on its own task.
pub(super) async fn connect_spawned(target: &Target) -> Result<Client, Failure> {
    let (client, conn) = connect(target).await?;
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
    // tokio-postgres says "error performing TLS handshake" whatever failed in TLS (no TLS on
    // the server, a certificate refused): the TCP hint below would send the reader astray.
    if reason.contains("TLS handshake") {
        return StoreError::Backend(format!(
            "cannot connect to PostgreSQL at {target} over TLS: {reason}. With \
             sslmode=verify-full the server's certificate must be signed by a CA in \
             sslrootcert and name the URL's host (verify-ca skips the name); with any TLS mode \
             the server needs ssl = on"
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(url: &str) -> String {
        parse(url, Duration::from_secs(1))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn ssl_parameters_are_taken_out_of_urls() {
        let (rest, ssl) = take_ssl_params(
            "postgres://u@db:5433/x?sslmode=verify-full&options=-c%20a%3Db&sslrootcert=%2Ftmp%2Fca%20x.pem",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rest, "postgres://u@db:5433/x?options=-c%20a%3Db");
        assert_eq!(ssl.mode.as_deref(), Some("verify-full"));
        assert_eq!(ssl.root_cert.as_deref(), Some("/tmp/ca x.pem"));
        let (rest, ssl) =
            take_ssl_params("postgresql://db/x?sslmode=require").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (rest.as_str(), ssl.mode.as_deref()),
            ("postgresql://db/x", Some("require"))
        );
    }

    #[test]
    fn ssl_parameters_are_taken_out_of_key_value_strings() {
        let (rest, ssl) = take_ssl_params(
            r"host=db  port = 5433 sslmode=verify-ca sslrootcert='/tmp/it' options='-c a=b'",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ssl.mode.as_deref(), Some("verify-ca"));
        assert_eq!(ssl.root_cert.as_deref(), Some("/tmp/it"));
        assert_eq!(rest, "host='db' port='5433' options='-c a=b'");
        let config: Config = rest.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.get_options(), Some("-c a=b"));
        let (_, ssl) =
            take_ssl_params(r"host=db sslrootcert='/tmp/a\'b c'").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ssl.root_cert.as_deref(), Some("/tmp/a'b c"));
        assert!(take_ssl_params("host='db").is_err());
    }

    #[test]
    fn plain_modes_connect_without_tls() {
        for mode in ["disable", "allow", "prefer"] {
            let target = parse(
                &format!("postgres://u@db/x?sslmode={mode}"),
                Duration::from_secs(1),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(target.config.get_ssl_mode(), SslMode::Disable, "{mode}");
        }
        let target =
            parse("postgres://u@db/x", Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.config.get_ssl_mode(), SslMode::Disable);
        let target = parse("postgres://u@db/x?sslmode=require", Duration::from_secs(1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn bad_tls_settings_are_refused_clearly() {
        let text = error_of("postgres://u@db/x?sslmode=verify-full");
        assert!(text.contains("sslrootcert=/path/to/ca.pem"), "{text}");
        let text = error_of("postgres://u@db/x?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem");
        assert!(
            text.contains("cannot read sslrootcert /nonexistent/ca.pem"),
            "{text}"
        );
        let text = error_of("postgres://u@db/x?sslmode=strict");
        assert!(
            text.contains("sslmode=strict") && text.contains("verify-full"),
            "{text}"
        );
        let text = error_of("postgres://u@db/x?sslmode=verify-full&sslrootcert=system");
        assert!(text.contains("not supported"), "{text}");
        let dir = std::env::temp_dir().join(format!("ztrisk-ca-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "not a certificate\n");
        let text = error_of(&format!(
            "postgres://u@db/x?sslmode=verify-full&sslrootcert={}",
            empty.display()
        ));
        assert!(text.contains("holds no certificate"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
