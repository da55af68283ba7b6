//! Accounts and teams at run time: people and service accounts, their API tokens, UI sessions
//! and sign-ins, the identity providers they sign in through, and the audit log.
//!
//! [`Accounts`] is the feature's handle ([`crate::Engine::accounts`]). It reaches the store's
//! account tables only: it dereferences to [`AccountStore`] for plain reads and writes, so a
//! route that takes it cannot touch instances, alerts or monitors. The identity providers the
//! configuration declares are its own state.

use std::ops::Deref;
use std::sync::{Arc, RwLock};

use vigil_core::identity::IdentityProviderDef;
use vigil_store::{AccountStore, Store};

/// The accounts' handle. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    identity_providers: Arc<RwLock<Arc<Vec<IdentityProviderDef>>>>,
}

impl Accounts {
    /// Accounts kept in `store`, with no identity provider yet.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self { store, identity_providers: Arc::default() }
    }

    /// The account tables, for a caller that keeps them beyond a borrow (a spawned sign-in).
    pub fn shared(&self) -> Arc<dyn AccountStore> {
        self.store.clone()
    }

    /// Puts the configuration's identity providers in force (start, reload).
    pub fn set_identity_providers(&self, providers: Vec<IdentityProviderDef>) {
        *self.identity_providers.write().expect("lock") = Arc::new(providers);
    }

    /// The identity providers people sign in with (the config directory's `identity-providers/`).
    pub fn identity_providers(&self) -> Arc<Vec<IdentityProviderDef>> {
        self.identity_providers.read().expect("lock").clone()
    }
}

impl Deref for Accounts {
    type Target = dyn AccountStore;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl AsRef<dyn AccountStore> for Accounts {
    fn as_ref(&self) -> &(dyn AccountStore + 'static) {
        &*self.store
    }
}
