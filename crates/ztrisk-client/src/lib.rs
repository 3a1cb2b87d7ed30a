//! A typed async client of Cloudflare's Zero Trust risk scoring API (`zt_risk_scoring`), for
//! Cloudflare itself and for [ztrisk](https://example.invalid/ztrisk) alike.
//!
//! The resource tree and the configuration follow Cloudflare's official SDKs, so their
//! documentation translates line by line:
//!
//! ```no_run
//! use ztrisk_client::Client;
//! use ztrisk_client::types::{BehaviourUpdateParams, RiskLevel};
//!
//! # async fn run() -> Result<(), ztrisk_client::Error> {
//! // CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL), CLOUDFLARE_BASE_URL
//! let client = Client::from_env()?;
//! let behaviour = client
//!     .zero_trust()
//!     .risk_scoring()
//!     .behaviours()
//!     .update(
//!         "account_id",
//!         BehaviourUpdateParams::new().behavior("foo", true, RiskLevel::Low),
//!     )
//!     .await?;
//! println!("{:?}", behaviour.behaviors);
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! All eleven Cloudflare endpoints, plus ztrisk's event ingestion, webhooks, deliveries and
//! token verification (see [`resources`] for the paths):
//!
//! | call | endpoint |
//! |---|---|
//! | `risk_scoring().behaviours().get(a)` / `.update(a, p)` | GET / PUT `/behaviors` |
//! | `risk_scoring().summary().get(a)` / `.get_with(a, p)` | GET `/summary` |
//! | `risk_scoring().get(a, user)` / `.get_with(a, user, p)` | GET `/{user_id}` |
//! | `risk_scoring().reset(a, user)` | POST `/{user_id}/reset` |
//! | `risk_scoring().integrations().list / create / get / update / delete` | `/integrations[/{id}]` |
//! | `risk_scoring().integrations().references().get(a, reference)` | GET `/integrations/reference_id/{ref}` |
//! | `risk_scoring().integrations().deliveries(a, id, p)` | GET `/integrations/{id}/deliveries` (ztrisk) |
//! | `risk_scoring().webhooks().list / create / get / update / delete` | `/webhooks[/{id}]` (ztrisk) |
//! | `risk_scoring().webhooks().test(a, id)` | POST `/webhooks/{id}/test` (ztrisk) |
//! | `risk_scoring().webhooks().deliveries(a, id, p)` | GET `/webhooks/{id}/deliveries` (ztrisk) |
//! | `risk_scoring().events().ingest(a, events)` / `.ingest_raw(...)` | POST `/events` (ztrisk) |
//! | `user().tokens().verify()` | GET `/user/tokens/verify` |
//!
//! # Configuration
//!
//! | builder method | environment ([`ClientBuilder::from_env`]) | default |
//! |---|---|---|
//! | [`api_token`](ClientBuilder::api_token) | `CLOUDFLARE_API_TOKEN` | |
//! | [`api_key`](ClientBuilder::api_key) + [`api_email`](ClientBuilder::api_email) | `CLOUDFLARE_API_KEY`, `CLOUDFLARE_EMAIL` | |
//! | [`base_url`](ClientBuilder::base_url) | `CLOUDFLARE_BASE_URL` | `https://api.cloudflare.com/client/v4` |
//! | [`max_retries`](ClientBuilder::max_retries) | | 2 |
//! | [`timeout`](ClientBuilder::timeout) / [`connect_timeout`](ClientBuilder::connect_timeout) | | 60 s / 5 s |
//!
//! A token wins over a global key when both are set. A local ztrisk answers at
//! `http://127.0.0.1:8787/client/v4` (or at the root, `http://127.0.0.1:8787`).
//!
//! # Retries
//!
//! As in the official SDKs: connection errors, timeouts, 408, 409, 429 and 5xx are retried
//! (2 times by default). The wait is the server's `Retry-After` (or `retry-after-ms`) when it is
//! between 0 and 60 s, otherwise exponential backoff from 0.5 s to at most 8 s, with up to 25 %
//! jitter. A server can force or forbid a retry with `x-should-retry: true|false`.
//!
//! # Errors
//!
//! A refusal is an [`Error::Api`] carrying an [`ApiError`]: the HTTP status and every item of
//! `errors`, each with its Cloudflare `code`, `message`, `source.pointer` (the request field at
//! fault) and `error_chain`. Decoding is lenient: missing `messages` or `result_info`, `null`
//! lists, levels and times are accepted.
//!
//! ```no_run
//! # async fn run(client: ztrisk_client::Client) {
//! use ztrisk_client::{ApiErrorKind, Error};
//! match client.zero_trust().risk_scoring().get("account_id", "user_id").await {
//!     Ok(user) => println!("{} is at {:?}", user.email, user.risk_level),
//!     Err(Error::Api(e)) if e.kind() == ApiErrorKind::NotFound => println!("no such user"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! # }
//! ```

#![warn(missing_docs)]

mod client;
mod error;
pub mod resources;
pub mod retry;
pub mod types;

pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT, ENV_API_KEY, ENV_API_TOKEN, ENV_BASE_URL, ENV_EMAIL, Paged,
};
pub use error::{ApiError, ApiErrorKind, Error, describe_item};
pub use reqwest;
