//! Charts drawn on the server as inline SVG: a monitor's 24-hour sparkline and its value over
//! time with thresholds. Pure functions of the data, so they are tested without a browser and
//! cost the page no script.

use maud::{Markup, html};
use vigil_core::monitor::Threshold;
use vigil_core::time::Millis;
use vigil_runtime::monitors::recent::{BEATS, Beat};
use vigil_store::MonitorHistoryRow;

use super::format;

/// One time bucket of a series (or of a monitor, its series together).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bucket {
    /// The bucket's start.
    pub at: Millis,
    /// Checks in it.
    pub checks: u32,
    /// Checks that were warning or critical.
    pub failing: u32,
    /// Checks without a value.
    pub errors: u32,
    /// Worst tier: 0 ok, 1 warning, 2 critical.
    pub worst: u8,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Mean value.
    pub mean: Option<f64>,
}

impl Bucket {
    /// The bucket of a stored history or rollup row.
    pub fn of(row: &MonitorHistoryRow) -> Bucket {
        let valued = row.checks.saturating_sub(row.errors);
        Bucket {
            at: row.bucket,
            checks: row.checks,
            failing: row.failing,
            errors: row.errors,
            worst: row.worst,
            min: row.min,
            max: row.max,
            mean: row.sum.filter(|_| valued > 0).map(|s| s / valued as f64),
        }
    }

    /// Adds another bucket of the same time (another series).
    pub fn merge(&mut self, other: &Bucket) {
        let valued = |b: &Bucket| b.checks.saturating_sub(b.errors) as f64;
        self.mean = match (self.mean, other.mean) {
            (Some(a), Some(b)) => {
                let (wa, wb) = (valued(self), valued(other));
                Some(if wa + wb > 0.0 { (a * wa + b * wb) / (wa + wb) } else { a })
            }
            (a, b) => a.or(b),
        };
        self.checks += other.checks;
        self.failing += other.failing;
        self.errors += other.errors;
        self.worst = self.worst.max(other.worst);
        self.min = pick(self.min, other.min, f64::min);
        self.max = pick(self.max, other.max, f64::max);
    }

    /// The CSS class of its state: `ok`, `warning`, `critical`, or `nodata` without checks (or
    /// with only checks that found nothing).
    pub fn state(&self) -> &'static str {
        match (self.checks, self.worst) {
            (0, _) => "nodata",
            (_, 2) => "critical",
            (_, 1) => "warning",
            (c, _) if c == self.errors => "nodata",
            _ => "ok",
        }
    }
}

fn pick(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Spreads `buckets` over `slots` equal slots from `from` to `to` (buckets in one slot merge).
pub fn slotted(buckets: &[Bucket], from: Millis, to: Millis, slots: usize) -> Vec<Option<Bucket>> {
    let mut out: Vec<Option<Bucket>> = vec![None; slots];
    let width = ((to - from) / slots.max(1) as i64).max(1);
    for b in buckets {
        if b.at < from || b.at >= to {
            continue;
        }
        let i = (((b.at - from) / width) as usize).min(slots - 1);
        match &mut out[i] {
            Some(have) => have.merge(b),
            slot => *slot = Some(Bucket { at: from + i as i64 * width, ..*b }),
        }
    }
    out
}

/// A sparkline of `slots` buckets: a tick per slot coloured by its worst tier, and the mean
/// value as a line above. 120 × 28 px; the title says what it shows.
pub fn sparkline(slots: &[Option<Bucket>], label: &str) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 28.0;
    let n = slots.len().max(1) as f64;
    let step = W / n;
    let means: Vec<Option<f64>> = slots.iter().map(|s| s.and_then(|b| b.mean)).collect();
    let (lo, hi) = range(means.iter().flatten().copied());
    let y = |v: f64| 2.0 + (H - 10.0) * (1.0 - scale(v, lo, hi));
    let line = polyline_runs(means.iter().enumerate().map(|(i, m)| m.map(|v| (step * (i as f64 + 0.5), y(v)))));
    html! {
        svg.spark viewBox={"0 0 " (W) " " (H)} width=(W) height=(H) role="img" aria-label=(label) {
            title { (label) }
            @for (i, s) in slots.iter().enumerate() {
                rect class={"tick " (s.map_or("empty", |b| b.state()))}
                    x=(fmt(step * i as f64 + 0.5)) y=(H - 5.0) width=(fmt((step - 1.0).max(0.5))) height="5" {}
            }
            @for run in &line {
                polyline.line points=(run) {}
            }
        }
    }
}

/// The beat bar: one bar per check kept in memory (at most [`BEATS`]), oldest on the left and the
/// newest at the right edge, coloured by outcome, its height the check's duration against the
/// slowest shown; each bar's tooltip says when, how it ended and how long it took.
pub fn beat_bar(beats: &[Beat], label: &str) -> Markup {
    const W: f64 = 600.0;
    const H: f64 = 40.0;
    let step = W / BEATS as f64;
    let slowest = beats.iter().map(|b| b.took_us).max().unwrap_or(0).max(1) as f64;
    let skip = BEATS.saturating_sub(beats.len());
    html! {
        svg.beats viewBox={"0 0 " (W) " " (H)} role="img" aria-label=(label) {
            title { (label) }
            @for i in 0..skip {
                rect.beat.empty x=(fmt(step * i as f64 + 1.0)) y=(H - 6.0) width=(fmt(step - 2.0)) height="6" rx="2" {}
            }
            @for (i, b) in beats.iter().enumerate() {
                @let h = 8.0 + (H - 8.0) * (b.took_us as f64 / slowest);
                @let took = super::format::took(b.took_us);
                rect class={"beat " (b.outcome.as_str())} x=(fmt(step * (skip + i) as f64 + 1.0)) y=(fmt(H - h))
                    width=(fmt(step - 2.0)) height=(fmt(h)) rx="2" {
                    title { (vigil_core::time::format_millis(b.at)) " · " (b.outcome.as_str()) " · " (took) }
                }
            }
        }
    }
}

/// A value chart: the band from min to max and the mean line per bucket, the warning and
/// critical thresholds as dashed lines, and failing buckets marked. `buckets` are one series',
/// oldest first, from `from` to `to`.
pub fn value_chart(
    buckets: &[Bucket],
    from: Millis,
    to: Millis,
    warning: Option<Threshold>,
    critical: Option<Threshold>,
    label: &str,
) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 200.0;
    const L: f64 = 56.0; // room for the value axis
    const B: f64 = 22.0; // room for the time axis
    let marks: Vec<(f64, &'static str)> = [(warning, "warning"), (critical, "critical")]
        .into_iter()
        .flat_map(|(t, class)| bounds(t).into_iter().map(move |v| (v, class)))
        .collect();
    let values = buckets.iter().flat_map(|b| [b.min, b.max, b.mean]).flatten().chain(marks.iter().map(|m| m.0));
    let (lo, hi) = range(values);
    let span = (to - from).max(1) as f64;
    let x = |at: Millis| L + (W - L - 4.0) * ((at - from) as f64 / span).clamp(0.0, 1.0);
    let y = |v: f64| 6.0 + (H - B - 12.0) * (1.0 - scale(v, lo, hi));
    let band: Vec<(f64, f64, f64)> = buckets.iter().filter_map(|b| Some((x(b.at), y(b.max?), y(b.min?)))).collect();
    let band_points = band
        .iter()
        .map(|(px, top, _)| format!("{},{}", fmt(*px), fmt(*top)))
        .chain(band.iter().rev().map(|(px, _, bottom)| format!("{},{}", fmt(*px), fmt(*bottom))))
        .collect::<Vec<_>>()
        .join(" ");
    let mean = polyline_runs(buckets.iter().map(|b| b.mean.map(|v| (x(b.at), y(v)))));
    let ticks = time_ticks(from, to, 4);
    html! {
        svg.chart viewBox={"0 0 " (W) " " (H)} preserveAspectRatio="none" role="img" aria-label=(label) {
            title { (label) }
            rect.plot x=(L) y="4" width=(W - L - 2.0) height=(H - B - 8.0) {}
            @for v in [lo, (lo + hi) / 2.0, hi] {
                text.axis x=(L - 6.0) y=(fmt(y(v) + 4.0)) text-anchor="end" { (format::number(v)) }
            }
            @for (at, text) in &ticks {
                text.axis x=(fmt(x(*at))) y=(H - 6.0) text-anchor="middle" { (text) }
            }
            @if band.len() > 1 {
                polygon.band points=(band_points) {}
            }
            @for run in &mean {
                polyline.line points=(run) {}
            }
            @for b in buckets.iter().filter(|b| b.worst > 0) {
                @if let Some(v) = b.max.or(b.mean) {
                    circle class={"mark " (b.state())} cx=(fmt(x(b.at))) cy=(fmt(y(v))) r="3" {}
                }
            }
            @for (v, class) in &marks {
                line class={"threshold " (class)} x1=(L) x2=(W - 2.0) y1=(fmt(y(*v))) y2=(fmt(y(*v))) {}
                text class={"threshold-label " (class)} x=(W - 6.0) y=(fmt(y(*v) - 4.0)) text-anchor="end" { (class) " " (format::number(*v)) }
            }
        }
    }
}

/// The values a threshold draws as lines.
fn bounds(t: Option<Threshold>) -> Vec<f64> {
    match t {
        None => Vec::new(),
        Some(Threshold::Outside(a, b) | Threshold::Inside(a, b)) => vec![a, b],
        Some(
            Threshold::Above(v)
            | Threshold::AtLeast(v)
            | Threshold::Below(v)
            | Threshold::AtMost(v)
            | Threshold::Equal(v)
            | Threshold::NotEqual(v),
        ) => vec![v],
    }
}

/// Up to `n` evenly spaced time labels (`HH:MM` UTC within two days, else `MM-DD`).
fn time_ticks(from: Millis, to: Millis, n: usize) -> Vec<(Millis, String)> {
    let short = to - from <= 2 * 86_400_000;
    (0..=n)
        .map(|i| {
            let at = from + (to - from) * i as i64 / n as i64;
            let text = jiff::Timestamp::from_millisecond(at)
                .map(|t| t.strftime(if short { "%H:%M" } else { "%m-%d" }).to_string())
                .unwrap_or_default();
            (at, text)
        })
        .collect()
}

/// The extent of `values`, widened so a flat series still has height.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn scale(v: f64, lo: f64, hi: f64) -> f64 {
    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// SVG `points` for each unbroken run of points (a missing value breaks the line).
fn polyline_runs(points: impl Iterator<Item = Option<(f64, f64)>>) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for p in points {
        match p {
            Some((x, y)) => run.push(format!("{},{}", fmt(x), fmt(y))),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run).join(" ")),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run.join(" "));
    }
    runs.into_iter().map(|r| if r.contains(' ') { r } else { format!("{r} {r}") }).collect()
}

/// A coordinate with one decimal, which is all a screen needs (and keeps pages small).
pub fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 { format!("{}", r as i64) } else { format!("{r:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(at: Millis, worst: u8, mean: Option<f64>) -> Bucket {
        Bucket {
            at,
            checks: 6,
            failing: u32::from(worst > 0) * 6,
            worst,
            min: mean,
            max: mean,
            mean,
            ..Bucket::default()
        }
    }

    #[test]
    fn buckets_land_in_their_slots_and_merge() {
        let hour = 3_600_000;
        let b = [bucket(0, 0, Some(1.0)), bucket(10, 2, Some(3.0)), bucket(5 * hour, 0, None)];
        let slots = slotted(&b, 0, 24 * hour, 24);
        assert_eq!(slots.len(), 24);
        let first = slots[0].unwrap();
        assert_eq!((first.checks, first.worst, first.mean), (12, 2, Some(2.0)));
        assert_eq!(first.state(), "critical");
        assert!(slots[1].is_none());
        assert_eq!(slots[5].unwrap().state(), "ok");
    }

    #[test]
    fn a_sparkline_has_a_tick_per_slot_and_breaks_its_line_at_gaps() {
        let slots =
            vec![Some(bucket(0, 0, Some(1.0))), None, Some(bucket(2, 1, Some(2.0))), Some(bucket(3, 0, Some(3.0)))];
        let svg = sparkline(&slots, "api: last 24 h").into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("tick empty") && svg.contains("tick warning"));
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("<title>api: last 24 h</title>"));
    }

    #[test]
    fn the_value_chart_draws_thresholds_and_marks_failing_buckets() {
        let b: Vec<Bucket> = (0..10).map(|i| bucket(i * 60_000, u8::from(i == 7) * 2, Some(i as f64 * 10.0))).collect();
        let svg = value_chart(
            &b,
            0,
            600_000,
            Threshold::parse("> 50").ok(),
            Threshold::parse("outside 0..80").ok(),
            "latency",
        )
        .into_string();
        assert_eq!(svg.matches("class=\"threshold warning\"").count(), 1);
        assert_eq!(svg.matches("class=\"threshold critical\"").count(), 2);
        assert_eq!(svg.matches("class=\"mark critical\"").count(), 1);
        assert!(svg.contains("<polygon"), "the min..max band");
    }

    #[test]
    fn the_beat_bar_fills_from_the_right_with_a_bar_per_check() {
        use vigil_runtime::monitors::recent::Outcome;
        let beats = [
            Beat { at: 1_000, outcome: Outcome::Ok, took_us: 2_000 },
            Beat { at: 2_000, outcome: Outcome::Error, took_us: 500 },
        ];
        let svg = beat_bar(&beats, "web").into_string();
        assert_eq!(svg.matches(r#"class="beat empty""#).count(), BEATS - 2);
        assert_eq!(svg.matches(r#"class="beat ok""#).count(), 1);
        assert!(svg.contains("1970-01-01T00:00:02") && svg.contains(" · error · 0.50 ms"), "{svg}");
        assert!(svg.contains(r#"y="0" width"#), "the slowest check is full height: {svg}");
    }

    #[test]
    fn a_flat_or_empty_series_still_has_a_range() {
        assert_eq!(range([5.0, 5.0].into_iter()), (4.5, 5.5));
        assert_eq!(range(std::iter::empty()), (0.0, 1.0));
        assert_eq!(fmt(1.25), "1.3");
        assert_eq!(fmt(2.0), "2");
    }
}
