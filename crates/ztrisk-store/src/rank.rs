//! Risk levels as both backends store them: an integer rank, so that "highest level" is a
//! plain `max` in SQL and an index can order by it.

use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::UserScore;

/// 1 low, 2 medium, 3 high (0 stands for "no level" in the users table).
pub fn rank_of(level: RiskLevel) -> i64 {
    match level {
        RiskLevel::Low => 1,
        RiskLevel::Medium => 2,
        RiskLevel::High => 3,
    }
}

pub fn level_of(rank: i64) -> Option<RiskLevel> {
    match rank {
        1 => Some(RiskLevel::Low),
        2 => Some(RiskLevel::Medium),
        3 => Some(RiskLevel::High),
        _ => None,
    }
}

/// The rank of a level that may be "unscored" (0).
pub fn rank_or_zero(level: Option<RiskLevel>) -> i64 {
    level.map_or(0, rank_of)
}

/// The rank a user's row stores for their score (0: unscored).
pub fn rank_of_score(score: &UserScore) -> i64 {
    rank_or_zero(score.level)
}
