//! A shard's monitors by [`Key`]: a due time, a check under way and its result name the monitor
//! by two small numbers, not by its name, so a check copies no name and hashes none to find its
//! monitor again (at 1,000 checks a second the names' copies, hashes and comparisons in the due
//! heap were a tenth of the shard's own work).

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

/// A value that carries its own name (a monitor's entry, by its definition's name), so the
/// table keeps no copy of it.
pub trait Named {
    /// The name it is found by.
    fn name(&self) -> &str;
}

impl<T: Named> Named for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// Names one monitor while it stays in the table. A key whose monitor was removed (or handed to
/// another shard) finds nothing, even when its slot holds another monitor since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    slot: u32,
    generation: u32,
}

struct Slot<T> {
    generation: u32,
    held: Option<T>,
}

/// Values by name and by [`Key`]. The name index holds slot numbers only, hashed from the names
/// the values carry: a map from a copy of each name took about 60 bytes per monitor.
pub struct Table<T> {
    slots: Vec<Slot<T>>,
    index: HashTable<u32>,
    hasher: RandomState,
    free: Vec<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self { slots: Vec::new(), index: HashTable::new(), hasher: RandomState::new(), free: Vec::new() }
    }
}

impl<T: Named> Table<T> {
    /// The slot holding `name`'s value, if any.
    fn find(&self, name: &str) -> Option<u32> {
        let slots = &self.slots;
        let holds = |slot: &u32| slots[*slot as usize].held.as_ref().is_some_and(|v| v.name() == name);
        self.index.find(self.hasher.hash_one(name), holds).copied()
    }

    /// Makes room for `more` values beyond those held (once, instead of doubling as they come).
    pub fn reserve(&mut self, more: usize) {
        let new_slots = more.saturating_sub(self.free.len());
        self.slots.reserve_exact(new_slots);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.reserve(more, |slot| rehash(slots, hasher, *slot));
    }

    /// Adds `value` under its name; a value already there under that name is replaced, keeping
    /// its key.
    pub fn insert(&mut self, value: T) -> Key {
        if let Some(slot) = self.find(value.name()) {
            let place = &mut self.slots[slot as usize];
            place.held = Some(value);
            return Key { slot, generation: place.generation };
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot { generation: 0, held: None });
                u32::try_from(self.slots.len() - 1).expect("fewer than 4 billion monitors per shard")
            }
        };
        let hash = self.hasher.hash_one(value.name());
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, slot, |s| rehash(slots, hasher, *s));
        let place = &mut self.slots[slot as usize];
        place.generation = place.generation.wrapping_add(1);
        place.held = Some(value);
        Key { slot, generation: place.generation }
    }

    /// The key of `name`.
    pub fn key(&self, name: &str) -> Option<Key> {
        let slot = self.find(name)?;
        Some(Key { slot, generation: self.slots[slot as usize].generation })
    }

    /// The value named `name`, to change.
    pub fn named_mut(&mut self, name: &str) -> Option<&mut T> {
        let key = self.key(name)?;
        self.get_mut(key)
    }

    /// The value named `name`.
    pub fn named(&self, name: &str) -> Option<&T> {
        self.get(self.key(name)?)
    }

    /// Removes the values whose names `keep` refuses, and returns them.
    pub fn remove_unless(&mut self, keep: impl Fn(&str) -> bool) -> Vec<T> {
        let gone: Vec<Key> = self.keyed().filter(|(_, value)| !keep(value.name())).map(|(key, _)| key).collect();
        gone.into_iter().filter_map(|key| self.take(key)).collect()
    }

    /// Removes every value, and returns them.
    pub fn drain(&mut self) -> Vec<T> {
        let all: Vec<Key> = self.keyed().map(|(key, _)| key).collect();
        all.into_iter().filter_map(|key| self.take(key)).collect()
    }

    fn take(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.slot as usize).filter(|s| s.generation == key.generation)?;
        let value = slot.held.take()?;
        let hash = self.hasher.hash_one(value.name());
        if let Ok(entry) = self.index.find_entry(hash, |s| *s == key.slot) {
            entry.remove();
        }
        self.free.push(key.slot);
        Some(value)
    }

    /// Every value with its key.
    fn keyed(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter_map(|(slot, s)| {
            let key = Key { slot: slot as u32, generation: s.generation };
            s.held.as_ref().map(|value| (key, value))
        })
    }

    /// Every value with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.values().map(|value| (value.name(), value))
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values().map(|value| value.name())
    }
}

/// The hash of the name held in `slot`, for the index to move its slot numbers when it grows.
fn rehash<T: Named>(slots: &[Slot<T>], hasher: &RandomState, slot: u32) -> u64 {
    hasher.hash_one(slots[slot as usize].held.as_ref().map_or("", |v| v.name()))
}

impl<T> Table<T> {
    /// The value of `key`, if it is still in the table.
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.slot as usize).filter(|s| s.generation == key.generation)?;
        slot.held.as_ref()
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.slot as usize).filter(|s| s.generation == key.generation)?;
        slot.held.as_mut()
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|s| s.held.as_ref())
    }

    /// Every value, to change (its name must stay as it is).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(|s| s.held.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    struct V(&'static str, i32);

    impl Named for V {
        fn name(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn a_key_finds_its_value_until_it_is_removed_even_when_the_slot_is_used_again() {
        let mut table = Table::default();
        let a = table.insert(V("a", 1));
        let b = table.insert(V("b", 2));
        assert_eq!((table.get(a), table.get(b)), (Some(&V("a", 1)), Some(&V("b", 2))));
        assert_eq!(table.remove_unless(|name| name != "a"), vec![V("a", 1)]);
        assert_eq!(table.get(a), None);
        let c = table.insert(V("c", 3));
        assert_eq!(c.slot, a.slot, "the freed slot is used again");
        assert_eq!((table.get(a), table.get(c)), (None, Some(&V("c", 3))));
        assert_eq!(table.named("c"), Some(&V("c", 3)));
        assert_eq!(table.key("a"), None);
        assert_eq!(table.key("b"), Some(b));
    }

    #[test]
    fn inserting_a_name_again_replaces_its_value_and_keeps_its_key() {
        let mut table = Table::default();
        let a = table.insert(V("a", 1));
        assert_eq!(table.insert(V("a", 5)), a);
        assert_eq!(table.get(a), Some(&V("a", 5)));
        table.named_mut("a").unwrap().1 += 1;
        assert_eq!(table.values().cloned().collect::<Vec<_>>(), vec![V("a", 6)]);
    }

    #[test]
    fn drained_values_leave_no_key_behind() {
        let names = ["m0", "m1", "m2"];
        let mut table = Table::default();
        let keys: Vec<Key> = names.iter().zip(0..).map(|(n, v)| table.insert(V(n, v))).collect();
        let mut drained = table.drain();
        drained.sort();
        assert_eq!(drained, vec![V("m0", 0), V("m1", 1), V("m2", 2)]);
        assert!(keys.iter().all(|key| table.get(*key).is_none()));
        assert_eq!(table.iter().count(), 0);
        assert!(names.iter().all(|n| table.key(n).is_none()));
    }

    #[test]
    fn many_names_are_found_through_growth_removal_and_reuse() {
        static NAMES: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| (0..5_000).map(|n| format!("monitor-{n}")).collect());
        let mut table = Table::default();
        table.reserve(100);
        for (n, name) in NAMES.iter().enumerate() {
            table.insert(V(name.as_str(), n as i32));
        }
        let gone = table.remove_unless(|name| !name.ends_with('7'));
        assert_eq!(gone.len(), 500);
        for (n, name) in NAMES.iter().enumerate() {
            let found = table.named(name).map(|v| v.1);
            assert_eq!(found, (!name.ends_with('7')).then_some(n as i32), "{name}");
        }
        for name in NAMES.iter().filter(|n| n.ends_with('7')) {
            table.insert(V(name.as_str(), -1));
        }
        assert_eq!(table.values().count(), 5_000);
        assert_eq!(table.named("monitor-17").map(|v| v.1), Some(-1));
    }
}
