//! Daily expected events: something (an email, a report) must arrive each day between a delivery
//! time and a check time, in a time zone, on the days a weekday list says (Robopager's
//! `delivery_time` and `check_time`).
//!
//! The verdict is about the latest window whose check time has passed: a matching arrival inside
//! `[delivery, close)` is ok; none is critical, and stays so until an arrival (checked again on
//! the monitor's period until the window closes) or until the next day's check time starts a new
//! window. With a warning fraction, the window's allowance (delivery → check) warns part-way,
//! as every [`super::expect::Deadline`] does. Times are civil times in the zone, so a window keeps
//! its wall-clock hours across DST changes (a time that does not exist that day moves forward).

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

use super::expect::{Deadline, Verdict};
use crate::alert::Tier;
use crate::time::Millis;

/// When a daily event is expected.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyWindow {
    /// Where the wall-clock times are read.
    pub zone: TimeZone,
    /// The days it is expected (all days when empty).
    pub days: Vec<Weekday>,
    /// It may arrive from this time on; earlier arrivals do not count for the day.
    pub delivery: Time,
    /// Missing from this time on (on the next day when not after `delivery`).
    pub check: Time,
    /// The window closes (no more re-checks count for this day); the next day's delivery time
    /// when not given.
    pub close: Option<Time>,
    /// The fraction of delivery → check past which a missing event is a warning (none when 1).
    pub warn_at: f64,
}

/// One day's window, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Arrivals from here on count.
    pub delivery: Millis,
    /// Missing from here on.
    pub check: Millis,
    /// Arrivals up to here count.
    pub close: Millis,
}

impl DailyWindow {
    /// The window of `day`, if the event is expected that day.
    pub fn on(&self, day: Date) -> Option<Window> {
        if !self.days.is_empty() && !self.days.contains(&day.weekday()) {
            return None;
        }
        let at = |date: Date, time: Time| -> Option<Millis> {
            // `compatible`: a skipped time moves forward, a repeated one takes its first instant.
            Some(date.to_datetime(time).to_zoned(self.zone.clone()).ok()?.timestamp().as_millisecond())
        };
        let delivery = at(day, self.delivery)?;
        let check_day = if self.check > self.delivery { day } else { day.tomorrow().ok()? };
        // A delivery time skipped by a DST change moves forward, possibly past the check time:
        // that day the check waits for it.
        let check = at(check_day, self.check)?.max(delivery);
        let close = match self.close {
            Some(close) => at(if close > self.check { check_day } else { check_day.tomorrow().ok()? }, close)?,
            None => at(day.tomorrow().ok()?, self.delivery)?,
        };
        Some(Window { delivery, check, close: close.max(check) })
    }

    /// The latest window whose delivery time is at or before `now` (looking back at most two
    /// weeks, so a days list that names no day yields none).
    pub fn current(&self, now: Millis) -> Option<Window> {
        let today = jiff::Timestamp::from_millisecond(now).ok()?.to_zoned(self.zone.clone()).date();
        let mut day = today.tomorrow().ok()?;
        for _ in 0..16 {
            if let Some(w) = self.on(day)
                && w.delivery <= now
            {
                return Some(w);
            }
            day = day.yesterday().ok()?;
        }
        None
    }

    /// The latest window whose check time has passed at `now`.
    pub fn checked(&self, now: Millis) -> Option<Window> {
        let current = self.current(now)?;
        if current.check <= now {
            return Some(current);
        }
        // Before today's check time the verdict is still yesterday's (or the last expected day's).
        self.current(current.delivery - 1)
    }

    /// The verdict at `now`, given the arrival times seen in `window` (only those inside
    /// `[delivery, close)` count).
    pub fn verdict(&self, window: Window, arrivals: &[Millis], now: Millis) -> Verdict {
        let arrived = arrivals.iter().copied().filter(|t| (window.delivery..window.close).contains(t)).min();
        if let Some(at) = arrived {
            return Verdict { tier: Tier::Ok, note: format!("arrived at {}", self.clock(at)), next: None };
        }
        let deadline = Deadline::with_fraction(window.delivery, window.check, self.warn_at);
        let (tier, next) = deadline.tier_at(now);
        let expected = format!("{} and {}", self.clock(window.delivery), self.clock(window.check));
        let note = match tier {
            Tier::Ok => format!("expected between {expected}"),
            Tier::Warning => format!("not arrived yet; expected between {expected}"),
            Tier::Critical if now < window.close => {
                format!("missing: expected between {expected}; checking until {}", self.clock(window.close))
            }
            Tier::Critical => format!("missing: nothing arrived between {expected}"),
        };
        Verdict { tier, note, next }
    }

    /// The window whose verdict holds at `now`: during a window's allowance when it has a
    /// warning fraction, else the last window whose check time has passed.
    pub fn window_for(&self, now: Millis) -> Option<Window> {
        // During a window's allowance (delivery → check) a warning fraction may apply; otherwise
        // the verdict is the last checked window's.
        match self.current(now) {
            Some(w) if w.check > now && self.warn_at < 1.0 => Some(w),
            _ => self.checked(now),
        }
    }

    fn clock(&self, at: Millis) -> String {
        jiff::Timestamp::from_millisecond(at)
            .map(|t| t.to_zoned(self.zone.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_else(|_| at.to_string())
    }
}

/// Reads `HH:MM` (or `HH:MM:SS`).
pub fn parse_clock(text: &str) -> Result<Time, String> {
    let text = text.trim();
    let parts: Vec<&str> = text.split(':').collect();
    let num = |s: &str, max: i8| s.parse::<i8>().ok().filter(|n| (0..=max).contains(n));
    match parts.as_slice() {
        [h, m] | [h, m, _] if h.len() <= 2 && m.len() == 2 => {
            let seconds = parts.get(2).map_or(Some(0), |s| num(s, 59));
            match (num(h, 23), num(m, 59), seconds) {
                (Some(h), Some(m), Some(s)) => Time::new(h, m, s, 0).map_err(|e| e.to_string()),
                _ => Err(format!("`{text}` is not a time of day such as `07:30`")),
            }
        }
        _ => Err(format!("`{text}` is not a time of day such as `07:30`")),
    }
}

/// Reads a weekday list: names (`mon`, `Monday`), ranges (`mon-fri`), or cron's numbers (0 or 7
/// is Sunday); `daily` (or nothing) is every day, `weekdays` Monday to Friday.
pub fn parse_days(items: &[String]) -> Result<Vec<Weekday>, String> {
    let mut days = Vec::new();
    for item in items.iter().flat_map(|i| i.split(',')) {
        let item = item.trim().to_ascii_lowercase();
        match item.as_str() {
            "" | "*" | "daily" => return Ok(Vec::new()),
            "weekdays" => days.extend(range(Weekday::Monday, Weekday::Friday)),
            "weekends" => days.extend([Weekday::Saturday, Weekday::Sunday]),
            _ => match item.split_once('-') {
                Some((a, b)) => days.extend(range(weekday(a)?, weekday(b)?)),
                None => days.push(weekday(&item)?),
            },
        }
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    days.dedup();
    Ok(days)
}

fn range(from: Weekday, to: Weekday) -> Vec<Weekday> {
    let mut out = vec![from];
    let mut day = from;
    while day != to {
        day = day.next();
        out.push(day);
    }
    out
}

fn weekday(text: &str) -> Result<Weekday, String> {
    let t = text.trim();
    if let Some(d) = crate::time::weekday_named(t) {
        return Ok(d);
    }
    match t.parse::<i8>() {
        Ok(0 | 7) => Ok(Weekday::Sunday),
        Ok(n @ 1..=6) => Weekday::from_monday_one_offset(n).map_err(|e| e.to_string()),
        _ => Err(format!("`{text}` is not a day such as `mon`, `mon-fri` or `weekdays`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny(delivery: &str, check: &str) -> DailyWindow {
        DailyWindow {
            zone: TimeZone::get("America/New_York").unwrap(),
            days: parse_days(&["mon-fri".into()]).unwrap(),
            delivery: parse_clock(delivery).unwrap(),
            check: parse_clock(check).unwrap(),
            close: None,
            warn_at: 1.0,
        }
    }

    fn at(text: &str) -> Millis {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn before_the_check_time_the_last_day_stands_then_a_missing_email_is_critical_until_it_arrives() {
        let w = ny("03:00", "03:15");
        // Tuesday 2026-11-24, 03:10 New York (08:10 UTC): Monday's window is the checked one.
        let now = at("2026-11-24T08:10:00Z");
        let monday = w.window_for(now).unwrap();
        assert_eq!(monday.delivery, at("2026-11-23T08:00:00Z"));
        assert_eq!(w.verdict(monday, &[at("2026-11-23T08:05:00Z")], now).tier, Tier::Ok);
        // 03:15: Tuesday's window is checked; nothing since 03:00 is critical.
        let now = at("2026-11-24T08:15:00Z");
        let tuesday = w.window_for(now).unwrap();
        assert_eq!((tuesday.delivery, tuesday.check), (at("2026-11-24T08:00:00Z"), now));
        let v = w.verdict(tuesday, &[at("2026-11-24T07:59:00Z")], now);
        assert_eq!(v.tier, Tier::Critical, "an email before the delivery time does not count: {v:?}");
        // It arrives at 03:40: the next check resolves.
        let later = at("2026-11-24T08:45:00Z");
        assert_eq!(w.verdict(tuesday, &[at("2026-11-24T08:40:00Z")], later).tier, Tier::Ok);
    }

    #[test]
    fn days_not_listed_have_no_window_and_the_friday_verdict_holds_over_the_weekend() {
        let w = ny("03:00", "03:15");
        let sunday_noon = at("2026-11-29T17:00:00Z");
        let friday = w.window_for(sunday_noon).unwrap();
        assert_eq!(friday.delivery, at("2026-11-27T08:00:00Z"));
        assert!(w.on(Date::constant(2026, 11, 28)).is_none());
    }

    #[test]
    fn windows_keep_their_wall_clock_hours_across_dst_changes() {
        let w = DailyWindow { days: Vec::new(), ..ny("02:30", "03:15") };
        // 2026-03-08: New York springs forward at 02:00 → 03:00; 02:30 does not exist and moves
        // forward to 03:30 EDT, past the 03:15 check time: that day the check waits for it.
        let spring = w.on(Date::constant(2026, 3, 8)).unwrap();
        assert_eq!((spring.delivery, spring.check), (at("2026-03-08T07:30:00Z"), at("2026-03-08T07:30:00Z")));
        // The day before (EST) and after (EDT) keep 02:30 and 03:15 local.
        assert_eq!(w.on(Date::constant(2026, 3, 7)).unwrap().check, at("2026-03-07T08:15:00Z"));
        assert_eq!(w.on(Date::constant(2026, 3, 9)).unwrap().check, at("2026-03-09T07:15:00Z"));
        // 2026-11-01: 01:30 happens twice; the first (EDT) counts.
        let fall = DailyWindow { days: Vec::new(), ..ny("01:30", "01:45") }.on(Date::constant(2026, 11, 1)).unwrap();
        assert_eq!(fall.delivery, at("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn a_check_time_after_midnight_is_on_the_next_day_and_a_warning_fraction_warns_part_way() {
        let w = DailyWindow { days: Vec::new(), warn_at: 0.5, ..ny("23:00", "01:00") };
        let window = w.on(Date::constant(2026, 11, 24)).unwrap();
        assert_eq!(window.check - window.delivery, 2 * 3_600_000);
        let now = window.delivery + 90 * 60_000;
        assert_eq!(w.window_for(now), Some(window));
        assert_eq!(w.verdict(window, &[], now).tier, Tier::Warning);
        assert_eq!(w.verdict(window, &[], window.check).tier, Tier::Critical);
    }

    #[test]
    fn clocks_and_days_are_read_with_clear_errors() {
        assert_eq!(parse_clock("7:05").unwrap(), Time::constant(7, 5, 0, 0));
        assert!(parse_clock("25:00").unwrap_err().contains("time of day"));
        assert_eq!(parse_days(&["weekdays".into()]).unwrap().len(), 5);
        assert_eq!(parse_days(&["sat,0".into()]).unwrap(), vec![Weekday::Saturday, Weekday::Sunday]);
        assert_eq!(parse_days(&["daily".into()]).unwrap(), Vec::<Weekday>::new());
        assert!(parse_days(&["funday".into()]).unwrap_err().contains("not a day"));
    }
}
