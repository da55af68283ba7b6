//! A feature's rows: a view of the store that reaches only that feature's tables.
//!
//! A route that lists alerts or reads an instance's status needs the rows, not the engine's
//! logic; it takes the feature's view ([`crate::Engine::alert_rows`], `instance_rows`,
//! `monitor_rows`, `fire_rows`), which dereferences to the feature's store trait and nothing
//! else, so it cannot reach another feature's tables.

use std::ops::Deref;
use std::sync::Arc;

use vigil_store::Store;

/// The tables of one feature, as the trait `T` (`dyn AlertingStore`, ...). Cheap to clone.
pub struct Rows<T: ?Sized + 'static> {
    store: Arc<dyn Store>,
    view: fn(&dyn Store) -> &T,
}

impl<T: ?Sized> Rows<T> {
    /// The view `view` of `store`.
    pub(crate) fn new(store: Arc<dyn Store>, view: fn(&dyn Store) -> &T) -> Self {
        Self { store, view }
    }
}

impl<T: ?Sized> Clone for Rows<T> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), view: self.view }
    }
}

impl<T: ?Sized> Deref for Rows<T> {
    type Target = T;

    fn deref(&self) -> &T {
        (self.view)(&*self.store)
    }
}

impl<T: ?Sized> AsRef<T> for Rows<T> {
    fn as_ref(&self) -> &T {
        self
    }
}
