//! The claims of ztrisk's Security Event Tokens (RFC 8417): Okta's `user-risk-change` (spec 4.3)
//! and CAEP 1.0's `risk-level-change` for SSF streams (spec 4.5). Signing is [`crate::keys`].
//!
//! Both describe one level change with the same inputs, [`RiskChangeSet`]. Neither carries `sub`
//! nor `exp` (SSF 1.0 section 4.1 forbids them). Neither vocabulary has "unscored", so an
//! unscored user is sent as the lowest level.

use serde_json::{Value, json};
use ztrisk_core::RiskLevel;
use ztrisk_core::behaviors::Predefined;
use ztrisk_core::scoring::ChangeCause;
use ztrisk_store::model::StreamEvent;

/// The `typ` of every SET's JWS header.
pub const SET_TYP: &str = "secevent+jwt";
/// Okta's event type for a user's risk level.
pub const OKTA_USER_RISK_CHANGE: &str =
    "https://schemas.okta.com/secevent/okta/event-type/user-risk-change";
pub use ztrisk_types::ssf::CAEP_RISK_LEVEL_CHANGE;

/// Where Okta takes pushed SETs: the tenant URL without its trailing slash, plus Okta's path.
pub fn okta_push_url(tenant_url: &str) -> String {
    format!(
        "{}/security/api/v1/security-events",
        tenant_url.trim_end_matches('/')
    )
}

/// A fresh `jti`: 32 lowercase hex digits. Generated once per delivery and stored with it, so a
/// retry resends the same SET and the receiver can deduplicate (spec 4.2).
pub fn new_jti() -> String {
    crate::random_id()
}

/// One level change, addressed to one receiver: everything a SET says.
#[derive(Debug, Clone, Copy)]
pub struct RiskChangeSet<'a> {
    /// `<public_url>/<integration_id>`.
    pub issuer: &'a str,
    /// Okta: the tenant URL without trailing slash; SSF: the stream's `aud`.
    pub audience: &'a str,
    pub jti: &'a str,
    /// When the SET was made (unix seconds).
    pub iat: i64,
    pub email: &'a str,
    /// `None` is unscored.
    pub previous: Option<RiskLevel>,
    pub current: Option<RiskLevel>,
    /// When the level changed (unix ms).
    pub changed_at_ms: i64,
    pub cause: &'a ChangeCause,
}

impl RiskChangeSet<'_> {
    /// Okta's claims, exactly as spec 4.3 shows them: levels lowercase, unscored as `low`.
    pub fn okta_claims(&self) -> Value {
        json!({
            "iss": self.issuer,
            "aud": self.audience,
            "iat": self.iat,
            "jti": self.jti,
            "events": {OKTA_USER_RISK_CHANGE: {
                "subject": {"user": {"format": "email", "email": self.email}},
                "current_level": level_or_low(self.current).as_str(),
                "previous_level": level_or_low(self.previous).as_str(),
                "event_timestamp": self.event_timestamp(),
                "initiating_entity": self.cause.initiating_entity(),
                "reason_admin": {"en": self.cause.describe()},
                "reason_user": {"en": reason_user(self.cause)},
            }},
        })
    }

    /// CAEP's claims for an SSF stream (spec 4.5): the user in the top-level `sub_id`, levels
    /// uppercase (unscored as `LOW`), `risk_reason` the machine code of the cause. `txn` (SSF:
    /// SHOULD) ties together SETs with the same cause; left out when `None`.
    pub fn caep_claims(&self, txn: Option<&str>) -> Value {
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "iat": self.iat,
            "jti": self.jti,
            "sub_id": {"format": "email", "email": self.email},
            "events": {CAEP_RISK_LEVEL_CHANGE: {
                "principal": "USER",
                "current_level": caep_level(self.current),
                "previous_level": caep_level(self.previous),
                "risk_reason": self.cause.code(),
                "event_timestamp": self.event_timestamp(),
                "initiating_entity": self.cause.initiating_entity(),
            }},
        });
        if let (Some(txn), Some(object)) = (txn, claims.as_object_mut()) {
            object.insert("txn".into(), txn.into());
        }
        claims
    }

    /// The change's time in whole seconds (floored, so a change never looks later than it was).
    fn event_timestamp(&self) -> i64 {
        self.changed_at_ms.div_euclid(1000)
    }
}

/// The claims of a stream's own event (SSF 1.0 sections 8.1.4.2 and 8.1.5): the stream itself
/// is the subject, as `{"format": "opaque", "id": <stream_id>}`.
pub fn stream_event_claims(
    issuer: &str,
    audience: &str,
    jti: &str,
    iat: i64,
    stream_id: &str,
    event: &StreamEvent,
) -> Value {
    json!({
        "iss": issuer,
        "aud": audience,
        "iat": iat,
        "jti": jti,
        "sub_id": {"format": "opaque", "id": stream_id},
        "events": {event.event_type(): event.members()},
    })
}

fn level_or_low(level: Option<RiskLevel>) -> RiskLevel {
    level.unwrap_or(RiskLevel::Low)
}

fn caep_level(level: Option<RiskLevel>) -> &'static str {
    match level_or_low(level) {
        RiskLevel::Low => "LOW",
        RiskLevel::Medium => "MEDIUM",
        RiskLevel::High => "HIGH",
    }
}

/// Okta's `reason_user`: what the user may be told (Okta can show it to them), so no detector
/// names or thresholds; spec 4.3's example says "Unusual sign-in activity" for impossible travel.
pub fn reason_user(cause: &ChangeCause) -> &'static str {
    match cause {
        ChangeCause::Detection(behavior) => match Predefined::from_id(behavior.as_str()) {
            Some(Predefined::ImpTravel | Predefined::FailedLogins) => "Unusual sign-in activity",
            Some(Predefined::HighDlp) => "Unusual handling of sensitive data",
            Some(
                Predefined::SentinelOne
                | Predefined::CrowdstrikeLowZta
                | Predefined::CrowdstrikeMediumZta,
            ) => "A security issue on your device",
            Some(Predefined::MaliciousFile) => "Interaction with a malicious file",
            Some(Predefined::SuspiciousSecurityDomain | Predefined::HighRiskDomain) => {
                "Visits to risky websites"
            }
            None => "Unusual account activity",
        },
        ChangeCause::Reset => "Your risk level was reset by an administrator",
        ChangeCause::ConfirmedCompromised => "Your account was flagged by an administrator",
        ChangeCause::Expiry => "Earlier risk signals expired",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ztrisk_store::model::StreamStatus;

    #[test]
    fn stream_events_name_the_stream_and_carry_their_members() {
        let verification = StreamEvent::Verification {
            state: Some("VGhpcyBpcyBhbiBleGFtcGxl".into()),
        };
        let claims = stream_event_claims("iss", "aud", "jti", 1, "s-1", &verification);
        assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": "s-1"}));
        assert_eq!(
            claims["events"]["https://schemas.openid.net/secevent/ssf/event-type/verification"],
            json!({"state": "VGhpcyBpcyBhbiBleGFtcGxl"})
        );
        assert!(claims.get("sub").is_none() && claims.get("exp").is_none());
        let updated = StreamEvent::Updated {
            status: StreamStatus::Paused,
            reason: None,
        };
        let claims = stream_event_claims("iss", "aud", "jti", 1, "s-1", &updated);
        assert_eq!(
            claims["events"]["https://schemas.openid.net/secevent/ssf/event-type/stream-updated"],
            json!({"status": "paused"})
        );
    }

    fn imp_travel() -> ChangeCause {
        ChangeCause::Detection("imp_travel".parse().unwrap())
    }

    fn change(cause: &ChangeCause) -> RiskChangeSet<'_> {
        RiskChangeSet {
            issuer: "https://ztrisk.example/0b1c",
            audience: "https://acme.okta.com",
            jti: "00112233445566778899aabbccddeeff",
            iat: 1767225600,
            email: "jane@example.com",
            previous: None,
            current: Some(RiskLevel::High),
            changed_at_ms: 1_767_225_598_999,
            cause,
        }
    }

    #[test]
    fn okta_claims_are_exactly_the_spec_example() {
        let cause = imp_travel();
        let expected = json!({"iss": "https://ztrisk.example/0b1c", "aud": "https://acme.okta.com",
          "iat": 1767225600, "jti": "00112233445566778899aabbccddeeff",
          "events": {"https://schemas.okta.com/secevent/okta/event-type/user-risk-change": {
            "subject": {"user": {"format": "email", "email": "jane@example.com"}},
            "current_level": "high", "previous_level": "low", "event_timestamp": 1767225598,
            "initiating_entity": "policy", "reason_admin": {"en": "Impossible Travel"},
            "reason_user": {"en": "Unusual sign-in activity"}}}});
        assert_eq!(change(&cause).okta_claims(), expected);
    }

    #[test]
    fn okta_reset_and_expiry_read_low_and_name_who_did_it() {
        let reset = ChangeCause::Reset;
        let set = RiskChangeSet {
            previous: Some(RiskLevel::High),
            current: None,
            ..change(&reset)
        };
        let event = &set.okta_claims()["events"][OKTA_USER_RISK_CHANGE];
        assert_eq!(event["previous_level"], "high");
        assert_eq!(event["current_level"], "low");
        assert_eq!(event["initiating_entity"], "admin");
        assert_eq!(
            event["reason_admin"]["en"],
            "Risk reset by an administrator"
        );

        let expiry = ChangeCause::Expiry;
        let set = RiskChangeSet {
            previous: Some(RiskLevel::Low),
            current: None,
            ..change(&expiry)
        };
        let event = &set.okta_claims()["events"][OKTA_USER_RISK_CHANGE];
        // Sent even though both read "low" (spec 4.3).
        assert_eq!(
            (&event["previous_level"], &event["current_level"]),
            (&json!("low"), &json!("low"))
        );
        assert_eq!(event["initiating_entity"], "system");
        assert_eq!(event["reason_admin"]["en"], "Risk expired");
    }

    #[test]
    fn no_sub_and_no_exp_in_either_shape() {
        let cause = imp_travel();
        for claims in [
            change(&cause).okta_claims(),
            change(&cause).caep_claims(Some("t")),
        ] {
            assert!(claims.get("sub").is_none());
            assert!(claims.get("exp").is_none());
        }
    }

    #[test]
    fn event_timestamp_is_whole_seconds_floored() {
        let cause = ChangeCause::ConfirmedCompromised;
        for (ms, secs) in [(1_000, 1), (1_999, 1), (0, 0), (-1, -1)] {
            let set = RiskChangeSet {
                changed_at_ms: ms,
                ..change(&cause)
            };
            assert_eq!(
                set.okta_claims()["events"][OKTA_USER_RISK_CHANGE]["event_timestamp"],
                secs
            );
        }
    }

    #[test]
    fn caep_claims_match_spec_4_5() {
        let cause = imp_travel();
        let expected = json!({"iss": "https://ztrisk.example/0b1c", "aud": "https://acme.okta.com",
          "iat": 1767225600, "jti": "00112233445566778899aabbccddeeff", "txn": "change-7",
          "sub_id": {"format": "email", "email": "jane@example.com"},
          "events": {"https://schemas.openid.net/secevent/caep/event-type/risk-level-change": {
            "principal": "USER", "current_level": "HIGH", "previous_level": "LOW",
            "risk_reason": "imp_travel", "event_timestamp": 1767225598,
            "initiating_entity": "policy"}}});
        assert_eq!(change(&cause).caep_claims(Some("change-7")), expected);
        assert!(change(&cause).caep_claims(None).get("txn").is_none());
    }

    #[test]
    fn caep_levels_and_reasons_for_every_cause() {
        let cases = [
            (
                ChangeCause::Reset,
                Some(RiskLevel::Medium),
                None,
                "MEDIUM",
                "LOW",
                "reset",
                "admin",
            ),
            (
                ChangeCause::ConfirmedCompromised,
                Some(RiskLevel::Low),
                Some(RiskLevel::High),
                "LOW",
                "HIGH",
                "confirmed_compromised",
                "admin",
            ),
            (
                ChangeCause::Expiry,
                Some(RiskLevel::High),
                Some(RiskLevel::Medium),
                "HIGH",
                "MEDIUM",
                "expired",
                "system",
            ),
        ];
        for (cause, previous, current, prev_text, cur_text, reason, entity) in cases {
            let set = RiskChangeSet {
                previous,
                current,
                ..change(&cause)
            };
            let event = &set.caep_claims(None)["events"][CAEP_RISK_LEVEL_CHANGE];
            assert_eq!(event["previous_level"], prev_text);
            assert_eq!(event["current_level"], cur_text);
            assert_eq!(event["risk_reason"], reason);
            assert_eq!(event["initiating_entity"], entity);
            assert_eq!(event["principal"], "USER");
        }
    }

    #[test]
    fn a_custom_behavior_is_named_by_its_id() {
        let cause = ChangeCause::Detection("vpn_anomaly".parse().unwrap());
        let event = change(&cause).okta_claims()["events"][OKTA_USER_RISK_CHANGE].clone();
        assert_eq!(event["reason_admin"]["en"], "vpn_anomaly");
        assert_eq!(event["reason_user"]["en"], "Unusual account activity");
        let caep = change(&cause).caep_claims(None);
        assert_eq!(
            caep["events"][CAEP_RISK_LEVEL_CHANGE]["risk_reason"],
            "vpn_anomaly"
        );
    }

    #[test]
    fn every_predefined_behavior_has_a_user_reason() {
        for behavior in Predefined::ALL {
            let id = behavior.id();
            let cause = ChangeCause::Detection(id.parse().unwrap());
            assert_ne!(reason_user(&cause), "Unusual account activity", "{id}");
        }
    }

    #[test]
    fn okta_push_url_drops_trailing_slashes() {
        let want = "https://acme.okta.com/security/api/v1/security-events";
        assert_eq!(okta_push_url("https://acme.okta.com"), want);
        assert_eq!(okta_push_url("https://acme.okta.com/"), want);
        assert_eq!(okta_push_url("https://acme.okta.com//"), want);
    }

    #[test]
    fn jtis_are_fresh_32_hex() {
        let jti = new_jti();
        assert_eq!(jti.len(), 32);
        assert!(
            jti.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(jti, new_jti());
    }
}
