//! Named crash points: the places where a process dying matters most for durability, each with
//! a name, so a test can kill vigil at exactly one of them instead of timing a `kill -9`.
//!
//! `VIGIL_CRASH_AT=NAME` (or `NAME:N`, the Nth time it is reached) makes the process abort there:
//! no destructor runs, nothing more is written or sent, as with `kill -9`. Unset (always, outside
//! tests), reaching a point costs one load of an initialized `OnceLock`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Declares [`CrashPoint`], one line per point: its name and where it is.
macro_rules! crash_points {
    ($($(#[$doc:meta])* $variant:ident = $name:literal;)*) => {
        /// A named place where a durability test may kill the process.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum CrashPoint {
            $($(#[$doc])* $variant,)*
        }

        impl CrashPoint {
            /// Every point.
            pub const ALL: &'static [CrashPoint] = &[$(CrashPoint::$variant),*];

            /// Its name, as `VIGIL_CRASH_AT` takes it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(CrashPoint::$variant => $name,)*
                }
            }
        }
    };
}

crash_points! {
    /// Instance changes are about to be committed: nothing of the batch is stored yet.
    BeforeCommit = "commit.before";
    /// Instance changes are committed; their actions (HTTP calls, timers, children) are not
    /// started.
    AfterCommit = "commit.after";
    /// Schedule fire times are claimed; their instances are not started.
    AfterFireClaim = "schedule.after-claim";
    /// Alert states and their notices are committed to the outbox; nothing is sent.
    AfterAlertCommit = "alerts.after-commit";
    /// An EVENT task's message is about to be published: its instance is committed, the broker
    /// has not seen it.
    BeforePublish = "publish.before";
    /// The broker accepted an EVENT task's message; the task's completion is not committed.
    AfterPublish = "publish.after";
    /// Messages for event handlers were taken from their queue; nothing they cause is committed.
    BeforeEventCommit = "consume.before-commit";
    /// What the messages caused is committed; they are not acknowledged on their queue.
    BeforeEventAck = "consume.before-ack";
    /// A notice is taken from the outbox; its request is not sent.
    BeforeSend = "notify.before-send";
    /// The provider accepted a notice; the outbox does not record it yet.
    AfterSend = "notify.after-send";
}

/// The armed point and the hit that aborts, read once from `VIGIL_CRASH_AT`.
fn armed() -> Option<(CrashPoint, u32)> {
    static ARMED: OnceLock<Option<(CrashPoint, u32)>> = OnceLock::new();
    *ARMED.get_or_init(|| std::env::var("VIGIL_CRASH_AT").ok().and_then(|spec| parse(&spec)))
}

/// `NAME` or `NAME:N` (N ≥ 1).
fn parse(spec: &str) -> Option<(CrashPoint, u32)> {
    let (name, nth) = match spec.split_once(':') {
        Some((name, n)) => (name, n.parse().ok().filter(|n| *n >= 1)?),
        None => (spec, 1),
    };
    let point = CrashPoint::ALL.iter().copied().find(|p| p.name() == name.trim());
    if point.is_none() {
        let names: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
        eprintln!("vigil: VIGIL_CRASH_AT={spec} names no crash point (one of: {}); ignored", names.join(", "));
    }
    point.map(|p| (p, nth))
}

/// Aborts the process when `point` is the armed one and this is its Nth hit.
pub fn reach(point: CrashPoint) {
    let Some((armed, nth)) = armed() else { return };
    if armed != point {
        return;
    }
    static HITS: AtomicU32 = AtomicU32::new(0);
    if HITS.fetch_add(1, Ordering::SeqCst) + 1 == nth {
        eprintln!("vigil: crash point {} reached (VIGIL_CRASH_AT): aborting", point.name());
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_point_and_a_hit() {
        assert_eq!(parse("commit.after"), Some((CrashPoint::AfterCommit, 1)));
        assert_eq!(parse("notify.after-send:3"), Some((CrashPoint::AfterSend, 3)));
        assert_eq!(parse("notify.after-send:0"), None);
        assert_eq!(parse("commit.later"), None);
        let mut names: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
        names.dedup();
        assert_eq!(names.len(), CrashPoint::ALL.len());
    }
}
