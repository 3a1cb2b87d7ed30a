use super::scoring_path;
use crate::Client;
use crate::client::{Paged, Request};
use crate::error::Error;
use crate::types::{SummaryParams, SummaryResult};
use reqwest::Method;

/// The risk summary (`risk_scoring().summary()`).
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    client: &'a Client,
}

impl<'a> Summary<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every user with risk events since their last reset (GET `/summary`; needs
    /// `Zero Trust: PII Read`).
    pub async fn get(&self, account_id: &str) -> Result<SummaryResult, Error> {
        Ok(self
            .get_with(account_id, SummaryParams::default())
            .await?
            .result)
    }

    /// [`get`](Self::get) with paging and order; with `page` or `per_page` the answer carries
    /// `result_info`.
    pub async fn get_with(
        &self,
        account_id: &str,
        params: SummaryParams,
    ) -> Result<Paged<SummaryResult>, Error> {
        let path = scoring_path(account_id, "/summary")?;
        let request = Request::new(Method::GET, path)
            .paging(params.page, params.per_page)
            .query("order_by", params.order_by.map(|o| o.as_str().to_owned()))
            .query("direction", params.direction.map(|d| d.as_str().to_owned()));
        self.client.send(request).await
    }
}
