//! A status page component's days (checks and failing checks per UTC day), and the days
//! before today kept once read: a leaf the engine's shared state and the page views both use.

use std::collections::HashMap;

use vigil_core::time::Millis;

/// One day of a component: its checks and, of them, the failing ones (summed over its monitors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Day {
    /// The day's start (UTC midnight).
    pub start: Millis,
    /// Checks made.
    pub checks: u64,
    /// Checks at warning or critical.
    pub failing: u64,
}

impl Day {
    /// The share of checks that passed, when there were any.
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| 1.0 - self.failing as f64 / self.checks as f64)
    }
}

/// Components' days before today, as read once today: `(page, component)` to `(today's start,
/// the days shown with today's left empty)`.
pub type PastDays = std::sync::Mutex<HashMap<(String, String), (Millis, Vec<Day>)>>;
