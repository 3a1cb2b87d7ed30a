use super::settings::{SettingKey, SettingSpec};
use crate::RiskLevel;

/// The nine behaviors ztrisk detects itself, in the order they are listed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Predefined {
    ImpTravel,
    HighDlp,
    FailedLogins,
    SentinelOne,
    CrowdstrikeLowZta,
    CrowdstrikeMediumZta,
    MaliciousFile,
    SuspiciousSecurityDomain,
    HighRiskDomain,
}

const IMP_TRAVEL_SETTINGS: &[SettingSpec] = &[
    SettingSpec::float(SettingKey::MaxSpeedKmh, 900.0, 1.0, 100_000.0),
    SettingSpec::float(SettingKey::MinDistanceKm, 100.0, 0.0, 20_038.0),
];
const HIGH_DLP_SETTINGS: &[SettingSpec] = &[
    SettingSpec::integer(SettingKey::Threshold, 15, 1, 1_000),
    SettingSpec::integer(SettingKey::WindowSeconds, 60, 1, 604_800),
];
const FAILED_LOGINS_SETTINGS: &[SettingSpec] = &[
    SettingSpec::integer(SettingKey::Threshold, 10, 1, 1_000),
    SettingSpec::integer(SettingKey::WindowSeconds, 300, 1, 604_800),
];
const LOW_ZTA_SETTINGS: &[SettingSpec] = &[SettingSpec::integer(SettingKey::MaxScore, 50, 0, 100)];
const MEDIUM_ZTA_SETTINGS: &[SettingSpec] =
    &[SettingSpec::integer(SettingKey::MaxScore, 79, 0, 100)];

impl Predefined {
    pub const ALL: [Predefined; 9] = [
        Predefined::ImpTravel,
        Predefined::HighDlp,
        Predefined::FailedLogins,
        Predefined::SentinelOne,
        Predefined::CrowdstrikeLowZta,
        Predefined::CrowdstrikeMediumZta,
        Predefined::MaliciousFile,
        Predefined::SuspiciousSecurityDomain,
        Predefined::HighRiskDomain,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Predefined::ImpTravel => "imp_travel",
            Predefined::HighDlp => "high_dlp",
            Predefined::FailedLogins => "failed_logins",
            Predefined::SentinelOne => "sentinel_one",
            Predefined::CrowdstrikeLowZta => "crowdstrike_low_zta",
            Predefined::CrowdstrikeMediumZta => "crowdstrike_medium_zta",
            Predefined::MaliciousFile => "malicious_file",
            Predefined::SuspiciousSecurityDomain => "suspicious_security_domain",
            Predefined::HighRiskDomain => "high_risk_domain",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            Predefined::ImpTravel => "Impossible Travel",
            Predefined::HighDlp => "High Number of DLP Policies Triggered",
            Predefined::FailedLogins => "Multiple Failed Login Attempts",
            Predefined::SentinelOne => "SentinelOne Threat Detected on Machine",
            Predefined::CrowdstrikeLowZta => "CrowdStrike Low ZTA Security Score",
            Predefined::CrowdstrikeMediumZta => "CrowdStrike Medium ZTA Security Score",
            Predefined::MaliciousFile => "Interaction with Malicious File",
            Predefined::SuspiciousSecurityDomain => "Suspicious Security Domain Visited",
            Predefined::HighRiskDomain => "High Risk Domain Visited",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Predefined::ImpTravel => {
                "A user completes two successful logins from locations too far apart to travel between in the time that passed (faster than max_speed_kmh, ignoring pairs closer than min_distance_km)."
            }
            Predefined::HighDlp => {
                "A user triggers threshold or more DLP policy matches within window_seconds."
            }
            Predefined::FailedLogins => {
                "A user fails to log in threshold or more times within window_seconds."
            }
            Predefined::SentinelOne => {
                "A SentinelOne posture check reports one or more active threats on a user's device."
            }
            Predefined::CrowdstrikeLowZta => {
                "A CrowdStrike posture check reports a ZTA security score at or below max_score on a user's device."
            }
            Predefined::CrowdstrikeMediumZta => {
                "A CrowdStrike posture check reports a ZTA security score above the low threshold and at or below max_score on a user's device."
            }
            Predefined::MaliciousFile => {
                "A user uploads or downloads a file that Gateway judged malicious, whether or not it was blocked."
            }
            Predefined::SuspiciousSecurityDomain => {
                "A user's DNS query falls in the Security Risks or Security Threats categories, whether or not it was blocked."
            }
            Predefined::HighRiskDomain => {
                "A user's DNS query falls in the Questionable Content, Violence or CIPA categories, whether or not it was blocked."
            }
        }
    }

    pub fn default_level(self) -> RiskLevel {
        match self {
            Predefined::ImpTravel
            | Predefined::SentinelOne
            | Predefined::CrowdstrikeLowZta
            | Predefined::MaliciousFile => RiskLevel::High,
            Predefined::HighDlp
            | Predefined::FailedLogins
            | Predefined::CrowdstrikeMediumZta
            | Predefined::SuspiciousSecurityDomain => RiskLevel::Medium,
            Predefined::HighRiskDomain => RiskLevel::Low,
        }
    }

    /// The thresholds an account may tune, with defaults and allowed ranges.
    pub fn setting_specs(self) -> &'static [SettingSpec] {
        match self {
            Predefined::ImpTravel => IMP_TRAVEL_SETTINGS,
            Predefined::HighDlp => HIGH_DLP_SETTINGS,
            Predefined::FailedLogins => FAILED_LOGINS_SETTINGS,
            Predefined::CrowdstrikeLowZta => LOW_ZTA_SETTINGS,
            Predefined::CrowdstrikeMediumZta => MEDIUM_ZTA_SETTINGS,
            Predefined::SentinelOne
            | Predefined::MaliciousFile
            | Predefined::SuspiciousSecurityDomain
            | Predefined::HighRiskDomain => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_spec() {
        let ids: Vec<_> = Predefined::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(
            ids,
            [
                "imp_travel",
                "high_dlp",
                "failed_logins",
                "sentinel_one",
                "crowdstrike_low_zta",
                "crowdstrike_medium_zta",
                "malicious_file",
                "suspicious_security_domain",
                "high_risk_domain"
            ]
        );
        for p in Predefined::ALL {
            assert_eq!(Predefined::from_id(p.id()), Some(p));
            for spec in p.setting_specs() {
                assert!(
                    spec.min <= spec.default && spec.default <= spec.max,
                    "{p:?}"
                );
            }
        }
        assert_eq!(Predefined::HighRiskDomain.default_level(), RiskLevel::Low);
        assert_eq!(Predefined::from_id("foo"), None);
    }
}
