//! A shard's monitors by [`Key`]: a due time, a check under way and its result name the monitor
//! by two small numbers, not by its name, so a check copies no name and hashes none to find its
//! monitor again (at 1,000 checks a second the names' copies, hashes and comparisons in the due
//! heap were a tenth of the shard's own work).

use std::collections::HashMap;

/// Names one monitor while it stays in the table. A key whose monitor was removed (or handed to
/// another shard) finds nothing, even when its slot holds another monitor since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    slot: u32,
    generation: u32,
}

struct Slot<T> {
    generation: u32,
    held: Option<(String, T)>,
}

/// Values by name and by [`Key`].
pub struct Table<T> {
    slots: Vec<Slot<T>>,
    keys: HashMap<String, Key>,
    free: Vec<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self { slots: Vec::new(), keys: HashMap::new(), free: Vec::new() }
    }
}

impl<T> Table<T> {
    /// Adds `value` as `name`; a value already there under that name is replaced, keeping its key.
    pub fn insert(&mut self, name: String, value: T) -> Key {
        if let Some(key) = self.key(&name) {
            self.slots[key.slot as usize].held = Some((name, value));
            return key;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot { generation: 0, held: None });
                u32::try_from(self.slots.len() - 1).expect("fewer than 4 billion monitors per shard")
            }
        };
        let place = &mut self.slots[slot as usize];
        place.generation = place.generation.wrapping_add(1);
        let key = Key { slot, generation: place.generation };
        self.keys.insert(name.clone(), key);
        place.held = Some((name, value));
        key
    }

    /// The key of `name`.
    pub fn key(&self, name: &str) -> Option<Key> {
        self.keys.get(name).copied()
    }

    /// The value of `key`, if it is still in the table.
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.slot as usize).filter(|s| s.generation == key.generation)?;
        slot.held.as_ref().map(|(_, value)| value)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.slot as usize).filter(|s| s.generation == key.generation)?;
        slot.held.as_mut().map(|(_, value)| value)
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
    pub fn remove_unless(&mut self, keep: impl Fn(&str) -> bool) -> Vec<(String, T)> {
        let gone: Vec<Key> = self.keys.iter().filter(|(name, _)| !keep(name)).map(|(_, key)| *key).collect();
        gone.into_iter().filter_map(|key| self.take(key)).collect()
    }

    /// Removes every value, and returns them.
    pub fn drain(&mut self) -> Vec<(String, T)> {
        let all: Vec<Key> = self.keys.values().copied().collect();
        all.into_iter().filter_map(|key| self.take(key)).collect()
    }

    fn take(&mut self, key: Key) -> Option<(String, T)> {
        let slot = self.slots.get_mut(key.slot as usize).filter(|s| s.generation == key.generation)?;
        let (name, value) = slot.held.take()?;
        self.keys.remove(&name);
        self.free.push(key.slot);
        Some((name, value))
    }

    /// Every value with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.slots.iter().filter_map(|s| s.held.as_ref().map(|(name, value)| (name.as_str(), value)))
    }

    /// Every name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(name, _)| name)
    }

    /// Every value with its name, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut T)> {
        self.slots.iter_mut().filter_map(|s| s.held.as_mut().map(|(name, value)| (name.as_str(), value)))
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.iter().map(|(_, value)| value)
    }

    /// Every value, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.iter_mut().map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_finds_its_value_until_it_is_removed_even_when_the_slot_is_used_again() {
        let mut table = Table::default();
        let a = table.insert("a".to_string(), 1);
        let b = table.insert("b".to_string(), 2);
        assert_eq!((table.get(a), table.get(b)), (Some(&1), Some(&2)));
        assert_eq!(table.remove_unless(|name| name != "a"), vec![("a".to_string(), 1)]);
        assert_eq!(table.get(a), None);
        let c = table.insert("c".to_string(), 3);
        assert_eq!(c.slot, a.slot, "the freed slot is used again");
        assert_eq!((table.get(a), table.get(c)), (None, Some(&3)));
        assert_eq!(table.named("c"), Some(&3));
        assert_eq!(table.key("a"), None);
    }

    #[test]
    fn inserting_a_name_again_replaces_its_value_and_keeps_its_key() {
        let mut table = Table::default();
        let a = table.insert("a".to_string(), 1);
        assert_eq!(table.insert("a".to_string(), 5), a);
        assert_eq!(table.get(a), Some(&5));
        *table.named_mut("a").unwrap() += 1;
        assert_eq!(table.values().copied().collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn drained_values_leave_no_key_behind() {
        let mut table = Table::default();
        let keys: Vec<Key> = (0..3).map(|n| table.insert(format!("m{n}"), n)).collect();
        let mut drained = table.drain();
        drained.sort();
        assert_eq!(drained, vec![("m0".to_string(), 0), ("m1".to_string(), 1), ("m2".to_string(), 2)]);
        assert!(keys.iter().all(|key| table.get(*key).is_none()));
        assert_eq!(table.iter().count(), 0);
    }
}
