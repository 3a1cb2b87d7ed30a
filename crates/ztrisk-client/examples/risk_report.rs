//! Prints every scored user of an account with their risk events, then the integrations.
//!
//! ```sh
//! CLOUDFLARE_API_TOKEN=... CLOUDFLARE_BASE_URL=http://127.0.0.1:8787/client/v4 \
//! CLOUDFLARE_ACCOUNT_ID=... cargo run --example risk_report
//! ```

use ztrisk_client::types::{Direction, SummaryOrder, SummaryParams};
use ztrisk_client::{ApiErrorKind, Client, Error};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account_id = std::env::var("CLOUDFLARE_ACCOUNT_ID")
        .map_err(|_| "set CLOUDFLARE_ACCOUNT_ID to your account id (32 hex characters)")?;
    let client = Client::from_env()?;
    let risk = client.zero_trust().risk_scoring();

    let params = SummaryParams {
        order_by: Some(SummaryOrder::MaxRiskLevel),
        direction: Some(Direction::Desc),
        ..SummaryParams::default()
    };
    let summary = risk.summary().get_with(&account_id, params).await?.result;
    println!("{} users at risk", summary.users.len());
    for entry in &summary.users {
        let level = entry.max_risk_level.map_or("-", |l| l.as_str());
        println!(
            "{level:<6} {} ({} risk events)",
            entry.email, entry.event_count
        );
        match risk.get(&account_id, &entry.user_id).await {
            Ok(user) => {
                for event in user.events.iter().take(3) {
                    println!("         {} {}", event.timestamp.to_rfc3339(), event.name);
                }
            }
            Err(Error::Api(e)) if e.kind() == ApiErrorKind::PermissionDenied => {
                return Err("the token needs the \"Zero Trust: PII Read\" permission".into());
            }
            Err(e) => return Err(e.into()),
        }
    }

    for integration in risk.integrations().list(&account_id).await? {
        println!(
            "integration {} {} active={}",
            integration.id, integration.tenant_url, integration.active
        );
    }
    Ok(())
}
