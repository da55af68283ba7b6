//! Retention checks every backend must pass: what the background purge deletes, and what it
//! must never delete.

use serde_json::json;
use vigil_core::instance::{Instance, WorkflowStatus};

use crate::{
    AlertBatch, AlertRow, CommitBatch, DeliveryUpdate, FireClaim, FireStatus, InstanceFilter, InstanceRow,
    NewOutboxEntry, PurgeRule, Store, Workflows,
};

/// Runs every retention check against `store` (rows of other checks may exist).
pub async fn run_all(store: &dyn Store) {
    ended_instances_go_by_age_status_and_name(store).await;
    keep_last_per_schedule(store).await;
    resolved_alerts_go_with_their_notices(store).await;
    old_fire_records_go(store).await;
    // Vacuums where the backend needs it (PostgreSQL without autovacuum); runs twice in a row
    // without error (the second is skipped as too soon).
    store.reclaim_space().await.expect("reclaim space");
    store.reclaim_space().await.expect("reclaim space again");
}

fn ended(id: &str, workflow: &str, status: WorkflowStatus, ended_at: i64, part: u32) -> InstanceRow {
    let mut i = Instance::new(id.into(), workflow.into(), 1, json!({}), ended_at - 10);
    i.status = status;
    i.update_time = ended_at;
    i.partition = part;
    InstanceRow::from_instance(&i)
}

async fn ids(store: &dyn Store, workflow: &str) -> Vec<String> {
    let filter = InstanceFilter { workflow_name: Some(workflow.into()), limit: 100, ..Default::default() };
    let mut ids: Vec<String> = store.list_instances(&filter).await.unwrap().into_iter().map(|s| s.id).collect();
    ids.sort();
    ids
}

async fn ended_instances_go_by_age_status_and_name(store: &dyn Store) {
    use WorkflowStatus::*;
    let rows = vec![
        ended("r-old-done", "ret", Completed, 1_000, 0),
        ended("r-new-done", "ret", Completed, 5_000, 0),
        ended("r-old-failed", "ret", Failed, 1_000, 0),
        ended("r-old-running", "ret", Running, 1_000, 0),
        ended("r-old-paused", "ret", Paused, 1_000, 0),
        ended("r-other-part", "ret", Completed, 1_000, 7),
        ended("o-old-done", "ret-own", Completed, 1_000, 0),
    ];
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    let rule = |statuses: Vec<WorkflowStatus>, parts: Option<Vec<u32>>| PurgeRule {
        workflows: Workflows::Only(vec!["ret".into()]),
        statuses,
        ended_before: 2_000,
        parts,
    };
    // In chunks: one row per statement.
    assert_eq!(store.purge_ended(&rule(vec![Completed], Some(vec![0, 1])), 1).await.unwrap(), 1);
    assert_eq!(store.purge_ended(&rule(vec![Completed], Some(vec![0, 1])), 1).await.unwrap(), 0);
    assert_eq!(
        ids(store, "ret").await,
        ["r-new-done", "r-old-failed", "r-old-paused", "r-old-running", "r-other-part"],
        "only the old completed instance of the owned partitions went"
    );
    assert_eq!(store.purge_ended(&rule(vec![Running, Paused, Failed], None), 10).await.unwrap(), 1);
    assert_eq!(ids(store, "ret").await, ["r-new-done", "r-old-paused", "r-old-running", "r-other-part"]);
    // Other checks' instances may go too: only what happens to these two names is checked.
    let others = PurgeRule { workflows: Workflows::AllBut(vec!["ret-own".into()]), ..rule(vec![Completed], None) };
    while store.purge_ended(&others, 100).await.unwrap() > 0 {}
    assert_eq!(ids(store, "ret").await, ["r-new-done", "r-old-paused", "r-old-running"]);
    assert_eq!(ids(store, "ret-own").await, ["o-old-done"], "a workflow with its own rule is left to it");
    let own = PurgeRule { workflows: Workflows::Only(vec!["ret-own".into()]), ..rule(vec![Completed], None) };
    assert_eq!(store.purge_ended(&own, 10).await.unwrap(), 1);
    assert_eq!(store.purge_ended(&rule(vec![], None), 10).await.unwrap(), 0, "no statuses, nothing");
}

async fn keep_last_per_schedule(store: &dyn Store) {
    let mut rows = Vec::new();
    for (schedule, n) in [("hourly", 5), ("daily", 2)] {
        for k in 0..n {
            let mut row = ended(&format!("k-{schedule}-{k}"), "kept", WorkflowStatus::Completed, 10_000 + k, k as u32);
            row.schedule_name = Some(schedule.into());
            rows.push(row);
        }
    }
    let mut running = ended("k-hourly-running", "kept", WorkflowStatus::Running, 20_000, 0);
    running.schedule_name = Some("hourly".into());
    rows.push(running);
    rows.push(ended("k-by-hand", "kept", WorkflowStatus::Completed, 1, 0));
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    // Partition 0 only: k-hourly-0 is ranked 5th of hourly (past 3), but k-hourly-1 is in
    // partition 1.
    assert_eq!(store.purge_beyond_last("kept", 3, Some(&[0]), 10).await.unwrap(), 1);
    assert_eq!(store.purge_beyond_last("kept", 3, None, 10).await.unwrap(), 1);
    assert_eq!(store.purge_beyond_last("kept", 3, None, 10).await.unwrap(), 0);
    assert_eq!(
        ids(store, "kept").await,
        ["k-by-hand", "k-daily-0", "k-daily-1", "k-hourly-2", "k-hourly-3", "k-hourly-4", "k-hourly-running"],
        "the newest 3 ended per schedule stay, with running and unscheduled instances"
    );
}

fn alert(key: &str, condition: &str, at: i64, wake: Option<i64>) -> AlertRow {
    AlertRow {
        dedup_key: key.into(),
        name: "retained".into(),
        condition: condition.into(),
        firing_since: None,
        last_notified: Some(at),
        acknowledged: false,
        next_wake: wake,
        updated_at: at,
        state: "{}".into(),
    }
}

async fn resolved_alerts_go_with_their_notices(store: &dyn Store) {
    let notice = |key: &str| NewOutboxEntry {
        dedup_key: key.into(),
        notifier: "pd".into(),
        notice: "resolve".into(),
        message: "{}".into(),
        created_at: 100,
    };
    let batch = AlertBatch {
        alerts: vec![
            alert("ret/old-ok", "ok", 100, None),
            alert("ret/old-ok-pending-send", "ok", 100, None),
            alert("ret/old-ok-waking", "ok", 100, Some(5_000)),
            alert("ret/old-firing", "firing", 100, None),
            alert("ret/new-ok", "ok", 9_000, None),
        ],
        outbox: vec![notice("ret/old-ok"), notice("ret/old-ok-pending-send")],
        ..Default::default()
    };
    let ids = store.commit_alerts(&batch).await.unwrap();
    store.record_delivery(ids[0], &DeliveryUpdate::Delivered { at: 150 }).await.unwrap();
    let mut gone = store.purge_resolved_alerts(1_000, None, 10).await.unwrap();
    gone.sort();
    assert_eq!(gone, ["ret/old-ok", "ret/old-ok-pending-send"]);
    assert!(store.alert("ret/old-ok").await.unwrap().is_none());
    for kept in ["ret/old-ok-waking", "ret/old-firing", "ret/new-ok"] {
        assert!(store.alert(kept).await.unwrap().is_some(), "{kept} is kept");
    }
    let pending = store.pending_outbox().await.unwrap();
    assert!(pending.iter().any(|e| e.dedup_key == "ret/old-ok-pending-send"), "an unsent notice is never deleted");
    let delivered = store.outbox(crate::OutboxStatus::Delivered, 1_000).await.unwrap();
    assert!(!delivered.iter().any(|e| e.dedup_key == "ret/old-ok"), "a sent notice goes with its alert");
    assert!(store.purge_resolved_alerts(1_000, Some(&[]), 10).await.unwrap().is_empty(), "no partitions, nothing");
}

async fn old_fire_records_go(store: &dyn Store) {
    let claim = |at: i64, status| FireClaim {
        schedule: "ret-fires".into(),
        scheduled_at: at,
        instance_id: format!("f{at}"),
        executed_at: at,
        status,
    };
    let claims =
        [claim(1_000, FireStatus::Skipped), claim(2_000, FireStatus::Claimed), claim(9_000, FireStatus::Skipped)];
    store.claim_fires(&claims, &[], None).await.unwrap();
    assert_eq!(store.prune_fires(5_000, 10).await.unwrap(), 1, "the old skipped fire; the claimed one waits");
    let left: Vec<i64> = store.fires("ret-fires", 10).await.unwrap().into_iter().map(|f| f.scheduled_at).collect();
    assert_eq!(left.len(), 2);
}
