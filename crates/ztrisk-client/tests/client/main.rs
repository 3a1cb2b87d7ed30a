//! ztrisk-client end to end: every endpoint against a live ztrisk on a random port (webhooks
//! and deliveries with a loopback receiver), retries and backoff against a scripted server,
//! and decoding of real Cloudflare bodies (one test binary: linking is slow).

mod decoding;
mod endpoints;
mod retries;
mod support;
mod webhooks;
