//! The audit log (spec 7): GET `/audit`, the account's changes made with a credential or the
//! CLI, newest first. The store writes the entries; this only reads them.

use super::Api;
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::ReadAudit;
use crate::error::ApiError;
use crate::query::{self, Problems};
use crate::response::ok_paged;
use crate::views;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::Response;
use ztrisk_store::model::{AuditAction, AuditQuery, Paging};

const AUDIT: &str = "/accounts/{account_id}/zt_risk_scoring/audit";

pub(super) fn routes(api: Api) -> Api {
    api.route(Method::GET, AUDIT, list)
}

/// Always paged (default 25 a page); `since` (RFC 3339, inclusive) and `action` (one of the
/// vocabulary, which a 400 lists) narrow it.
async fn list(
    State(state): State<AppState>,
    access: AccountAccess<ReadAudit>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query::parse(raw.as_deref())?;
    let mut problems = Problems::default();
    let paging = problems.paging(&params).unwrap_or(Paging {
        page: 1,
        per_page: query::DEFAULT_PER_PAGE,
    });
    let action = problems.choice::<AuditAction>(&params, "action");
    let since = problems.time(&params, "since");
    problems.finish()?;
    let query = AuditQuery {
        since,
        action,
        paging,
    };
    let page = state.store.audit_log(access.account, query).await?;
    let items: Vec<_> = page.items.iter().map(views::audit_entry).collect();
    ok_paged(&items, views::result_info(&page, paging))
}
