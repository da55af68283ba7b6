//! A monitor's reading as the alert manager's observation.

use serde_json::json;
use vigil_core::alert::{AlertRequest, Tier};
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::Reading;
use vigil_core::time::Millis;

/// The observation of `reading` at slot `slot`, routed by its tier; `None` when the reading
/// observes nothing (`keep`).
pub fn request(def: &MonitorDef, reading: &Reading, slot: Millis) -> Option<AlertRequest> {
    let tier = reading.tier?;
    // A warning goes to the warning route, a critical to the critical one; an ok observation
    // names the warning route (its resolve goes to whoever was paged, whatever it names).
    let route = def.notify.get(&tier.max(Tier::Warning)).cloned().unwrap_or_default();
    let severity = if tier == Tier::Critical { "critical" } else { "warning" };
    Some(AlertRequest {
        dedup_key: reading.key.clone(),
        name: def.name.clone(),
        failing: tier > Tier::Ok,
        severity: severity.into(),
        summary: reading.summary.clone(),
        details: json!({"value": reading.value, "note": reading.note, "monitor": def.name}),
        labels: reading.labels.clone(),
        notifiers: route,
        links: Vec::new(),
        rule: def.rule.clone(),
        source: format!("monitor/{}", def.name),
        observation_id: format!("{}@{slot}", reading.key),
        observed_at: slot,
    })
}
