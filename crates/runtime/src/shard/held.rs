//! Once-starts waiting for the store's word.
//!
//! An instance whose id names it for good (an event's start, the same on every delivery of its
//! message; a start from another node's inbox) must run once, even when two deliveries race or
//! one arrives after the first run ended and left memory. A look-up before the start is not
//! enough: the run may end, and leave the shard, between the look-up and the start.
//!
//! So the shard holds the start first: from then on the id counts as present here, and every
//! earlier batch of the shard, with any earlier run's last state, is ahead of it in the
//! committer's queue. Once the batch that took the hold is committed, the store is asked
//! whether the id exists, and the answer ([`super::ShardMsg::Checked`]) starts it or drops it.

use std::collections::HashMap;

use tokio::sync::oneshot;
use vigil_core::instance::Instance;

/// One held start.
pub(crate) struct Held {
    /// Which hold of its id this is: an answer to an earlier one (its partition left and came
    /// back while the look-up ran) does not settle it.
    seq: u64,
    /// The state it starts with.
    pub(crate) instance: Instance,
    /// Starters waiting to hear it is durable (or that the id exists).
    pub(crate) waiters: Vec<oneshot::Sender<()>>,
    /// The inbox messages that asked for it (partition, id): deleted once settled.
    pub(crate) inbox: Vec<(u32, i64)>,
}

/// The held starts of one shard, by instance id.
#[derive(Default)]
pub(crate) struct HeldStarts {
    held: HashMap<String, Held>,
    /// The number of the next hold.
    next: u64,
}

impl HeldStarts {
    /// Holds `instance`; the hold's number when its id was not held yet (a look-up is then due,
    /// and its answer names the number). A second start of a held id only waits with the first.
    pub(crate) fn hold(
        &mut self,
        instance: Instance,
        waiter: Option<oneshot::Sender<()>>,
        inbox: Option<(u32, i64)>,
    ) -> Option<u64> {
        let seq = self.next;
        let mut fresh = false;
        let held = self.held.entry(instance.workflow_id.clone()).or_insert_with(|| {
            fresh = true;
            Held { seq, instance, waiters: Vec::new(), inbox: Vec::new() }
        });
        held.waiters.extend(waiter);
        held.inbox.extend(inbox);
        fresh.then(|| {
            self.next += 1;
            seq
        })
    }

    /// Whether `id` is held.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.held.contains_key(id)
    }

    /// Takes the held start of `id` that hold `seq` made, if it is still held.
    pub(crate) fn take(&mut self, id: &str, seq: u64) -> Option<Held> {
        if self.held.get(id)?.seq != seq {
            return None;
        }
        self.held.remove(id)
    }

    /// Drops the held starts of partitions `parts` (moved to another node): their starters'
    /// channels close (the engine reports it cannot start them here, and an event is delivered
    /// again), and their inbox messages stay for the new owner.
    pub(crate) fn evict(&mut self, parts: &[u32]) {
        self.held.retain(|_, held| !parts.contains(&held.instance.partition));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, part: u32) -> Instance {
        let doc = serde_json::json!({"name": "w", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
        let def = vigil_core::def::build::build_workflow(&doc).0.unwrap();
        let mut i = vigil_core::interpreter::new_instance(&def, id.into(), serde_json::json!({}), 0);
        i.partition = part;
        i
    }

    #[test]
    fn a_second_start_of_a_held_id_waits_with_the_first() {
        let mut held = HeldStarts::default();
        let (a, _ra) = oneshot::channel();
        let (b, _rb) = oneshot::channel();
        let seq = held.hold(instance("e", 1), Some(a), None).expect("a look-up is due");
        assert_eq!(held.hold(instance("e", 1), Some(b), Some((1, 7))), None, "no second look-up");
        assert!(held.contains("e"));
        let taken = held.take("e", seq).unwrap();
        assert_eq!((taken.waiters.len(), taken.inbox), (2, vec![(1, 7)]));
        assert!(!held.contains("e"));
    }

    #[test]
    fn an_answer_to_an_earlier_hold_settles_nothing() {
        let mut held = HeldStarts::default();
        let first = held.hold(instance("e", 1), None, None).unwrap();
        held.evict(&[1]);
        let second = held.hold(instance("e", 1), None, None).unwrap();
        assert!(held.take("e", first).is_none(), "the first hold's look-up answers late");
        assert!(held.take("e", second).is_some());
    }

    #[test]
    fn eviction_drops_only_the_moved_partitions() {
        let mut held = HeldStarts::default();
        held.hold(instance("a", 1), None, None);
        held.hold(instance("b", 2), None, None);
        held.evict(&[1]);
        assert!(!held.contains("a") && held.contains("b"));
    }
}
