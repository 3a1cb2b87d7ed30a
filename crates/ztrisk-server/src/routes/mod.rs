//! One module per resource. Paths are relative to the API root (`/` or `/client/v4`).
//!
//! Routes are registered through [`Api`], which records each (method, path); a test checks
//! the record against the permissions table ([`crate::auth::operations::ROUTES`]).

mod audit;
pub mod behaviors;
pub mod decision;
pub mod discovery;
pub mod docs;
mod events;
mod ingest;
mod integrations;
pub mod ops;
pub mod ssf;
mod tokens;
pub mod users;
mod webhooks;

use crate::app::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, RawPathParams};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use uuid::Uuid;

/// The router being built, and what it serves.
pub struct Api {
    router: Router<AppState>,
    served: Vec<(Method, &'static str)>,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    fn new() -> Self {
        Self {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// Serves `handler` for `method` on `path`.
    fn route<H, T>(self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.route_limited(method, path, handler, None)
    }

    /// The same, with a body limit of its own instead of the server's default.
    fn route_limited<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        handler: H,
        body_limit: Option<usize>,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let Ok(filter) = MethodFilter::try_from(method.clone()) else {
            // Only the standard methods are ever passed here; an exotic one serves nothing.
            return self;
        };
        let mut method_router = on(filter, handler);
        if let Some(limit) = body_limit {
            method_router = method_router.layer(DefaultBodyLimit::max(limit));
        }
        self.router = self.router.route(path, method_router);
        self.served.push((method, path));
        self
    }

    /// The (method, path) pairs served, in registration order.
    #[cfg(test)]
    pub fn served(&self) -> &[(Method, &'static str)] {
        &self.served
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// Every route of the API, credentials required (the operations endpoints are in [`ops`]).
pub fn api() -> Api {
    let api = Api::new();
    let api = audit::routes(api);
    let api = behaviors::routes(api);
    let api = decision::routes(api);
    let api = events::routes(api);
    let api = ingest::routes(api);
    let api = integrations::routes(api);
    let api = users::routes(api);
    let api = webhooks::routes(api);
    tokens::routes(api)
}

/// A UUID path segment; anything else means there is no such route (404, 7003/7000).
pub fn uuid_param(params: &RawPathParams, name: &str, uri: &OriginalUri) -> Result<Uuid, ApiError> {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, value)| Uuid::parse_str(value).ok())
        .ok_or_else(|| ApiError::NoRoute(uri.0.path().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::operations::ROUTES;
    use std::collections::HashSet;

    /// A route registered without a row in the permissions table (or a row left behind by a
    /// removed route) fails here.
    #[test]
    fn served_routes_are_exactly_the_permissions_table() {
        let mut served: HashSet<(Method, &str)> = api().served().iter().cloned().collect();
        served.extend(ops::routes(Api::new()).served().iter().cloned());
        served.extend(discovery::routes(Api::new()).served().iter().cloned());
        served.extend(ssf::routes(Api::new()).served().iter().cloned());
        served.extend(docs::routes(Api::new()).served().iter().cloned());
        let table: HashSet<(Method, &str)> =
            ROUTES.iter().map(|r| (r.method.clone(), r.path)).collect();
        let missing: Vec<_> = served.difference(&table).collect();
        let stale: Vec<_> = table.difference(&served).collect();
        assert!(missing.is_empty(), "routes without a decision: {missing:?}");
        assert!(stale.is_empty(), "decisions without a route: {stale:?}");
    }
}
