//! A monitor's last checks, kept in memory for the operator's beat bar: when each started, how it
//! ended (ok, warning, critical, error) and how long it took. Shown from the first check, before
//! any history reaches the store (which writes every few minutes).
//!
//! Six bytes a check, in a ring of [`BEATS`]: one 320-byte allocation per monitor that has been
//! checked on this node (an 8-byte beat would take 448).

use vigil_core::time::Millis;

/// Checks kept per monitor (Uptime Kuma's main view shows about as many).
pub const BEATS: usize = 50;

/// How a check ended, worst tier first among its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every series passed.
    Ok,
    /// A series was at warning.
    Warning,
    /// A series was critical.
    Critical,
    /// The source failed (no answer, no value).
    Error,
}

impl Outcome {
    /// The outcome numbered `n` as `CheckCounts` numbers them (0 ok … 3 error).
    pub fn of_index(n: usize) -> Outcome {
        match n {
            0 => Outcome::Ok,
            1 => Outcome::Warning,
            2 => Outcome::Critical,
            _ => Outcome::Error,
        }
    }

    fn index(self) -> u16 {
        match self {
            Outcome::Ok => 0,
            Outcome::Warning => 1,
            Outcome::Critical => 2,
            Outcome::Error => 3,
        }
    }

    /// Its word, as tiers and badges spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Warning => "warning",
            Outcome::Critical => "critical",
            Outcome::Error => "error",
        }
    }
}

/// One check as shown.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Beat {
    /// When it started, to the second.
    pub at: Millis,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took, in microseconds (to about 0.2 %).
    pub took_us: u64,
}

/// The ring.
#[derive(Debug, Clone)]
pub struct Recent {
    /// Start times in seconds since the epoch (until 2106).
    at: [u32; BEATS],
    /// Outcome in the top two bits; the duration in the rest ([`pack_took`]).
    took: [u16; BEATS],
    /// Where the next check goes.
    head: u8,
    /// Checks held.
    len: u8,
}

impl Default for Recent {
    fn default() -> Self {
        Recent { at: [0; BEATS], took: [0; BEATS], head: 0, len: 0 }
    }
}

/// Units of the packed duration's mantissa: 10 µs.
const TOOK_UNIT_US: u64 = 10;
/// Mantissa bits; the exponent takes the four above them.
const MANTISSA_BITS: u32 = 10;
/// The longest duration packed as it is (about 335 s); longer ones are kept as this.
const TOOK_MAX_US: u64 = (((1 << MANTISSA_BITS) - 1) * TOOK_UNIT_US) << 15;

/// Packs a duration into 14 bits: a 4-bit exponent over a 10-bit mantissa of 10 µs units.
fn pack_took(us: u64) -> u16 {
    let units = us.min(TOOK_MAX_US) / TOOK_UNIT_US;
    let exponent = (64 - units.leading_zeros()).saturating_sub(MANTISSA_BITS);
    let mantissa = units >> exponent;
    ((exponent as u16) << MANTISSA_BITS) | mantissa as u16
}

fn unpack_took(packed: u16) -> u64 {
    let exponent = u32::from(packed >> MANTISSA_BITS) & 0xf;
    let mantissa = u64::from(packed & ((1 << MANTISSA_BITS) - 1));
    (mantissa << exponent) * TOOK_UNIT_US
}

impl Recent {
    /// Adds a check that started at `at`.
    pub fn push(&mut self, at: Millis, outcome: Outcome, took_us: u64) {
        let slot = self.head as usize;
        self.at[slot] = u32::try_from(at.max(0) / 1000).unwrap_or(u32::MAX);
        self.took[slot] = (outcome.index() << 14) | pack_took(took_us);
        self.head = ((slot + 1) % BEATS) as u8;
        self.len = (self.len + 1).min(BEATS as u8);
    }

    /// The checks held, oldest first.
    pub fn beats(&self) -> Vec<Beat> {
        let len = self.len as usize;
        (0..len)
            .map(|n| {
                let slot = (self.head as usize + BEATS - len + n) % BEATS;
                let packed = self.took[slot];
                Beat {
                    at: Millis::from(self.at[slot]) * 1000,
                    outcome: Outcome::of_index(usize::from(packed >> 14)),
                    took_us: unpack_took(packed & 0x3fff),
                }
            })
            .collect()
    }

    /// The newest check's duration, in microseconds.
    pub fn last_took_us(&self) -> Option<u64> {
        (self.len > 0).then(|| unpack_took(self.took[(self.head as usize + BEATS - 1) % BEATS] & 0x3fff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_fifty_oldest_first() {
        let mut recent = Recent::default();
        assert!(recent.beats().is_empty() && recent.last_took_us().is_none());
        for n in 0..60 {
            let outcome = if n % 7 == 0 { Outcome::Critical } else { Outcome::Ok };
            recent.push(1_700_000_000_000 + n * 30_000, outcome, 100 * n as u64);
        }
        let beats = recent.beats();
        assert_eq!(beats.len(), BEATS);
        assert_eq!(beats[0].at, 1_700_000_000_000 + 10 * 30_000);
        assert_eq!(beats[49].at, 1_700_000_000_000 + 59 * 30_000);
        assert_eq!(beats[4].outcome, Outcome::Critical, "check 14");
        assert_eq!(beats[5].outcome, Outcome::Ok);
        assert_eq!(recent.last_took_us(), Some(5_900), "short durations are kept to 10 µs");
    }

    #[test]
    fn durations_pack_to_about_two_thousandths() {
        for us in [0u64, 10, 990, 10_230, 10_240, 123_456, 2_000_000, 59_999_999, 300_000_000] {
            let back = unpack_took(pack_took(us));
            assert!(back <= us && us - back <= (us / 500).max(TOOK_UNIT_US), "{us} µs came back as {back}");
        }
        assert_eq!(unpack_took(pack_took(u64::MAX)), TOOK_MAX_US, "longer ones are kept at the most");
        assert!(pack_took(u64::MAX) < 1 << 14, "fits beside the outcome");
    }

    #[test]
    fn a_ring_takes_one_320_byte_allocation() {
        assert!(std::mem::size_of::<Recent>() <= 320, "{} bytes", std::mem::size_of::<Recent>());
    }
}
