//! Which inbox messages the reader handed over and were not applied yet: a message is handed
//! over once, and again only when whoever took it lets it go ([`Handed::release`]) or its
//! partition changed hands since (the lease was lost before the message was applied).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::ownership::Ownership;

/// Inbox messages handed over, each with the generation of its partition when it was.
#[derive(Default)]
pub(crate) struct Handed {
    ids: Mutex<HashMap<i64, (u32, u64)>>,
}

impl Handed {
    /// Marks message `id` of partition `part` handed over; false when it already is (or the
    /// partition is not owned).
    pub(crate) fn hand(&self, id: i64, part: u32, ownership: &Ownership) -> bool {
        let Some(generation) = ownership.generation(part) else { return false };
        let mut ids = self.ids.lock().expect("lock");
        if ids.get(&id).is_some_and(|held| *held == (part, generation)) {
            return false;
        }
        ids.insert(id, (part, generation));
        true
    }

    /// Whoever took message `id` did not apply it and will not: hand it over again.
    pub(crate) fn release(&self, id: i64) {
        self.ids.lock().expect("lock").remove(&id);
    }

    /// Forgets the messages that were applied (no longer among `present`, when that is every
    /// message there is) and those whose partition was lost since they were handed over.
    pub(crate) fn prune(&self, present: Option<&HashSet<i64>>, ownership: &Ownership) {
        self.ids.lock().expect("lock").retain(|id, (part, generation)| {
            present.is_none_or(|p| p.contains(id)) && ownership.generation(*part) == Some(*generation)
        });
    }

    /// How many messages are held as handed over.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.lock().expect("lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_handed_once_until_released() {
        let ownership = Ownership::owning_all("n1");
        let handed = Handed::default();
        assert!(handed.hand(7, 3, &ownership));
        assert!(!handed.hand(7, 3, &ownership), "handed over twice");
        handed.release(7);
        assert!(handed.hand(7, 3, &ownership), "a released message is handed over again");
    }

    #[test]
    fn a_message_left_when_its_partition_was_lost_is_handed_again_when_it_returns() {
        let ownership = Ownership::owning_all("n1");
        let handed = Handed::default();
        assert!(handed.hand(7, 3, &ownership));
        assert!(handed.hand(8, 4, &ownership));
        // The lease of partition 3 is lost before message 7 is applied, and taken back.
        ownership.remove(&[3]);
        assert!(!handed.hand(7, 3, &ownership), "a partition not owned hands nothing");
        ownership.add(&[3]);
        handed.prune(None, &ownership);
        assert_eq!(handed.len(), 1, "message 8's partition never moved");
        assert!(handed.hand(7, 3, &ownership), "message 7 would wait forever");
        assert!(!handed.hand(8, 4, &ownership));
    }

    #[test]
    fn applied_messages_are_forgotten() {
        let ownership = Ownership::owning_all("n1");
        let handed = Handed::default();
        handed.hand(7, 3, &ownership);
        handed.hand(8, 3, &ownership);
        handed.prune(Some(&HashSet::from([8])), &ownership);
        assert_eq!(handed.len(), 1);
        assert!(handed.hand(7, 3, &ownership));
    }
}
