//! The resource tree, mirroring the official SDKs:
//!
//! ```text
//! client.zero_trust().risk_scoring()
//!     .get(account_id, user_id)                    GET  /accounts/{a}/zt_risk_scoring/{user_id}
//!     .reset(account_id, user_id)                  POST /accounts/{a}/zt_risk_scoring/{user_id}/reset
//!     .behaviours().get(account_id)                GET  .../behaviors
//!     .behaviours().update(account_id, params)     PUT  .../behaviors
//!     .summary().get(account_id)                   GET  .../summary
//!     .integrations().create(account_id, params)   POST .../integrations
//!     .integrations().list(account_id)             GET  .../integrations
//!     .integrations().get(account_id, id)          GET  .../integrations/{id}
//!     .integrations().update(account_id, id, p)    PUT  .../integrations/{id}
//!     .integrations().delete(account_id, id)       DELETE .../integrations/{id}
//!     .integrations().references().get(a, ref)     GET  .../integrations/reference_id/{ref}
//!     .integrations().deliveries(a, id, paging)    GET  .../integrations/{id}/deliveries (ztrisk)
//!     .webhooks().list(account_id)                 GET  .../webhooks (ztrisk)
//!     .webhooks().create(account_id, params)       POST .../webhooks
//!     .webhooks().get(account_id, id)              GET  .../webhooks/{id}
//!     .webhooks().update(account_id, id, params)   PUT  .../webhooks/{id}
//!     .webhooks().delete(account_id, id)           DELETE .../webhooks/{id}
//!     .webhooks().test(account_id, id)             POST .../webhooks/{id}/test
//!     .webhooks().deliveries(a, id, paging)        GET  .../webhooks/{id}/deliveries
//!     .events().ingest(account_id, events)         POST .../events (ztrisk)
//!     .events().ingest_source(a, source, body, ..) POST .../ingest/{source} (ztrisk)
//!     .audit().list(account_id, params)            GET  .../audit (ztrisk)
//! client.user().tokens().verify()                  GET  /user/tokens/verify
//! ```

mod audit;
mod behaviours;
mod events;
mod integrations;
mod risk_scoring;
mod summary;
mod user;
mod webhooks;

pub use audit::Audit;
pub use behaviours::Behaviours;
pub use events::{ContentEncoding, Events, EventsFormat, IngestSource, LogpushDataset};
pub use integrations::{Integrations, References};
pub use risk_scoring::RiskScoring;
pub use summary::Summary;
pub use user::{Tokens, User};
pub use webhooks::Webhooks;

use crate::Client;
use crate::client::{Paged, Request, segment};
use crate::error::Error;
use crate::types::{DeliveriesParams, Delivery};
use reqwest::Method;

/// Zero Trust resources (`client.zero_trust()`).
#[derive(Debug, Clone, Copy)]
pub struct ZeroTrust<'a> {
    client: &'a Client,
}

impl<'a> ZeroTrust<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// User risk scoring: behaviors, summary, users, integrations (and ztrisk's events).
    pub fn risk_scoring(&self) -> RiskScoring<'a> {
        RiskScoring::new(self.client)
    }
}

/// `/accounts/{account_id}/zt_risk_scoring` followed by `rest`, with the id checked.
pub(crate) fn scoring_path(account_id: &str, rest: &str) -> Result<String, Error> {
    Ok(format!(
        "/accounts/{}/zt_risk_scoring{rest}",
        segment("account_id", account_id)?
    ))
}

/// GET `path` (a destination's `/deliveries`) with paging.
pub(crate) async fn deliveries(
    client: &Client,
    path: String,
    params: DeliveriesParams,
) -> Result<Paged<Vec<Delivery>>, Error> {
    let request = Request::new(Method::GET, path).paging(params.page, params.per_page);
    let page = client.send::<Option<Vec<Delivery>>>(request).await?;
    Ok(Paged {
        result: page.result.unwrap_or_default(),
        result_info: page.result_info,
    })
}
