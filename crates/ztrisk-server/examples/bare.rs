//! A bare axum JSON endpoint: the baseline that `bench/behaviors.sh` compares ztrisk against.
//!
//! Same stack as the real server (axum 0.8 on a multi-thread tokio runtime) and the same path
//! shape, but one route, no middleware, no authentication and no storage.
//!
//! ```text
//! cargo run --release -p ztrisk-server --example bare -- 127.0.0.1:8788
//! ```

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::ExitCode;

const DEFAULT_LISTEN: &str = "127.0.0.1:8788";

async fn behaviors() -> axum::Json<Value> {
    axum::Json(json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": {"ok": true},
    }))
}

async fn run(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("bare listening on http://{}", listener.local_addr()?);
    let app = Router::new().route(
        "/client/v4/accounts/{account_id}/zt_risk_scoring/behaviors",
        get(behaviors),
    );
    axum::serve(listener, app).await
}

fn main() -> ExitCode {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let addr: SocketAddr = match arg.parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: bad listen address {arg:?}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
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
