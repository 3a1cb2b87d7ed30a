//! The serving loop: accepts TCP connections, optionally runs the TLS handshake, and serves
//! HTTP/1.1 on each with hyper, under the limits that keep slow clients from exhausting the
//! server (spec 1.4):
//!
//! - at most [`ServerConfig::max_connections`] connections at once; past that, new clients
//!   wait in the listen backlog until one closes;
//! - a request head (and a TLS handshake) must arrive within
//!   [`ServerConfig::header_read_timeout`]; hyper starts the same clock when a keep-alive
//!   connection goes idle, so idle sockets are reclaimed after that time too;
//! - a request head larger than the parser's buffer (four times
//!   [`ServerConfig::max_header_bytes`]) is answered 431 by hyper and the connection closed;
//!   smaller ones over the limit get the enveloped 431 from the router (`limits.rs`), as does a
//!   body that trickles in (408).
//!
//! Shutdown is graceful: the listener closes, idle connections close, requests in flight finish.

use crate::app::ServerConfig;
use crate::tls::Tls;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// The smallest read buffer hyper accepts.
const MIN_BUF_SIZE: usize = 8 * 1024;

/// Serves `router` on `listener` with the default limits until `shutdown` resolves, then
/// finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, &ServerConfig::default(), None, shutdown).await
}

/// [`serve`] with the connection limits of `config` (give it the configuration the router was
/// built with), over TLS when `tls` is given.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Semaphore permits are counted in u32 when taken all at once (at shutdown).
    let slots_total = config.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(slots_total));
    let (stop, stopping) = watch::channel(false);
    let connection = Arc::new(Connection {
        http: http_builder(config),
        service: TowerToHyperService::new(router),
        tls: tls.map(|tls| tls.acceptor()),
        handshake_timeout: config.header_read_timeout,
    });
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of file descriptors, say: retrying at once would spin.
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        // Small JSON responses: sending at once beats Nagle's coalescing.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection.clone().run(stream, peer, stopping.clone(), slot));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: having them all back means all are done.
    let _ = slots.acquire_many(slots_total as u32).await;
    Ok(())
}

fn http_builder(config: &ServerConfig) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.saturating_mul(4).max(MIN_BUF_SIZE));
    http
}

/// Resolves once the server is shutting down (or gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await: it is not Send.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Errors of one connection attempt that say nothing about the listener.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    )
}

/// What every connection is served with.
struct Connection {
    http: http1::Builder,
    service: TowerToHyperService<Router>,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
}

impl Connection {
    async fn run(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        mut stopping: watch::Receiver<bool>,
        _slot: OwnedSemaphorePermit,
    ) {
        let Some(acceptor) = &self.tls else {
            return self.serve(TokioIo::new(stream), peer, stopping).await;
        };
        // A client that stalls its handshake holds a slot like a slow header would: same limit.
        let handshake = tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream));
        let handshake = tokio::select! {
            handshake = handshake => handshake,
            () = stopped(&mut stopping) => return,
        };
        match handshake {
            Ok(Ok(stream)) => self.serve(TokioIo::new(stream), peer, stopping).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
        }
    }

    async fn serve<I>(&self, io: I, peer: SocketAddr, mut stopping: watch::Receiver<bool>)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let conn = self.http.serve_connection(io, self.service.clone());
        let mut conn = std::pin::pin!(conn);
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            () = stopped(&mut stopping) => {
                // Closes the connection once the request in flight (if any) is answered.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        // Timeouts, resets and oversized heads are the client's doing: not worth more.
        if let Err(e) = ended {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}
