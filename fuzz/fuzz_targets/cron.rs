//! Cron expressions and time zones: any expression and zone (split at the first newline) build a
//! schedule or a located error, and a built schedule computes its next fire times.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::schedule::ScheduleDef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (cron, zone) = text.split_once('\n').unwrap_or((text, "UTC"));
    let doc = serde_json::json!({
        "name": "s", "cronExpression": cron, "zoneId": zone, "startWorkflowRequest": {"name": "w"}
    });
    if let (Some(schedule), _) = ScheduleDef::build(&doc) {
        // 2026-03-29 00:30 UTC: a DST change in Europe, a few weeks after one in America.
        let fires = schedule.upcoming(1_774_744_200_000, 5);
        assert!(fires.windows(2).all(|w| w[0] < w[1]), "fire times go forward: {fires:?}");
        let _ = schedule.take_due(fires.first().copied(), 1_774_744_200_000 + 86_400_000);
    }
});
