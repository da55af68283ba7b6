//! Every alert vigil holds, as rows: the alert manager's records, and the alerts pushed through
//! Alertmanager's API while a routing tree is loaded. Those live in their notification groups
//! only (one member row each, no record of their own, as Alertmanager keeps them), so each
//! appears here as a record made from its member: firing until its `endsAt`, since its
//! `startsAt`. An alert in several groups appears once.

use std::collections::HashSet;

use vigil_core::alert::{AlertState, Condition};
use vigil_core::alertmanager::{Alert, fingerprint_hex, request::to_request};
use vigil_core::time::Millis;
use vigil_store::{AlertRow, AlertingStore, StoreError};

use crate::alerting::messages::AlertRecord;

/// Up to `limit` alerts (only firing and pending ones when `active`), as of `now`: the stored
/// records first, then the routed pushed alerts.
pub async fn read(
    store: &dyn AlertingStore,
    active: bool,
    limit: u32,
    now: Millis,
) -> Result<Vec<AlertRow>, StoreError> {
    let mut rows = store.alerts(active, limit).await?;
    if rows.len() >= limit as usize {
        return Ok(rows);
    }
    let mut seen: HashSet<String> = rows.iter().map(|r| r.dedup_key.clone()).collect();
    // vigil's own alerts among the members are left out: read twice the limit's worth.
    for (_, alert) in pushed_members(store, limit.saturating_mul(2)).await? {
        if rows.len() >= limit as usize {
            break;
        }
        let row = row_of(&alert, now);
        if (!active || row.condition == Condition::Firing.as_str()) && seen.insert(row.dedup_key.clone()) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The routed pushed alerts as stored, each with its group's key (once per group).
pub(crate) async fn pushed_members(store: &dyn AlertingStore, limit: u32) -> Result<Vec<(String, Alert)>, StoreError> {
    Ok(store
        .group_member_alerts(limit)
        .await?
        .into_iter()
        .filter_map(|(group, key, alert)| {
            let alert = serde_json::from_str::<Alert>(&alert).ok()?;
            // vigil's own alerts join groups too, under their dedup keys: they have records. A
            // pushed alert's member key is its fingerprint.
            (key == fingerprint_hex(&alert.labels)).then_some((group, alert))
        })
        .collect())
}

/// The keys of the groups holding the routed pushed alert whose dedup key is `key` (none for
/// any other key): acknowledging such an alert acknowledges them.
pub async fn groups_holding(store: &dyn AlertingStore, key: &str) -> Result<Vec<String>, StoreError> {
    if !vigil_core::alertmanager::request::is_pushed_key(key) {
        return Ok(Vec::new());
    }
    Ok(pushed_members(store, u32::MAX)
        .await?
        .into_iter()
        .filter(|(_, a)| vigil_core::alertmanager::request::dedup_key(&a.labels) == key)
        .map(|(group, _)| group)
        .collect())
}

/// The row of pushed alert `alert` at `now`.
fn row_of(alert: &Alert, now: Millis) -> AlertRow {
    let request = to_request(alert, alert.updated_at, &[]);
    let firing = !alert.resolved_at(now);
    let state = AlertState {
        condition: if firing { Condition::Firing } else { Condition::Ok },
        notified_firing: firing,
        firing_since: Some(alert.starts_at),
        expires_at: (firing && alert.ends_at > 0).then_some(alert.ends_at),
        ..AlertState::default()
    };
    let record = AlertRecord { request, state, paged: Vec::new(), paged_severity: None, escalations: Vec::new() };
    AlertRow {
        dedup_key: record.request.dedup_key.clone(),
        name: record.request.name.clone(),
        condition: record.state.condition.as_str().into(),
        firing_since: firing.then_some(alert.starts_at),
        last_notified: None,
        acknowledged: false,
        next_wake: None,
        updated_at: alert.updated_at,
        state: serde_json::to_string(&record).expect("record serializes"),
    }
}
