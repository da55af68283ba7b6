//! The alert manager's look at the store every few seconds: operators' acknowledgement requests,
//! the silences, the monitors that fire (whose dependents are held), other nodes' firing alerts an
//! inhibition rule takes as its source, and the published Alertmanager configuration. The reads
//! run as a task of their own, beside the manager, and the manager takes their result at its next
//! step: an alert arriving meanwhile does not wait for five reads of the store (they were 1 push
//! in 40 of `vigil bench alertmanager`'s latency, so its p99).

use std::collections::BTreeMap;
use std::sync::Arc;

use vigil_core::alert::Silence;
use vigil_core::alertmanager::config::inhibit::InhibitRule;
use vigil_core::status_page::StatusPageDef;
use vigil_core::time::Clock;
use vigil_store::{SilenceRow, Store, StoreError};

use crate::cluster::ownership::Ownership;

/// What one look read.
pub(crate) struct Refreshed {
    /// The keys operators asked to acknowledge.
    pub acks: Result<Vec<String>, StoreError>,
    /// The silences.
    pub silences: Result<Vec<SilenceRow>, StoreError>,
    /// The silences of the status pages' maintenance windows.
    pub maintenance: Result<Vec<Silence>, StoreError>,
    /// Some silence until resolved ended: look again at once.
    pub ended_until_resolved: bool,
    /// Other nodes' firing alerts an inhibition rule takes as its source (key, labels); `None`
    /// when unread (a read failed).
    pub remote_sources: Option<Vec<(String, BTreeMap<String, String>)>>,
    /// Which of the watched monitors fire.
    pub firing_parents: Result<Vec<String>, StoreError>,
    /// The published Alertmanager configuration, as stored.
    pub routing: Result<Option<String>, StoreError>,
    /// The pages and monitors whose windows it read.
    pub windows: Windows,
}

/// The status pages and the monitors' declared facts a look reads maintenance windows from.
#[derive(Clone)]
pub(crate) struct Windows {
    /// The status pages in force.
    pub pages: Arc<Vec<StatusPageDef>>,
    /// The monitors' own windows.
    pub monitors: Arc<crate::monitors::declared::DeclaredMonitors>,
}

impl Windows {
    /// Whether both are the very ones of `other` (not replaced since).
    pub fn same(&self, other: &Windows) -> bool {
        Arc::ptr_eq(&self.pages, &other.pages) && Arc::ptr_eq(&self.monitors, &other.monitors)
    }
}

/// What a look needs.
pub(crate) struct Look {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub ownership: Arc<Ownership>,
    /// The inhibition rules of the routing tree.
    pub rules: Vec<InhibitRule>,
    /// The monitors others depend on.
    pub watched: Vec<String>,
    /// The pages and monitors whose windows hold alerts.
    pub windows: Windows,
    /// This look also ends the silences until resolved whose alerts resolved.
    pub end_until_resolved: bool,
}

impl Look {
    /// Reads it all.
    pub async fn read(self) -> Refreshed {
        let store = &*self.store;
        let acks = store.ack_requests().await;
        let silences = store.silences().await;
        let maintenance = self.maintenance_silences().await;
        let mut ended_until_resolved = false;
        if self.end_until_resolved {
            match crate::until_resolved::end_resolved(store, self.clock.now()).await {
                Ok(ended) => ended_until_resolved = !ended.is_empty(),
                Err(e) => tracing::error!(error = %e, "Could not end the silences until resolved."),
            }
        }
        let remote_sources = self.remote_sources().await;
        let firing_parents = store.firing_names(&self.watched).await;
        let routing = crate::routing::read_stored(store).await;
        let windows = self.windows;
        Refreshed {
            acks,
            silences,
            maintenance,
            ended_until_resolved,
            remote_sources,
            firing_parents,
            routing,
            windows,
        }
    }

    /// The silences of the pages' maintenance windows, those of their files and those scheduled
    /// through the API (a window that no longer reads is left out: the page logs it).
    async fn maintenance_silences(&self) -> Result<Vec<Silence>, StoreError> {
        let w = &self.windows;
        crate::status_pages::maintenance_silences::silences(&*self.store, &w.pages, &w.monitors, self.clock.now()).await
    }

    /// In a cluster with inhibition rules: the firing alerts of other nodes that may inhibit.
    async fn remote_sources(&self) -> Option<Vec<(String, BTreeMap<String, String>)>> {
        if self.ownership.solo() || self.rules.is_empty() {
            return Some(Vec::new());
        }
        match crate::firing_alerts::read(&*self.store, self.clock.now()).await {
            Ok(all) => Some(
                all.into_iter()
                    .filter(|f| !self.ownership.owns_key(&f.key))
                    .filter(|f| self.rules.iter().any(|r| vigil_core::alertmanager::all_match(&r.source, &f.labels)))
                    .map(|f| (f.key, f.labels))
                    .collect(),
            ),
            Err(e) => {
                tracing::error!(error = %e, "Could not read other nodes' firing alerts for inhibition.");
                None
            }
        }
    }
}
