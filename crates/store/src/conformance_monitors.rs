//! Conformance: monitor results and history.

use crate::{MonitorBatch, MonitorHistoryRow, MonitorResultRow, Store};

fn result(monitor: &str, series: &str, tier: &str, value: f64, at: i64) -> MonitorResultRow {
    MonitorResultRow {
        monitor: monitor.into(),
        series: series.into(),
        labels: format!(r#"{{"host":"{series}"}}"#),
        tier: Some(tier.into()),
        value: Some(value),
        note: None,
        checked_at: at,
        changed_at: at,
    }
}

fn bucket(monitor: &str, series: &str, at: i64, checks: u32) -> MonitorHistoryRow {
    MonitorHistoryRow {
        monitor: monitor.into(),
        series: series.into(),
        bucket: at,
        checks,
        failing: 1,
        errors: 0,
        worst: 2,
        min: Some(1.5),
        max: Some(9.0),
        sum: Some(20.0),
        last: Some(9.0),
    }
}

/// Latest readings are replaced per series and deleted when gone; buckets are added, replaced
/// when written twice, read in time order and pruned by age in chunks.
pub async fn run_all(store: &dyn Store) {
    live_relays_are_written_while_wanted(store).await;
    let first = MonitorBatch {
        results: vec![result("disk", "a", "ok", 1.0, 1_000), result("disk", "b", "warning", 85.0, 1_000)],
        history: vec![bucket("disk", "a", 0, 6), bucket("disk", "b", 0, 6), bucket("cpu", "x", 0, 6)],
        removed: Vec::new(),
        rollups: Vec::new(),
    };
    store.put_monitor_results(&first).await.unwrap();
    store.put_monitor_results(&MonitorBatch::default()).await.unwrap();
    let second = MonitorBatch {
        results: vec![result("disk", "b", "critical", 97.0, 2_000), result("cpu", "x", "ok", 3.0, 2_000)],
        history: vec![bucket("disk", "a", 0, 7), bucket("disk", "a", 60_000, 6)],
        removed: vec![("disk".into(), "a".into())],
        rollups: Vec::new(),
    };
    store.put_monitor_results(&second).await.unwrap();

    let day = 86_400_000;
    let summed = ["sum-web", "sum-api", "sum-other"]
        .iter()
        .flat_map(|m| {
            [(0, 10), (day, 20)].map(|(at, checks)| crate::RollupRow { width: day, row: bucket(m, "s", at, checks) })
        })
        .chain([crate::RollupRow { width: 3_600_000, row: bucket("sum-web", "s", day, 99) }])
        .collect();
    store.put_monitor_results(&MonitorBatch { rollups: summed, ..Default::default() }).await.unwrap();
    let pair = ["sum-web".to_string(), "sum-api".to_string()];
    assert_eq!(
        store.rollup_sums(&pair, day, 0).await.unwrap(),
        [(0, 20, 2), (day, 40, 2)],
        "two monitors' days, summed"
    );
    assert_eq!(store.rollup_sums(&pair, day, day).await.unwrap(), [(day, 40, 2)]);
    assert!(store.rollup_sums(&[], day, 0).await.unwrap().is_empty());
    for m in ["sum-web", "sum-api", "sum-other"] {
        store.prune_monitor_rollups(&crate::RollupScope::Monitor(m.into()), i64::MAX, 100).await.unwrap();
    }

    let disk = store.monitor_results("disk").await.unwrap();
    assert_eq!(disk, vec![result("disk", "b", "critical", 97.0, 2_000)]);
    let all = store.monitor_results("").await.unwrap();
    assert_eq!(all.iter().map(|r| r.series.as_str()).collect::<Vec<_>>(), ["x", "b"]);
    let some = store.monitor_results_of(&["disk".into(), "nothing-here".into()]).await.unwrap();
    assert_eq!(some, disk, "only the monitors asked for");
    let both: Vec<String> = all.iter().map(|r| r.monitor.clone()).collect();
    assert_eq!(store.monitor_results_of(&both).await.unwrap(), all);
    assert!(store.monitor_results_of(&[]).await.unwrap().is_empty());

    let history = store.monitor_history("disk", 0, 100).await.unwrap();
    let summary: Vec<_> = history.iter().map(|h| (h.series.as_str(), h.bucket, h.checks)).collect();
    assert_eq!(summary, [("a", 0, 7), ("b", 0, 6), ("a", 60_000, 6)]);
    assert_eq!(history[0], bucket("disk", "a", 0, 7));
    assert_eq!(store.monitor_history("disk", 1, 100).await.unwrap().len(), 1);
    assert_eq!(store.monitor_history("disk", 0, 2).await.unwrap().len(), 2);

    assert_eq!(store.prune_monitor_history(60_000, 2).await.unwrap(), 2);
    assert_eq!(store.prune_monitor_history(60_000, 2).await.unwrap(), 1);
    assert_eq!(store.prune_monitor_history(60_000, 2).await.unwrap(), 0);
    assert_eq!(store.monitor_history("disk", 0, 100).await.unwrap().len(), 1);
    rollups(store).await;
}

/// Rollups merge across batches (counts add, extremes win, the last value is the later one),
/// sum to uptime per series, and are pruned by age, per monitor or for all but some.
async fn rollups(store: &dyn Store) {
    use crate::{RollupScope, monitor_results::roll_up};
    const FIVE: i64 = 300_000;
    let mut a = bucket("up", "s", 0, 6);
    (a.min, a.max, a.last, a.failing) = (Some(4.0), Some(5.0), Some(4.5), 0);
    let mut b = bucket("up", "s", 60_000, 6);
    (b.min, b.max, b.last, b.errors, b.worst) = (Some(1.0), Some(3.0), Some(2.0), 2, 1);
    let c = bucket("up", "s", FIVE, 6);
    let rows = roll_up(&[c.clone(), a.clone()], &[FIVE, 3_600_000]);
    assert_eq!(rows.len(), 3, "two five-minute buckets and one hour: {rows:?}");
    store.put_monitor_results(&MonitorBatch { rollups: rows, ..Default::default() }).await.unwrap();
    // A later flush brings b, which falls in a's five-minute bucket: merged in the store.
    let later = roll_up(std::slice::from_ref(&b), &[FIVE, 3_600_000]);
    store.put_monitor_results(&MonitorBatch { rollups: later, ..Default::default() }).await.unwrap();
    let five = store.monitor_rollups("up", FIVE, 0, 10).await.unwrap();
    assert_eq!(five.len(), 2);
    let first = &five[0];
    assert_eq!((first.checks, first.failing, first.errors, first.worst), (12, 1, 2, 2));
    assert_eq!((first.min, first.max, first.sum, first.last), (Some(1.0), Some(5.0), Some(40.0), Some(2.0)));
    let hour = store.monitor_rollups("up", 3_600_000, 0, 10).await.unwrap();
    assert_eq!((hour.len(), hour[0].checks, hour[0].failing), (1, 18, 2));
    let uptime = store.monitor_uptime("", 3_600_000, 0).await.unwrap();
    let up: Vec<_> =
        uptime.iter().filter(|u| u.monitor == "up").map(|u| (u.series.as_str(), u.checks, u.failing)).collect();
    assert_eq!(up, [("s", 18, 2)]);
    assert_eq!(store.monitor_uptime("up", FIVE, FIVE).await.unwrap()[0].checks, 6, "from `since` on");

    store
        .put_monitor_results(&MonitorBatch {
            rollups: roll_up(&[bucket("other", "s", 0, 1)], &[FIVE]),
            ..Default::default()
        })
        .await
        .unwrap();
    let every: Vec<_> = store.monitor_rollups("", FIVE, 0, 10).await.unwrap();
    let every: Vec<_> = every.iter().map(|r| (r.monitor.as_str(), r.bucket)).collect();
    assert_eq!(every, [("other", 0), ("up", 0), ("up", FIVE)], "every monitor's, by monitor, oldest first");
    let all_but_up = RollupScope::AllBut(vec!["up".into()]);
    assert_eq!(store.prune_monitor_rollups(&all_but_up, FIVE, 10).await.unwrap(), 1, "other's");
    assert_eq!(store.prune_monitor_rollups(&RollupScope::Monitor("up".into()), FIVE, 1).await.unwrap(), 1);
    assert_eq!(store.prune_monitor_rollups(&RollupScope::Monitor("up".into()), FIVE, 10).await.unwrap(), 1);
    assert_eq!(store.monitor_rollups("up", FIVE, 0, 10).await.unwrap().len(), 1, "the newer bucket stays");
}

fn ping(monitor: &str, kind: vigil_core::monitor::expect::PingKind, at: i64, rid: Option<&str>) -> crate::PingRow {
    crate::PingRow {
        monitor: monitor.into(),
        kind,
        exit_code: (kind == vigil_core::monitor::expect::PingKind::Fail).then_some(3),
        rid: rid.map(str::to_string),
        // A failure's body is not UTF-8: it is kept byte for byte all the same.
        body: Some(if kind == vigil_core::monitor::expect::PingKind::Fail {
            vec![0xff, 0xfe, b'x', 0]
        } else {
            format!("log at {at}").into_bytes()
        }),
        origin: crate::PingOrigin {
            method: Some("POST".into()),
            user_agent: Some("curl/8.5".into()),
            remote_addr: Some("2001::1".into()),
            scheme: Some("https".into()),
            queue: None,
            message_id: None,
        },
        received_at: at,
    }
}

/// Pings are appended and advance their heartbeats' states in arrival order, across batches; a
/// salt for ping ids exists.
pub async fn pings(store: &dyn Store) {
    use vigil_core::monitor::expect::PingKind::{Fail, Start, Success};
    let first = store
        .record_pings(
            &[
                ping("backup", Start, 100, Some("r1")),
                ping("etl", Success, 110, None),
                ping("backup", Fail, 120, Some("r2")),
            ],
            130,
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let backup = first.iter().find(|s| s.monitor == "backup").unwrap();
    assert_eq!((backup.beats.start, backup.beats.fail, backup.beats.exit_code), (Some(100), Some(120), Some(3)));
    assert!(backup.beats.start_ended, "a failure ends the open run whatever its run id (as Healthchecks)");
    let second = store
        .record_pings(&[ping("backup", Start, 195, Some("r1")), ping("backup", Success, 200, Some("r1"))], 210)
        .await
        .unwrap();
    assert_eq!(second[0].beats.success, Some(200));
    assert!(second[0].beats.start_ended, "the success with r1 ends r1's start");
    assert_eq!(second[0].beats.fail, Some(120), "earlier batches' state is kept");

    let all = store.heartbeats(0).await.unwrap();
    assert_eq!(all.iter().map(|h| h.monitor.as_str()).collect::<Vec<_>>(), ["backup", "etl"]);
    assert_eq!(store.heartbeats(200).await.unwrap().len(), 1, "only backup changed at 210");
    let log = store.pings("backup", 10).await.unwrap();
    assert_eq!(log.iter().map(|p| p.received_at).collect::<Vec<_>>(), [200, 195, 120, 100], "newest first");
    assert_eq!((log[2].exit_code, log[2].rid.as_deref()), (Some(3), Some("r2")));
    assert_eq!(log[2].body.as_deref(), Some(&[0xff, 0xfe, b'x', 0][..]), "bytes as sent");
    assert_eq!(log[0].body.as_deref(), Some(&b"log at 200"[..]));
    assert_eq!(log[0].origin, ping("x", Success, 0, None).origin);
    assert_eq!(store.prune_pings(150, 10).await.unwrap(), 3);
    assert_eq!(store.pings("backup", 10).await.unwrap().len(), 2);
    let salt = store.setting("ping_salt").await.unwrap().unwrap();
    assert!(salt.len() >= 32, "{salt}");
    assert_eq!(store.setting("nope").await.unwrap(), None);

    // A queue's message is one ping however often it is delivered: in one batch or later.
    let message = |monitor: &str, kind, at, id: &str| {
        let mut p = ping(monitor, kind, at, None);
        p.origin =
            crate::PingOrigin { queue: Some("mqtt:beats".into()), message_id: Some(id.into()), ..Default::default() };
        p
    };
    let states = store
        .record_pings(
            &[
                message("device", Success, 300, "m1"),
                message("device", Fail, 301, "m1"),
                message("etl", Fail, 302, "m1"),
            ],
            303,
        )
        .await
        .unwrap();
    let device = states.iter().find(|s| s.monitor == "device").unwrap();
    assert_eq!((device.beats.success, device.beats.fail), (Some(300), None), "the second delivery is not a ping");
    assert_eq!(states.iter().find(|s| s.monitor == "etl").unwrap().beats.fail, Some(302), "one id, two monitors");
    let twice = [message("device", Fail, 400, "m1"), message("device", Fail, 401, "m2")];
    let again = store.record_pings(&twice, 402).await.unwrap();
    assert_eq!((again[0].beats.success, again[0].beats.fail), (Some(300), Some(401)));
    let log = store.pings("device", 10).await.unwrap();
    assert_eq!(log.iter().map(|p| p.received_at).collect::<Vec<_>>(), [401, 300]);
    assert_eq!((log[0].origin.queue.as_deref(), log[0].origin.message_id.as_deref()), (Some("mqtt:beats"), Some("m2")));
}

/// A node showing a monitor asks for its relay; the node running it finds it wanted, writes it,
/// and the asker reads it back; an unwanted relay is not listed, and is forgotten later.
async fn live_relays_are_written_while_wanted(store: &dyn Store) {
    assert_eq!(store.want_monitor_live("web", 10_000).await.unwrap(), None, "nothing relayed yet");
    store.want_monitor_live("db", 3_000).await.unwrap();
    assert_eq!(store.wanted_monitor_live(5_000).await.unwrap(), ["web"], "db is wanted no longer");
    let rows = [("web".to_string(), r#"{"beats":[]}"#.to_string()), ("db".to_string(), "{}".to_string())];
    store.put_monitor_live(&rows, 5_500).await.unwrap();
    store.put_monitor_live(&[], 5_600).await.unwrap();
    let row = store.want_monitor_live("web", 12_000).await.unwrap().unwrap();
    assert_eq!((row.body.as_str(), row.written_at), (r#"{"beats":[]}"#, 5_500));
    assert_eq!(store.wanted_monitor_live(11_000).await.unwrap(), ["web"], "asking again extends it");
    store.forget_monitor_live(4_000).await.unwrap();
    assert_eq!(store.want_monitor_live("db", 20_000).await.unwrap(), None, "db was forgotten, body and all");
    store.forget_monitor_live(i64::MAX).await.unwrap();
}
