use std::fmt;
use std::str::FromStr;

/// A permission a token can carry, named as Cloudflare names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    ZeroTrustRead,
    ZeroTrustWrite,
    ZeroTrustPiiRead,
    /// ztrisk's own: lets a log shipper post events and nothing else.
    ZeroTrustRiskEventsWrite,
    /// ztrisk's own: lets a Shared Signals receiver manage its stream and poll it, and nothing
    /// else (spec 4.5).
    ZeroTrustRiskSharing,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::ZeroTrustRead,
        Permission::ZeroTrustWrite,
        Permission::ZeroTrustPiiRead,
        Permission::ZeroTrustRiskEventsWrite,
        Permission::ZeroTrustRiskSharing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Permission::ZeroTrustRead => "Zero Trust Read",
            Permission::ZeroTrustWrite => "Zero Trust Write",
            Permission::ZeroTrustPiiRead => "Zero Trust: PII Read",
            Permission::ZeroTrustRiskEventsWrite => "Zero Trust Risk Events Write",
            Permission::ZeroTrustRiskSharing => "Zero Trust Risk Sharing",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Permission::ZeroTrustRead => 1,
            Permission::ZeroTrustWrite => 2,
            Permission::ZeroTrustPiiRead => 4,
            Permission::ZeroTrustRiskEventsWrite => 8,
            Permission::ZeroTrustRiskSharing => 16,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown permission {0:?}; known: \"Zero Trust Read\", \"Zero Trust Write\", \"Zero Trust: PII Read\", \"Zero Trust Risk Events Write\", \"Zero Trust Risk Sharing\""
)]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPermission(s.to_owned()))
    }
}

/// A set of permissions, small enough to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermissionSet(u8);

impl PermissionSet {
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// True when the set holds at least one of `accepted` (Cloudflare's "at least one required").
    pub fn allows_any(self, accepted: &[Permission]) -> bool {
        accepted.iter().any(|p| self.contains(*p))
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sets() {
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>(), Ok(p));
        }
        assert_eq!(
            "zero trust write".parse::<Permission>(),
            Ok(Permission::ZeroTrustWrite)
        );
        assert!("Zero Trust Admin".parse::<Permission>().is_err());
        let set: PermissionSet = [Permission::ZeroTrustRead].into_iter().collect();
        assert!(set.allows_any(&[Permission::ZeroTrustRead, Permission::ZeroTrustWrite]));
        assert!(!set.allows_any(&[Permission::ZeroTrustWrite]));
        assert_eq!(PermissionSet::all().iter().count(), 5);
    }
}
