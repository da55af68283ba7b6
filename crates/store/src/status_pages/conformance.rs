//! Conformance: status pages' incidents, subscribers with their notices, and maintenance
//! windows with what their subscribers are told.

use crate::status_pages::{MaintenanceRow, MaintenanceWrite, NewNotice, StatusPageStore};

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

async fn due<S: StatusPageStore + ?Sized>(store: &S) -> Vec<String> {
    let rows = store.due_notices(&[PAGE.into()], i64::MAX, 100).await.unwrap();
    rows.into_iter().map(|r| r.notice.dedup).collect()
}

/// A window is added once, replaced only as read, found while it has not ended; each thing is
/// told once, with its notices, and an end only after its start.
/// Runs every status-page check against `store`.
pub(crate) async fn run_all<S: StatusPageStore + ?Sized>(store: &S) {
    incidents_are_found_while_open(store).await;
    subscribers_and_their_notices(store).await;
    maintenance_windows_and_what_is_told(store).await;
}

async fn maintenance_windows_and_what_is_told<S: StatusPageStore + ?Sized>(store: &S) {
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

async fn incidents_are_found_while_open<S: StatusPageStore + ?Sized>(store: &S) {
    let row = |id: &str, opened_at: i64, resolved_at: Option<i64>| crate::IncidentRow {
        page: "public".into(),
        id: id.into(),
        opened_at,
        resolved_at,
        body: format!(r#"{{"id":"{id}"}}"#),
    };
    store.put_incident(&row("old", 100, Some(200)), &[]).await.unwrap();
    store.put_incident(&row("open", 300, None), &[]).await.unwrap();
    store.put_incident(&row("later", 900, Some(950)), &[]).await.unwrap();
    store.put_incident(&crate::IncidentRow { page: "other".into(), ..row("open", 300, None) }, &[]).await.unwrap();
    let ids = |rows: Vec<crate::IncidentRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.incidents("public", 250, 1_000, 10).await.unwrap()), ["later", "open"], "newest first");
    assert_eq!(ids(store.incidents("public", 0, 1_000, 10).await.unwrap()), ["later", "open", "old"]);
    assert_eq!(ids(store.incidents("public", 0, 1_000, 1).await.unwrap()), ["later"]);
    assert_eq!(ids(store.incidents("public", 960, 2_000, 10).await.unwrap()), ["open"], "open is open still");
    assert_eq!(ids(store.incidents("public", 0, 300, 10).await.unwrap()), ["old"], "open began at 300");
    store.put_incident(&row("open", 300, Some(400)), &[]).await.unwrap();
    assert!(store.incidents("public", 960, 2_000, 10).await.unwrap().is_empty(), "resolved now");
    assert_eq!(store.incident("public", "open").await.unwrap().unwrap().resolved_at, Some(400));
    assert!(store.incident("public", "missing").await.unwrap().is_none());
    assert_eq!(store.incident("other", "open").await.unwrap().unwrap().resolved_at, None, "pages apart");
    let read = store.incident("public", "open").await.unwrap().unwrap();
    let changed = crate::IncidentRow { body: "{\"id\":\"open\",\"v\":2}".into(), ..read.clone() };
    assert!(store.replace_incident(&changed, &read.body, &[]).await.unwrap());
    let late = crate::IncidentRow { body: "{\"id\":\"open\",\"v\":3}".into(), ..read.clone() };
    assert!(
        !store.replace_incident(&late, &read.body, &[public_notice("late")]).await.unwrap(),
        "changed since it was read"
    );
    assert_eq!(store.incident("public", "open").await.unwrap().unwrap().body, changed.body);
    assert!(store.due_notices(&["public".into()], i64::MAX, 10).await.unwrap().is_empty(), "a lost race tells nobody");
}

fn public_notice(dedup: &str) -> crate::NewNotice {
    crate::NewNotice {
        page: "public".into(),
        subscriber: "s1".into(),
        dedup: dedup.into(),
        body: format!(r#"{{"n":"{dedup}"}}"#),
        created_at: 1_000,
    }
}

/// Subscribers are kept once per address, confirmed, removed with their notices; a notice is
/// written with its incident change, once per dedup key, and is due until sent.
async fn subscribers_and_their_notices<S: StatusPageStore + ?Sized>(store: &S) {
    let reader = crate::SubscriberRow {
        page: "public".into(),
        id: "s1".into(),
        kind: "email".into(),
        address: "reader@example.org".into(),
        components: "[]".into(),
        confirmed_at: None,
        created_at: 500,
    };
    assert!(store.put_subscriber(&reader, Some(&public_notice("confirm/s1"))).await.unwrap());
    let again = crate::SubscriberRow { id: "s2".into(), ..reader.clone() };
    assert!(!store.put_subscriber(&again, Some(&public_notice("confirm/s2"))).await.unwrap(), "one per address");
    assert!(store.subscriber("public", "s2").await.unwrap().is_none());
    let hook = crate::SubscriberRow {
        id: "s3".into(),
        kind: "webhook".into(),
        address: "https://h.example/".into(),
        confirmed_at: Some(600),
        ..reader.clone()
    };
    assert!(store.put_subscriber(&hook, None).await.unwrap());
    let due = store.due_notices(&["public".into()], 1_000, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|n| n.notice.dedup.as_str()).collect::<Vec<_>>(),
        ["confirm/s1"],
        "the confirmation only"
    );
    assert_eq!(store.unconfirmed_subscribers("public", 0).await.unwrap(), 1, "the webhook came confirmed");
    assert_eq!(store.unconfirmed_subscribers("public", 501).await.unwrap(), 0, "counted since a time");
    // One confirmation per address and period, whatever the page; none once it expired.
    let elsewhere = crate::SubscriberRow { page: "other".into(), id: "o1".into(), created_at: 900, ..reader.clone() };
    let other = |id: &str| crate::NewNotice {
        page: "other".into(),
        subscriber: id.into(),
        ..public_notice(&format!("confirm/{id}"))
    };
    assert!(!store.put_subscriber(&elsewhere, Some(&other("o1"))).await.unwrap(), "asked already");
    let later = crate::UNCONFIRMED_KEPT + 501;
    let expired = crate::SubscriberRow { page: "other".into(), id: "o2".into(), created_at: later, ..reader.clone() };
    assert!(store.put_subscriber(&expired, Some(&other("o2"))).await.unwrap(), "a period later");
    assert!(!store.confirm_subscriber("other", "o2", later + crate::UNCONFIRMED_KEPT + 1).await.unwrap(), "expired");
    let stale = crate::SubscriberRow { page: "other".into(), id: "o3".into(), created_at: 3 * later, ..reader.clone() };
    assert!(store.put_subscriber(&stale, None).await.unwrap(), "the expired one made way");
    assert!(store.subscriber("other", "o2").await.unwrap().is_none(), "expired rows are removed");
    let left = store.due_notices(&["other".into()], i64::MAX, 10).await.unwrap();
    assert!(left.is_empty(), "with their notices: {left:?}");
    assert!(store.remove_subscriber("other", "o3").await.unwrap());

    assert!(store.confirm_subscriber("public", "s1", 700).await.unwrap());
    assert!(!store.confirm_subscriber("public", "s1", 800).await.unwrap(), "confirmed once");
    let subs = store.subscribers("public").await.unwrap();
    assert_eq!(
        subs.iter().map(|s| (s.id.as_str(), s.confirmed_at)).collect::<Vec<_>>(),
        [("s1", Some(700)), ("s3", Some(600))]
    );

    let incident = crate::IncidentRow {
        page: "public".into(),
        id: "sub-1".into(),
        opened_at: 900,
        resolved_at: None,
        body: "{}".into(),
    };
    let told = [
        public_notice("incident/sub-1/1/s1"),
        crate::NewNotice { subscriber: "s3".into(), ..public_notice("incident/sub-1/1/s3") },
    ];
    store.put_incident(&incident, &told).await.unwrap();
    store.put_incident(&incident, &told).await.unwrap();
    let due = store.due_notices(&["public".into(), "elsewhere".into()], 1_000, 10).await.unwrap();
    assert_eq!(due.len(), 3, "the same update told twice is one notice each: {due:?}");
    assert!(due.windows(2).all(|w| w[0].id < w[1].id), "in the order written");
    assert!(store.due_notices(&["elsewhere".into()], 1_000, 10).await.unwrap().is_empty());

    store.notice_deferred(due[1].id, 5_000, "SMTP 451").await.unwrap();
    let now_due = store.due_notices(&["public".into()], 1_000, 10).await.unwrap();
    assert_eq!(now_due.len(), 2, "the deferred one waits");
    let later = store.due_notices(&["public".into()], 5_000, 10).await.unwrap();
    assert_eq!(later.iter().find(|n| n.id == due[1].id).map(|n| n.attempts), Some(1));
    store.notice_sent(due[0].id).await.unwrap();
    assert!(store.remove_subscriber("public", "s1").await.unwrap());
    assert!(!store.remove_subscriber("public", "s1").await.unwrap());
    let left = store.due_notices(&["public".into()], 5_000, 10).await.unwrap();
    assert_eq!(left.iter().map(|n| n.notice.subscriber.as_str()).collect::<Vec<_>>(), ["s3"], "s1's went with it");
    store.notice_sent(left[0].id).await.unwrap();
}
