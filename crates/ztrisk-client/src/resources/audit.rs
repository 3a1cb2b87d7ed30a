use super::scoring_path;
use crate::Client;
use crate::client::{Paged, Request};
use crate::error::Error;
use crate::types::{AuditEntry, AuditParams};
use chrono::SecondsFormat;
use reqwest::Method;

/// The audit log (`risk_scoring().audit()`; a ztrisk addition, not a Cloudflare endpoint).
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    client: &'a Client,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// The account's changes made with a credential or the CLI, newest first: who, what,
    /// which target (GET `/audit`; needs `Zero Trust: PII Read`). Always paged (25 a page by
    /// default), with `result_info`.
    pub async fn list(
        &self,
        account_id: &str,
        params: AuditParams,
    ) -> Result<Paged<Vec<AuditEntry>>, Error> {
        let path = scoring_path(account_id, "/audit")?;
        let request = Request::new(Method::GET, path)
            .paging(params.page, params.per_page)
            .query(
                "since",
                params
                    .since
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .query("action", params.action.map(|a| a.as_str().to_owned()));
        let page = self.client.send::<Option<Vec<AuditEntry>>>(request).await?;
        Ok(Paged {
            result: page.result.unwrap_or_default(),
            result_info: page.result_info,
        })
    }
}
