//! HTTPS (spec 7): the server answers over TLS with the certificate it was given, and a reload
//! switches new connections to a new pair while connections already open go on; a pair that
//! does not load is refused and the one in force kept. (The binary's SIGHUP wiring is tested
//! in the `ztrisk` crate, by running it.)

use reqwest::StatusCode;
use std::path::Path;
use std::sync::Arc;
use ztrisk_server::testing::{Issued, TestCa, listen};
use ztrisk_server::{AppState, ServerConfig, Tls, router, serve_with};
use ztrisk_store::{SqliteOptions, SqliteStore};

/// A client that trusts `ca` only.
fn trusting(ca: &TestCa) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(ca.pem().as_bytes())
        .unwrap_or_else(|e| panic!("CA certificate: {e}"));
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .tls_info(true)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// GET `url`: the status and the certificate the server showed.
async fn get(client: &reqwest::Client, url: &str) -> Result<(StatusCode, Vec<u8>), String> {
    let response = client.get(url).send().await.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    })?;
    let cert = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((response.status(), cert))
}

fn write_pair(dir: &Path, pair: &Issued) {
    std::fs::write(dir.join("cert.pem"), &pair.cert_pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("key.pem"), &pair.key_pem).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_and_reloads_its_certificate_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let names = ["localhost", "127.0.0.1"];
    let first_ca = TestCa::new("ztrisk test CA 1");
    let first = first_ca.issue(&names);
    write_pair(dir.path(), &first);
    let tls = Arc::new(Tls::load(&cert, &key).unwrap_or_else(|e| panic!("{e}")));

    let store = SqliteStore::open(dir.path().join("ztrisk.db"), SqliteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = ServerConfig::default();
    let app = router(AppState::new(Arc::new(store), config.clone()));
    let (listener, addr) = listen().await;
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let serving = tls.clone();
    let server = tokio::spawn(async move {
        serve_with(listener, app, &config, Some(serving), async move {
            let _ = stopping.await;
        })
        .await
    });
    let url = format!("https://127.0.0.1:{}/healthz", addr.port());

    // The first pair is served; this client keeps its connection open.
    let kept = trusting(&first_ca);
    let (status, shown) = get(&kept, &url).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, first.cert_der);
    // Plain HTTP on the TLS port gets nowhere.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{}/healthz", addr.port()))
            .await
            .map(|r| r.status() != StatusCode::OK)
            .unwrap_or(true)
    );

    // A new pair from another CA, written over the same files, then reloaded.
    let second_ca = TestCa::new("ztrisk test CA 2");
    let second = second_ca.issue(&names);
    write_pair(dir.path(), &second);
    tls.reload().unwrap_or_else(|e| panic!("reload: {e}"));

    let (status, shown) = get(&trusting(&second_ca), &url)
        .await
        .unwrap_or_else(|e| panic!("a new connection after the reload: {e}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown, second.cert_der,
        "a new connection sees the new certificate"
    );
    // The open connection still works: a new one from this client (which trusts only the first
    // CA) would fail, as a fresh client with the same trust shows.
    let (status, _) = get(&kept, &url)
        .await
        .unwrap_or_else(|e| panic!("the keep-alive connection after the reload: {e}"));
    assert_eq!(status, StatusCode::OK);
    let refused = get(&trusting(&first_ca), &url).await;
    assert!(refused.is_err(), "{refused:?}");

    // Pairs that do not load are refused and the second pair stays.
    std::fs::write(&key, "not a key\n").unwrap_or_else(|e| panic!("{e}"));
    let error = tls
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("key.pem") && error.contains("no usable private key"),
        "{error}"
    );
    let other = second_ca.issue(&names);
    std::fs::write(&key, &other.key_pem).unwrap_or_else(|e| panic!("{e}"));
    let error = tls
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("does not belong to the certificate"),
        "{error}"
    );
    std::fs::write(&cert, "").unwrap_or_else(|e| panic!("{e}"));
    let error = tls
        .reload()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("holds no certificate"), "{error}");
    let (status, shown) = get(&trusting(&second_ca), &url)
        .await
        .unwrap_or_else(|e| panic!("after failed reloads: {e}"));
    assert_eq!((status, shown), (StatusCode::OK, second.cert_der));

    let error = Tls::load(dir.path().join("missing.pem"), &key)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("cannot read the TLS certificate") && error.contains("missing.pem"),
        "{error}"
    );

    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(15), server)
        .await
        .unwrap_or_else(|_| panic!("the server did not stop"))
        .unwrap_or_else(|e| panic!("join: {e}"))
        .unwrap_or_else(|e| panic!("serve: {e}"));
}
