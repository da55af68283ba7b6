//! The secrets kept in the store, sealed: what the API and the UI write and list (never a value).

use std::sync::Arc;

use vigil_core::time::Clock;
use vigil_store::{Store, StoreError};

/// The stored secrets' handle ([`crate::Engine::stored_secrets`]). Cheap to clone.
#[derive(Clone)]
pub struct StoredSecrets {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl StoredSecrets {
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every stored secret's name, sorted.
    pub async fn names(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self.store.secrets().await?.into_iter().map(|(n, _)| n).collect();
        names.sort();
        Ok(names)
    }

    /// Every stored secret, sealed, by name.
    pub async fn sealed(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.store.secrets().await
    }

    /// Stores secret `name`, sealed, now.
    pub async fn put(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        self.store.put_secret(name, sealed, self.clock.now()).await
    }

    /// Removes secret `name`; false when there was none.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        self.store.delete_secret(name).await
    }
}
