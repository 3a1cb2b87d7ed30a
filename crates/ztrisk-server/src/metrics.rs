//! Prometheus metrics (spec 7), served by `GET /metrics` in the text exposition format 0.0.4.
//!
//! Labels stay bounded: route templates (never paths with ids), methods, status codes, event
//! sources and outcomes, the catalog's behavior ids (custom behaviors are `custom`), levels,
//! delivery channels and statuses. Never a user, an email or an account.
//!
//! Counters and histograms live in memory and count what this process did since it started;
//! the gauges (users by level, the outbox) are read from the store at each scrape, so every
//! replica reports the same shared state.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bucket's bound (not cumulative here; summed on output).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Latencies of one route template, by method and status.
type RouteLatencies = HashMap<(Method, u16), Histogram>;

/// What this process counted.
#[derive(Default)]
pub struct Metrics {
    /// By route template.
    http: Mutex<HashMap<String, RouteLatencies>>,
    events: Mutex<BTreeMap<(String, &'static str), u64>>,
    risk_events: Mutex<BTreeMap<(String, &'static str), u64>>,
    store_writes: Mutex<BTreeMap<&'static str, Histogram>>,
}

/// Shared state read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Scored users by level (`low`, `medium`, `high`).
    pub users_by_level: Vec<(&'static str, u64)>,
    /// Deliveries kept in the outbox by channel and status.
    pub deliveries: Vec<(String, String, u64)>,
    /// Pending deliveries, and the age of the oldest in seconds.
    pub outbox_pending: u64,
    pub outbox_oldest_pending_seconds: f64,
}

impl Metrics {
    /// One answered request. `route` is the matched template (or `unmatched`).
    pub fn request(&self, route: &str, method: Method, status: u16, elapsed: Duration) {
        let Ok(mut http) = self.http.lock() else {
            return;
        };
        // Looked up by &str first: the template is allocated once, not per request.
        let by_route = match http.get_mut(route) {
            Some(by_route) => by_route,
            None => http.entry(route.to_owned()).or_default(),
        };
        // A standard method is a plain value: the key costs no allocation.
        by_route
            .entry((method, status))
            .or_default()
            .observe(elapsed);
    }

    /// Records of one ingest request: `source` is the format, `outcome` accepted, duplicate,
    /// skipped or rejected.
    pub fn events(&self, source: &str, outcome: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        if let Ok(mut events) = self.events.lock() {
            *events.entry((source.to_owned(), outcome)).or_default() += n;
        }
    }

    /// Risk events detected; `behavior` must already be bounded (catalog id or `custom`).
    pub fn risk_events(&self, behavior: &str, level: &'static str, n: u64) {
        if let Ok(mut risk) = self.risk_events.lock() {
            *risk.entry((behavior.to_owned(), level)).or_default() += n;
        }
    }

    /// One store write (`ingest`, ...) and how long it took.
    pub fn store_write(&self, operation: &'static str, elapsed: Duration) {
        if let Ok(mut writes) = self.store_writes.lock() {
            writes.entry(operation).or_default().observe(elapsed);
        }
    }

    /// The exposition text.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(8192);
        header(
            &mut out,
            "ztrisk_http_request_duration_seconds",
            "histogram",
            "HTTP requests by route template, method and status, and how long they took.",
        );
        if let Ok(http) = self.http.lock() {
            let mut routes: Vec<_> = http.iter().collect();
            routes.sort_by(|a, b| a.0.cmp(b.0));
            for (route, by) in routes {
                let mut series: Vec<_> = by.iter().collect();
                series.sort_by_key(|((method, status), _)| (method.as_str(), *status));
                for ((method, status), h) in series {
                    let labels = format!(
                        "route=\"{}\",method=\"{}\",status=\"{status}\"",
                        escape(route),
                        escape(method.as_str())
                    );
                    h.write(&mut out, "ztrisk_http_request_duration_seconds", &labels);
                }
            }
        }
        header(
            &mut out,
            "ztrisk_events_total",
            "counter",
            "Ingested records by source and outcome (accepted, duplicate, skipped, rejected).",
        );
        if let Ok(events) = self.events.lock() {
            for ((source, outcome), n) in events.iter() {
                let _ = writeln!(
                    out,
                    "ztrisk_events_total{{source=\"{}\",outcome=\"{outcome}\"}} {n}",
                    escape(source)
                );
            }
        }
        header(
            &mut out,
            "ztrisk_risk_events_total",
            "counter",
            "Risk events detected by behavior (custom behaviors as \"custom\") and level.",
        );
        if let Ok(risk) = self.risk_events.lock() {
            for ((behavior, level), n) in risk.iter() {
                let _ = writeln!(
                    out,
                    "ztrisk_risk_events_total{{behavior=\"{}\",level=\"{level}\"}} {n}",
                    escape(behavior)
                );
            }
        }
        header(
            &mut out,
            "ztrisk_store_write_duration_seconds",
            "histogram",
            "Store write transactions by operation, and how long they took.",
        );
        if let Ok(writes) = self.store_writes.lock() {
            for (operation, h) in writes.iter() {
                let labels = format!("operation=\"{operation}\"");
                h.write(&mut out, "ztrisk_store_write_duration_seconds", &labels);
            }
        }
        header(
            &mut out,
            "ztrisk_users",
            "gauge",
            "Users with risk that counts, by level, over all accounts.",
        );
        for (level, n) in &gauges.users_by_level {
            let _ = writeln!(out, "ztrisk_users{{level=\"{level}\"}} {n}");
        }
        header(
            &mut out,
            "ztrisk_deliveries",
            "gauge",
            "Deliveries in the outbox (kept 7 days) by channel and status.",
        );
        for (channel, status, n) in &gauges.deliveries {
            let _ = writeln!(
                out,
                "ztrisk_deliveries{{channel=\"{}\",status=\"{}\"}} {n}",
                escape(channel),
                escape(status)
            );
        }
        header(
            &mut out,
            "ztrisk_outbox_pending",
            "gauge",
            "Deliveries waiting to be sent.",
        );
        let _ = writeln!(out, "ztrisk_outbox_pending {}", gauges.outbox_pending);
        header(
            &mut out,
            "ztrisk_outbox_oldest_pending_age_seconds",
            "gauge",
            "Age of the oldest delivery waiting to be sent (0 when none).",
        );
        let _ = writeln!(
            out,
            "ztrisk_outbox_oldest_pending_age_seconds {}",
            gauges.outbox_oldest_pending_seconds
        );
        out
    }
}

/// Middleware: times and counts every request by its route template.
pub async fn layer(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    // Both API roots are one route.
    let route = matched.as_ref().map_or("unmatched", |m| {
        let path = m.as_str();
        path.strip_prefix("/client/v4")
            .filter(|p| !p.is_empty())
            .unwrap_or(path)
    });
    metrics.request(route, method, response.status().as_u16(), started.elapsed());
    response
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the exposition format writes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.request("/a/{id}", Method::GET, 200, Duration::from_millis(3));
        m.request("/a/{id}", Method::GET, 200, Duration::from_secs(5));
        m.events("cloudflare/gateway_dns", "accepted", 7);
        m.risk_events("imp_travel", "high", 1);
        m.store_write("ingest", Duration::from_micros(300));
        let gauges = Gauges {
            users_by_level: vec![("high", 2)],
            deliveries: vec![("webhook".into(), "pending".into(), 1)],
            outbox_pending: 1,
            outbox_oldest_pending_seconds: 1.5,
        };
        let text = m.render(&gauges);
        for line in [
            r#"ztrisk_http_request_duration_seconds_bucket{route="/a/{id}",method="GET",status="200",le="0.0025"} 0"#,
            r#"ztrisk_http_request_duration_seconds_bucket{route="/a/{id}",method="GET",status="200",le="0.005"} 1"#,
            r#"ztrisk_http_request_duration_seconds_bucket{route="/a/{id}",method="GET",status="200",le="+Inf"} 2"#,
            r#"ztrisk_http_request_duration_seconds_count{route="/a/{id}",method="GET",status="200"} 2"#,
            r#"ztrisk_events_total{source="cloudflare/gateway_dns",outcome="accepted"} 7"#,
            r#"ztrisk_risk_events_total{behavior="imp_travel",level="high"} 1"#,
            r#"ztrisk_store_write_duration_seconds_count{operation="ingest"} 1"#,
            r#"ztrisk_users{level="high"} 2"#,
            r#"ztrisk_deliveries{channel="webhook",status="pending"} 1"#,
            "ztrisk_outbox_oldest_pending_age_seconds 1.5",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
