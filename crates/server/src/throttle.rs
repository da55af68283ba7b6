//! Slowing down guessed sign-ins: each source address may get [`FREE_FAILURES`] tokens wrong in a
//! row; after that it waits before its next try, twice as long after each further failure, up to
//! [`MAX_WAIT`]. A success clears its count; a source that stays quiet for [`FORGET_AFTER`] is
//! forgotten. IPv6 sources count per /64, which one host can hold whole.
//!
//! The count is per node (a cluster multiplies an attacker's tries by its nodes); tokens are 256-bit
//! random secrets, so this is about noise and lockout-free pacing, not about making a guess
//! feasible. Behind a reverse proxy every browser shares the proxy's address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens a source may send in a row before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between tries.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How long a source's failures are remembered after its last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Sources remembered at most; the longest quiet is dropped beyond it.
const MAX_SOURCES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When this source may try again, after `free` failures that cost nothing.
    fn next_try(&self, free: u32) -> Instant {
        if self.count < free {
            return self.last;
        }
        let doublings = (self.count - free).min(16);
        self.last + Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
    }
}

/// Failed sign-ins per source address.
#[derive(Debug)]
pub struct SignInThrottle {
    sources: Mutex<HashMap<IpAddr, Failures>>,
    free: u32,
}

impl Default for SignInThrottle {
    /// [`FREE_FAILURES`] free failures per source.
    fn default() -> Self {
        Self::with_free(FREE_FAILURES)
    }
}

/// The address a source is counted under: IPv6 by its /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

impl SignInThrottle {
    /// A throttle that lets `free` failures in a row cost nothing.
    pub fn with_free(free: u32) -> Self {
        Self { sources: Mutex::default(), free }
    }

    /// How long `source` must still wait before its next try (`None`: it may try now).
    pub fn wait(&self, source: IpAddr, now: Instant) -> Option<Duration> {
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let next = sources.get(&source_key(source))?.next_try(self.free);
        (next > now).then(|| next - now)
    }

    /// Records a wrong token from `source`.
    pub fn failed(&self, source: IpAddr, now: Instant) {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let key = source_key(source);
        if !sources.contains_key(&key) && sources.len() >= MAX_SOURCES {
            sources.retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
            if sources.len() >= MAX_SOURCES
                && let Some(quietest) = sources.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| *k)
            {
                sources.remove(&quietest);
            }
        }
        let entry = sources.entry(key).or_insert(Failures { count: 0, last: now });
        if now.saturating_duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
    }

    /// Clears `source`'s failures after a good token.
    pub fn succeeded(&self, source: IpAddr) {
        self.sources.lock().unwrap_or_else(|p| p.into_inner()).remove(&source_key(source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_few_mistakes_are_free_then_each_wait_doubles_up_to_a_minute() {
        let t = SignInThrottle::default();
        let start = Instant::now();
        let a = ip("10.0.0.1");
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.wait(a, start), None);
            t.failed(a, start);
        }
        assert_eq!(t.wait(a, start), Some(Duration::from_secs(1)));
        assert_eq!(t.wait(ip("10.0.0.2"), start), None, "other sources are not slowed");
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..10 {
            let wait = t.wait(a, now).unwrap_or_default();
            waits.push(wait.as_secs());
            now += wait;
            assert_eq!(t.wait(a, now), None, "after the wait, a try");
            t.failed(a, now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        t.succeeded(a);
        assert_eq!(t.wait(a, now), None, "a good token clears the count");
    }

    #[test]
    fn quiet_sources_start_over() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        let a = ip("192.0.2.7");
        for _ in 0..8 {
            t.failed(a, now);
        }
        assert!(t.wait(a, now).is_some());
        let later = now + FORGET_AFTER;
        t.failed(a, later);
        assert_eq!(t.wait(a, later), None, "counted from one again");
    }

    #[test]
    fn ipv6_sources_count_per_64_and_mapped_v4_as_v4() {
        let t = SignInThrottle::default();
        let now = Instant::now();
        for i in 0..FREE_FAILURES {
            t.failed(ip(&format!("2001:db8:1:2::{i:x}")), now);
        }
        assert!(t.wait(ip("2001:db8:1:2:ffff::1"), now).is_some(), "one /64, one source");
        assert_eq!(t.wait(ip("2001:db8:1:3::1"), now), None);
        for _ in 0..FREE_FAILURES {
            t.failed(ip("::ffff:10.1.1.1"), now);
        }
        assert!(t.wait(ip("10.1.1.1"), now).is_some());
    }

    #[test]
    fn memory_is_bounded_by_dropping_the_quietest_source() {
        let t = SignInThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_SOURCES as u32 + 10 {
            t.failed(IpAddr::V4((0x0a00_0000 + i).into()), start + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(t.sources.lock().unwrap().len(), MAX_SOURCES);
    }
}
