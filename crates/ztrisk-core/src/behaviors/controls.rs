//! Detection controls (spec 6.1): the settings every behavior has (`exclude_users`,
//! `monitor_only`, `expire_after_days`) and impossible travel's own (`trusted_networks`,
//! `same_ip_is_same_place`). They are written in a behavior's `settings` object next to its
//! numeric thresholds.

use crate::FieldError;
use crate::field_error::pointer_join;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest `expire_after_days`: ten years.
pub const MAX_EXPIRE_DAYS: u32 = 3650;
/// The most entries a list setting may hold (they are checked on every event).
pub const MAX_LIST_LEN: usize = 1000;

/// The controls of one behavior.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    /// Users never detected by this behavior.
    pub exclude_users: Vec<UserPattern>,
    /// Detections are recorded and shown, marked, but never count.
    pub monitor_only: bool,
    /// A risk event stops counting this many days after detection (0: never).
    pub expire_after_days: u32,
    /// `imp_travel` only: logins from these networks are neither compared nor remembered.
    pub trusted_networks: Vec<IpNet>,
    /// `imp_travel` only: two logins from one IP are never travel.
    pub same_ip_is_same_place: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            exclude_users: Vec::new(),
            monitor_only: false,
            expire_after_days: 0,
            trusted_networks: Vec::new(),
            same_ip_is_same_place: true,
        }
    }
}

/// One control's new value, from a `PUT /behaviors` entry.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlValue {
    ExcludeUsers(Vec<UserPattern>),
    MonitorOnly(bool),
    ExpireAfterDays(u32),
    TrustedNetworks(Vec<IpNet>),
    SameIpIsSamePlace(bool),
}

/// The keys every behavior has.
const COMMON: [&str; 3] = ["exclude_users", "monitor_only", "expire_after_days"];
/// The keys only `imp_travel` has.
const TRAVEL: [&str; 2] = ["trusted_networks", "same_ip_is_same_place"];

impl Controls {
    /// The control keys a behavior has (`imp_travel` has two more).
    pub fn keys(imp_travel: bool) -> impl Iterator<Item = &'static str> {
        COMMON
            .into_iter()
            .chain(TRAVEL.into_iter().filter(move |_| imp_travel))
    }

    /// Whether `email` (lowercased) is excluded.
    pub fn excludes(&self, email: &str) -> bool {
        self.exclude_users.iter().any(|p| p.matches(email))
    }

    /// Whether `ip` is in a trusted network.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_networks.iter().any(|n| n.contains(ip))
    }

    pub fn set(&mut self, value: &ControlValue) {
        match value {
            ControlValue::ExcludeUsers(v) => self.exclude_users = v.clone(),
            ControlValue::MonitorOnly(v) => self.monitor_only = *v,
            ControlValue::ExpireAfterDays(v) => self.expire_after_days = *v,
            ControlValue::TrustedNetworks(v) => self.trusted_networks = v.clone(),
            ControlValue::SameIpIsSamePlace(v) => self.same_ip_is_same_place = *v,
        }
    }

    /// The JSON members, as served and stored.
    pub fn to_json(&self, imp_travel: bool) -> Vec<(String, Value)> {
        let strings =
            |items: Vec<String>| Value::Array(items.into_iter().map(Value::from).collect());
        let mut out = vec![
            (
                "exclude_users".to_owned(),
                strings(self.exclude_users.iter().map(|p| p.0.clone()).collect()),
            ),
            ("monitor_only".to_owned(), Value::Bool(self.monitor_only)),
            (
                "expire_after_days".to_owned(),
                Value::from(self.expire_after_days),
            ),
        ];
        if imp_travel {
            out.push((
                "trusted_networks".to_owned(),
                strings(
                    self.trusted_networks
                        .iter()
                        .map(|n| n.to_string())
                        .collect(),
                ),
            ));
            out.push((
                "same_ip_is_same_place".to_owned(),
                Value::Bool(self.same_ip_is_same_place),
            ));
        }
        out
    }

    /// Controls read back from storage: what does not validate falls back to its default.
    pub fn from_stored(stored: &Value, imp_travel: bool) -> Self {
        let mut controls = Self::default();
        for key in Self::keys(imp_travel) {
            if let Some(raw) = stored.get(key) {
                let mut ignored = Vec::new();
                if let Some(value) = parse(key, raw, "", &mut ignored) {
                    controls.set(&value);
                }
            }
        }
        controls
    }
}

/// Validates control `key`'s value; problems go to `errors` with the pointer of the element
/// at fault (`/behaviors/imp_travel/settings/trusted_networks/1`). `None` for a key that is no
/// control, or on error.
pub fn parse(
    key: &str,
    value: &Value,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> Option<ControlValue> {
    let boolean = |errors: &mut Vec<FieldError>| match value {
        Value::Bool(b) => Some(*b),
        _ => {
            errors.push(FieldError::new(pointer, "expected a boolean"));
            None
        }
    };
    match key {
        "exclude_users" => list(
            value,
            pointer,
            errors,
            "an email pattern such as \"svc-*@example.com\"",
            |s| s.parse::<UserPattern>(),
        )
        .map(ControlValue::ExcludeUsers),
        "trusted_networks" => list(
            value,
            pointer,
            errors,
            "a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\"",
            |s| s.parse::<IpNet>(),
        )
        .map(ControlValue::TrustedNetworks),
        "monitor_only" => boolean(errors).map(ControlValue::MonitorOnly),
        "same_ip_is_same_place" => boolean(errors).map(ControlValue::SameIpIsSamePlace),
        "expire_after_days" => match value.as_u64().filter(|d| *d <= u64::from(MAX_EXPIRE_DAYS)) {
            Some(days) => Some(ControlValue::ExpireAfterDays(days as u32)),
            None => {
                errors.push(FieldError::new(
                    pointer,
                    format!("expected an integer from 0 (never) to {MAX_EXPIRE_DAYS}"),
                ));
                None
            }
        },
        _ => None,
    }
}

/// An array of strings, each parsed by `item`; every bad element is reported with its index.
fn list<T>(
    value: &Value,
    pointer: &str,
    errors: &mut Vec<FieldError>,
    expected: &str,
    item: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let Some(items) = value.as_array() else {
        errors.push(FieldError::new(
            pointer,
            format!("expected an array of strings, each {expected}"),
        ));
        return None;
    };
    if items.len() > MAX_LIST_LEN {
        errors.push(FieldError::new(
            pointer,
            format!("expected at most {MAX_LIST_LEN} entries"),
        ));
        return None;
    }
    let before = errors.len();
    let mut out = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let at = pointer_join(pointer, &i.to_string());
        match raw.as_str().map(&item) {
            Some(Ok(parsed)) => out.push(parsed),
            Some(Err(why)) => {
                errors.push(FieldError::new(at, format!("expected {expected}: {why}")))
            }
            None => errors.push(FieldError::new(
                at,
                format!("expected {expected} (a string)"),
            )),
        }
    }
    (errors.len() == before).then_some(out)
}

/// An email pattern: `*` stands for any run of characters; compared ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPattern(String);

impl FromStr for UserPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // Checked as it is kept: lowercasing can lengthen it past the limit, and a stored
        // pattern that no longer parses would be dropped when read back.
        let pattern = s.trim().to_lowercase();
        if pattern.is_empty() || pattern.len() > 320 || pattern.chars().any(char::is_whitespace) {
            return Err("not empty, at most 320 characters, no spaces".into());
        }
        Ok(Self(pattern))
    }
}

impl UserPattern {
    /// Whether `email` (lowercased) matches.
    pub fn matches(&self, email: &str) -> bool {
        glob(self.0.as_bytes(), email.as_bytes())
    }
}

/// `*`-only glob matching, iterative with one backtrack point (linear in practice).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

/// An IP network in CIDR notation; a bare address is a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("the prefix length of {s:?} must be 0 to {max}"))?,
        };
        let net = Self { addr, prefix };
        Ok(Self {
            addr: net.masked(addr),
            prefix,
        })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl IpNet {
    /// `ip` with the host bits cleared, as wide as this network's family.
    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == self.addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn networks_contain_their_addresses_in_either_family() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(
            net("10.1.2.3/8").contains(ip("10.9.9.9")),
            "host bits are cleared"
        );
        assert_eq!(net("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert!(net("203.0.113.7").contains(ip("203.0.113.7")));
        assert!(!net("203.0.113.7").contains(ip("203.0.113.8")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(
            net("10.0.0.0/8").contains(ip("::ffff:10.1.1.1")),
            "IPv4-mapped"
        );
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::1")));
        assert!(!net("2001:db8::/32").contains(ip("10.0.0.1")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/", "::/129", "1.2.3.4/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_match_with_stars_ignoring_case() {
        let p: UserPattern = "SVC-*@Example.com"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches("svc-backup@example.com"));
        assert!(!p.matches("alice@example.com"));
        let any: UserPattern = "*@contractor.example"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(any.matches("x@contractor.example"));
        assert!(!any.matches("x@contractor.example.org"));
        let exact: UserPattern = "bob@example.com".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(exact.matches("bob@example.com") && !exact.matches("bob@example.co"));
        assert!(glob(b"a*b*c", b"aXXbYYc") && !glob(b"a*b*c", b"aXXbYY"));
        assert!("".parse::<UserPattern>().is_err() && "a b".parse::<UserPattern>().is_err());
    }

    /// Caught by a fuzz target's check (fuzz/, `settings`): a pattern within 320 bytes grew past
    /// them once lowercased; it was accepted, stored, and silently dropped when read back.
    #[test]
    fn patterns_are_limited_as_they_are_kept_and_read_back() {
        let grows = "\u{23a}".repeat(160);
        assert!(grows.len() <= 320 && grows.to_lowercase().len() > 320);
        assert!(grows.parse::<UserPattern>().is_err());
        let mut errors = Vec::new();
        let fits = json!(["\u{23a}".repeat(100)]);
        let parsed = parse("exclude_users", &fits, "/x", &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let mut c = Controls::default();
        c.set(&parsed.unwrap_or_else(|| panic!("refused")));
        let stored = Value::Object(c.to_json(false).into_iter().collect());
        assert_eq!(Controls::from_stored(&stored, false), c);
    }

    #[test]
    fn parse_reports_the_element_at_fault() {
        let mut errors = Vec::new();
        let got = parse(
            "trusted_networks",
            &json!(["10.0.0.0/8", "bad", 5]),
            "/s/trusted_networks",
            &mut errors,
        );
        assert_eq!(got, None);
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/s/trusted_networks/1", "/s/trusted_networks/2"]);
        let mut errors = Vec::new();
        assert_eq!(
            parse("monitor_only", &json!(true), "/m", &mut errors),
            Some(ControlValue::MonitorOnly(true))
        );
        assert_eq!(
            parse("expire_after_days", &json!(30), "/e", &mut errors),
            Some(ControlValue::ExpireAfterDays(30))
        );
        assert_eq!(
            parse("expire_after_days", &json!(-1), "/e", &mut errors),
            None
        );
        assert_eq!(
            parse("monitor_only", &json!("yes"), "/m", &mut errors),
            None
        );
        assert_eq!(errors.len(), 2);
        assert_eq!(
            parse("threshold", &json!(3), "/t", &mut errors),
            None,
            "not a control"
        );
    }

    #[test]
    fn stored_controls_round_trip_and_fall_back() {
        let mut c = Controls::default();
        c.set(&ControlValue::ExcludeUsers(vec![
            "svc-*@example.com"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        ]));
        c.set(&ControlValue::TrustedNetworks(vec![net("10.0.0.0/8")]));
        c.set(&ControlValue::SameIpIsSamePlace(false));
        c.set(&ControlValue::ExpireAfterDays(7));
        let stored = Value::Object(c.to_json(true).into_iter().collect());
        assert_eq!(Controls::from_stored(&stored, true), c);
        let broken = json!({"monitor_only": "x", "expire_after_days": 99999});
        assert_eq!(Controls::from_stored(&broken, true), Controls::default());
    }
}
