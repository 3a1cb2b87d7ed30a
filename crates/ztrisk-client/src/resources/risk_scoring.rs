use super::{Audit, Behaviours, Events, Integrations, Summary, Webhooks, scoring_path};
use crate::Client;
use crate::client::{Paged, Request, segment};
use crate::error::Error;
use crate::types::{UserParams, UserRiskResult};
use reqwest::Method;
use serde::de::IgnoredAny;

/// User risk scoring (`client.zero_trust().risk_scoring()`).
#[derive(Debug, Clone, Copy)]
pub struct RiskScoring<'a> {
    client: &'a Client,
}

impl<'a> RiskScoring<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Behavior configuration: `behaviours().get()` and `.update()`.
    pub fn behaviours(&self) -> Behaviours<'a> {
        Behaviours::new(self.client)
    }

    /// The risk summary of an account's users.
    pub fn summary(&self) -> Summary<'a> {
        Summary::new(self.client)
    }

    /// Integrations exporting risk changes (Okta).
    pub fn integrations(&self) -> Integrations<'a> {
        Integrations::new(self.client)
    }

    /// Webhooks receiving users' level changes (a ztrisk addition, not a Cloudflare endpoint).
    pub fn webhooks(&self) -> Webhooks<'a> {
        Webhooks::new(self.client)
    }

    /// Security events in (a ztrisk addition, not a Cloudflare endpoint).
    pub fn events(&self) -> Events<'a> {
        Events::new(self.client)
    }

    /// The audit log: who changed what, and when (a ztrisk addition, not a Cloudflare
    /// endpoint).
    pub fn audit(&self) -> Audit<'a> {
        Audit::new(self.client)
    }

    /// A user's risk level and risk events since the last reset
    /// (GET `/accounts/{account_id}/zt_risk_scoring/{user_id}`; needs `Zero Trust: PII Read`).
    ///
    /// A user the server has never seen is a 404 [`Error::Api`] with code 1404.
    pub async fn get(&self, account_id: &str, user_id: &str) -> Result<UserRiskResult, Error> {
        Ok(self
            .get_with(account_id, user_id, UserParams::default())
            .await?
            .result)
    }

    /// [`get`](Self::get) with paging and order of the events; with `page` or `per_page`
    /// the answer carries `result_info`.
    pub async fn get_with(
        &self,
        account_id: &str,
        user_id: &str,
        params: UserParams,
    ) -> Result<Paged<UserRiskResult>, Error> {
        let path = scoring_path(account_id, &format!("/{}", segment("user_id", user_id)?))?;
        let request = Request::new(Method::GET, path)
            .paging(params.page, params.per_page)
            .query("order_by", params.order_by.map(|o| o.as_str().to_owned()))
            .query("direction", params.direction.map(|d| d.as_str().to_owned()));
        self.client.send(request).await
    }

    /// Resets a user's risk: the level becomes unscored and the user leaves the summary until
    /// a new risk event (POST `.../{user_id}/reset`; needs `Zero Trust Write`). Idempotent.
    pub async fn reset(&self, account_id: &str, user_id: &str) -> Result<(), Error> {
        let path = scoring_path(
            account_id,
            &format!("/{}/reset", segment("user_id", user_id)?),
        )?;
        self.client
            .send::<IgnoredAny>(Request::new(Method::POST, path))
            .await
            .map(|_| ())
    }

    /// Records that an administrator confirmed the user compromised: a risk event at `high`
    /// with `reason` and the acting credential as evidence, until the next reset (POST
    /// `.../{user_id}/confirm_compromised`; needs `Zero Trust Write`). A ztrisk addition.
    pub async fn confirm_compromised(
        &self,
        account_id: &str,
        user_id: &str,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let path = scoring_path(
            account_id,
            &format!("/{}/confirm_compromised", segment("user_id", user_id)?),
        )?;
        let request =
            Request::new(Method::POST, path).json(&serde_json::json!({ "reason": reason }))?;
        self.client.send::<IgnoredAny>(request).await.map(|_| ())
    }
}
