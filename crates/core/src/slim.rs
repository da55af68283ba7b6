//! [`SlimList`]: a list that is one pointer wide and allocates nothing while empty.

use std::ops::Deref;

/// A list of `T` kept where most instances hold none (a monitor's `dependsOn`, its ancestors, its
/// canned tests): 8 bytes inline instead of a boxed slice's 16 or a vector's 24, and no
/// allocation when empty. It reads as a slice.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlimList<T>(Option<Box<Box<[T]>>>);

impl<T> SlimList<T> {
    /// An empty list.
    pub const fn new() -> Self {
        SlimList(None)
    }
}

impl<T> Default for SlimList<T> {
    fn default() -> Self {
        SlimList::new()
    }
}

impl<T> Deref for SlimList<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], |items| &**items)
    }
}

impl<T> From<Vec<T>> for SlimList<T> {
    fn from(items: Vec<T>) -> Self {
        if items.is_empty() { SlimList(None) } else { SlimList(Some(Box::new(items.into_boxed_slice()))) }
    }
}

impl<T> FromIterator<T> for SlimList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        items.into_iter().collect::<Vec<T>>().into()
    }
}

impl<'a, T> IntoIterator for &'a SlimList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SlimList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SlimList;

    #[test]
    fn a_slim_list_reads_as_the_slice_it_was_made_from() {
        let empty: SlimList<String> = Vec::new().into();
        assert!(empty.is_empty());
        assert_eq!(empty, SlimList::default(), "an emptied list equals a new one");
        let list: SlimList<&str> = vec!["lb", "gateway"].into();
        assert_eq!(*list, ["lb", "gateway"]);
        assert_eq!((&list).into_iter().count(), 2);
        assert_eq!(format!("{list:?}"), r#"["lb", "gateway"]"#);
        assert_eq!(std::mem::size_of::<SlimList<String>>(), std::mem::size_of::<usize>());
    }
}
