//! Slow and oversized clients cannot exhaust the server (spec 1.4): slowloris connections are
//! closed after the header timeout while others are served, a trickling body is cut off with
//! 408, oversized headers get 431, and the connection limit makes clients wait, not fail.
//! Over raw sockets, since an HTTP client library cannot misbehave on purpose. Time bounds are
//! generous: these tests check that limits exist, not how precisely they fire.

use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ztrisk_server::ServerConfig;
use ztrisk_server::testing::TestServer;

async fn connect(server: &TestServer) -> TcpStream {
    let addr = server.base_url.trim_start_matches("http://");
    TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"))
}

/// A response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: serde_json::Value,
}

/// Reads one response (head, then a Content-Length body); `None` if the server closed or reset
/// the connection first.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> Option<Raw> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Some(Raw { status, head, body })
}

/// Whether the server closes `stream` within `limit` (reading and discarding what it sends).
async fn closes_within(stream: &mut (impl AsyncRead + Unpin), limit: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// The admin's GET /behaviors answers 200 within a few seconds.
async fn still_serves(server: &TestServer) {
    let started = Instant::now();
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(5), server.get_behaviors(&server.admin))
            .await
            .unwrap_or_else(|_| panic!("a normal request waited over 5 s"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn error_codes(body: &serde_json::Value) -> Vec<u32> {
    ztrisk_server::testing::codes(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_while_others_are_served() {
    let server = TestServer::start_with(ServerConfig {
        header_read_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let stream = connect(&server).await;
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let (mut reader, mut writer) = stream.into_split();
            let trickle = async move {
                if writer
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await
                    .is_err()
                {
                    return;
                }
                // One header byte a second, never finishing the head.
                for _ in 0..60 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if writer.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            };
            let closed = async move {
                let mut chunk = [0u8; 1024];
                loop {
                    match reader.read(&mut chunk).await {
                        Ok(0) | Err(_) => return started.elapsed(),
                        Ok(_) => {}
                    }
                }
            };
            tokio::pin!(trickle);
            tokio::select! {
                elapsed = closed => Some(elapsed),
                () = &mut trickle => None,
            }
        }));
    }
    // While all of them hold a connection, others are served at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        still_serves(&server).await;
    }
    for task in slow {
        let closed_after = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap_or_else(|_| panic!("a slowloris connection was still open after 30 s"))
            .unwrap_or_else(|e| panic!("join: {e}"))
            .unwrap_or_else(|| panic!("a slowloris connection trickled for a minute unclosed"));
        assert!(
            closed_after >= Duration::from_secs(1) && closed_after < Duration::from_secs(20),
            "closed after {closed_after:?} (header timeout 2 s)"
        );
    }
    still_serves(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_makes_clients_wait_until_idle_ones_are_reclaimed() {
    let server = TestServer::start_with(ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 3,
        ..ServerConfig::default()
    })
    .await;
    // Three connections that never send anything take every slot.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect(&server).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (status, body) =
        tokio::time::timeout(Duration::from_secs(15), server.get_behaviors(&server.admin))
            .await
            .unwrap_or_else(|_| panic!("the request was never served"));
    assert_eq!(status, StatusCode::OK, "{body}");
    // It waited for the header timeout to free a slot, rather than being refused.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "served after {:?} while every slot was taken",
        started.elapsed()
    );
    for mut stream in idle {
        assert!(closes_within(&mut stream, Duration::from_secs(10)).await);
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_cut_off_with_408() {
    let server = TestServer::start_with(ServerConfig {
        body_read_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    let stream = connect(&server).await;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{",
        server.behaviors_path(),
        server.admin
    );
    let trickle = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(15), read_response(&mut reader))
        .await
        .unwrap_or_else(|_| panic!("no answer 15 s into a trickling body"));
    let response = response.unwrap_or_else(|| panic!("closed without an answer"));
    assert_eq!(response.status, 408, "{response:?}");
    assert_eq!(error_codes(&response.body), [1408], "{response:?}");
    assert!(response.head.contains("connection: close"), "{response:?}");
    assert!(started.elapsed() < Duration::from_secs(12));
    // And the connection is closed, though the client is still sending.
    assert!(closes_within(&mut reader, Duration::from_secs(10)).await);
    trickle.abort();
    still_serves(&server).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_431_and_the_server_goes_on() {
    let server = TestServer::start().await;
    let path = server.behaviors_path();

    // 64 KiB: over the 32 KiB limit, within what the parser reads: the enveloped 431.
    let mut stream = connect(&server).await;
    let big = "a".repeat(64 * 1024);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nX-Big: {big}\r\n\r\n",
        server.admin
    );
    stream
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let response = tokio::time::timeout(Duration::from_secs(10), read_response(&mut stream))
        .await
        .unwrap_or_else(|_| panic!("no answer to a 64 KiB header"))
        .unwrap_or_else(|| panic!("closed without an answer"));
    assert_eq!(response.status, 431, "{response:?}");
    assert_eq!(error_codes(&response.body), [1431], "{response:?}");
    still_serves(&server).await;

    // 1 MiB: past the parser's buffer; refused outright (a bare 431, or the connection reset
    // while the client is still writing).
    let mut stream = connect(&server).await;
    let huge = "a".repeat(1024 * 1024);
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Huge: {huge}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let response = tokio::time::timeout(Duration::from_secs(10), read_response(&mut stream))
        .await
        .unwrap_or_else(|_| panic!("a 1 MiB header neither answered nor closed in 10 s"));
    if let Some(response) = response {
        assert_eq!(response.status, 431, "{response:?}");
    }
    still_serves(&server).await;
    server.shutdown().await;
}
