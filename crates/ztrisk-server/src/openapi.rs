//! The OpenAPI 3.1 document of the API (spec 7), served at `/openapi.json`.
//!
//! Nothing here is a second copy of the API that could drift from it:
//! - the operations are the rows of the one permissions table ([`ROUTES`]): every route the
//!   server answers is in the document, with the permissions it accepts, and a route without a
//!   description below fails a test;
//! - the schemas are derived from the wire types the server serializes (`ztrisk-types` with
//!   its `openapi` feature), and every `$ref` is checked to resolve.
//!
//! What a route takes and answers (which wire type, which query parameters) is said once, in
//! [`describe`].

use crate::auth::operations::{Access, ROUTES, accepted};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ComponentsBuilder, RefOr};
use ztrisk_types as wire;

/// What a request carries.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// A JSON body of this schema.
    Json(&'static str),
    /// A JSON array of this schema.
    JsonArray(&'static str),
    /// Records as a vendor sends them (JSON array, NDJSON, gzip), described in words.
    Records(&'static str),
}

/// What a success answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// The envelope with `result` of this schema.
    Envelope(&'static str),
    /// The envelope with `result` a list of this schema.
    EnvelopeList(&'static str),
    /// The same, paged: with `result_info`.
    Paged(&'static str),
    /// This schema as is (SSF endpoints, discovery).
    Plain(&'static str),
    /// A JSON array of this schema as is.
    PlainList(&'static str),
    /// 201 with this schema as is.
    Created(&'static str),
    /// 204.
    NoContent,
    /// 200 without a body.
    Empty,
    /// Something else, of this content type (Prometheus text, HTML, a JWKS).
    Other(&'static str),
}

/// One route's description.
#[derive(Debug, Clone, Copy)]
struct Doc {
    /// Cloudflare's operationId, for its 11 operations: generators and tools that know
    /// Cloudflare's document find the same names here.
    cloudflare: Option<&'static str>,
    summary: &'static str,
    tag: &'static str,
    body: Option<Body>,
    answer: Answer,
    query: &'static [Query],
}

/// The query parameters the API knows.
#[derive(Debug, Clone, Copy)]
enum Query {
    Page,
    PerPage,
    SummaryOrder,
    EventOrder,
    Direction,
    Email,
    EmailHeader,
    Deny,
    StreamId,
    Since,
    Action,
}

const PAGING: &[Query] = &[Query::Page, Query::PerPage];
const SUMMARY: &[Query] = &[
    Query::Page,
    Query::PerPage,
    Query::SummaryOrder,
    Query::Direction,
];
const USER: &[Query] = &[
    Query::Page,
    Query::PerPage,
    Query::EventOrder,
    Query::Direction,
];
const DECISION: &[Query] = &[Query::Email, Query::EmailHeader, Query::Deny];
const STREAM_ID: &[Query] = &[Query::StreamId];
const AUDIT: &[Query] = &[Query::Page, Query::PerPage, Query::Since, Query::Action];

const fn doc(summary: &'static str, tag: &'static str, answer: Answer) -> Doc {
    Doc {
        cloudflare: None,
        summary,
        tag,
        body: None,
        answer,
        query: &[],
    }
}

impl Doc {
    const fn body(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    const fn query(mut self, query: &'static [Query]) -> Self {
        self.query = query;
        self
    }

    const fn cloudflare(mut self, operation_id: &'static str) -> Self {
        self.cloudflare = Some(operation_id);
        self
    }
}

const RISK: &str = "Risk scoring";
const INTEGRATIONS: &str = "Integrations";
const EVENTS: &str = "Events";
const WEBHOOKS: &str = "Webhooks";
const SSF: &str = "SSF streams";
const DISCOVERY: &str = "Discovery";
const OPERATIONS: &str = "Operations";

/// What each route takes and answers; `None` for a route nobody described (a test fails).
fn describe(method: &str, path: &str) -> Option<Doc> {
    use Answer::*;
    let scoring = path
        .strip_prefix("/accounts/{account_id}/zt_risk_scoring")
        .unwrap_or(path);
    let ssf = path.strip_prefix("/ssf/{integration_id}").unwrap_or(path);
    Some(match (method, path, scoring, ssf) {
        ("GET", "/healthz", ..) => doc("The process is up", OPERATIONS, Envelope("Status")),
        ("GET", "/readyz", ..) => doc("The database answers", OPERATIONS, Envelope("Status")),
        ("GET", "/metrics", ..) => doc(
            "Prometheus metrics",
            OPERATIONS,
            Other("text/plain; version=0.0.4"),
        ),
        ("GET", "/openapi.json", ..) => doc("This document", OPERATIONS, Other("application/json")),
        ("GET", "/docs", ..) => doc("This document, to read", OPERATIONS, Other("text/html")),
        ("GET", p, ..) if p.starts_with("/docs/") && p.ends_with(".css") => doc(
            "A style sheet of the /docs page",
            OPERATIONS,
            Other("text/css"),
        ),
        ("GET", p, ..) if p.starts_with("/docs/") => doc(
            "A script of the /docs page",
            OPERATIONS,
            Other("text/javascript"),
        ),
        ("GET", "/user/tokens/verify", ..) => doc(
            "Verify the token",
            OPERATIONS,
            Envelope("TokenVerifyResult"),
        ),
        ("GET", "/.well-known/jwks.json", ..) => doc(
            "The keys that sign SETs (JWKS)",
            DISCOVERY,
            Other("application/json"),
        ),
        ("GET", p, ..) if p.starts_with("/.well-known/") => doc(
            "An integration's transmitter metadata",
            DISCOVERY,
            Plain("TransmitterMetadata"),
        ),
        ("GET", _, "/behaviors", _) => doc(
            "Get all behaviors and associated configuration",
            RISK,
            Envelope("Behaviors"),
        )
        .cloudflare("dlp-risk-score-behaviors-get"),
        ("PUT", _, "/behaviors", _) => doc(
            "Update configuration for risk behaviors",
            RISK,
            Envelope("Behaviors"),
        )
        .body(Body::Json("BehaviorsUpdate"))
        .cloudflare("dlp-risk-score-behaviors-put"),
        ("GET", _, "/summary", _) => doc(
            "Get risk score info for all users in the account",
            RISK,
            Envelope("SummaryResult"),
        )
        .query(SUMMARY)
        .cloudflare("dlp-risk-score-summary-get"),
        ("GET", _, "/{user_id}", _) => doc(
            "Get risk event/score information for a specific user",
            RISK,
            Envelope("UserRiskResult"),
        )
        .query(USER)
        .cloudflare("dlp-risk-score-summary-get-for-user"),
        ("POST", _, "/{user_id}/reset", _) => doc(
            "Clear the risk score for a particular user",
            RISK,
            Envelope("Empty"),
        )
        .cloudflare("dlp-risk-score-reset-post"),
        ("POST", _, "/{user_id}/confirm_compromised", _) => {
            doc("Confirm a user compromised", RISK, Envelope("Empty"))
        }
        ("GET", _, "/decision", _) => doc(
            "May this user pass? (forward auth)",
            RISK,
            Envelope("Decision"),
        )
        .query(DECISION),
        ("GET", _, "/integrations", _) => doc(
            "List all risk score integrations for the account",
            INTEGRATIONS,
            EnvelopeList("Integration"),
        )
        .cloudflare("dlp-zt-risk-score-integration-list"),
        ("POST", _, "/integrations", _) => doc(
            "Create new risk score integration",
            INTEGRATIONS,
            Envelope("Integration"),
        )
        .body(Body::Json("IntegrationCreate"))
        .cloudflare("dlp-zt-risk-score-integration-create"),
        ("GET", _, "/integrations/{integration_id}", _) => doc(
            "Get risk score integration by id",
            INTEGRATIONS,
            Envelope("Integration"),
        )
        .cloudflare("dlp-zt-risk-score-integration-get"),
        ("PUT", _, "/integrations/{integration_id}", _) => doc(
            "Update a risk score integration",
            INTEGRATIONS,
            Envelope("Integration"),
        )
        .body(Body::Json("IntegrationUpdate"))
        .cloudflare("dlp-zt-risk-score-integration-update"),
        ("DELETE", _, "/integrations/{integration_id}", _) => doc(
            "Delete a risk score integration",
            INTEGRATIONS,
            Envelope("Empty"),
        )
        .cloudflare("dlp-zt-risk-score-integration-delete"),
        ("GET", _, "/integrations/reference_id/{reference_id}", _) => doc(
            "Get risk score integration by reference id",
            INTEGRATIONS,
            Envelope("Integration"),
        )
        .cloudflare("dlp-zt-risk-score-integration-get-by-reference-id"),
        ("GET", _, "/integrations/{integration_id}/deliveries", _) => doc(
            "The SETs sent to an integration",
            INTEGRATIONS,
            Paged("Delivery"),
        )
        .query(PAGING),
        ("GET", _, "/integrations/{integration_id}/stream", _) => doc(
            "An SSF integration's stream, with its backlog",
            INTEGRATIONS,
            Envelope("IntegrationStream"),
        ),
        ("POST", _, "/events", _) => doc("Ingest native events", EVENTS, Envelope("IngestResult"))
            .body(Body::JsonArray("EventInput")),
        ("POST", _, "/ingest/cloudflare/{dataset}", _) => doc(
            "Ingest a Cloudflare Logpush batch",
            EVENTS,
            Envelope("IngestResult"),
        )
        .body(Body::Records(
            "Logpush records: NDJSON or a JSON array, gzip or not",
        )),
        ("GET", _, "/ingest/okta", _) => doc(
            "Okta Event Hook verification",
            EVENTS,
            Other("application/json"),
        ),
        ("POST", _, "/ingest/okta", _) => doc(
            "Ingest an Okta Event Hook or a System Log export",
            EVENTS,
            Envelope("IngestResult"),
        )
        .body(Body::Records(
            "An Okta Event Hook body, or System Log events (a JSON array or NDJSON)",
        )),
        ("POST", _, "/ingest/ocsf", _) => {
            doc("Ingest OCSF records", EVENTS, Envelope("IngestResult")).body(Body::Records(
                "OCSF records: a JSON array or NDJSON, gzip or not",
            ))
        }
        ("GET", _, "/audit", _) => doc(
            "Who changed what, newest first",
            OPERATIONS,
            Paged("AuditEntry"),
        )
        .query(AUDIT),
        ("GET", _, "/webhooks", _) => {
            doc("The account's webhooks", WEBHOOKS, EnvelopeList("Webhook"))
        }
        ("POST", _, "/webhooks", _) => doc(
            "Create a webhook (the answer shows its secret, once)",
            WEBHOOKS,
            Envelope("Webhook"),
        )
        .body(Body::Json("WebhookFields")),
        ("GET", _, "/webhooks/{webhook_id}", _) => doc("A webhook", WEBHOOKS, Envelope("Webhook")),
        ("PUT", _, "/webhooks/{webhook_id}", _) => {
            doc("Change a webhook", WEBHOOKS, Envelope("Webhook")).body(Body::Json("WebhookFields"))
        }
        ("DELETE", _, "/webhooks/{webhook_id}", _) => {
            doc("Delete a webhook", WEBHOOKS, Envelope("Empty"))
        }
        ("POST", _, "/webhooks/{webhook_id}/test", _) => doc(
            "Send a webhook.test now",
            WEBHOOKS,
            Envelope("WebhookTestResult"),
        ),
        ("GET", _, "/webhooks/{webhook_id}/deliveries", _) => {
            doc("The changes sent to a webhook", WEBHOOKS, Paged("Delivery")).query(PAGING)
        }
        ("GET", _, _, "/stream") => doc(
            "The integration's stream (by stream_id), or all of them",
            SSF,
            PlainList("StreamConfiguration"),
        )
        .query(STREAM_ID),
        ("POST", _, _, "/stream") => doc(
            "Create the integration's stream",
            SSF,
            Created("StreamConfiguration"),
        )
        .body(Body::Json("StreamRequest")),
        ("PATCH", _, _, "/stream") => doc(
            "Change the stream: the members given",
            SSF,
            Plain("StreamConfiguration"),
        )
        .body(Body::Json("StreamRequest")),
        ("PUT", _, _, "/stream") => doc(
            "Replace the stream's configuration",
            SSF,
            Plain("StreamConfiguration"),
        )
        .body(Body::Json("StreamRequest")),
        ("DELETE", _, _, "/stream") => doc("Delete the stream", SSF, NoContent).query(STREAM_ID),
        ("GET", _, _, "/stream/status") => {
            doc("The stream's status", SSF, Plain("StreamStatusBody")).query(STREAM_ID)
        }
        ("POST", _, _, "/stream/status") => doc(
            "Enable, pause or disable the stream",
            SSF,
            Plain("StreamStatusBody"),
        )
        .body(Body::Json("StreamStatusBody")),
        ("POST", _, _, "/stream/verify") => doc("Ask for a verification SET", SSF, NoContent)
            .body(Body::Json("VerificationRequest")),
        ("POST", _, _, "/stream/subjects/add") => {
            doc("Add a subject back to the stream", SSF, Empty).body(Body::Json("SubjectRequest"))
        }
        ("POST", _, _, "/stream/subjects/remove") => {
            doc("Remove a subject from the stream", SSF, NoContent)
                .body(Body::Json("SubjectRequest"))
        }
        ("POST", _, _, "/poll") => doc(
            "Acknowledge SETs and receive more (RFC 8936)",
            SSF,
            Plain("PollResponse"),
        )
        .body(Body::Json("PollRequest")),
        _ => return None,
    })
}

/// Every schema the document refers to, from the wire types, with the types they refer to.
fn components() -> Value {
    let mut schemas = Vec::new();
    add::<wire::Status>(&mut schemas);
    add::<wire::Empty>(&mut schemas);
    add::<wire::TokenVerifyResult>(&mut schemas);
    add::<wire::Behaviors>(&mut schemas);
    add::<wire::BehaviorsUpdate>(&mut schemas);
    add::<wire::SummaryResult>(&mut schemas);
    add::<wire::UserRiskResult>(&mut schemas);
    add::<wire::Decision>(&mut schemas);
    add::<wire::Integration>(&mut schemas);
    add::<wire::IntegrationCreate>(&mut schemas);
    add::<wire::IntegrationUpdate>(&mut schemas);
    add::<wire::IntegrationStream>(&mut schemas);
    add::<wire::Delivery>(&mut schemas);
    add::<wire::EventInput>(&mut schemas);
    add::<wire::IngestResult>(&mut schemas);
    add::<wire::Webhook>(&mut schemas);
    add::<wire::WebhookFields>(&mut schemas);
    add::<wire::WebhookTestResult>(&mut schemas);
    add::<wire::ErrorItem>(&mut schemas);
    add::<wire::AuditEntry>(&mut schemas);
    add::<wire::ResultInfo>(&mut schemas);
    add::<wire::ssf::TransmitterMetadata>(&mut schemas);
    add::<wire::ssf::StreamConfiguration>(&mut schemas);
    add::<wire::ssf::StreamRequest>(&mut schemas);
    add::<wire::ssf::StreamStatusBody>(&mut schemas);
    add::<wire::ssf::VerificationRequest>(&mut schemas);
    add::<wire::ssf::SubjectRequest>(&mut schemas);
    add::<wire::ssf::PollRequest>(&mut schemas);
    add::<wire::ssf::PollResponse>(&mut schemas);
    let components = ComponentsBuilder::new().schemas_from_iter(schemas).build();
    let mut value = serde_json::to_value(components).unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("securitySchemes".into(), security_schemes());
        object.insert("responses".into(), error_responses());
    }
    value
}

/// `T`'s schema and those it refers to.
fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn security_schemes() -> Value {
    json!({
        "api_token": {"type": "http", "scheme": "bearer",
            "description": "An API token (`ztrisk tokens create`)"},
        "api_email": {"type": "apiKey", "in": "header", "name": "X-Auth-Email",
            "description": "The legacy global API key's owner (with X-Auth-Key)"},
        "api_key": {"type": "apiKey", "in": "header", "name": "X-Auth-Key",
            "description": "The legacy global API key (with X-Auth-Email)"},
    })
}

/// The failure envelope, and the SSF endpoints' (the envelope plus RFC 8935's members).
fn error_responses() -> Value {
    let envelope = json!({
        "type": "object",
        "required": ["success", "errors", "messages", "result"],
        "properties": {
            "success": {"const": false},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}},
            "result": {"type": "null"},
        },
    });
    let mut ssf = envelope.clone();
    if let Some(properties) = ssf["properties"].as_object_mut() {
        properties.insert("err".into(), json!({"type": "string"}));
        properties.insert("description".into(), json!({"type": "string"}));
    }
    json!({
        "Error": {"description": "The request failed: the codes say why (spec 1.4)",
            "content": {"application/json": {"schema": envelope}}},
        "SsfError": {"description": "The request failed; `err` is RFC 8935's error code",
            "content": {"application/json": {"schema": ssf}}},
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The success envelope around `result`.
fn envelope(result: Value, paged: bool) -> Value {
    let mut properties = json!({
        "success": {"const": true},
        "errors": {"type": "array", "items": schema_ref("ErrorItem")},
        "messages": {"type": "array", "items": schema_ref("ErrorItem")},
        "result": result,
    });
    let mut required = vec!["success", "errors", "messages", "result"];
    if paged {
        properties["result_info"] = schema_ref("ResultInfo");
        required.push("result_info");
    }
    json!({"type": "object", "required": required, "properties": properties})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn success(answer: Answer) -> (&'static str, Value) {
    let ok = |content: Value| json!({"description": "Success", "content": content});
    match answer {
        Answer::Envelope(name) => ("200", ok(json_content(envelope(schema_ref(name), false)))),
        Answer::EnvelopeList(name) => (
            "200",
            ok(json_content(envelope(
                json!({"type": "array", "items": schema_ref(name)}),
                false,
            ))),
        ),
        Answer::Paged(name) => (
            "200",
            ok(json_content(envelope(
                json!({"type": "array", "items": schema_ref(name)}),
                true,
            ))),
        ),
        Answer::Plain(name) => ("200", ok(json_content(schema_ref(name)))),
        Answer::PlainList(name) => (
            "200",
            ok(json_content(json!({
                "oneOf": [schema_ref(name), {"type": "array", "items": schema_ref(name)}]
            }))),
        ),
        Answer::Created(name) => (
            "201",
            json!({"description": "Created", "content": json_content(schema_ref(name))}),
        ),
        Answer::NoContent => ("204", json!({"description": "Done"})),
        Answer::Empty => ("200", json!({"description": "Done"})),
        Answer::Other(content_type) => (
            "200",
            json!({"description": "Success", "content": {content_type: {}}}),
        ),
    }
}

fn query_parameter(query: Query) -> Value {
    let (name, description, schema) = match query {
        Query::Page => (
            "page",
            "Page number, from 1",
            json!({"type": "integer", "minimum": 1}),
        ),
        Query::PerPage => (
            "per_page",
            "Items per page",
            json!({"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        Query::SummaryOrder => (
            "order_by",
            "Order of the users",
            schema_of::<wire::SummaryOrder>(),
        ),
        Query::EventOrder => (
            "order_by",
            "Order of the risk events",
            schema_of::<wire::RiskEventOrder>(),
        ),
        Query::Direction => (
            "direction",
            "Sort direction",
            schema_of::<wire::Direction>(),
        ),
        Query::Email => (
            "email",
            "The user to decide on (else the proxy's identity headers)",
            json!({"type": "string"}),
        ),
        Query::EmailHeader => (
            "email_header",
            "A header of the request that names the user",
            json!({"type": "string"}),
        ),
        Query::Deny => (
            "deny",
            "The levels denied, comma-separated: low, medium, high, unscored",
            json!({"type": "string"}),
        ),
        Query::StreamId => ("stream_id", "The stream", json!({"type": "string"})),
        Query::Since => (
            "since",
            "Only changes made at or after this time (RFC 3339)",
            json!({"type": "string", "format": "date-time"}),
        ),
        Query::Action => (
            "action",
            "Only changes of this kind",
            schema_of::<wire::AuditAction>(),
        ),
    };
    json!({"name": name, "in": "query", "required": false, "description": description,
        "schema": schema})
}

fn schema_of<T: ToSchema>() -> Value {
    serde_json::to_value(T::schema()).unwrap_or_else(|_| json!({}))
}

fn path_parameter(name: &str) -> Value {
    let schema = match name {
        "account_id" => json!({"type": "string", "pattern": "^[0-9a-f]{32}$"}),
        "dataset" => json!({"type": "string", "enum":
            ["access_requests", "gateway_dns", "gateway_http", "device_posture_results"]}),
        "reference_id" => json!({"type": "string"}),
        _ => json!({"type": "string", "format": "uuid"}),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

/// The `{name}`s of a path template.
fn path_names(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn security(access: Access) -> Value {
    match access {
        Access::Public => json!([]),
        Access::AnyToken | Access::Integration(_) => json!([{"api_token": []}]),
        Access::Account(_) => json!([{"api_token": []}, {"api_email": [], "api_key": []}]),
    }
}

/// `get_zt_risk_scoring_integrations_by_integration_id_deliveries`: the method and the path's
/// words, parameters as `by_<name>`, a trailing slash as `slash`.
fn operation_id(method: &str, path: &str) -> String {
    let mut words: Vec<String> = vec![method.to_ascii_lowercase()];
    for segment in path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "accounts")
    {
        let word = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("account_id") => continue,
            Some(name) => format!("by_{name}"),
            None => segment
                .replace(['.', '-'], "_")
                .trim_matches('_')
                .to_owned(),
        };
        words.push(word);
    }
    if path.len() > 1 && path.ends_with('/') {
        words.push("slash".into());
    }
    words.join("_")
}

fn operation(method: &str, path: &str, access: Access, doc: Doc) -> Value {
    let mut parameters: Vec<Value> = path_names(path).into_iter().map(path_parameter).collect();
    parameters.extend(doc.query.iter().copied().map(query_parameter));
    let (status, answer) = success(doc.answer);
    let mut responses = Map::new();
    responses.insert(status.into(), answer);
    let error = match access {
        Access::Integration(_) => "SsfError",
        _ => "Error",
    };
    if !matches!(access, Access::Public) || path.starts_with("/.well-known/") {
        responses.insert(
            "4XX".into(),
            json!({"$ref": format!("#/components/responses/{error}")}),
        );
    }
    responses.insert(
        "5XX".into(),
        json!({"$ref": "#/components/responses/Error"}),
    );
    let mut description = String::new();
    if let Access::Account(name) | Access::Integration(name) = access
        && let Some(permissions) = accepted(name)
    {
        let names: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
        description = format!("Requires one of: {}.", names.join(", "));
    }
    let mut operation = json!({
        "operationId": doc.cloudflare.map_or_else(|| operation_id(method, path), str::to_owned),
        "summary": doc.summary,
        "tags": [doc.tag],
        "parameters": parameters,
        "responses": responses,
        "security": security(access),
    });
    if !description.is_empty() {
        operation["description"] = description.into();
    }
    if let Some(body) = doc.body {
        operation["requestBody"] = match body {
            Body::Json(name) => {
                json!({"required": true, "content": json_content(schema_ref(name))})
            }
            Body::JsonArray(name) => json!({"required": true, "content": {
                "application/json": {"schema": {"type": "array", "items": schema_ref(name)}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }}),
            Body::Records(what) => json!({"required": true, "description": what, "content": {
                "application/json": {"schema": {}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }}),
        };
    }
    operation
}

/// The whole document, for a server reached at `public_url`.
pub fn document(public_url: &str) -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let method = route.method.as_str();
        let Some(doc) = describe(method, route.path) else {
            continue;
        };
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[method.to_ascii_lowercase()] = operation(method, route.path, route.access, doc);
    }
    let tags: Vec<Value> = [
        RISK,
        INTEGRATIONS,
        EVENTS,
        WEBHOOKS,
        SSF,
        DISCOVERY,
        OPERATIONS,
    ]
    .iter()
    .map(|t| json!({"name": t}))
    .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ztrisk",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "User risk scoring, wire-compatible with Cloudflare's zt_risk_scoring API. \
                Every route is also served under /client/v4, except the operations, discovery and SSF \
                endpoints.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": public_url.trim_end_matches('/')}],
        "tags": tags,
        "paths": paths,
        "components": components(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route added without a description (or a description left behind) fails here.
    #[test]
    fn every_route_is_described() {
        let missing: Vec<String> = ROUTES
            .iter()
            .filter(|r| describe(r.method.as_str(), r.path).is_none())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(
            missing.is_empty(),
            "routes without a description: {missing:?}"
        );
    }

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// The document as committed in `docs/openapi.json`: a change to the API shows in review
    /// as a change to that file, and an unintended one fails here. `UPDATE_SNAPSHOTS=1`
    /// rewrites it.
    #[test]
    fn document_matches_the_committed_snapshot() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let actual = serde_json::to_string_pretty(&document("http://127.0.0.1:8787"))
            .unwrap_or_default()
            + "\n";
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        assert!(
            committed == actual,
            "the OpenAPI document changed: review it with `UPDATE_SNAPSHOTS=1 cargo test -p \
             ztrisk-server --lib openapi` and `git diff docs/openapi.json`"
        );
    }

    #[test]
    fn operation_ids_are_unique_and_cloudflare_keeps_its_own() {
        let document = document("https://ztrisk.example");
        let mut ids: Vec<&str> = document["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(|item| item.as_object())
            .flat_map(|item| item.values())
            .filter_map(|operation| operation["operationId"].as_str())
            .collect();
        assert!(ids.contains(&"dlp-risk-score-summary-get"));
        assert_eq!(ids.iter().filter(|id| id.starts_with("dlp-")).count(), 11);
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "an operationId repeats");
    }

    #[test]
    fn every_reference_resolves() {
        let document = document("https://ztrisk.example");
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 50);
        for reference in found {
            let pointer = reference.trim_start_matches('#');
            assert!(
                document.pointer(pointer).is_some(),
                "{reference} does not resolve"
            );
        }
    }
}
