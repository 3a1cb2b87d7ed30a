//! A loopback receiver for `bench/sharing.sh`: answers every POST with 202 (what Okta and a
//! webhook endpoint answer) and remembers when each one arrived, for throughput and latency.
//!
//! ```text
//! cargo run --release -p ztrisk-server --example receiver -- 127.0.0.1:0
//! curl -s http://127.0.0.1:PORT/stats     # {"count", "arrivals_ms": [...]}
//! curl -s -X DELETE http://127.0.0.1:PORT/stats
//! ```

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

type Arrivals = Arc<Mutex<Vec<i64>>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

async fn receive(State(arrivals): State<Arrivals>) -> StatusCode {
    if let Ok(mut all) = arrivals.lock() {
        all.push(now_ms());
    }
    StatusCode::ACCEPTED
}

async fn stats(State(arrivals): State<Arrivals>) -> axum::Json<Value> {
    let all = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    axum::Json(json!({"count": all.len(), "arrivals_ms": all}))
}

async fn clear(State(arrivals): State<Arrivals>) -> StatusCode {
    if let Ok(mut all) = arrivals.lock() {
        all.clear();
    }
    StatusCode::NO_CONTENT
}

async fn run(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("receiver listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/stats", get(stats).delete(clear))
        .fallback(post(receive))
        .with_state(Arrivals::default());
    axum::serve(listener, app).await
}

fn main() -> ExitCode {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = match arg.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: bad listen address {arg:?}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
