//! The firing alerts of the whole cluster as stored, by name and labels: for what one node must
//! know of alerts other nodes own (silences until resolved, inhibition sources).

use std::collections::BTreeMap;

use serde::Deserialize;
use vigil_core::time::Millis;
use vigil_store::{AlertingStore, StoreError};

/// Most firing alerts read.
const READ: u32 = 1_000_000;

/// One firing alert.
#[derive(Debug, Clone)]
pub struct Firing {
    /// Its dedup key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

/// The part of a stored alert record read here.
#[derive(Deserialize)]
struct Stored {
    request: Named,
}

#[derive(Deserialize)]
struct Named {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Every firing alert at `now`. A routed pushed alert's key is its group's (the partition that
/// holds it), once per group.
pub async fn read(store: &dyn AlertingStore, now: Millis) -> Result<Vec<Firing>, StoreError> {
    let records = store.alerts(true, READ).await?.into_iter().filter(|a| a.condition == "firing").filter_map(|a| {
        let s = serde_json::from_str::<Stored>(&a.state).ok()?;
        Some(Firing { key: a.dedup_key, name: s.request.name, labels: s.request.labels })
    });
    let pushed =
        crate::alert_rows::pushed_members(store, READ).await?.into_iter().filter(|(_, a)| !a.resolved_at(now)).map(
            |(group, a)| {
                let name = a.labels.get(vigil_core::alert::ALERT_NAME_LABEL).cloned().unwrap_or_default();
                Firing { key: group, name, labels: a.labels }
            },
        );
    Ok(records.chain(pushed).collect())
}
