use super::{deliveries, scoring_path};
use crate::Client;
use crate::client::{Paged, Request, segment};
use crate::error::Error;
use crate::types::{
    DeliveriesParams, Delivery, Integration, IntegrationCreate, IntegrationStream,
    IntegrationUpdate,
};
use reqwest::Method;
use serde::de::IgnoredAny;

/// Integrations (`risk_scoring().integrations()`). Reads need `Zero Trust Read` or
/// `Zero Trust Write`; changes need `Zero Trust Write`.
#[derive(Debug, Clone, Copy)]
pub struct Integrations<'a> {
    client: &'a Client,
}

fn item_path(account_id: &str, integration_id: &str) -> Result<String, Error> {
    scoring_path(
        account_id,
        &format!(
            "/integrations/{}",
            segment("integration_id", integration_id)?
        ),
    )
}

impl<'a> Integrations<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Lookups by reference id: `integrations().references().get()`.
    pub fn references(&self) -> References<'a> {
        References {
            client: self.client,
        }
    }

    /// Creates an integration, active (POST `/integrations`). A non-empty `reference_id`
    /// already used in the account is a 409 [`Error::Api`] (code 1409).
    pub async fn create(
        &self,
        account_id: &str,
        params: IntegrationCreate,
    ) -> Result<Integration, Error> {
        let path = scoring_path(account_id, "/integrations")?;
        let request = Request::new(Method::POST, path).json(&params)?;
        self.client.result(request).await
    }

    /// The account's integrations (GET `/integrations`).
    pub async fn list(&self, account_id: &str) -> Result<Vec<Integration>, Error> {
        let path = scoring_path(account_id, "/integrations")?;
        Ok(self
            .client
            .send::<Option<Vec<Integration>>>(Request::new(Method::GET, path))
            .await?
            .result
            .unwrap_or_default())
    }

    /// One integration (GET `/integrations/{integration_id}`); an unknown id is a 404
    /// [`Error::Api`] (code 1404).
    pub async fn get(&self, account_id: &str, integration_id: &str) -> Result<Integration, Error> {
        let path = item_path(account_id, integration_id)?;
        self.client.result(Request::new(Method::GET, path)).await
    }

    /// Overwrites `active`, `tenant_url` and `reference_id` (PUT
    /// `/integrations/{integration_id}`); a `None` reference id becomes `""`.
    pub async fn update(
        &self,
        account_id: &str,
        integration_id: &str,
        params: IntegrationUpdate,
    ) -> Result<Integration, Error> {
        let path = item_path(account_id, integration_id)?;
        let request = Request::new(Method::PUT, path).json(&params)?;
        self.client.result(request).await
    }

    /// Deletes an integration (DELETE `/integrations/{integration_id}`).
    pub async fn delete(&self, account_id: &str, integration_id: &str) -> Result<(), Error> {
        let path = item_path(account_id, integration_id)?;
        self.client
            .send::<IgnoredAny>(Request::new(Method::DELETE, path))
            .await
            .map(|_| ())
    }

    /// An SSF integration's stream as its receiver configured it, with its status and what it
    /// has not delivered yet (GET `/integrations/{integration_id}/stream`; a ztrisk addition).
    /// An integration without a stream is a 404 [`Error::Api`] (code 1404).
    pub async fn stream(
        &self,
        account_id: &str,
        integration_id: &str,
    ) -> Result<IntegrationStream, Error> {
        let path = item_path(account_id, integration_id)? + "/stream";
        self.client.result(Request::new(Method::GET, path)).await
    }

    /// The Security Event Tokens sent to the integration's tenant, newest first, with
    /// `result_info` (GET `/integrations/{integration_id}/deliveries`; a ztrisk addition).
    ///
    /// ```no_run
    /// # async fn f(client: ztrisk_client::Client) -> Result<(), ztrisk_client::Error> {
    /// use ztrisk_client::types::DeliveriesParams;
    /// let page = client
    ///     .zero_trust()
    ///     .risk_scoring()
    ///     .integrations()
    ///     .deliveries("account_id", "integration_id", DeliveriesParams::default())
    ///     .await?;
    /// for d in page.result {
    ///     println!("{} {} {} ({} attempts)", d.created_at, d.email, d.status, d.attempts);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn deliveries(
        &self,
        account_id: &str,
        integration_id: &str,
        params: DeliveriesParams,
    ) -> Result<Paged<Vec<Delivery>>, Error> {
        let path = item_path(account_id, integration_id)? + "/deliveries";
        deliveries(self.client, path, params).await
    }
}

/// Lookups by reference id (`integrations().references()`).
#[derive(Debug, Clone, Copy)]
pub struct References<'a> {
    client: &'a Client,
}

impl References<'_> {
    /// The integration whose `reference_id` is `reference_id`
    /// (GET `/integrations/reference_id/{reference_id}`).
    pub async fn get(&self, account_id: &str, reference_id: &str) -> Result<Integration, Error> {
        let path = scoring_path(
            account_id,
            &format!(
                "/integrations/reference_id/{}",
                segment("reference_id", reference_id)?
            ),
        )?;
        self.client.result(Request::new(Method::GET, path)).await
    }
}
