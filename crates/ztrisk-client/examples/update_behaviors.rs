//! The seed example of Cloudflare's API reference, "Update configuration for risk behaviors",
//! in Rust.
//!
//! ```sh
//! export CLOUDFLARE_API_TOKEN=...                                # printed by `ztrisk serve`
//! export CLOUDFLARE_BASE_URL=http://127.0.0.1:8787/client/v4     # default: Cloudflare itself
//! export CLOUDFLARE_ACCOUNT_ID=...                               # printed by `ztrisk serve`
//! cargo run --example update_behaviors
//! ```

use ztrisk_client::Client;
use ztrisk_client::types::{BehaviourUpdateParams, RiskLevel};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account_id = std::env::var("CLOUDFLARE_ACCOUNT_ID")
        .map_err(|_| "set CLOUDFLARE_ACCOUNT_ID to your account id (32 hex characters)")?;

    // Reads CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL) and
    // CLOUDFLARE_BASE_URL, like `Cloudflare()` in the official SDKs.
    let client = Client::from_env()?;

    let behaviour = client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .update(
            &account_id,
            BehaviourUpdateParams::new().behavior("foo", true, RiskLevel::Low),
        )
        .await?;

    // Python: print(behaviour.behaviors)
    for (id, behavior) in behaviour.iter() {
        println!(
            "{id}: enabled={} risk_level={}",
            behavior.enabled, behavior.risk_level
        );
    }
    Ok(())
}
