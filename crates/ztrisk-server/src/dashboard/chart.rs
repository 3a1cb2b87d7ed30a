//! The users page's chart: risk events per day by level, as an SVG drawn on the server (no
//! script), with the same numbers as a table for screen readers and for copying.

use super::layout::thousands;
use chrono::{Duration, NaiveDate};
use maud::{Markup, html};
use ztrisk_store::model::{DailyRisk, LevelCounts};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 30.0;
const TOP: f64 = 14.0;

/// The `days` days ending with `today`, each with its counts (zero when absent).
pub fn days(daily: &[DailyRisk], today: NaiveDate, days: u32) -> Vec<(NaiveDate, LevelCounts)> {
    (0..days)
        .rev()
        .map(|back| {
            let day = today - Duration::days(i64::from(back));
            let counts = daily
                .iter()
                .find(|d| d.day == day)
                .map(|d| d.counts)
                .unwrap_or_default();
            (day, counts)
        })
        .collect()
}

fn total(c: &LevelCounts) -> u64 {
    c.low + c.medium + c.high
}

/// A round top for the axis: 1, 2, 5 times a power of ten, at least `max`.
fn axis_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m).max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn describe(day: NaiveDate, c: &LevelCounts) -> String {
    format!(
        "{day}: {} high, {} medium, {} low",
        thousands(c.high),
        thousands(c.medium),
        thousands(c.low)
    )
}

/// A day's bar as segments bottom to top: (class, from, to) in events.
fn stack(c: &LevelCounts) -> Vec<(&'static str, u64, u64)> {
    let mut base = 0;
    [
        ("bar-low", c.low),
        ("bar-medium", c.medium),
        ("bar-high", c.high),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(class, n)| {
        let segment = (class, base, base + n);
        base += n;
        segment
    })
    .collect()
}

pub fn chart(series: &[(NaiveDate, LevelCounts)]) -> Markup {
    let max = series.iter().map(|(_, c)| total(c)).max().unwrap_or(0);
    let top = axis_top(max);
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / series.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let y = |value: u64| TOP + plot_h - plot_h * value as f64 / top as f64;
    let first = series.first().map(|(d, _)| *d);
    let last = series.last().map(|(d, _)| *d);
    html! {
        figure.chart {
            figcaption #chart-caption {
                "Risk events per day, last " (series.len()) " days"
                @if let (Some(first), Some(last)) = (first, last) { " (" (first) " to " (last) ", UTC)" }
            }
            @if max == 0 {
                p.empty { "No risk events in these days." }
            } @else {
                svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-labelledby="chart-caption" {
                    @for value in [0, top / 2, top] {
                        line.grid x1=(LEFT) x2=(WIDTH) y1=(y(value)) y2=(y(value)) {}
                        text.axis x=(LEFT - 6.0) y=(y(value)) dominant-baseline="middle" text-anchor="end" { (thousands(value)) }
                    }
                    @for (i, (day, c)) in series.iter().enumerate() {
                        @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                        g {
                            title { (describe(*day, c)) }
                            @for (class, from, to) in stack(c) {
                                rect class=(class) x=(format!("{x:.1}")) width=(format!("{bar_w:.1}"))
                                    y=(format!("{:.1}", y(to))) height=(format!("{:.1}", y(from) - y(to))) {}
                            }
                            @if i % 7 == (series.len() - 1) % 7 {
                                // The last label ends at the edge instead of running past it.
                                @let (anchor, at) = if i + 1 == series.len() { ("end", x + bar_w) } else { ("middle", x + bar_w / 2.0) };
                                text.axis x=(format!("{at:.1}")) y=(HEIGHT - 6.0) text-anchor=(anchor) { (day.format("%b %-d")) }
                            }
                        }
                    }
                }
                ul.legend aria-hidden="true" {
                    li { span.swatch.bar-high {} "High" }
                    li { span.swatch.bar-medium {} "Medium" }
                    li { span.swatch.bar-low {} "Low" }
                }
                details {
                    summary { "Show as a table" }
                    table {
                        thead { tr { th scope="col" { "Day (UTC)" } th scope="col" { "High" } th scope="col" { "Medium" } th scope="col" { "Low" } } }
                        tbody {
                            @for (day, c) in series.iter().rev().filter(|(_, c)| total(c) > 0) {
                                tr { th scope="row" { (day) } td { (thousands(c.high)) } td { (thousands(c.medium)) } td { (thousands(c.low)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_fill_gaps_and_end_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        let daily = vec![DailyRisk {
            day: today - Duration::days(2),
            counts: LevelCounts {
                low: 1,
                medium: 2,
                high: 3,
            },
        }];
        let series = days(&daily, today, 30);
        assert_eq!(series.len(), 30);
        assert_eq!(series[29].0, today);
        assert_eq!(series[27].1.high, 3);
        assert_eq!(series.iter().map(|(_, c)| total(c)).sum::<u64>(), 6);
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(1234), 2000);
    }

    #[test]
    fn every_day_has_a_readable_title() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        let daily = vec![DailyRisk {
            day: today,
            counts: LevelCounts {
                low: 0,
                medium: 0,
                high: 1200,
            },
        }];
        let svg = chart(&days(&daily, today, 30)).into_string();
        assert!(svg.contains("2026-11-28: 1,200 high, 0 medium, 0 low"));
        assert_eq!(svg.matches("<title>").count(), 30);
    }
}
