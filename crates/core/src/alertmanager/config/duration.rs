//! Prometheus' durations (`model.ParseDuration`): units `y`, `w`, `d`, `h`, `m`, `s`, `ms`, largest
//! first, each at most once (`1h30m`, `500ms`, `0`).

use crate::time::Millis;

const UNITS: [(&str, Millis); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// The duration `s` in milliseconds.
pub fn parse(s: &str) -> Result<Millis, String> {
    let bad = || format!("not a valid duration string: {s:?} (write it as `30s`, `5m`, `1h30m`)");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total: Millis = 0;
    let mut last_unit = None;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: Millis = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = if rest.starts_with("ms") { 2 } else { 1 };
        let unit = rest.get(..unit_len).ok_or_else(bad)?;
        let index = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if last_unit.is_some_and(|l| index <= l) {
            return Err(bad());
        }
        last_unit = Some(index);
        total = n.checked_mul(UNITS[index].1).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// `ms` as Prometheus writes a duration (`1h30m`, `0s`).
pub fn format(ms: Millis) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit, size) in UNITS {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prometheus_durations() {
        assert_eq!(parse("30s"), Ok(30_000));
        assert_eq!(parse("1h30m"), Ok(5_400_000));
        assert_eq!(parse("4900ms"), Ok(4_900));
        assert_eq!(parse("1d"), Ok(86_400_000));
        assert_eq!(parse("0"), Ok(0));
        for bad in ["", "5", "m", "1m1h", "1x", "-1s", "1.5s", "1m1m"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format(5_400_000), "1h30m");
        assert_eq!(format(4_900), "4s900ms");
    }
}
