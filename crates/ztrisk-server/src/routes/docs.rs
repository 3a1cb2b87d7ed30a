//! The API's description (spec 7): `/openapi.json`, generated at each request from the routes
//! and the wire types ([`crate::openapi`]), and `/docs`, a page that renders it with Swagger UI,
//! whose assets are compiled into the binary (vendored by `scripts/vendor-docs`): no network
//! at build or run time, no CDN.

use super::Api;
use crate::app::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use std::io::Read;

pub const OPENAPI: &str = "/openapi.json";
pub const DOCS: &str = "/docs";
const BUNDLE: &str = "/docs/swagger-ui-bundle.js";
const STYLE: &str = "/docs/swagger-ui.css";
const INIT: &str = "/docs/init.js";

const BUNDLE_GZ: &[u8] = include_bytes!("../../assets/docs/swagger-ui-bundle.js.gz");
const STYLE_GZ: &[u8] = include_bytes!("../../assets/docs/swagger-ui.css.gz");

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, OPENAPI, openapi)
        .route(Method::GET, DOCS, page)
        .route(Method::GET, BUNDLE, bundle)
        .route(Method::GET, STYLE, style)
        .route(Method::GET, INIT, init)
}

async fn openapi(State(state): State<AppState>) -> Response {
    Json(crate::openapi::document(&state.config.public_url)).into_response()
}

/// The page: no inline script, so a strict Content-Security-Policy holds.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ztrisk API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"#;

const INIT_JS: &str = r##"window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", deepLinking: true });
});
"##;

/// Swagger UI styles elements inline; everything else comes from this server only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'none'";

async fn page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

async fn init() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        INIT_JS.as_bytes().to_vec(),
        false,
    )
}

async fn bundle(headers: HeaderMap) -> Response {
    gzipped(&headers, "text/javascript; charset=utf-8", BUNDLE_GZ)
}

async fn style(headers: HeaderMap) -> Response {
    gzipped(&headers, "text/css; charset=utf-8", STYLE_GZ)
}

/// A gzipped asset as is to clients that accept gzip (every browser), inflated for others.
fn gzipped(headers: &HeaderMap, content_type: &'static str, gz: &'static [u8]) -> Response {
    let accepts_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if accepts_gzip {
        return asset(content_type, gz.to_vec(), true);
    }
    let mut plain = Vec::new();
    match flate2::read::GzDecoder::new(gz).read_to_end(&mut plain) {
        Ok(_) => asset(content_type, plain, false),
        Err(e) => crate::error::ApiError::Internal(format!("docs asset: {e}")).into_response(),
    }
}

fn asset(content_type: &'static str, body: Vec<u8>, gzip: bool) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}
