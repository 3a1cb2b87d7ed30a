//! Cloudflare Gateway's domain categories that ztrisk scores: one table, by id and by name.
//!
//! Source: Cloudflare's "Domain categories" page (`cloudflare-docs`,
//! `src/content/docs/cloudflare-one/traffic-policies/domain-categories.mdx`, section
//! "Category and subcategory IDs"). Only the families two behaviors look at are here:
//! Security Threats and Security Risks (`suspicious_security_domain`), and Questionable
//! Content, Violence and CIPA (`high_risk_domain`). A query is in a family when any of its
//! categories is the family's parent or one of its subcategories, by name (events and Logpush
//! `QueryCategoryNames`) or by id (Logpush `QueryCategoryIDs`).

/// What a category counts toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Security Threats and Security Risks: `suspicious_security_domain`.
    Security,
    /// Questionable Content, Violence and CIPA: `high_risk_domain`.
    HighRisk,
}

/// One scored category: Cloudflare's id, its name, and its family.
#[derive(Debug, Clone, Copy)]
pub struct Category {
    pub id: u16,
    pub name: &'static str,
    pub family: Family,
}

const fn c(id: u16, name: &'static str, family: Family) -> Category {
    Category { id, name, family }
}

use Family::{HighRisk, Security};

/// Every scored category, parents first in each family.
pub const CATEGORIES: &[Category] = &[
    c(21, "Security Threats", Security),
    c(68, "Anonymizer", Security),
    c(80, "Command and Control & Botnet", Security),
    c(83, "Cryptomining", Security),
    c(117, "Malware", Security),
    c(131, "Phishing", Security),
    c(134, "Private IP Address", Security),
    c(151, "Spam", Security),
    c(153, "Spyware", Security),
    c(175, "DNS Tunneling", Security),
    c(176, "Domain Generation Algorithm", Security),
    c(178, "Brand Embedding", Security),
    c(187, "Compromised Domain", Security),
    c(188, "Potentially unwanted software", Security),
    c(191, "Scam", Security),
    c(32, "Security Risks", Security),
    c(128, "Parked & For Sale Domains", Security),
    c(169, "New Domains", Security),
    c(177, "Newly Seen Domains", Security),
    c(17, "Questionable Content", HighRisk),
    c(85, "Deceptive Ads", HighRisk),
    c(87, "Drugs", HighRisk),
    c(102, "Hacking", HighRisk),
    c(135, "Profanity", HighRisk),
    c(138, "Questionable Activities", HighRisk),
    c(157, "Militancy, Hate & Extremism", HighRisk),
    c(162, "Unreliable Information", HighRisk),
    c(29, "Violence", HighRisk),
    c(165, "Violence", HighRisk),
    c(166, "Weapons", HighRisk),
    c(34, "CIPA", HighRisk),
    c(182, "CIPA Filter", HighRisk),
];

/// Other spellings Cloudflare uses for the same categories (its definitions table calls 176
/// "DGA Domains"; older pages write "Security threats").
const ALIASES: &[(&str, Family)] = &[("DGA Domains", Security)];

/// The family of a category name, ignoring ASCII case and surrounding spaces.
pub fn family_of_name(name: &str) -> Option<Family> {
    let name = name.trim();
    CATEGORIES
        .iter()
        .map(|c| (c.name, c.family))
        .chain(ALIASES.iter().copied())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, family)| family)
}

/// The scored category with this Cloudflare id, if it is one.
pub fn by_id(id: u64) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| u64::from(c.id) == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_names_resolve_to_their_family() {
        for (i, a) in CATEGORIES.iter().enumerate() {
            assert!(CATEGORIES[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
            assert_eq!(family_of_name(a.name), Some(a.family), "{}", a.name);
            assert_eq!(by_id(u64::from(a.id)).map(|c| c.name), Some(a.name));
        }
    }

    #[test]
    fn names_compare_without_case_or_padding_and_unknowns_are_none() {
        assert_eq!(family_of_name(" security threats "), Some(Family::Security));
        assert_eq!(family_of_name("DGA domains"), Some(Family::Security));
        assert_eq!(family_of_name("cipa filter"), Some(Family::HighRisk));
        assert_eq!(family_of_name("Technology"), None);
        assert!(by_id(26).is_none());
    }
}
