//! The names of the schedules a config directory defined, kept from one load to the next so a
//! reload can stop the schedules whose file no longer defines them.

/// A sorted set of names packed into one string. `vigil serve` keeps the directory's schedule
/// names for as long as it runs: 100,000 of them as separate `String`s cost 5.6 MB, packed about
/// 1.4 MB. Looking one up is a binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleNames {
    text: String,
    /// Where each name ends in `text`, in name order.
    ends: Vec<usize>,
}

impl ScheduleNames {
    /// The set of `names` (duplicates kept once).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut sorted: Vec<&str> = names.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut text = String::with_capacity(sorted.iter().map(|n| n.len()).sum());
        let mut ends = Vec::with_capacity(sorted.len());
        for name in sorted {
            text.push_str(name);
            ends.push(text.len());
        }
        ScheduleNames { text, ends }
    }

    fn get(&self, at: usize) -> &str {
        let start = if at == 0 { 0 } else { self.ends[at - 1] };
        &self.text[start..self.ends[at]]
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        let (mut lo, mut hi) = (0, self.ends.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|at| self.get(at))
    }
}

#[cfg(test)]
mod tests {
    use super::ScheduleNames;

    #[test]
    fn packed_names_are_a_sorted_set() {
        let names = ScheduleNames::new(["b", "a", "ab", "", "b", "ç"]);
        assert_eq!(names.iter().collect::<Vec<_>>(), ["", "a", "ab", "b", "ç"]);
        for present in ["", "a", "ab", "b", "ç"] {
            assert!(names.contains(present), "{present:?}");
        }
        for absent in ["aa", "abc", "c", "B", "c\u{327}"] {
            assert!(!names.contains(absent), "{absent:?}");
        }
        assert_eq!(ScheduleNames::default().iter().count(), 0);
        assert!(!ScheduleNames::default().contains(""));
    }
}
