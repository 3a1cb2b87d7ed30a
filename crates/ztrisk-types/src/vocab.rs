//! The small vocabularies of the API: sort directions and orders, integration types. Each
//! enum writes its wire strings once; requests parse them strictly with [`FromStr`]-like
//! `parse`, and the error lists what is accepted.

use std::fmt;

/// A closed set of wire strings (the enums of this module), for code that parses any of them.
pub trait Vocabulary: Sized + Copy + 'static {
    /// The value spelled exactly `text`, if any.
    fn parse(text: &str) -> Option<Self>;
    /// The accepted spellings, quoted and comma-separated (for error messages).
    fn expected() -> String;
}

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $wire:literal ),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )+
        }

        impl $name {
            /// Every value, in the order the API documents them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }

            /// The value spelled exactly `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// The accepted spellings, quoted and comma-separated (for error messages).
            pub fn expected() -> String {
                Self::ALL
                    .iter()
                    .map(|v| format!("{:?}", v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::string_enum(Self::ALL.iter().map(|v| v.as_str()))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl Vocabulary for $name {
            fn parse(text: &str) -> Option<Self> {
                $name::parse(text)
            }
            fn expected() -> String {
                $name::expected()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("expected one of {}, got {text:?}", Self::expected()))
                })
            }
        }
    };
}

wire_enum! {
    /// Sort direction of a listing (`direction=`).
    Direction {
        /// Largest, highest or newest first (the default).
        #[default]
        Desc = "desc",
        /// Smallest, lowest or oldest first.
        Asc = "asc",
    }
}

wire_enum! {
    /// Order of the summary's users (`order_by=` of GET `/summary`).
    SummaryOrder {
        /// By highest level, then newest event (the default).
        #[default]
        MaxRiskLevel = "max_risk_level",
        /// By newest event.
        Timestamp = "timestamp",
        /// By number of risk events.
        EventCount = "event_count",
    }
}

wire_enum! {
    /// Order of a user's risk events (`order_by=` of GET `/{user_id}`).
    RiskEventOrder {
        /// By time (the default).
        #[default]
        Timestamp = "timestamp",
        /// By level.
        RiskLevel = "risk_level",
    }
}

wire_enum! {
    /// Where an integration delivers changes of users' risk (`integration_type`).
    IntegrationType {
        /// Okta Identity Threat Protection, over the Shared Signals Framework (Cloudflare's
        /// only type).
        #[default]
        Okta = "Okta",
        /// A standard Shared Signals Framework 1.0 transmitter for any receiver: the receiver
        /// manages its own stream and receives CAEP risk-level changes by push or poll
        /// (ztrisk's own, spec 4.5).
        Ssf = "SSF",
    }
}

wire_enum! {
    /// Where an SSF stream stands (SSF 1.0 section 8.1.2).
    StreamStatus {
        /// Events are transmitted.
        #[default]
        Enabled = "enabled",
        /// Events are held and transmitted on resume.
        Paused = "paused",
        /// Events are not transmitted, nor kept.
        Disabled = "disabled",
    }
}

wire_enum! {
    /// How an SSF stream's events reach the receiver.
    StreamDeliveryMethod {
        /// RFC 8935: ztrisk POSTs each SET to the receiver's `endpoint_url`.
        #[default]
        Push = "urn:ietf:rfc:8935",
        /// RFC 8936: the receiver polls ztrisk's `endpoint_url`.
        Poll = "urn:ietf:rfc:8936",
    }
}

wire_enum! {
    /// How a webhook's body is written (`format`).
    WebhookFormat {
        /// Standard Webhooks: signed JSON (the default).
        #[default]
        Standard = "standard",
        /// `{"text": ...}` for a Slack incoming webhook.
        Slack = "slack",
    }
}

wire_enum! {
    /// Where a delivery stands (spec 4.2).
    DeliveryStatus {
        /// Queued, or being retried.
        #[default]
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// The receiver refused it, it expired, or its destination was deactivated or deleted.
        Failed = "failed",
        /// A newer change of the same user was queued before this one went out.
        Superseded = "superseded",
    }
}

wire_enum! {
    /// What an entry of the audit log records (spec 7): the closed vocabulary of changes made
    /// with a credential or the CLI. Ingest and expiry are not changes made by a person and
    /// have none.
    AuditAction {
        /// PUT behaviors: `change` holds `before` and `after` of the behaviors that changed.
        #[default]
        BehaviorsUpdate = "behaviors.update",
        /// A user's risk was reset (the level change it caused included).
        UserReset = "user.reset",
        /// A user was confirmed compromised (the level change it caused included).
        UserConfirmCompromised = "user.confirm_compromised",
        IntegrationCreate = "integration.create",
        IntegrationUpdate = "integration.update",
        IntegrationDelete = "integration.delete",
        WebhookCreate = "webhook.create",
        WebhookUpdate = "webhook.update",
        WebhookDelete = "webhook.delete",
        /// An SSF receiver created its stream (target: the integration).
        StreamCreate = "stream.create",
        StreamUpdate = "stream.update",
        StreamDelete = "stream.delete",
        /// An SSF receiver set its stream's status.
        StreamStatus = "stream.status",
        /// A subject was added back to a stream.
        StreamSubjectAdd = "stream.subject_add",
        /// A subject was removed from a stream.
        StreamSubjectRemove = "stream.subject_remove",
        /// An SSF receiver asked for a verification event.
        StreamVerify = "stream.verify",
        /// An API token was created (never its secret).
        TokenCreate = "token.create",
        TokenRevoke = "token.revoke",
        /// A global API key was set or replaced (never the key).
        ApiKeySet = "api_key.set",
        ApiKeyRevoke = "api_key.revoke",
        AccountCreate = "account.create",
        /// A signing key was made (installation-wide: in exports, not in any account's log).
        SigningKeyCreate = "signing_key.create",
        SigningKeyRotate = "signing_key.rotate",
        SigningKeyRetire = "signing_key.retire",
    }
}

/// The wire spelling of [`IntegrationType::Okta`].
pub const OKTA: &str = IntegrationType::Okta.as_str();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_strings_round_trip() {
        for &d in Direction::ALL {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
        for &o in SummaryOrder::ALL {
            assert_eq!(SummaryOrder::parse(o.as_str()), Some(o));
        }
        for &o in RiskEventOrder::ALL {
            assert_eq!(RiskEventOrder::parse(o.as_str()), Some(o));
        }
        assert_eq!(IntegrationType::parse("Okta"), Some(IntegrationType::Okta));
        assert_eq!(IntegrationType::parse("okta"), None);
        assert_eq!(Direction::expected(), "\"desc\", \"asc\"");
        assert_eq!(
            serde_json::to_string(&SummaryOrder::EventCount).unwrap_or_default(),
            "\"event_count\""
        );
    }
}
