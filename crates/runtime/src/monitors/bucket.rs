//! One series' history buckets: the open one as numbers, the closed ones packed into bytes while
//! they wait for the history write.
//!
//! Ten closed buckets per series wait between two writes (one-minute buckets, written every ten
//! minutes). As structs they took 56 bytes each, 616 bytes per series with the room kept for
//! them; packed, a bucket of one check with a small whole value takes 3 or 4 bytes (a float value,
//! 10): a flags byte, the start as a varint delta from the previous one (in seconds where whole),
//! the counts as varints unless the bucket holds one check, and one value where every statistic
//! equals it (a bucket with one value), four otherwise; whole values as zigzag varints.

use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::Reading;
use vigil_core::time::Millis;
use vigil_core::varint::{self, unzigzag, zigzag};
use vigil_store::MonitorHistoryRow;

/// One series' bucket: the checks in it, and their values' statistics. A bucket without values
/// (every check an error) is told by `errors == checks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: Millis,
    pub checks: u32,
    pub failing: u32,
    pub errors: u32,
    pub worst: Option<Tier>,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub last: f64,
}

impl Bucket {
    /// An empty bucket starting at `start`.
    pub fn new(start: Millis) -> Bucket {
        Bucket { start, checks: 0, failing: 0, errors: 0, worst: None, min: 0.0, max: 0.0, sum: 0.0, last: 0.0 }
    }

    /// Counts one reading.
    pub fn add(&mut self, reading: &Reading) {
        let first_value = self.errors == self.checks;
        self.checks += 1;
        if reading.tier.is_some_and(|t| t > Tier::Ok) {
            self.failing += 1;
        }
        self.worst = self.worst.max(reading.tier);
        match reading.value {
            Some(v) if first_value => (self.min, self.max, self.sum, self.last) = (v, v, v, v),
            Some(v) => {
                (self.min, self.max) = (self.min.min(v), self.max.max(v));
                self.sum += v;
                self.last = v;
            }
            None => self.errors += 1,
        }
    }

    fn has_values(&self) -> bool {
        self.errors < self.checks
    }

    /// The bucket as the store's row.
    pub fn row(&self, monitor: &str, series: &str) -> MonitorHistoryRow {
        let has_values = self.has_values();
        let value = |v: f64| has_values.then_some(v);
        MonitorHistoryRow {
            monitor: monitor.to_string(),
            series: series.to_string(),
            bucket: self.start,
            checks: self.checks,
            failing: self.failing,
            errors: self.errors,
            worst: match self.worst {
                Some(Tier::Critical) => 2,
                Some(Tier::Warning) => 1,
                _ => 0,
            },
            min: value(self.min),
            max: value(self.max),
            sum: value(self.sum),
            last: value(self.last),
        }
    }
}

/// What a bucket of one check with a whole value usually packs into: flags, a one-byte delta in
/// seconds, a value of up to three bytes. The first push reserves this much per bucket expected;
/// after each write the room is fitted to what the round took.
const BYTES_PER_BUCKET: usize = 4;

/// Flag bits: the worst tier in the low two bits (0 none, 1 ok, 2 warning, 3 critical).
const WORST: u8 = 0b11;
/// The bucket has values.
const HAS_VALUES: u8 = 1 << 2;
/// One value stands for min, max, sum and last (they are all equal).
const ONE_VALUE: u8 = 1 << 3;
/// One check: no counts follow (its error count is 1 exactly when it has no values).
const ONE_CHECK: u8 = 1 << 4;
/// With [`ONE_CHECK`]: that check was failing.
const FAILING: u8 = 1 << 5;
/// The values are whole numbers, packed as zigzag varints instead of 8-byte floats.
const WHOLE: u8 = 1 << 6;
/// The start's delta is in whole seconds (a minute is one byte, not three).
const SECONDS: u8 = 1 << 7;

/// `v` as a whole number, where that keeps it exactly (not -0.0, not beyond 2^53).
fn whole(v: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (v.fract() == 0.0 && v.abs() <= EXACT && !(v == 0.0 && v.is_sign_negative())).then_some(v as i64)
}

/// Closed buckets, packed, oldest first: per bucket a flags byte, the start (the first absolute,
/// the others a delta from the one before), the counts unless [`ONE_CHECK`], and the values.
#[derive(Debug, Clone, Default)]
pub struct Closed {
    bytes: Vec<u8>,
    /// The start of the last bucket packed (the next one's is written as a delta from it).
    last_start: Millis,
}

impl Closed {
    /// Adds `bucket` after the others; `expected` is how many close between two history
    /// writes, to make room for them once.
    pub fn push(&mut self, bucket: &Bucket, expected: usize) {
        if self.bytes.capacity() == 0 {
            self.bytes.reserve_exact(expected.clamp(1, 64) * BYTES_PER_BUCKET + 8);
        }
        let delta = if self.bytes.is_empty() { bucket.start } else { bucket.start - self.last_start };
        self.last_start = bucket.start;
        let worst = match bucket.worst {
            None => 0,
            Some(Tier::Ok) => 1,
            Some(Tier::Warning) => 2,
            Some(Tier::Critical) => 3,
        };
        let values = bucket.has_values();
        let all = [bucket.min, bucket.max, bucket.sum, bucket.last];
        let one = values && all[1..].iter().all(|v| v.to_bits() == bucket.min.to_bits());
        let packed = if one {
            &all[..1]
        } else if values {
            &all[..]
        } else {
            &[]
        };
        let whole_values = !packed.is_empty() && packed.iter().all(|v| whole(*v).is_some());
        let single = bucket.checks == 1 && bucket.failing <= 1;
        let mut flags = worst;
        for (set, bit) in [
            (values, HAS_VALUES),
            (one, ONE_VALUE),
            (single, ONE_CHECK),
            (single && bucket.failing == 1, FAILING),
            (whole_values, WHOLE),
            (delta % 1000 == 0, SECONDS),
        ] {
            if set {
                flags |= bit;
            }
        }
        self.bytes.push(flags);
        varint::put(zigzag(if flags & SECONDS != 0 { delta / 1000 } else { delta }), &mut self.bytes);
        if !single {
            for count in [bucket.checks, bucket.failing, bucket.errors] {
                varint::put(u64::from(count), &mut self.bytes);
            }
        }
        for v in packed {
            match whole(*v).filter(|_| whole_values) {
                Some(n) => varint::put(zigzag(n), &mut self.bytes),
                None => self.bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }

    /// Every bucket waiting, oldest first; none waits after. The room kept is fitted to what
    /// this round took (with a quarter more), so a series of float values or several checks a
    /// bucket grows it once, and one that took less gives the rest back.
    pub fn take(&mut self) -> Vec<Bucket> {
        let out = self.unpack();
        let used = self.bytes.len();
        self.bytes.clear();
        if used > 0 {
            self.bytes.shrink_to(used + used / 4);
        }
        out
    }

    /// Every bucket waiting, oldest first.
    pub fn unpack(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        let (mut at, mut start) = (0usize, 0 as Millis);
        let bytes = &self.bytes[..];
        while at < bytes.len() {
            let flags = bytes[at];
            at += 1;
            let mut delta = unzigzag(packed(bytes, &mut at));
            if flags & SECONDS != 0 {
                delta *= 1000;
            }
            start = if out.is_empty() { delta } else { start + delta };
            let has_values = flags & HAS_VALUES != 0;
            let (checks, failing, errors) = if flags & ONE_CHECK != 0 {
                (1, u32::from(flags & FAILING != 0), u32::from(!has_values))
            } else {
                let mut count = || u32::try_from(packed(bytes, &mut at)).unwrap_or(u32::MAX);
                (count(), count(), count())
            };
            let worst = match flags & WORST {
                0 => None,
                1 => Some(Tier::Ok),
                2 => Some(Tier::Warning),
                _ => Some(Tier::Critical),
            };
            let mut value = || {
                if flags & WHOLE != 0 {
                    return unzigzag(packed(bytes, &mut at)) as f64;
                }
                let v = f64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
                at += 8;
                v
            };
            let (min, max, sum, last) = if flags & ONE_VALUE != 0 {
                let v = value();
                (v, v, v, v)
            } else if has_values {
                (value(), value(), value(), value())
            } else {
                (0.0, 0.0, 0.0, 0.0)
            };
            out.push(Bucket { start, checks, failing, errors, worst, min, max, sum, last });
        }
        out
    }
}

/// A varint this type packed itself (so it is whole).
fn packed(bytes: &[u8], at: &mut usize) -> u64 {
    varint::read(bytes, at).expect("packed by `Closed::push`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(start: Millis, values: &[Option<f64>], tier: Option<Tier>) -> Bucket {
        let mut b = Bucket::new(start);
        for v in values {
            let reading = Reading {
                key: "k".into(),
                labels: Default::default(),
                value: *v,
                tier,
                summary: String::new(),
                note: None,
            };
            b.add(&reading);
        }
        b
    }

    #[test]
    fn buckets_come_back_as_they_were_packed() {
        let buckets = [
            bucket(-120_000, &[Some(1.5)], Some(Tier::Ok)),
            bucket(0, &[Some(3.0), Some(-7.25), None], Some(Tier::Critical)),
            bucket(60_000, &[None, None], None),
            bucket(60_000 * 1_000_000, &[Some(f64::MAX), Some(f64::MIN_POSITIVE)], Some(Tier::Warning)),
            bucket(60_000 * 1_000_001, &[Some(-0.0)], Some(Tier::Ok)),
            bucket(60_000 * 1_000_002, &[Some(f64::NAN)], Some(Tier::Ok)),
            bucket(60_000 * 1_000_003, &[Some(2.0), Some(2.0)], Some(Tier::Ok)),
            bucket(60_000 * 1_000_004 + 1, &[Some(-5.0)], Some(Tier::Warning)),
            bucket(60_000 * 1_000_005, &[Some(9_007_199_254_740_992.0), Some(-1.0)], Some(Tier::Ok)),
            bucket(60_000 * 1_000_006, &[None], Some(Tier::Critical)),
            bucket(60_000 * 1_000_007, &[Some(1e300)], Some(Tier::Ok)),
            bucket(60_000 * 1_000_008, &[Some(0.0)], Some(Tier::Critical)),
        ];
        let mut closed = Closed::default();
        for b in &buckets {
            closed.push(b, 10);
        }
        let back = closed.take();
        assert_eq!(back.len(), buckets.len());
        for (a, b) in back.iter().zip(&buckets) {
            let bits = |b: &Bucket| [b.min, b.max, b.sum, b.last].map(f64::to_bits);
            assert_eq!(
                (a.start, a.checks, a.failing, a.errors, a.worst),
                (b.start, b.checks, b.failing, b.errors, b.worst)
            );
            if b.has_values() {
                assert_eq!(bits(a), bits(b), "values of the bucket at {}", b.start);
            }
        }
        assert!(closed.bytes.is_empty() && closed.take().is_empty(), "taken once");
        closed.push(&buckets[0], 10);
        assert_eq!(closed.take()[0].start, -120_000, "the first after a take is not a delta from the last");
    }

    #[test]
    fn a_bucket_of_one_check_packs_into_a_few_bytes() {
        let mut closed = Closed::default();
        let first = 29_000_000 * 60_000;
        for n in 0..10 {
            closed.push(&bucket(first + n * 60_000, &[Some(42.0)], Some(Tier::Ok)), 10);
        }
        // A flags byte each; the first start in seconds (a 5-byte varint), the next nine deltas of
        // 60 s one byte each; no counts; one value of one byte (42 zigzagged).
        assert_eq!(closed.bytes.len(), 10 + 5 + 9 + 10);
        assert_eq!(closed.bytes.capacity(), 10 * BYTES_PER_BUCKET + 8, "room for ten, reserved once");
        closed.take();
        assert_eq!(closed.bytes.capacity(), 34 + 8, "fitted to the round: 34 bytes and a quarter more");

        // A failing check with a float value: flags, delta, 8 bytes.
        closed.push(&bucket(first, &[Some(97.5)], Some(Tier::Critical)), 10);
        let back = closed.take();
        assert_eq!((back[0].checks, back[0].failing, back[0].errors, back[0].last), (1, 1, 0, 97.5));
    }
}
