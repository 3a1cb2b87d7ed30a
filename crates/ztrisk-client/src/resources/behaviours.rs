use super::scoring_path;
use crate::Client;
use crate::client::Request;
use crate::error::Error;
use crate::types::{Behaviors, BehaviorsUpdate};
use reqwest::Method;

/// Behavior configuration (`risk_scoring().behaviours()`).
#[derive(Debug, Clone, Copy)]
pub struct Behaviours<'a> {
    client: &'a Client,
}

impl<'a> Behaviours<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every behavior of the account with its configuration (GET `/behaviors`; needs
    /// `Zero Trust Read` or `Zero Trust Write`).
    pub async fn get(&self, account_id: &str) -> Result<Behaviors, Error> {
        let path = scoring_path(account_id, "/behaviors")?;
        self.client.result(Request::new(Method::GET, path)).await
    }

    /// Sets the behaviors named in `params`; the others keep their settings (PUT `/behaviors`;
    /// needs `Zero Trust Write`). The update is atomic: one invalid entry changes nothing, and
    /// the [`Error::Api`] lists every problem with its pointer.
    ///
    /// ```no_run
    /// # async fn f(client: ztrisk_client::Client) -> Result<(), ztrisk_client::Error> {
    /// use ztrisk_client::types::{BehaviourUpdateParams, RiskLevel};
    /// let behaviour = client
    ///     .zero_trust()
    ///     .risk_scoring()
    ///     .behaviours()
    ///     .update("account_id", BehaviourUpdateParams::new().behavior("foo", true, RiskLevel::Low))
    ///     .await?;
    /// println!("{:?}", behaviour.behaviors);
    /// # Ok(()) }
    /// ```
    pub async fn update(
        &self,
        account_id: &str,
        params: BehaviorsUpdate,
    ) -> Result<Behaviors, Error> {
        let path = scoring_path(account_id, "/behaviors")?;
        let request = Request::new(Method::PUT, path).json(&params)?;
        self.client.result(request).await
    }
}
