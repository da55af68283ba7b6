//! Back-pressure for schedules: how many instances started by schedule fires run at once, per
//! schedule (for `overlapPolicy: SKIP`) and in all (for the limit).
//!
//! The scheduler claims a due fire only while there is room under the limit. Past it, due fires
//! wait in the scheduler's heap (a few bytes per schedule) instead of becoming instances that
//! queue in memory behind each other; when instances end and room returns, each waiting schedule
//! fires per its misfire policy: with `runCatchupScheduleInstances: false` (the default) its
//! latest slot runs and the slots it missed are counted as skipped; with `true` every slot runs,
//! oldest first, as room allows. Instances started any other way (the API, sub-workflows) are not
//! limited here: their callers wait for each start to be durable, which is back-pressure enough.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most instances started by schedule fires running at once, by default.
pub const DEFAULT_MAX_RUNNING_FIRES: usize = 10_000;

/// Counts of running fire-started instances.
pub struct FireAdmission {
    by_schedule: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
    limit: usize,
}

impl FireAdmission {
    /// No instance running; at most `limit` at once.
    pub fn new(limit: usize) -> Self {
        Self { by_schedule: Mutex::new(HashMap::new()), total: AtomicUsize::new(0), limit: limit.max(1) }
    }

    /// An instance of `schedule` runs (started now, or resumed after a restart).
    pub fn started(&self, schedule: &str) {
        *self.by_schedule.lock().expect("lock").entry(schedule.to_string()).or_default() += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// An instance of `schedule` ended, or left this node.
    pub fn ended(&self, schedule: &str) {
        let mut by_schedule = self.by_schedule.lock().expect("lock");
        if let Some(n) = by_schedule.get_mut(schedule)
            && *n > 0
        {
            *n -= 1;
            if *n == 0 {
                by_schedule.remove(schedule);
            }
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Instances of `schedule` running.
    pub fn running(&self, schedule: &str) -> usize {
        self.by_schedule.lock().expect("lock").get(schedule).copied().unwrap_or(0)
    }

    /// Fire-started instances running in all.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// How many more may start now.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.total())
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_shrinks_with_starts_and_returns_with_ends_never_below_zero() {
        let a = FireAdmission::new(3);
        a.started("s");
        a.started("s");
        a.started("t");
        assert_eq!((a.room(), a.running("s"), a.total()), (0, 2, 3));
        a.ended("s");
        a.ended("u");
        assert_eq!((a.room(), a.running("s")), (1, 1));
        a.ended("s");
        a.ended("s");
        assert_eq!((a.room(), a.running("s"), a.total()), (2, 0, 1));
    }
}
