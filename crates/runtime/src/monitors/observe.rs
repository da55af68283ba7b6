//! A monitor's reading as the alert manager's observation.

use serde_json::json;
use vigil_core::alert::{AlertRequest, Tier};
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::evaluate::{Memory, Reading};
use vigil_core::time::Millis;

/// Whether the alert manager has heard enough about `reading`'s series to know it: it passed so
/// many times in a row that its alert resolved (`resolveAfter`) or never fired, so one more pass
/// changes nothing there but the time of the last observation. Most checks pass, and not telling
/// them saves building an observation and waking the alert manager for each. A failing reading
/// is always told, and so are the first passes after one (with one to spare).
pub fn settled(def: &MonitorDef, memory: &Memory, reading: &Reading) -> bool {
    reading.tier == Some(Tier::Ok)
        && memory.series.get(&reading.key).is_some_and(|seen| seen.passing > def.rule.resolve_after.max(1) + 1)
}

/// The observation of `reading` at slot `slot`, routed by its tier; `None` when the reading
/// observes nothing (`keep`).
pub fn request(def: &MonitorDef, reading: &Reading, slot: Millis) -> Option<AlertRequest> {
    let tier = reading.tier?;
    // A warning goes to the warning route, a critical to the critical one; an ok observation
    // names the warning route (its resolve goes to whoever was paged, whatever it names).
    let route = def.notify.get(tier.max(Tier::Warning)).to_vec();
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
        expires_at: None,
        routed: None,
        depends_on: def.ancestors.to_vec(),
        within: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_core::monitor::evaluate::{Answer, Sample, evaluate};

    use super::*;

    #[test]
    fn passes_are_told_until_resolve_after_and_one_more_then_failures_always() {
        let doc = json!({"name": "m", "every": "10s", "source": {"http": {"url": "http://x/"}},
            "value": "v", "critical": "> 90", "notify": ["hook"], "resolveAfter": 2});
        let (def, problems) = MonitorDef::build(&doc);
        let def = def.unwrap_or_else(|| panic!("{problems:?}"));
        let mut memory = Memory::default();
        let mut told = Vec::new();
        for v in [10, 10, 10, 10, 10, 99, 10, 10, 10, 10] {
            let mut fields = serde_json::Map::new();
            fields.insert("v".into(), json!(v));
            let sample = Sample { labels: Default::default(), fields, tier: None, note: None };
            let readings = evaluate(&def, &mut memory, &Answer::Samples(vec![sample]));
            told.push(!settled(&def, &memory, &readings[0]));
        }
        let (t, f) = (true, false);
        assert_eq!(told, [t, t, t, f, f, t, t, t, t, f]);
    }
}
