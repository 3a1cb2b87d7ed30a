use super::{deliveries, scoring_path};
use crate::Client;
use crate::client::{Paged, Request, segment};
use crate::error::Error;
use crate::types::{DeliveriesParams, Delivery, Webhook, WebhookFields, WebhookTestResult};
use reqwest::Method;
use serde::de::IgnoredAny;

/// Webhooks (`risk_scoring().webhooks()`): a ztrisk addition, not a Cloudflare endpoint.
/// Each level change of a user is POSTed to the webhook's URL, signed as Standard Webhooks
/// describe (or as a Slack message). Reads need `Zero Trust Read` or `Zero Trust Write`;
/// changes and tests need `Zero Trust Write`.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    client: &'a Client,
}

fn item_path(account_id: &str, webhook_id: &str, rest: &str) -> Result<String, Error> {
    scoring_path(
        account_id,
        &format!("/webhooks/{}{rest}", segment("webhook_id", webhook_id)?),
    )
}

impl<'a> Webhooks<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The account's webhooks, without their secrets (GET `/webhooks`).
    pub async fn list(&self, account_id: &str) -> Result<Vec<Webhook>, Error> {
        let path = scoring_path(account_id, "/webhooks")?;
        Ok(self
            .client
            .send::<Option<Vec<Webhook>>>(Request::new(Method::GET, path))
            .await?
            .result
            .unwrap_or_default())
    }

    /// Creates a webhook (POST `/webhooks`). The answer is the only one that carries the
    /// signing [`secret`](Webhook::secret) (`whsec_...`): keep it. A `url` that is not
    /// `https://` (or `http://` to a loopback host) is a 400 [`Error::Api`] (code 1001, pointer
    /// `/url`).
    ///
    /// ```no_run
    /// # async fn f(client: ztrisk_client::Client) -> Result<(), ztrisk_client::Error> {
    /// use ztrisk_client::types::{RiskLevel, WebhookCreateParams};
    /// let params = WebhookCreateParams {
    ///     min_level: Some(RiskLevel::High),
    ///     ..WebhookCreateParams::new("https://hooks.example.com/risk")
    /// };
    /// let hook = client.zero_trust().risk_scoring().webhooks().create("account_id", params).await?;
    /// println!("{} signs with {}", hook.id, hook.secret.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, account_id: &str, params: WebhookFields) -> Result<Webhook, Error> {
        let path = scoring_path(account_id, "/webhooks")?;
        let request = Request::new(Method::POST, path).json(&params)?;
        self.client.result(request).await
    }

    /// One webhook (GET `/webhooks/{webhook_id}`); an unknown id is a 404 [`Error::Api`]
    /// (code 1404).
    pub async fn get(&self, account_id: &str, webhook_id: &str) -> Result<Webhook, Error> {
        let path = item_path(account_id, webhook_id, "")?;
        self.client.result(Request::new(Method::GET, path)).await
    }

    /// Overwrites a webhook's `url`, `active`, `format` and `min_level` (PUT
    /// `/webhooks/{webhook_id}`): a field left `None` takes its default, so send the current
    /// values of those that should not change. The secret stays.
    pub async fn update(
        &self,
        account_id: &str,
        webhook_id: &str,
        params: WebhookFields,
    ) -> Result<Webhook, Error> {
        let path = item_path(account_id, webhook_id, "")?;
        let request = Request::new(Method::PUT, path).json(&params)?;
        self.client.result(request).await
    }

    /// Deletes a webhook and its deliveries (DELETE `/webhooks/{webhook_id}`).
    pub async fn delete(&self, account_id: &str, webhook_id: &str) -> Result<(), Error> {
        let path = item_path(account_id, webhook_id, "")?;
        self.client
            .send::<IgnoredAny>(Request::new(Method::DELETE, path))
            .await
            .map(|_| ())
    }

    /// Sends a signed `webhook.test` to the webhook's URL now and says how the receiver
    /// answered (POST `/webhooks/{webhook_id}/test`). A receiver that refuses or cannot be
    /// reached is not an error: see [`WebhookTestResult::delivered`].
    pub async fn test(
        &self,
        account_id: &str,
        webhook_id: &str,
    ) -> Result<WebhookTestResult, Error> {
        let path = item_path(account_id, webhook_id, "/test")?;
        self.client.result(Request::new(Method::POST, path)).await
    }

    /// The webhook's deliveries, newest first, with `result_info`
    /// (GET `/webhooks/{webhook_id}/deliveries`).
    pub async fn deliveries(
        &self,
        account_id: &str,
        webhook_id: &str,
        params: DeliveriesParams,
    ) -> Result<Paged<Vec<Delivery>>, Error> {
        let path = item_path(account_id, webhook_id, "/deliveries")?;
        deliveries(self.client, path, params).await
    }
}
