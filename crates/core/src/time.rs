//! Time as the core sees it: epoch milliseconds from an injected [`Clock`].
//!
//! The core never reads the system clock. The runtime passes `now` into every interpreter step and
//! tests drive a [`ManualClock`], which is what makes timers, cron and DST behaviour testable.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// An optional instant in 8 bytes, where `Option<Millis>` takes 16: `Millis::MIN` (292 million
/// years before 1970, never a time vigil keeps) stands for none. For state kept per monitor.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MaybeMillis(Option<NonMinMillis>);

/// A [`Millis`] that is not `Millis::MIN`, so that `Option` of it needs no tag.
#[derive(Clone, Copy, PartialEq, Eq)]
struct NonMinMillis(std::num::NonZeroU64);

impl MaybeMillis {
    /// No instant.
    pub const NONE: MaybeMillis = MaybeMillis(None);

    /// `at`, or none; `Some(Millis::MIN)` is kept as `Millis::MIN + 1`.
    pub fn new(at: Option<Millis>) -> Self {
        // Flipping the sign bit maps `Millis::MIN` to zero, the one value `NonZeroU64` lacks.
        MaybeMillis(at.map(|at| {
            let bits = (at.max(Millis::MIN + 1) as u64) ^ (1 << 63);
            NonMinMillis(std::num::NonZeroU64::new(bits).expect("only Millis::MIN maps to zero"))
        }))
    }

    /// The instant, if there is one.
    pub fn get(self) -> Option<Millis> {
        self.0.map(|NonMinMillis(bits)| (bits.get() ^ (1 << 63)) as Millis)
    }
}

impl From<Option<Millis>> for MaybeMillis {
    fn from(at: Option<Millis>) -> Self {
        MaybeMillis::new(at)
    }
}

impl std::fmt::Debug for MaybeMillis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time in epoch milliseconds.
    fn now(&self) -> Millis;
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Millis) -> Self {
        Self { now: AtomicI64::new(start) }
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.now.fetch_add(millis, Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Millis) {
        self.now.store(at, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }
}

/// Parses a human duration as Conductor's WAIT task accepts it: `"30s"`, `"10 minutes"`,
/// `"1d 2h 3m 4s"`, `"2 days 3 hours"`. Returns milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number in duration `{text}`"));
        }
        let amount: i64 = rest[..digits].parse().map_err(|_| format!("number too large in `{text}`"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let factor = unit_millis(unit)
            .ok_or_else(|| format!("unknown unit `{unit}` in duration `{text}` (use s, m, h or d)"))?;
        total = amount
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration `{text}` is too large"))?;
        rest = rest[unit_len..].trim_start_matches([' ', ',']);
    }
    Ok(total)
}

fn unit_millis(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "millis" | "milliseconds" => 1,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    })
}

/// Formats epoch milliseconds as RFC 3339 in UTC, for outputs and CLI tables.
pub fn format_millis(at: Millis) -> String {
    match jiff::Timestamp::from_millisecond(at) {
        Ok(ts) => ts.to_string(),
        Err(_) => at.to_string(),
    }
}

/// Parses Conductor's WAIT `until` forms: `2026-01-31 11:59 UTC`, `2026-01-31 11:59 America/New_York`,
/// `2026-01-31 11:59` (UTC) or an RFC 3339 timestamp.
pub fn parse_until(text: &str) -> Result<Millis, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let (civil_part, zone) = match text.rsplit_once(' ') {
        Some((head, tail)) if tail.chars().any(|c| c.is_ascii_alphabetic()) => (head, tail),
        _ => (text, "UTC"),
    };
    let civil: jiff::civil::DateTime =
        civil_part.trim().parse().map_err(|e| format!("`{text}` is not a date like `2026-01-31 11:59 UTC`: {e}"))?;
    let tz = jiff::tz::TimeZone::get(zone).map_err(|_| format!("unknown time zone `{zone}` in `{text}`"))?;
    let zoned = civil.to_zoned(tz).map_err(|e| format!("`{text}`: {e}"))?;
    Ok(zoned.timestamp().as_millisecond())
}

/// The weekday `text` names: its English name or an abbreviation of it of at least three letters,
/// in any case (`mon`, `Tuesday`, `THU`).
pub fn weekday_named(text: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday;
    let lower = text.trim().to_ascii_lowercase();
    let all = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    all.iter().find(|(full, _)| lower.len() >= 3 && full.starts_with(&lower)).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_conductor_forms() {
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("10 minutes"), Ok(600_000));
        assert_eq!(parse_duration("1d 2h 3m 4s"), Ok(93_784_000));
        assert_eq!(parse_duration("2 days 3 hours"), Ok(183_600_000));
        assert_eq!(parse_duration("5"), Ok(5_000));
        assert!(parse_duration("5 fortnights").unwrap_err().contains("fortnights"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn until_accepts_zone_names() {
        assert_eq!(parse_until("1970-01-01 00:01 UTC"), Ok(60_000));
        assert_eq!(parse_until("1970-01-01T00:00:01Z"), Ok(1_000));
        assert_eq!(parse_until("1970-01-01 01:00 Europe/Berlin"), Ok(0));
        assert!(parse_until("1970-01-01 01:00 Mars/Olympus").is_err());
    }

    #[test]
    fn a_maybe_instant_keeps_every_instant_in_8_bytes() {
        assert_eq!(std::mem::size_of::<MaybeMillis>(), 8);
        for at in [0, 1, -1, 1_764_288_000_000, i64::MAX, i64::MIN + 1] {
            assert_eq!(MaybeMillis::new(Some(at)).get(), Some(at));
        }
        assert_eq!(MaybeMillis::new(Some(i64::MIN)).get(), Some(i64::MIN + 1), "the one value it cannot keep");
        assert_eq!(MaybeMillis::new(None).get(), None);
        assert_eq!(MaybeMillis::default(), MaybeMillis::NONE);
        assert_ne!(MaybeMillis::new(Some(0)), MaybeMillis::NONE);
    }
}
