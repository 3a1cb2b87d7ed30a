//! Times as people read them: relative ("3 hours ago"), with the exact UTC time on hover.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

/// A `<time>` showing `t` relative to `now`, the absolute time in its title.
pub fn time(t: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) title=(absolute(t)) {
            (relative(t, now))
        }
    }
}

pub fn absolute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// "just now", "5 minutes ago", "in 2 days": the largest unit that fits, rounded down.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - t).num_seconds();
    let ahead = seconds < 0;
    let s = seconds.unsigned_abs();
    if s < 45 {
        return "just now".into();
    }
    let (n, unit) = match s {
        s if s < 3_600 => ((s / 60).max(1), "minute"),
        s if s < 86_400 => (s / 3_600, "hour"),
        s if s < 86_400 * 30 => (s / 86_400, "day"),
        s if s < 86_400 * 365 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if ahead {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

/// A duration in seconds as "45 min", "2 h 5 min", "3 days".
pub fn span(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3_600 => format!("{} min", s / 60),
        3_600..86_400 => match (s % 3_600) / 60 {
            0 => format!("{} h", s / 3_600),
            m => format!("{} h {m} min", s / 3_600),
        },
        _ => {
            let days = s / 86_400;
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(relative(now - Duration::minutes(59), now), "59 minutes ago");
        assert_eq!(relative(now - Duration::hours(3), now), "3 hours ago");
        assert_eq!(relative(now - Duration::days(2), now), "2 days ago");
        assert_eq!(relative(now + Duration::days(2), now), "in 2 days");
        assert_eq!(relative(now - Duration::days(400), now), "1 year ago");
    }

    #[test]
    fn spans() {
        assert_eq!(span(12.0), "12 s");
        assert_eq!(span(2700.0), "45 min");
        assert_eq!(span(7500.0), "2 h 5 min");
        assert_eq!(span(86_400.0 * 3.0), "3 days");
        assert_eq!(span(f64::NAN), "—");
    }
}
