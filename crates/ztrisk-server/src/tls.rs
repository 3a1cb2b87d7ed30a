//! HTTPS (spec 7): a certificate chain and its key from PEM files, re-read on demand (the
//! binary does it on SIGHUP) without touching connections already open: each handshake asks
//! [`Tls`]'s resolver for the pair in force at that moment, so only new connections see a new
//! pair. A pair that does not load is refused and the previous one stays.
//!
//! rustls with the ring provider, like every other TLS user in this binary (two providers in
//! one process make rustls panic at start).

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

/// Why a certificate or key could not be used; says which file and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The server's certificate and key, loaded from `cert` and `key` and reloadable.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<Resolver>,
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the certificate chain (PEM, the server's certificate first, then intermediates)
    /// and its private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Self, TlsError> {
        let (cert, key) = (cert.into(), key.into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = read_pair(&cert, &key, &provider)?;
        let resolver = Arc::new(Resolver(RwLock::new(Arc::new(pair))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(format!("cannot configure TLS: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // The API speaks HTTP/1.1 only; saying so lets clients that offer h2 fall back at once.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert,
            key,
            provider,
            resolver,
            config: Arc::new(config),
        })
    }

    /// Reads both files again. On success new handshakes use the new pair (connections
    /// already open keep theirs); on failure nothing changes and the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = read_pair(&self.cert, &self.key, &self.provider)?;
        let mut current = self
            .resolver
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(pair);
        Ok(())
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    pub fn key_path(&self) -> &Path {
        &self.key
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// Hands every handshake the pair in force.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(current.clone())
    }
}

fn read_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|e| {
        TlsError(format!(
            "cannot read the TLS certificate {}: {e}",
            cert.display()
        ))
    })?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            TlsError(format!(
                "the TLS certificate {} is not valid PEM: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(TlsError(format!(
            "the TLS certificate {} holds no certificate (expected a PEM \
             \"BEGIN CERTIFICATE\" block)",
            cert.display()
        )));
    }
    let key_pem = std::fs::read(key)
        .map_err(|e| TlsError(format!("cannot read the TLS key {}: {e}", key.display())))?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        TlsError(format!(
            "the TLS key {} holds no usable private key (expected PEM \"PRIVATE KEY\", \
             \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\"): {e}",
            key.display()
        ))
    })?;
    CertifiedKey::from_der(chain, private_key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError(format!(
            "the TLS key {} does not belong to the certificate {}",
            key.display(),
            cert.display()
        )),
        other => TlsError(format!(
            "cannot use the TLS certificate {} with the key {}: {other}",
            cert.display(),
            key.display()
        )),
    })
}
