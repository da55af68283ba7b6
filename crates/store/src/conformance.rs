//! The behaviour every [`Store`] backend must show. Backend test files call [`run_all`].

use serde_json::json;
use vigil_core::instance::{Instance, WorkflowStatus};

use crate::{
    AlertBatch, AlertRow, CommitBatch, DeliveryUpdate, FireClaim, FireStatus, InstanceFilter, InstanceRow,
    NewOutboxEntry, OutboxEntry, OutboxStatus, ScheduleCursor, SilenceRow, Store,
};

fn instance(id: &str, name: &str, at: i64) -> Instance {
    Instance::new(id.into(), name.into(), 1, json!({"k": id}), at)
}

/// Runs every check against `store`, which must be empty.
pub async fn run_all(store: &dyn Store) {
    commit_then_read_back(store).await;
    upsert_replaces_state(store).await;
    unfinished_are_listed_for_recovery(store).await;
    fire_times_are_claimed_once(store).await;
    unstarted_fires_are_found(store).await;
    secrets_roundtrip(store).await;
    large_batches_commit(store).await;
    alerts_and_their_notifications_commit_together(store).await;
    outbox_deliveries_are_recorded(store).await;
    silences_roundtrip(store).await;
    groups_commit_with_alerts_and_settings_roundtrip(store).await;
    deliveries_commit_with_alert_changes(store).await;
    group_flushes_commit_their_notifications(store).await;
    listing_pages_and_purging(store).await;
    large_ended_states_are_compressed_and_still_found(store).await;
    searching_by_status_correlation_id_and_text(store).await;
    work_offers_are_taken_once(store).await;
    tokens_are_kept_hashed_and_revoked(store).await;
    ui_sessions_end_at_sign_out_revocation_and_expiry(store).await;
    parked_messages_are_kept_once_per_queue_and_id(store).await;
    browser_evidence_keeps_the_newest_few(store).await;
    status_events_commit_with_their_change(store).await;
    definitions_roundtrip(store).await;
    nodes_and_fire_lags(store).await;
    alert_text_is_stored_as_sent(store).await;
    crate::conformance_cluster::run_all(store).await;
    crate::status_pages::conformance::run_all(store).await;
    crate::conformance_monitors::run_all(store).await;
    crate::conformance_monitors::pings(store).await;
    crate::conformance_retention::run_all(store).await;
    crate::conformance_users::run_all(store).await;
}

fn alert_row(key: &str, condition: &str, at: i64) -> AlertRow {
    AlertRow {
        dedup_key: key.into(),
        name: "latency".into(),
        condition: condition.into(),
        firing_since: (condition == "firing").then_some(at),
        last_notified: Some(at),
        acknowledged: false,
        next_wake: Some(at + 60_000),
        updated_at: at,
        state: format!(r#"{{"at":{at}}}"#),
    }
}

fn outbox_entry(key: &str, notifier: &str, notice: &str, at: i64) -> NewOutboxEntry {
    NewOutboxEntry {
        dedup_key: key.into(),
        notifier: notifier.into(),
        notice: notice.into(),
        message: "{}".into(),
        created_at: at,
    }
}

async fn alerts_and_their_notifications_commit_together(store: &dyn Store) {
    let batch = AlertBatch {
        alerts: vec![alert_row("k1", "firing", 1_000)],
        outbox: vec![outbox_entry("k1", "pd", "trigger", 1_000), outbox_entry("k1", "slack", "trigger", 1_000)],
        ..Default::default()
    };
    let ids = store.commit_alerts(&batch).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1], "ids increase, so they order a key's notifications");
    assert_eq!(store.alert("k1").await.unwrap(), Some(alert_row("k1", "firing", 1_000)));
    let batch = AlertBatch {
        alerts: vec![alert_row("k1", "ok", 2_000), alert_row("k2", "pending", 2_000)],
        outbox: vec![outbox_entry("k1", "pd", "resolve", 2_000)],
        ..Default::default()
    };
    store.commit_alerts(&batch).await.unwrap();
    let active: Vec<String> = store.alerts(true, 10).await.unwrap().into_iter().map(|a| a.dedup_key).collect();
    assert_eq!(active, ["k2"]);
    assert_eq!(store.alerts(false, 10).await.unwrap().len(), 2);
    let resolved_keys = |alerts: Vec<AlertRow>| alerts.into_iter().map(|a| a.dedup_key).collect::<Vec<String>>();
    assert_eq!(resolved_keys(store.resolved_alerts(10).await.unwrap()), ["k1"]);
    let batch = AlertBatch { alerts: vec![alert_row("k4", "ok", 3_000)], ..Default::default() };
    store.commit_alerts(&batch).await.unwrap();
    assert_eq!(resolved_keys(store.resolved_alerts(10).await.unwrap()), ["k4", "k1"], "newest first");
    assert_eq!(resolved_keys(store.resolved_alerts(1).await.unwrap()), ["k4"]);
    let pending: Vec<(String, String)> =
        store.pending_outbox().await.unwrap().into_iter().map(|e| (e.notifier, e.notice)).collect();
    assert_eq!(
        pending,
        [("pd".into(), "trigger".into()), ("slack".into(), "trigger".into()), ("pd".into(), "resolve".into())]
    );
    let told: Vec<(String, String)> =
        store.alert_outbox("k1", 10).await.unwrap().into_iter().map(|e| (e.notifier, e.notice)).collect();
    assert_eq!(
        told,
        [("pd".into(), "resolve".into()), ("slack".into(), "trigger".into()), ("pd".into(), "trigger".into())],
        "one alert's notices, newest first"
    );
    assert_eq!(store.alert_outbox("k1", 1).await.unwrap().len(), 1);
    assert!(store.alert_outbox("k2", 10).await.unwrap().is_empty());
}

/// Quotes, backslashes, dollar quotes and SQL in alert text are data, on every commit path
/// (PostgreSQL writes some batches' values as literals).
async fn alert_text_is_stored_as_sent(store: &dyn Store) {
    let odd = "it's \\ \\' E'\\x41' $$ $q$ '); DROP TABLE outbox; -- \u{1f600}\n\t\u{7f}";
    let key = format!("odd'key\\{odd}");
    let mut row = alert_row(&key, "firing", 5_000);
    row.state = format!("{{\"text\":{odd:?}}}");
    row.name = odd.into();
    let mut entry = outbox_entry(&key, "pd", "trigger", 5_000);
    entry.message = odd.into();
    let group = crate::GroupRow {
        group_key: key.clone(),
        next_wake: Some(1),
        updated_at: 5_000,
        state: odd.into(),
        members: Vec::new(),
    };
    let member = crate::MemberRow { id: 4_242, group_key: key.clone(), member_key: odd.into(), alert: odd.into() };
    let batch = AlertBatch {
        alerts: vec![row.clone()],
        outbox: vec![entry],
        groups: vec![group],
        group_members: vec![member.clone()],
        ..Default::default()
    };
    let mut sent = store.commit_alerts(&batch).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(store.alert(&key).await.unwrap(), Some(row));
    let told = store.alert_outbox(&key, 10).await.unwrap();
    assert_eq!(told.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), [odd]);
    let groups = store.groups_in(&[crate::cluster::partition_of(&key)]).await.unwrap();
    let stored = groups.iter().find(|g| g.group_key == key).expect("the group is stored");
    assert_eq!((stored.state.as_str(), stored.members.as_slice()), (odd, std::slice::from_ref(&member)));
    let gone = AlertBatch {
        groups_gone: vec![key.clone()],
        group_members_gone: vec![(key.clone(), member.id)],
        outbox: vec![outbox_entry(&key, "pd", "resolve", 6_000)],
        ..Default::default()
    };
    sent.extend(store.commit_alerts(&gone).await.unwrap());
    let groups = store.groups_in(&[crate::cluster::partition_of(&key)]).await.unwrap();
    assert!(groups.iter().all(|g| g.group_key != key), "the group is deleted by its odd key");
    assert_eq!(store.alert_outbox(&key, 10).await.unwrap().len(), 2);
    // Sent, so the cases after this one find no notification of it pending.
    for id in sent {
        store.record_delivery(id, &DeliveryUpdate::Delivered { at: 7_000 }).await.unwrap();
    }
}

async fn outbox_deliveries_are_recorded(store: &dyn Store) {
    let pending = store.pending_outbox().await.unwrap();
    store.record_delivery(pending[0].id, &DeliveryUpdate::Delivered { at: 3_000 }).await.unwrap();
    store
        .record_delivery(pending[1].id, &DeliveryUpdate::Retry { next_attempt_at: 9_000, error: "HTTP 503".into() })
        .await
        .unwrap();
    store
        .record_delivery(pending[2].id, &DeliveryUpdate::Failed { at: 3_000, error: "HTTP 400".into() })
        .await
        .unwrap();
    let still: Vec<OutboxEntry> = store.pending_outbox().await.unwrap();
    assert_eq!(still.len(), 1);
    assert_eq!(
        (still[0].attempts, still[0].next_attempt_at, still[0].last_error.as_deref()),
        (1, 9_000, Some("HTTP 503"))
    );
    let failed = store.outbox(OutboxStatus::Failed, 10).await.unwrap();
    assert_eq!((failed.len(), failed[0].last_error.as_deref()), (1, Some("HTTP 400")));
    assert_eq!(store.outbox(OutboxStatus::Delivered, 10).await.unwrap()[0].finished_at, Some(3_000));
}

async fn deliveries_commit_with_alert_changes(store: &dyn Store) {
    let ids = store
        .commit_alerts(&AlertBatch {
            alerts: vec![alert_row("k3", "firing", 4_000)],
            outbox: vec![outbox_entry("k3", "pd", "trigger", 4_000), outbox_entry("k3", "hook", "trigger", 4_000)],
            ..Default::default()
        })
        .await
        .unwrap();
    let batch = AlertBatch {
        alerts: vec![alert_row("k3", "ok", 5_000)],
        outbox: vec![outbox_entry("k3", "pd", "resolve", 5_000)],
        deliveries: vec![
            (ids[0], DeliveryUpdate::Delivered { at: 4_500 }),
            (ids[1], DeliveryUpdate::Retry { next_attempt_at: 6_000, error: "HTTP 502".into() }),
        ],
        ..Default::default()
    };
    let resolve = store.commit_alerts(&batch).await.unwrap();
    let pending: Vec<(i64, u32)> =
        store.pending_outbox().await.unwrap().into_iter().map(|e| (e.id, e.attempts)).collect();
    assert!(pending.contains(&(ids[1], 1)) && pending.contains(&(resolve[0], 0)));
    assert!(!pending.iter().any(|(id, _)| *id == ids[0]), "the delivered trigger left the pending list");
}

/// A group's flush as the alert manager commits it: its header, its alerts, its notifications
/// and earlier sends' results, no alert rows.
async fn group_flushes_commit_their_notifications(store: &dyn Store) {
    let header = |key: &str, state: &str| crate::GroupRow {
        group_key: key.into(),
        next_wake: None,
        updated_at: 7_000,
        state: state.into(),
        members: Vec::new(),
    };
    let flush = AlertBatch {
        groups: vec![header("gf", "{}")],
        group_members: vec![member(101, "gf", "a", "1"), member(102, "gf", "b", "2")],
        outbox: vec![outbox_entry("gf", "pd", "trigger", 7_000), outbox_entry("gf", "hook", "trigger", 7_000)],
        ..Default::default()
    };
    let ids = store.commit_alerts(&flush).await.unwrap();
    assert!(ids.len() == 2 && ids[0] < ids[1], "new ids, in the batch's order: {ids:?}");
    let told: Vec<(i64, String)> =
        store.alert_outbox("gf", 10).await.unwrap().into_iter().map(|e| (e.id, e.notifier)).collect();
    assert_eq!(told, [(ids[1], "hook".to_string()), (ids[0], "pd".to_string())], "each id is its entry's");
    // Sent: recorded with the next change; a member and a group written and gone in one batch
    // end up gone, as in a transaction that wrote, then deleted them.
    let next = AlertBatch {
        groups: vec![header("gf", r#"{"n":2}"#), header("gf-brief", "{}")],
        group_members: vec![
            member(101, "gf", "a", "10"),
            member(103, "gf", "c", "3"),
            member(104, "gf-brief", "x", ""),
        ],
        groups_gone: vec!["gf-brief".into()],
        group_members_gone: vec![("gf".into(), 102), ("gf".into(), 103), ("gf-brief".into(), 104)],
        deliveries: vec![
            (ids[0], DeliveryUpdate::Delivered { at: 7_500 }),
            (ids[1], DeliveryUpdate::Delivered { at: 7_600 }),
        ],
        ..Default::default()
    };
    assert!(store.commit_alerts(&next).await.unwrap().is_empty());
    let finished: Vec<Option<i64>> =
        store.alert_outbox("gf", 10).await.unwrap().iter().map(|e| e.finished_at).collect();
    assert_eq!(finished, [Some(7_600), Some(7_500)], "each delivery at its own time");
    assert!(store.pending_outbox().await.unwrap().iter().all(|e| e.dedup_key != "gf"));
    let parts = [crate::partition_of("gf"), crate::partition_of("gf-brief")];
    let mut found = store.groups_in(&parts).await.unwrap();
    found.iter_mut().for_each(|g| g.members.sort_by_key(|m| m.id));
    let kept = crate::GroupRow { members: vec![member(101, "gf", "a", "10")], ..header("gf", r#"{"n":2}"#) };
    assert_eq!(found, [kept]);
}

fn member(id: i64, group: &str, key: &str, alert: &str) -> crate::MemberRow {
    crate::MemberRow { id, group_key: group.into(), member_key: key.into(), alert: alert.into() }
}

async fn groups_commit_with_alerts_and_settings_roundtrip(store: &dyn Store) {
    let group = |key: &str, state: &str, members: &[(i64, &str, &str)]| crate::GroupRow {
        group_key: key.into(),
        next_wake: Some(9_000),
        updated_at: 1_000,
        state: state.into(),
        members: members.iter().map(|(id, k, v)| member(*id, key, k, v)).collect(),
    };
    let parts = |keys: &[&str]| keys.iter().map(|k| crate::partition_of(k)).collect::<Vec<u32>>();
    let batch = AlertBatch {
        groups: vec![group("g1", "{}", &[]), group("g2", "{}", &[])],
        group_members: vec![member(1, "g1", "a", "1"), member(2, "g1", "b", "2"), member(3, "g2", "c", "3")],
        ..Default::default()
    };
    store.commit_alerts(&batch).await.unwrap();
    let batch = AlertBatch {
        groups: vec![group("g1", r#"{"a":1}"#, &[])],
        group_members: vec![member(1, "g1", "a", "10"), member(4, "g1", "d", "-")],
        groups_gone: vec!["g2".into()],
        group_members_gone: vec![("g1".into(), 2), ("g2".into(), 3)],
        ..Default::default()
    };
    store.commit_alerts(&batch).await.unwrap();
    let only_members = AlertBatch { group_members: vec![member(4, "g1", "d", "4")], ..Default::default() };
    assert!(store.commit_alerts(&AlertBatch::default()).await.unwrap().is_empty(), "an empty batch writes nothing");
    assert!(store.commit_alerts(&only_members).await.unwrap().is_empty(), "alerts alone");
    let mut found = store.groups_in(&parts(&["g1", "g2"])).await.unwrap();
    found.iter_mut().for_each(|g| g.members.sort_by_key(|m| m.id));
    assert_eq!(
        found,
        vec![group("g1", r#"{"a":1}"#, &[(1, "a", "10"), (4, "d", "4")])],
        "the header replaced, one alert changed, one added, one gone; the emptied group gone with its alerts"
    );
    assert!(store.groups_in(&[]).await.unwrap().is_empty());
    assert_eq!(store.group_member_alerts(1).await.unwrap().len(), 1, "at most the limit");
    let mut members = store.group_member_alerts(10).await.unwrap();
    members.sort();
    let g1 = || "g1".to_string();
    assert_eq!(members, [(g1(), "a".into(), "10".into()), (g1(), "d".into(), "4".into())], "every group's alerts");
    let first = store.reserve_id_block("member_ids").await.unwrap();
    assert_eq!(store.reserve_id_block("member_ids").await.unwrap(), first + 1, "each block is new");
    assert_eq!(store.reserve_id_block("other").await.unwrap(), 1, "sequences count apart, from 1");
    let named =
        |key: &str, name: &str, condition: &str| AlertRow { name: name.into(), ..alert_row(key, condition, 1_000) };
    let rows = vec![named("gw-1", "gateway", "firing"), named("gw-2", "gateway", "ok"), named("db-1", "db", "ok")];
    store.commit_alerts(&AlertBatch { alerts: rows, ..Default::default() }).await.unwrap();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(store.firing_names(&[]).await.unwrap().is_empty());
    assert_eq!(store.firing_names(&names(&["gateway", "db", "none"])).await.unwrap(), ["gateway"]);
    store.put_setting("alertmanager_config", "route: {}").await.unwrap();
    store.put_setting("alertmanager_config", "route: {receiver: a}").await.unwrap();
    assert_eq!(store.setting("alertmanager_config").await.unwrap().as_deref(), Some("route: {receiver: a}"));
}

async fn silences_roundtrip(store: &dyn Store) {
    let s = SilenceRow {
        id: "s1".into(),
        matchers: r#"{"team":"db"}"#.into(),
        ends_at: 10_000,
        starts_at: Some(2_000),
        created_at: 1_000,
        comment: Some("maintenance".into()),
        created_by: Some("ops".into()),
        until_resolved: true,
    };
    store.put_silence(&s).await.unwrap();
    assert_eq!(store.silences().await.unwrap(), vec![s.clone()]);
    let plain = SilenceRow { until_resolved: false, ..s };
    store.put_silence(&plain).await.unwrap();
    assert_eq!(store.silences().await.unwrap(), vec![plain], "replaced, flag and all");
    assert!(store.delete_silence("s1").await.unwrap());
    assert!(!store.delete_silence("s1").await.unwrap());
    store.request_ack("k1", 5).await.unwrap();
    store.request_ack("k1", 6).await.unwrap();
    store.request_ack("k2", 7).await.unwrap();
    assert_eq!(store.ack_requests().await.unwrap(), ["k1", "k2"]);
    assert_eq!(
        store.ack_requests().await.unwrap(),
        ["k1", "k2"],
        "reading does not consume: a crash before commit loses nothing"
    );
    store.clear_ack_requests(&["k1".to_string()]).await.unwrap();
    assert_eq!(store.ack_requests().await.unwrap(), ["k2"]);
    store.clear_ack_requests(&["k2".to_string()]).await.unwrap();
    assert_eq!(store.prune_outbox(3_001).await.unwrap(), 2, "the delivered and the failed row finished at 3000");
    assert_eq!(store.pending_outbox().await.unwrap().len(), 1, "pending rows are never pruned");
}

async fn commit_then_read_back(store: &dyn Store) {
    let i = instance("a1", "alpha", 10);
    store.commit(&CommitBatch { instances: vec![InstanceRow::from_instance(&i)], ..Default::default() }).await.unwrap();
    assert_eq!(store.instance("a1").await.unwrap(), Some(i));
    assert_eq!(store.instance("missing").await.unwrap(), None);
    let raw = store.instance_json("a1").await.unwrap().expect("stored");
    assert_eq!(serde_json::from_str::<Instance>(&raw).unwrap(), store.instance("a1").await.unwrap().unwrap());
    assert_eq!(store.instance_json("missing").await.unwrap(), None);
    let asked = ["missing".to_string(), "a1".to_string()];
    assert_eq!(store.existing_instances(&asked).await.unwrap(), ["a1"]);
}

async fn upsert_replaces_state(store: &dyn Store) {
    let mut i = instance("a2", "alpha", 20);
    store.commit(&CommitBatch { instances: vec![InstanceRow::from_instance(&i)], ..Default::default() }).await.unwrap();
    i.status = WorkflowStatus::Completed;
    i.output = json!({"done": true});
    i.update_time = 25;
    store.commit(&CommitBatch { instances: vec![InstanceRow::from_instance(&i)], ..Default::default() }).await.unwrap();
    let back = store.instance("a2").await.unwrap().unwrap();
    assert_eq!(back.status, WorkflowStatus::Completed);
    assert_eq!(back.output, json!({"done": true}));
    let listed = store
        .list_instances(&InstanceFilter {
            workflow_name: Some("alpha".into()),
            statuses: vec![WorkflowStatus::Completed],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a2"]);
    // A team member's listing: only the workflows named, none for an empty list.
    let of = |names: &[&str]| InstanceFilter {
        workflow_names: Some(names.iter().map(|n| n.to_string()).collect()),
        limit: 10,
        ..Default::default()
    };
    let listed = store.list_instances(&of(&["alpha", "other"])).await.unwrap();
    assert!(listed.iter().any(|s| s.id == "a2") && listed.iter().all(|s| s.workflow_name == "alpha"));
    assert!(store.list_instances(&of(&["other"])).await.unwrap().iter().all(|s| s.workflow_name == "other"));
    assert!(store.list_instances(&of(&[])).await.unwrap().is_empty());
}

async fn searching_by_status_correlation_id_and_text(store: &dyn Store) {
    let mut rows = Vec::new();
    for (n, (status, correlation, note)) in [
        (WorkflowStatus::Failed, Some("order-7"), "Disk 100%_full"),
        (WorkflowStatus::TimedOut, Some("order-7"), "slow"),
        (WorkflowStatus::Completed, Some("order-8"), "DISK fine"),
        (WorkflowStatus::Terminated, None, "disk 100 full"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut i = instance(&format!("s{n}"), "searched", 900 + n as i64);
        i.status = status;
        i.correlation_id = correlation.map(str::to_string);
        i.output = json!({"note": note});
        rows.push(InstanceRow::from_instance(&i));
    }
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    let found = |filter: InstanceFilter| async move {
        let filter = InstanceFilter { workflow_name: Some("searched".into()), limit: 10, ..filter };
        let rows = store.list_instances(&filter).await.unwrap();
        rows.into_iter().map(|r| (r.id, r.correlation_id)).collect::<Vec<_>>()
    };
    let statuses = vec![WorkflowStatus::Failed, WorkflowStatus::TimedOut, WorkflowStatus::Terminated];
    let ids = |v: Vec<(String, Option<String>)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(found(InstanceFilter { statuses, ..Default::default() }).await), ["s3", "s1", "s0"]);
    assert_eq!(
        found(InstanceFilter { correlation_id: Some("order-7".into()), ..Default::default() }).await,
        [("s1".to_string(), Some("order-7".to_string())), ("s0".to_string(), Some("order-7".to_string()))]
    );
    let text = |t: &str| InstanceFilter { text: Some(t.into()), ..Default::default() };
    assert_eq!(ids(found(text("disk")).await), ["s3", "s2", "s0"], "ASCII case is ignored");
    assert_eq!(ids(found(text("100%_")).await), ["s0"], "`%` and `_` are matched literally");
    assert_eq!(ids(found(InstanceFilter { id: Some("s2".into()), ..Default::default() }).await), ["s2"]);
    for n in 0..4 {
        assert!(store.purge_instance(&format!("s{n}")).await.unwrap());
    }
}

async fn work_offers_are_taken_once(store: &dyn Store) {
    use crate::{WorkChange, WorkOffer};
    let offer = |instance: &str, task: &str, task_type: &str, visible_at: i64| {
        WorkChange::Offer(WorkOffer {
            instance_id: instance.into(),
            task_id: task.into(),
            task_type: task_type.into(),
            part: 3,
            visible_at,
            body: format!("{{\"t\":\"{task}\"}}"),
        })
    };
    store
        .change_work(&[
            offer("i1", "1", "resize", 20),
            offer("i2", "1", "resize", 10),
            offer("i2", "1", "resize", 5),
            offer("i3", "1", "resize", 500),
            offer("i3", "2", "email", 10),
            offer("i4", "1", "email", 10),
        ])
        .await
        .unwrap();
    assert_eq!(store.work_sizes().await.unwrap(), [("email".to_string(), 2), ("resize".to_string(), 3)]);
    let took = store.take_work("resize", 5, 100, 2_000).await.unwrap();
    let ids: Vec<(&str, i64)> = took.iter().map(|o| (o.instance_id.as_str(), o.visible_at)).collect();
    assert_eq!(ids, [("i2", 5), ("i1", 20)], "visible ones, oldest first; a second offer of i2/1 replaced the first");
    assert_eq!(took[0].body, "{\"t\":\"1\"}");
    assert!(store.take_work("resize", 5, 100, 2_000).await.unwrap().is_empty(), "each offer is taken once");
    // The claim on i2 is delivered and removed; i1's claimer died: it shows again when its
    // claim runs out, and a stale removal does not touch an offer made again.
    let taken =
        |i: &str, until: i64| WorkChange::Taken { instance_id: i.into(), task_id: "1".into(), claimed_until: until };
    store.change_work(&[taken("i2", 2_000)]).await.unwrap();
    store.change_work(&[WorkChange::Withdraw { instance_id: "i3".into(), task_id: "1".into() }]).await.unwrap();
    assert!(store.take_work("resize", 5, 1_999, 3_000).await.unwrap().is_empty(), "withdrawn, or claimed");
    let again = store.take_work("resize", 5, 2_000, 3_000).await.unwrap();
    assert_eq!(
        again.iter().map(|o| o.instance_id.as_str()).collect::<Vec<_>>(),
        ["i1"],
        "an undelivered claim shows again"
    );
    store.change_work(&[offer("i1", "1", "resize", 2_500)]).await.unwrap();
    store.change_work(&[taken("i1", 3_000)]).await.unwrap();
    assert_eq!(
        store.take_work("resize", 5, 2_500, 4_000).await.unwrap().len(),
        1,
        "offered again: a stale removal misses it"
    );
    store.change_work(&[taken("i1", 4_000)]).await.unwrap();
    store.change_work(&[WorkChange::WithdrawInstance("i3".into())]).await.unwrap();
    let left = store.take_work("email", 5, 100, 2_000).await.unwrap();
    assert_eq!(left.iter().map(|o| o.instance_id.as_str()).collect::<Vec<_>>(), ["i4"]);
    store.change_work(&[taken("i4", 2_000)]).await.unwrap();
    assert!(store.work_sizes().await.unwrap().is_empty());
}

async fn unfinished_are_listed_for_recovery(store: &dyn Store) {
    let ids: Vec<String> = store.unfinished_instances().await.unwrap().into_iter().map(|i| i.workflow_id).collect();
    assert_eq!(ids, ["a1"]);
}

async fn fire_times_are_claimed_once(store: &dyn Store) {
    let claim = |id: &str| FireClaim {
        schedule: "every-minute".into(),
        scheduled_at: 60_000,
        instance_id: id.into(),
        executed_at: 60_010,
        status: FireStatus::Claimed,
    };
    let cursor = ScheduleCursor { schedule: "every-minute".into(), next_fire_at: Some(120_000) };
    assert_eq!(store.claim_fires(&[claim("x1")], std::slice::from_ref(&cursor), None).await.unwrap(), [true]);
    assert_eq!(
        store.claim_fires(&[claim("x2")], std::slice::from_ref(&cursor), None).await.unwrap(),
        [false],
        "second claim of one fire time loses"
    );
    assert_eq!(store.schedule_cursors().await.unwrap(), vec![cursor]);
    let fires = store.fires("every-minute", 10).await.unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!(fires[0].instance_id, "x1");
}

async fn unstarted_fires_are_found(store: &dyn Store) {
    assert_eq!(store.unstarted_fires().await.unwrap().len(), 1);
    let i = instance("x1", "alpha", 60_010);
    store
        .commit(&CommitBatch {
            instances: vec![InstanceRow::from_instance(&i)],
            started_by_fire: vec!["x1".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(store.unstarted_fires().await.unwrap().is_empty());
    assert_eq!(store.fires("every-minute", 1).await.unwrap()[0].status, FireStatus::Started);
}

async fn secrets_roundtrip(store: &dyn Store) {
    store.put_secret("b", b"sealed-b", 1).await.unwrap();
    store.put_secret("a", b"sealed-a", 1).await.unwrap();
    store.put_secret("a", b"sealed-a2", 2).await.unwrap();
    assert_eq!(
        store.secrets().await.unwrap(),
        vec![("a".to_string(), b"sealed-a2".to_vec()), ("b".to_string(), b"sealed-b".to_vec())]
    );
    assert!(store.delete_secret("a").await.unwrap());
    assert!(!store.delete_secret("a").await.unwrap());
}

async fn large_batches_commit(store: &dyn Store) {
    let rows: Vec<InstanceRow> =
        (0..1_234).map(|n| InstanceRow::from_instance(&instance(&format!("bulk-{n}"), "bulk", n))).collect();
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    let listed = store
        .list_instances(&InstanceFilter { workflow_name: Some("bulk".into()), limit: 5, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["bulk-1233", "bulk-1232", "bulk-1231", "bulk-1230", "bulk-1229"]
    );
}

async fn listing_pages_and_purging(store: &dyn Store) {
    let mut rows = Vec::new();
    for (n, status) in
        [WorkflowStatus::Completed, WorkflowStatus::Running, WorkflowStatus::Failed].iter().cycle().take(7).enumerate()
    {
        let mut i = instance(&format!("p{n}"), "paged", 100 + (n as i64 / 2));
        i.status = *status;
        rows.push(InstanceRow::from_instance(&i));
    }
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    let filter = |after: Option<(i64, String)>| InstanceFilter {
        workflow_name: Some("paged".into()),
        after,
        limit: 3,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_instances(&filter(after.clone())).await.unwrap();
        seen.extend(page.iter().map(|s| s.id.clone()));
        match page.last() {
            Some(last) if page.len() == 3 => after = Some((last.created_at, last.id.clone())),
            _ => break,
        }
    }
    assert_eq!(seen, ["p6", "p4", "p5", "p2", "p3", "p0", "p1"], "newest first, ties by id, no gaps or repeats");
    let window = InstanceFilter {
        workflow_name: Some("paged".into()),
        created_from: Some(101),
        created_to: Some(103),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_instances(&window).await.unwrap().len(), 4);

    assert!(!store.purge_instance("p1").await.unwrap(), "a running instance is never purged");
    assert!(store.purge_instance("p0").await.unwrap());
    assert!(!store.purge_instance("p0").await.unwrap());
    let mut purged = store
        .purge_instances(&InstanceFilter { workflow_name: Some("paged".into()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    purged.sort();
    assert_eq!(purged, ["p2", "p3", "p5", "p6"]);
    let left: Vec<String> = store.list_instances(&filter(None)).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(left, ["p4", "p1"]);
}

async fn large_ended_states_are_compressed_and_still_found(store: &dyn Store) {
    let big = |id: &str, status| {
        let mut i = Instance::new(id.into(), "big".into(), 1, json!({"log": "line ".repeat(400), "id": id}), 500);
        i.status = status;
        InstanceRow::from_instance(&i)
    };
    let ended = big("z-ended-Needle", WorkflowStatus::Completed);
    assert!(ended.state.is_empty() && ended.state_z.as_ref().is_some_and(|z| z.len() < 500), "compressed");
    let running = big("z-running-Needle", WorkflowStatus::Running);
    assert!(running.state_z.is_none(), "a running instance's state is rewritten at each step: left plain");
    store.commit(&CommitBatch { instances: vec![ended, running], ..Default::default() }).await.unwrap();
    let back = store.instance("z-ended-Needle").await.unwrap().unwrap();
    assert_eq!(back.input["log"].as_str().map(str::len), Some(2_000));
    assert!(store.instance_json("z-ended-Needle").await.unwrap().unwrap().contains("z-ended-Needle"));
    let search = |text: &str, limit| InstanceFilter {
        workflow_name: Some("big".into()),
        text: Some(text.into()),
        limit,
        ..Default::default()
    };
    let found = |rows: Vec<crate::InstanceSummary>| rows.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let mut both = found(store.list_instances(&search("NEEDLE", 10)).await.unwrap());
    both.sort();
    assert_eq!(both, ["z-ended-Needle", "z-running-Needle"], "the compressed state is searched too, ignoring case");
    assert_eq!(found(store.list_instances(&search("z-ended", 10)).await.unwrap()), ["z-ended-Needle"]);
    assert!(store.list_instances(&search("no such text", 10)).await.unwrap().is_empty());
    // Reopened (a retry), it is written plain again.
    let mut reopened = back.clone();
    reopened.status = WorkflowStatus::Running;
    store
        .commit(&CommitBatch { instances: vec![InstanceRow::from_instance(&reopened)], ..Default::default() })
        .await
        .unwrap();
    assert_eq!(store.instance("z-ended-Needle").await.unwrap().unwrap().status, WorkflowStatus::Running);
    store
        .commit(&CommitBatch { instances: vec![big("z-ended-Needle", WorkflowStatus::Failed)], ..Default::default() })
        .await
        .unwrap();
    let running_only = InstanceFilter { statuses: vec![WorkflowStatus::Running], ..search("needle", 10) };
    assert!(store.purge_instances(&running_only).await.unwrap().is_empty(), "asked for running ones: nothing goes");
    let purged = store.purge_instances(&search("ended-needle", 10)).await.unwrap();
    assert_eq!(purged, ["z-ended-Needle"], "a purge by text finds compressed states, and never running ones");
    assert!(store.instance("z-running-Needle").await.unwrap().is_some());
}

async fn tokens_are_kept_hashed_and_revoked(store: &dyn Store) {
    let token = crate::TokenRow {
        id: "t1".into(),
        name: "ci".into(),
        role: "write".into(),
        secret_hash: "ab".repeat(32),
        created_at: 5,
        revoked_at: None,
        grants: vec!["pd_key".into(), "env:REGION".into()],
        user_id: Some("ana".into()),
        expires_at: Some(1_000),
        last_used_at: None,
    };
    store.put_token(&token).await.unwrap();
    assert!(store.put_token(&token).await.is_err(), "ids are unique");
    assert_eq!(store.tokens().await.unwrap(), vec![token.clone()]);
    assert!(store.revoke_token("t1", 9).await.unwrap());
    assert!(!store.revoke_token("t1", 10).await.unwrap(), "already revoked");
    assert!(!store.revoke_token("nope", 10).await.unwrap());
    assert_eq!(store.tokens().await.unwrap()[0].revoked_at, Some(9));
    store.touch_token("t1", 12).await.unwrap();
    assert_eq!(store.tokens().await.unwrap()[0].last_used_at, Some(12), "last used");
}

async fn ui_sessions_end_at_sign_out_revocation_and_expiry(store: &dyn Store) {
    let token = |id: &str| crate::TokenRow {
        id: id.into(),
        name: id.into(),
        role: "read".into(),
        secret_hash: "cd".repeat(32),
        created_at: 1,
        revoked_at: None,
        grants: vec![],
        user_id: None,
        expires_at: None,
        last_used_at: None,
    };
    store.put_token(&token("s1")).await.unwrap();
    store.put_token(&token("s2")).await.unwrap();
    let session = |id: &str, token: &str, created_at: vigil_core::time::Millis| crate::SessionRow {
        id_hash: id.into(),
        token_id: token.into(),
        created_at,
        expires_at: created_at + 100,
        user_id: None,
        provider: None,
    };
    store.put_session(&session("a", "s1", 10)).await.unwrap();
    store.put_session(&session("b", "s1", 20)).await.unwrap();
    store.put_session(&session("c", "s2", 30)).await.unwrap();
    assert!(store.put_session(&session("c", "s2", 30)).await.is_err(), "ids are unique");
    assert_eq!(store.session("a", 50).await.unwrap(), Some(session("a", "s1", 10)));
    assert_eq!(store.session("a", 110).await.unwrap(), None, "expired at its end");
    assert_eq!(store.session("zz", 50).await.unwrap(), None);
    assert!(store.delete_session("b").await.unwrap(), "signed out");
    assert!(!store.delete_session("b").await.unwrap());
    assert_eq!(store.session("b", 50).await.unwrap(), None);
    assert!(store.revoke_token("s2", 60).await.unwrap());
    assert_eq!(store.session("c", 60).await.unwrap(), None, "a revoked token's sessions end with it");
    store.put_session(&session("d", "s1", 200)).await.unwrap();
    assert!(!store.delete_session("a").await.unwrap(), "expired sessions are forgotten as new ones begin");
    assert!(store.session("d", 250).await.unwrap().is_some());
}

async fn definitions_roundtrip(store: &dyn Store) {
    let def = |version: u32, body: &str| crate::DefinitionRow {
        kind: "workflow".into(),
        name: "w".into(),
        version,
        body: body.into(),
        updated_at: 1,
        defined_by: None,
    };
    store.put_definition(&def(1, "{\"a\":1}")).await.unwrap();
    store.put_definition(&def(2, "{}")).await.unwrap();
    store.put_definition(&def(1, "{\"a\":2}")).await.unwrap();
    let all = store.definitions("workflow").await.unwrap();
    assert_eq!(all.iter().map(|d| (d.version, d.body.as_str())).collect::<Vec<_>>(), [(1, "{\"a\":2}"), (2, "{}")]);
    assert!(store.definitions("taskdef").await.unwrap().is_empty());
    let latest = store.latest_definition("workflow", "w").await.unwrap().unwrap();
    assert_eq!(latest.version, all.iter().filter(|d| d.name == "w").map(|d| d.version).max().unwrap(), "the newest");
    assert_eq!(store.latest_definition("workflow", "nope").await.unwrap(), None);
    assert_eq!(store.latest_definition("taskdef", "w").await.unwrap(), None, "of its kind only");
    assert_eq!(store.delete_definition("workflow", "w", Some(2)).await.unwrap(), 1);
    assert_eq!(store.delete_definition("workflow", "w", None).await.unwrap(), 1);
    assert!(store.definitions("workflow").await.unwrap().is_empty());
}

async fn nodes_and_fire_lags(store: &dyn Store) {
    let mut node = crate::NodeRow {
        id: "n1".into(),
        host: "h".into(),
        version: "0.1.0".into(),
        started_at: 10,
        heartbeat_at: 10,
        stopped_at: None,
    };
    store.node_heartbeat(&node).await.unwrap();
    node.heartbeat_at = 20;
    store.node_heartbeat(&node).await.unwrap();
    node.stopped_at = Some(25);
    store.node_heartbeat(&node).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), vec![node]);
    let claim = |slot: i64, lag: i64| FireClaim {
        schedule: "lagged".into(),
        scheduled_at: slot,
        instance_id: format!("lag-{slot}"),
        executed_at: slot + lag,
        status: FireStatus::Claimed,
    };
    store.claim_fires(&[claim(1_000_000, 5), claim(1_001_000, 40)], &[], None).await.unwrap();
    let mut lags = store.fire_lags(1_000_000).await.unwrap();
    lags.sort_unstable();
    assert_eq!(lags, [5, 40]);
    assert_eq!(store.fire_lags(1_000_500).await.unwrap(), [40]);
}

async fn parked_messages_are_kept_once_per_queue_and_id(store: &dyn Store) {
    let parked = |event: &str, id: &str, error: &str| crate::ParkedEvent {
        id: 0,
        event: event.into(),
        handler: "h".into(),
        message_id: id.into(),
        payload: "{}".into(),
        error: error.into(),
        attempts: 1,
        parked_at: 10,
    };
    store.park_events(&[parked("nats:a", "m1", "first"), parked("nats:b", "m1", "other queue")]).await.unwrap();
    // Delivered again and parked again: the first record stays.
    store.park_events(&[parked("nats:a", "m1", "second")]).await.unwrap();
    let rows = store.parked_events(10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].event.as_str(), rows[1].error.as_str()), ("nats:b", "first"), "newest first");
    assert!(store.delete_parked_event(rows[1].id).await.unwrap());
    assert!(!store.delete_parked_event(rows[1].id).await.unwrap());
    assert_eq!(store.parked_events(10).await.unwrap().len(), 1);
}

async fn browser_evidence_keeps_the_newest_few(store: &dyn Store) {
    let evidence = |monitor: &str, at: i64| crate::CheckEvidence {
        monitor: monitor.into(),
        at,
        note: format!("step 2 failed at {at}"),
        console: "error: boom\n".into(),
        screenshot: vec![0x89, b'P', b'N', b'G', at as u8],
        screenshot_bytes: 0,
    };
    for at in 1..=7 {
        store.keep_check_evidence(&evidence("login", at)).await.unwrap();
    }
    store.keep_check_evidence(&evidence("other", 1)).await.unwrap();
    let kept = store.check_evidence("login", 10).await.unwrap();
    let ats: Vec<i64> = kept.iter().map(|e| e.at).collect();
    assert_eq!(ats, [7, 6, 5, 4, 3], "the newest {} kept, newest first", crate::evidence::KEPT_PER_MONITOR);
    assert_eq!(
        (kept[0].note.as_str(), kept[0].screenshot_bytes, kept[0].screenshot.len()),
        ("step 2 failed at 7", 5, 0)
    );
    assert_eq!(store.check_screenshot("login", 7).await.unwrap(), Some(vec![0x89, b'P', b'N', b'G', 7]));
    assert_eq!(store.check_screenshot("login", 1).await.unwrap(), None, "pruned");
    assert_eq!(store.check_evidence("other", 10).await.unwrap().len(), 1, "another monitor's are its own");
    // Retention: everything before 6, of every monitor (a deleted one's too).
    assert_eq!(store.prune_check_evidence(6).await.unwrap(), 4);
    let ats: Vec<i64> = store.check_evidence("login", 10).await.unwrap().iter().map(|e| e.at).collect();
    assert_eq!(ats, [7, 6]);
    assert!(store.check_evidence("other", 10).await.unwrap().is_empty());
}

async fn status_events_commit_with_their_change(store: &dyn Store) {
    let i = instance("st1", "alpha", 10);
    let event = |body: &str| crate::NewStatusEvent {
        part: 3,
        instance_id: "st1".into(),
        sink: "nats:status".into(),
        body: body.into(),
        created_at: 100,
    };
    let batch = CommitBatch {
        instances: vec![InstanceRow::from_instance(&i)],
        status_events: vec![event("started"), event("completed")],
        ..Default::default()
    };
    store.commit(&batch).await.unwrap();
    assert!(store.pending_status_events(&[4], 100, 10).await.unwrap().is_empty(), "another partition's");
    let rows = store.pending_status_events(&[3], 100, 10).await.unwrap();
    let bodies: Vec<&str> = rows.iter().map(|r| r.event.body.as_str()).collect();
    assert_eq!(bodies, ["started", "completed"], "in the order they happened");
    store.defer_status_event(rows[0].id, 500, "unreachable").await.unwrap();
    let due = store.pending_status_events(&[3], 100, 10).await.unwrap();
    assert!(due.is_empty(), "a deferred event waits, and its instance's later one behind it: {due:?}");
    let later = store.pending_status_events(&[3], 500, 10).await.unwrap();
    assert_eq!((later[0].attempts, later.len()), (1, 2));
    store.delete_status_events(&[rows[0].id, rows[1].id]).await.unwrap();
    assert!(store.pending_status_events(&[3], 1_000, 10).await.unwrap().is_empty());
}
