//! Conformance: maintenance windows on status pages and what their subscribers are told.

use crate::{MaintenanceRow, MaintenanceWrite, NewNotice, Store};

const PAGE: &str = "maint";

fn window(id: &str, starts_at: i64, ends_at: i64, body: &str) -> MaintenanceRow {
    MaintenanceRow { page: PAGE.into(), id: id.into(), starts_at, ends_at, body: body.into() }
}

fn notice(dedup: &str) -> NewNotice {
    NewNotice {
        page: PAGE.into(),
        subscriber: "s1".into(),
        dedup: dedup.into(),
        body: format!(r#"{{"n":"{dedup}"}}"#),
        created_at: 1_000,
    }
}

fn tell(key: &str, event: &str, after: Option<&str>) -> MaintenanceWrite {
    MaintenanceWrite {
        window: None,
        told: Some((PAGE.into(), key.into(), event.into())),
        after: after.map(str::to_string),
        notices: vec![notice(&format!("{key}/{event}"))],
        at: 1_000,
    }
}

async fn due(store: &dyn Store) -> Vec<String> {
    let rows = store.due_notices(&[PAGE.into()], i64::MAX, 100).await.unwrap();
    rows.into_iter().map(|r| r.notice.dedup).collect()
}

/// A window is added once, replaced only as read, found while it has not ended; each thing is
/// told once, with its notices, and an end only after its start.
pub(crate) async fn run_all(store: &dyn Store) {
    let added = MaintenanceWrite {
        window: Some((window("w1", 1_000, 2_000, "{\"v\":1}"), None)),
        told: Some((PAGE.into(), "w1".into(), "scheduled".into())),
        notices: vec![notice("w1/scheduled")],
        at: 500,
        ..Default::default()
    };
    assert!(store.write_maintenance(&added).await.unwrap());
    assert!(!store.write_maintenance(&added).await.unwrap(), "an id is added once");
    let later = MaintenanceWrite { window: Some((window("w2", 5_000, 6_000, "{}"), None)), ..Default::default() };
    assert!(store.write_maintenance(&later).await.unwrap());
    let ids = |rows: Vec<MaintenanceRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.maintenance_ending_after(PAGE, 0, 10).await.unwrap()), ["w1", "w2"], "soonest first");
    assert_eq!(ids(store.maintenance_ending_after(PAGE, 2_000, 10).await.unwrap()), ["w2"], "w1 has ended");
    assert_eq!(ids(store.maintenance_ending_after(PAGE, 0, 1).await.unwrap()), ["w1"]);
    assert!(store.maintenance_ending_after("other", 0, 10).await.unwrap().is_empty(), "pages apart");

    let ended = window("w1", 1_000, 1_500, "{\"v\":2}");
    let replace = MaintenanceWrite { window: Some((ended.clone(), Some("{\"v\":1}".into()))), ..Default::default() };
    assert!(store.write_maintenance(&replace).await.unwrap());
    let stale = MaintenanceWrite {
        window: Some((window("w1", 1_000, 1_800, "{\"v\":3}"), Some("{\"v\":1}".into()))),
        notices: vec![notice("stale")],
        ..Default::default()
    };
    assert!(!store.write_maintenance(&stale).await.unwrap(), "changed since it was read");
    assert_eq!(store.maintenance(PAGE, "w1").await.unwrap(), Some(ended));
    assert!(store.maintenance(PAGE, "missing").await.unwrap().is_none());

    assert!(!store.write_maintenance(&tell("w1", "completed", Some("started"))).await.unwrap(), "not started yet");
    assert!(store.write_maintenance(&tell("w1", "started", None)).await.unwrap());
    assert!(!store.write_maintenance(&tell("w1", "started", None)).await.unwrap(), "told once");
    assert!(store.write_maintenance(&tell("w1", "completed", Some("started"))).await.unwrap());
    assert!(store.write_maintenance(&tell("file-1", "started", None)).await.unwrap(), "a declared window");
    let mut told = store.maintenance_told(PAGE, "w1").await.unwrap();
    told.sort();
    assert_eq!(told, ["completed", "scheduled", "started"]);
    assert_eq!(due(store).await, ["w1/scheduled", "w1/started", "w1/completed", "file-1/started"], "no lost race told");
    for row in store.due_notices(&[PAGE.into()], i64::MAX, 100).await.unwrap() {
        store.notice_sent(row.id).await.unwrap();
    }
}
