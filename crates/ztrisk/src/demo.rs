//! `ztrisk demo`: a realistic day of events for N users with a few planted incidents, so a new
//! installation shows a populated summary at once.

use crate::client_cmd::{AccountArg, ApiArgs, connect};
use crate::events_cmd::{BATCH_TIMEOUT, RETRIES};
use crate::events_cmd::{Totals, print_totals};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use ztrisk_client::resources::EventsFormat;
use ztrisk_client::types::{BehaviorsUpdate, RiskLevel};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of users.
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Seed of the generator: the same seed gives the same events (and ids, so a rerun only
    /// finds duplicates).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Leave the account's behaviors as they are instead of enabling all nine.
    #[arg(long)]
    pub no_configure: bool,
    /// Write the events as NDJSON to standard output instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub account: AccountArg,
}

const CITIES: &[(&str, &str, f64, f64)] = &[
    ("London", "GB", 51.5074, -0.1278),
    ("Paris", "FR", 48.8566, 2.3522),
    ("Berlin", "DE", 52.5200, 13.4050),
    ("New York", "US", 40.7128, -74.0060),
    ("San Francisco", "US", 37.7749, -122.4194),
    ("Toronto", "CA", 43.6532, -79.3832),
    ("Tokyo", "JP", 35.6762, 139.6503),
    ("Sydney", "AU", -33.8688, 151.2093),
    ("Sao Paulo", "BR", -23.5505, -46.6333),
    ("Singapore", "SG", 1.3521, 103.8198),
];
const FIRST_NAMES: &[&str] = &[
    "ana", "ben", "chloe", "dev", "emma", "felix", "grace", "hugo", "iris", "jonas", "kara",
    "liam", "maya", "noah", "olga", "priya",
];
const APPS: &[&str] = &["Jira", "Salesforce", "GitHub", "Workday", "Slack"];
const CLEAN_CATEGORIES: &[&str] = &["Technology", "Business", "News & Media", "Education"];

struct Generator {
    rng: StdRng,
    start: DateTime<Utc>,
    seed: u64,
    events: Vec<Value>,
}

impl Generator {
    fn push(&mut self, mut event: Value, at: DateTime<Utc>, email: &str) {
        let n = self.events.len();
        event["id"] = json!(format!("demo-{}-{n}", self.seed));
        event["timestamp"] = json!(at.to_rfc3339_opts(SecondsFormat::Millis, true));
        event["user"] = json!({ "email": email });
        self.events.push(event);
    }

    fn at(&mut self, earliest_hour: f64, latest_hour: f64) -> DateTime<Utc> {
        let hours = self.rng.random_range(earliest_hour..latest_hour);
        self.start + Duration::milliseconds((hours * 3_600_000.0) as i64)
    }

    fn login(&mut self, email: &str, city: usize, at: DateTime<Utc>, success: bool) {
        let (name, country, lat, lon) = CITIES[city];
        let (dlat, dlon): (f64, f64) = (
            self.rng.random_range(-0.05..0.05),
            self.rng.random_range(-0.05..0.05),
        );
        let event = json!({
            "type": "access_login", "success": success,
            "ip": format!("198.51.100.{}", self.rng.random_range(1..255)),
            "location": {"lat": lat + dlat, "lon": lon + dlon, "country": country, "city": name},
            "app": APPS[self.rng.random_range(0..APPS.len())],
        });
        self.push(event, at, email);
    }

    /// An ordinary day: a few logins from home, browsing, downloads, healthy posture checks.
    fn ordinary_day(&mut self, email: &str, home: usize) {
        for _ in 0..self.rng.random_range(2..6) {
            let at = self.at(7.0, 19.0);
            self.login(email, home, at, true);
        }
        if self.rng.random_bool(0.2) {
            let at = self.at(7.0, 19.0);
            self.login(email, home, at, false);
        }
        for _ in 0..self.rng.random_range(5..15) {
            let at = self.at(7.0, 20.0);
            let category = CLEAN_CATEGORIES[self.rng.random_range(0..CLEAN_CATEGORIES.len())];
            let site = self.rng.random_range(1..500);
            self.push(json!({"type": "gateway_dns", "query": format!("site{site}.example"), "categories": [category], "action": "allow"}), at, email);
        }
        for _ in 0..self.rng.random_range(0..3) {
            let at = self.at(8.0, 18.0);
            self.push(json!({"type": "gateway_file", "verdict": "clean", "action": "allow", "file_name": "report.pdf"}), at, email);
        }
        if self.rng.random_bool(0.3) {
            let at = self.at(8.0, 18.0);
            self.push(json!({"type": "dlp_match", "profile": "Financial Information", "policy": "Block uploads"}), at, email);
        }
        let at = self.at(6.0, 9.0);
        self.push(json!({"type": "device_posture", "provider": "sentinel_one", "device_id": format!("laptop-{email}"), "active_threats": 0}), at, email);
        let at = self.at(6.0, 9.0);
        let score = self.rng.random_range(82..100);
        self.push(json!({"type": "device_posture", "provider": "crowdstrike", "device_id": format!("laptop-{email}"), "zta_score": score}), at, email);
    }

    fn plant_incidents(&mut self, emails: &[String]) {
        let pick = |i: usize| emails[i % emails.len()].clone();
        // Impossible travel: London, then Singapore 45 minutes later.
        let who = pick(0);
        let at = self.at(9.0, 10.0);
        self.login(&who, 0, at, true);
        self.login(&who, 9, at + Duration::minutes(45), true);
        // A DLP burst: 25 matches in under a minute.
        let who = pick(1);
        let at = self.at(13.0, 14.0);
        for i in 0..25 {
            self.push(
                json!({"type": "dlp_match", "profile": "Customer PII", "policy": "Block uploads"}),
                at + Duration::seconds(i * 2),
                &who,
            );
        }
        // An infected laptop: threats found, a malicious download, calls home.
        let who = pick(2);
        let at = self.at(15.0, 16.0);
        self.push(json!({"type": "gateway_file", "verdict": "malicious", "action": "block", "file_name": "invoice.pdf.exe", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}), at, &who);
        self.push(json!({"type": "device_posture", "provider": "sentinel_one", "device_id": format!("laptop-{who}"), "active_threats": 3}), at + Duration::minutes(2), &who);
        self.push(json!({"type": "gateway_dns", "query": "c2.badcdn.example", "categories": ["Security Threats", "Command and Control & Botnet"], "action": "block"}), at + Duration::minutes(3), &who);
        // Someone guessing a password.
        let who = pick(3);
        let at = self.at(2.0, 3.0);
        for i in 0..12 {
            self.login(&who, 3, at + Duration::seconds(i * 10), false);
        }
        // Weak device scores, and a questionable site.
        let who = pick(4);
        let at = self.at(8.0, 9.0);
        self.push(json!({"type": "device_posture", "provider": "crowdstrike", "device_id": format!("laptop-{who}"), "zta_score": 35}), at, &who);
        let who = pick(5);
        let at = self.at(8.0, 9.0);
        self.push(json!({"type": "device_posture", "provider": "crowdstrike", "device_id": format!("laptop-{who}"), "zta_score": 70}), at, &who);
        let who = pick(6);
        let at = self.at(20.0, 21.0);
        self.push(json!({"type": "gateway_dns", "query": "free-stuff.example", "categories": ["Questionable Content"], "action": "allow"}), at, &who);
    }
}

/// The events of one demo day ending at `end`, sorted by time.
pub fn generate(users: usize, seed: u64, end: DateTime<Utc>) -> Vec<Value> {
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(seed),
        start: end - Duration::hours(24),
        seed,
        events: Vec::new(),
    };
    let emails: Vec<String> = (0..users.max(1))
        .map(|i| format!("{}.{}@example.com", FIRST_NAMES[i % FIRST_NAMES.len()], i))
        .collect();
    for (i, email) in emails.iter().enumerate() {
        generator.ordinary_day(email, i % 6);
    }
    generator.plant_incidents(&emails);
    let mut events = generator.events;
    events.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
    events
}

pub async fn run(args: DemoArgs, api: &ApiArgs) -> anyhow::Result<()> {
    // The day ends a minute ago, so nothing is in the future for the server.
    let events = generate(args.users, args.seed, Utc::now() - Duration::minutes(1));
    if args.dry_run {
        for event in &events {
            println!("{event}");
        }
        return Ok(());
    }
    let account = args.account.require()?;
    let client = connect(api)?
        .with_max_retries(RETRIES)
        .with_timeout(BATCH_TIMEOUT);
    let risk = client.zero_trust().risk_scoring();
    if !args.no_configure {
        let mut all = BehaviorsUpdate::new();
        for p in ztrisk_core::behaviors::Predefined::ALL {
            let level: RiskLevel = p.default_level().as_str().parse()?;
            all = all.behavior(p.id(), true, level);
        }
        risk.behaviours().update(&account, all).await?;
        println!("enabled all nine predefined behaviors at their default levels");
    }
    let mut totals = Totals::default();
    for chunk in events.chunks(5_000) {
        let mut body = Vec::new();
        for event in chunk {
            serde_json::to_writer(&mut body, event)?;
            body.push(b'\n');
        }
        let result = risk
            .events()
            .ingest_raw(&account, body, EventsFormat::NdJson)
            .await?;
        totals.add(&result, totals.sent);
        totals.sent += chunk.len() as u64;
    }
    print_totals(&totals, false);
    let base = api.base_url.trim_end_matches('/');
    let root = base.strip_suffix("/client/v4").unwrap_or(base);
    println!(
        "\nsee who is at risk, and why, in the dashboard (sign in with the same token):\n  {root}/dashboard/{account}/users\nor with curl:\n  curl -s {base}/accounts/{account}/zt_risk_scoring/summary -H \"Authorization: Bearer $TOKEN\"",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_sorted_and_valid() {
        let end = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let a = generate(20, 7, end);
        assert_eq!(a, generate(20, 7, end));
        assert!(
            a.windows(2)
                .all(|w| w[0]["timestamp"].as_str() <= w[1]["timestamp"].as_str())
        );
        for event in &a {
            assert!(ztrisk_core::events::Event::parse(event).is_ok(), "{event}");
        }
    }
}
