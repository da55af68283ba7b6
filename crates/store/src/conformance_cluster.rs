//! The cluster part of the conformance suite: leases, fencing, partitions and the inbox.

use serde_json::json;
use vigil_core::instance::Instance;

use crate::{
    AlertBatch, AlertRow, CommitBatch, Fence, FireClaim, FireStatus, InstanceRow, NewInboxRow, NewOutboxEntry,
    PARTITIONS, Store, StoreError, partition_of,
};

/// Runs every cluster check against `store`; leases must be untouched so far.
pub async fn run_all(store: &dyn Store) {
    leases_are_acquired_renewed_and_taken_over(store).await;
    fenced_writes_need_the_leases(store).await;
    work_is_found_by_partition(store).await;
    inbox_messages_are_taken_and_applied(store).await;
}

async fn leases_are_acquired_renewed_and_taken_over(store: &dyn Store) {
    let leases = store.leases().await.unwrap();
    assert_eq!(leases.len(), PARTITIONS as usize);
    assert!(leases.iter().all(|l| l.owner.is_none()));
    let a = store.acquire_leases("node-a", 10, 1_000, 11_000).await.unwrap();
    assert_eq!(a, (0..10).collect::<Vec<u32>>(), "free partitions in order");
    let b = store.acquire_leases("node-b", 100, 1_000, 11_000).await.unwrap();
    assert_eq!(b.len(), 54, "only the free ones");
    assert!(store.acquire_leases("node-c", 5, 5_000, 15_000).await.unwrap().is_empty(), "none lapsed yet");
    assert_eq!(store.renew_leases("node-a", 20_000).await.unwrap(), a);
    // node-b stopped renewing: at 15,000 its leases have lapsed, node-a's have not.
    let mut c = store.acquire_leases("node-c", 5, 15_000, 25_000).await.unwrap();
    c.sort_unstable();
    assert_eq!(c, (10..15).collect::<Vec<u32>>());
    let lease = |part: u32| async move { store.leases().await.unwrap()[part as usize].clone() };
    assert_eq!((lease(10).await.owner.as_deref(), lease(10).await.epoch), (Some("node-c"), 2));
    assert_eq!(store.renew_leases("node-b", 30_000).await.unwrap().len(), 49, "node-b kept the rest");
    store.release_leases("node-a", &[0, 1]).await.unwrap();
    store.release_leases("node-a", &[12]).await.unwrap(); // not node-a's: unchanged
    assert_eq!(lease(12).await.owner.as_deref(), Some("node-c"));
    assert_eq!(store.acquire_leases("node-c", 1, 15_000, 25_000).await.unwrap(), [0], "free before lapsed");
    assert_eq!(store.renew_leases("node-a", 20_000).await.unwrap(), (2..10).collect::<Vec<u32>>());
}

fn in_part(id: &str, part: u32, at: i64) -> InstanceRow {
    let mut i = Instance::new(id.into(), "clustered".into(), 1, json!({}), at);
    i.partition = part;
    InstanceRow::from_instance(&i)
}

async fn fenced_writes_need_the_leases(store: &dyn Store) {
    // Partition 10 moved from node-b to node-c above: node-b's writes to it are refused whole.
    let stale = CommitBatch {
        instances: vec![in_part("fenced-1", 10, 1), in_part("fenced-2", 20, 1)],
        fence: Some(Fence::new("node-b", [10, 20])),
        ..Default::default()
    };
    match store.commit(&stale).await {
        Err(StoreError::LeaseLost(parts)) => assert_eq!(parts, [10]),
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    assert!(store.instance("fenced-2").await.unwrap().is_none(), "nothing of the batch was written");
    let fresh = CommitBatch {
        instances: vec![in_part("fenced-1", 10, 1)],
        fence: Some(Fence::new("node-c", [10])),
        ..Default::default()
    };
    store.commit(&fresh).await.unwrap();
    assert_eq!(store.instance("fenced-1").await.unwrap().unwrap().partition, 10);

    let claim = FireClaim {
        schedule: "fenced-schedule".into(),
        scheduled_at: 1_000,
        instance_id: "fenced-fire".into(),
        executed_at: 1_000,
        status: FireStatus::Claimed,
    };
    let refused = store.claim_fires(std::slice::from_ref(&claim), &[], Some(&Fence::new("node-b", [10]))).await;
    assert!(matches!(refused, Err(StoreError::LeaseLost(_))));
    assert!(store.fires("fenced-schedule", 10).await.unwrap().is_empty());
    let claimed = store.claim_fires(&[claim], &[], Some(&Fence::new("node-c", [10]))).await.unwrap();
    assert_eq!(claimed, [true]);

    let alert = AlertBatch { fence: Some(Fence::new("node-b", [10])), ..Default::default() };
    assert!(matches!(store.commit_alerts(&alert).await, Err(StoreError::LeaseLost(_))));
    // A group's flush is fenced whole too.
    let member =
        crate::MemberRow { id: 77, group_key: "fenced-group".into(), member_key: "m".into(), alert: "{}".into() };
    let flush = |fence: Fence| AlertBatch {
        groups: vec![crate::GroupRow {
            group_key: "fenced-group".into(),
            next_wake: None,
            updated_at: 1,
            state: "{}".into(),
            members: Vec::new(),
        }],
        group_members: vec![member.clone()],
        outbox: vec![NewOutboxEntry {
            dedup_key: "fenced-group".into(),
            notifier: "pd".into(),
            notice: "trigger".into(),
            message: "{}".into(),
            created_at: 1,
        }],
        fence: Some(fence),
        ..Default::default()
    };
    let group_part = [partition_of("fenced-group")];
    match store.commit_alerts(&flush(Fence::new("node-b", [10]))).await {
        Err(StoreError::LeaseLost(lost)) => assert!(lost.contains(&10), "{lost:?}"),
        other => panic!("a lost lease refuses the flush: {other:?}"),
    }
    assert!(store.groups_in(&group_part).await.unwrap().is_empty(), "nothing of the flush was written");
    assert!(store.alert_outbox("fenced-group", 10).await.unwrap().is_empty());
    let ids = store.commit_alerts(&flush(Fence::new("node-c", [10]))).await.unwrap();
    assert_eq!(ids.len(), 1, "the lease holder's flush is written");
    assert_eq!(store.groups_in(&group_part).await.unwrap()[0].members, std::slice::from_ref(&member));

    // Alerts joining a group alone (one statement on PostgreSQL) are fenced as a flush is.
    let joins = |fence: Fence, alert: &str| AlertBatch {
        group_members: vec![
            crate::MemberRow { alert: alert.into(), ..member.clone() },
            crate::MemberRow { id: 78, member_key: "n".into(), alert: alert.into(), ..member.clone() },
        ],
        fence: Some(fence),
        ..Default::default()
    };
    match store.commit_alerts(&joins(Fence::new("node-b", [10, 20]), "stale")).await {
        Err(StoreError::LeaseLost(lost)) => assert_eq!(lost, [10]),
        other => panic!("a lost lease refuses the joins: {other:?}"),
    }
    let alerts = |group: &crate::GroupRow| group.members.iter().map(|m| m.alert.clone()).collect::<Vec<_>>();
    assert_eq!(alerts(&store.groups_in(&group_part).await.unwrap()[0]), ["{}"], "nothing of the joins was written");
    assert!(store.commit_alerts(&joins(Fence::new("node-c", [10]), "joined")).await.unwrap().is_empty());
    assert_eq!(alerts(&store.groups_in(&group_part).await.unwrap()[0]), ["joined", "joined"]);
    let unfenced = AlertBatch { fence: None, ..joins(Fence::new("node-c", []), "changed") };
    store.commit_alerts(&unfenced).await.unwrap();
    assert_eq!(alerts(&store.groups_in(&group_part).await.unwrap()[0]), ["changed", "changed"]);
}

async fn work_is_found_by_partition(store: &dyn Store) {
    let rows = vec![in_part("p3-run", 3, 10), in_part("p5-run", 5, 11)];
    store.commit(&CommitBatch { instances: rows, ..Default::default() }).await.unwrap();
    let ids = |v: Vec<Instance>| v.into_iter().map(|i| i.workflow_id).collect::<Vec<_>>();
    assert_eq!(ids(store.unfinished_instances_in(&[3]).await.unwrap()), ["p3-run"]);
    assert_eq!(ids(store.unfinished_instances_in(&[3, 5]).await.unwrap()), ["p3-run", "p5-run"]);
    assert!(store.unfinished_instances_in(&[]).await.unwrap().is_empty());

    let key = "clustered-key";
    let part = partition_of(key);
    let row = AlertRow {
        dedup_key: key.into(),
        name: "n".into(),
        condition: "firing".into(),
        firing_since: Some(1),
        last_notified: Some(1),
        acknowledged: false,
        next_wake: None,
        updated_at: 1,
        state: "{}".into(),
    };
    let entry = NewOutboxEntry {
        dedup_key: key.into(),
        notifier: "pd".into(),
        notice: "trigger".into(),
        message: "{}".into(),
        created_at: 1,
    };
    let batch = AlertBatch { alerts: vec![row], outbox: vec![entry], ..Default::default() };
    store.commit_alerts(&batch).await.unwrap();
    let other = (part + 1) % PARTITIONS;
    assert_eq!(store.alerts_in(&[part]).await.unwrap().iter().filter(|a| a.dedup_key == key).count(), 1);
    assert!(store.alerts_in(&[other]).await.unwrap().iter().all(|a| a.dedup_key != key));
    assert_eq!(store.pending_outbox_in(&[part]).await.unwrap().iter().filter(|e| e.dedup_key == key).count(), 1);
    assert!(store.pending_outbox_in(&[other]).await.unwrap().iter().all(|e| e.dedup_key != key));
}

fn msg(part: u32, target: &str) -> NewInboxRow {
    NewInboxRow { part, kind: "event".into(), target: target.into(), body: "{}".into(), created_at: 7 }
}

async fn inbox_messages_are_taken_and_applied(store: &dyn Store) {
    store.put_inbox(&[msg(1, "a"), msg(2, "b"), msg(1, "c")]).await.unwrap();
    let one = store.inbox(&[1], 10).await.unwrap();
    assert_eq!(one.iter().map(|r| r.msg.target.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert!(one[0].id < one[1].id);
    assert_eq!(one[0].msg, msg(1, "a"));
    assert_eq!(store.inbox(&[1, 2], 2).await.unwrap().len(), 2, "limit");
    // Applying deletes a message in the same transaction as its effect.
    let batch = CommitBatch {
        instances: vec![in_part("inbox-applied", 1, 1)],
        inbox_done: vec![one[0].id],
        ..Default::default()
    };
    store.commit(&batch).await.unwrap();
    let alerts = AlertBatch { inbox_done: vec![one[1].id], inbox_out: vec![msg(3, "reply")], ..Default::default() };
    store.commit_alerts(&alerts).await.unwrap();
    assert!(store.inbox(&[1], 10).await.unwrap().is_empty());
    let replies = store.inbox(&[3], 10).await.unwrap();
    assert_eq!(replies.len(), 1);
    let b = store.inbox(&[2], 10).await.unwrap();
    store.delete_inbox(&[b[0].id, replies[0].id]).await.unwrap();
    assert!(store.inbox(&[1, 2, 3], 10).await.unwrap().is_empty());
}
