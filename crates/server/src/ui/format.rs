//! How the UI writes times, durations and links.

use maud::{Markup, html};
use vigil_core::time::{Millis, format_millis};

/// A time as people read it on a dashboard: "3 min ago" or "in 20 s", with the exact RFC 3339
/// time in the element (machines) and its tooltip (people).
pub fn when(at: Millis, now: Millis) -> Markup {
    let exact = format_millis(at);
    let text = if at <= now { format!("{} ago", span(now - at)) } else { format!("in {}", span(at - now)) };
    html! { time datetime=(exact) title=(exact) { (text) } }
}

/// A time span in the largest unit that keeps it short: `850 ms`, `12 s`, `3 min`, `5 h`, `2 d`.
pub fn span(ms: Millis) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{} s", ms / 1_000),
        60_000..3_600_000 => format!("{} min", ms / 60_000),
        3_600_000..172_800_000 => format!("{} h", ms / 3_600_000),
        _ => format!("{} d", ms / 86_400_000),
    }
}

/// A duration with a decimal where it helps: `850 ms`, `1.2 s`, `42 s`, `3 min 4 s`.
pub fn duration(ms: Millis) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..10_000 => format!("{:.1} s", ms as f64 / 1000.0),
        10_000..60_000 => format!("{} s", ms / 1_000),
        60_000..3_600_000 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1_000),
        _ => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// A check's duration from microseconds, with the precision a quick one needs: `0.31 ms`,
/// `4.2 ms`, `85 ms`, `1.2 s`.
pub fn took(us: u64) -> String {
    match us {
        0..1_000 => format!("{:.2} ms", us as f64 / 1000.0),
        1_000..10_000 => format!("{:.1} ms", us as f64 / 1000.0),
        _ => duration((us / 1000) as Millis),
    }
}

/// A time in a schedule's own zone, `2026-11-25 09:00 Europe/Berlin` (UTC when the zone is
/// unknown).
pub fn in_zone(at: Millis, zone: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(at) else { return at.to_string() };
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let name = if zone.is_empty() { "UTC" } else { zone };
    format!("{} {name}", ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S"))
}

pub use crate::paths::query_escape;

/// A share as a percentage with the precision uptime needs (`99.95%`), or `–` without data.
pub fn percent(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 0.9999 => "100%".into(),
        Some(r) => format!("{:.2}%", (r * 100.0).min(99.99)),
        None => "–".into(),
    }
}

/// A number the way a table cell shows it: integers plain, others with up to 4 significant
/// decimals.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `text` cut to `max` characters, with `…` when it was longer.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// JSON, indented, for `<pre>` blocks.
pub fn pretty_json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_pick_one_unit() {
        assert_eq!(span(850), "850 ms");
        assert_eq!(span(12_300), "12 s");
        assert_eq!(span(3 * 60_000 + 5), "3 min");
        assert_eq!(span(5 * 3_600_000), "5 h");
        assert_eq!(span(3 * 86_400_000), "3 d");
    }

    #[test]
    fn durations_keep_a_decimal_below_ten_seconds() {
        assert_eq!(duration(1_234), "1.2 s");
        assert_eq!(duration(184_000), "3 min 4 s");
    }

    #[test]
    fn quick_checks_keep_their_fraction_of_a_millisecond() {
        assert_eq!(took(310), "0.31 ms");
        assert_eq!(took(4_240), "4.2 ms");
        assert_eq!(took(85_000), "85 ms");
        assert_eq!(took(1_234_000), "1.2 s");
    }

    #[test]
    fn times_show_in_the_schedules_zone() {
        // 2026-01-15T08:00:00Z
        assert_eq!(in_zone(1_768_464_000_000, "Europe/Berlin"), "2026-01-15 09:00:00 Europe/Berlin");
        assert_eq!(in_zone(1_768_464_000_000, ""), "2026-01-15 08:00:00 UTC");
    }

    #[test]
    fn queries_are_escaped() {
        assert_eq!(query_escape("/ui/instances?x=a b&c"), "%2Fui%2Finstances%3Fx%3Da%20b%26c");
    }

    #[test]
    fn percentages_and_numbers() {
        assert_eq!(percent(Some(1.0)), "100%");
        assert_eq!(percent(Some(0.99951)), "99.95%");
        assert_eq!(percent(None), "–");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(0.12345), "0.1235");
        assert_eq!(number(1234.56), "1234.6");
        assert_eq!(clip("check_orders", 6), "check…");
        assert_eq!(clip("ok", 6), "ok");
    }
}
