//! The alert manager's commits. A step's changes (alert states, groups, the outbox, inbox
//! messages, send results) are committed in one transaction, and only then is anything sent or
//! answered. One commit runs at a time, in step order, while the manager applies the next
//! messages: the store's write and the manager's work overlap.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vigil_core::interpreter::Event;
use vigil_core::time::Millis;
use vigil_store::{AlertBatch, OutboxEntry, OutboxStatus, StoreError, partition_of};

use super::delivery;
use crate::cluster::inbox::InboxMsg;
use crate::cluster::ownership::Ownership;
use crate::router::Router;

/// Stops running the partitions given (their leases were lost).
pub(crate) type LoseParts = Arc<dyn Fn(&[u32]) + Send + Sync>;

/// An ALERT task's result, to send once the step that decided it is committed.
pub(super) struct Reply {
    /// The observed key.
    pub key: String,
    /// The instance.
    pub instance: String,
    /// Its task result.
    pub event: Event,
    /// The partition to reach it through the inbox, when another node runs it.
    pub remote: Option<u32>,
    /// For an observation of this node's own instance: the observation again, for the key's
    /// partition, should its lease be lost before the result is committed (nobody else has it).
    pub resend: Option<(u32, InboxMsg)>,
}

/// Where a step's routed alerts went: into groups of this node (kept to resend should their
/// partitions be lost before the commit) or to other partitions' inboxes.
#[derive(Default)]
pub(super) struct RoutedOut {
    pub local: Vec<(u32, InboxMsg)>,
    pub remote: Vec<(u32, InboxMsg)>,
}

/// What a commit needs of the engine.
#[derive(Clone)]
pub(super) struct Committer {
    pub store: Arc<dyn vigil_store::Store>,
    pub ownership: Arc<Ownership>,
    pub lose: LoseParts,
    pub delivery: mpsc::UnboundedSender<OutboxEntry>,
    pub recorded: mpsc::UnboundedSender<Vec<delivery::Recorded>>,
    pub router: Router,
}

/// One step's changes, and what waits for them to be committed.
#[derive(Default)]
pub(super) struct Commit {
    pub batch: AlertBatch,
    pub replies: Vec<Reply>,
    pub routed_out: RoutedOut,
    pub inbox_done: Vec<(u32, i64)>,
    pub acks: Vec<(oneshot::Sender<bool>, bool)>,
    /// Answered once the step is committed and its notices are with the delivery loop.
    pub flushed: Vec<oneshot::Sender<()>>,
    /// Answered once the step is committed (before the delivery loop is woken).
    pub committed: Vec<oneshot::Sender<()>>,
    pub sent: Vec<delivery::Recorded>,
    /// Acknowledgement requests applied, cleared from the store after the commit.
    pub acks_to_clear: Vec<String>,
    pub now: Millis,
}

impl Commit {
    /// Whether there is nothing to write (what waits can be answered at once).
    pub fn writes_nothing(&self) -> bool {
        let b = &self.batch;
        b.alerts.is_empty()
            && b.groups.is_empty()
            && b.group_members.is_empty()
            && b.groups_gone.is_empty()
            && b.group_members_gone.is_empty()
            && self.routed_out.remote.is_empty()
            && b.outbox.is_empty()
            && b.deliveries.is_empty()
            && self.replies.is_empty()
            && self.acks.is_empty()
            && self.inbox_done.is_empty()
    }

    /// The member rows of a commit that only adds or changes alerts in groups and answers the
    /// pushes that sent them; `None` for any other (it must follow the commits before it).
    pub fn members_only(&self) -> Option<std::collections::HashSet<i64>> {
        let b = &self.batch;
        let only_members = b.members_alone()
            && self.replies.is_empty()
            && self.routed_out.remote.is_empty()
            && self.inbox_done.is_empty()
            && self.acks.is_empty()
            && self.flushed.is_empty()
            && self.sent.is_empty()
            && self.acks_to_clear.is_empty();
        only_members.then(|| b.group_members.iter().map(|m| m.id).collect())
    }

    /// Commits, then sends and answers; returns the partitions whose leases were lost (the
    /// manager forgets them).
    pub async fn run(mut self, c: Committer) -> Vec<u32> {
        let mut all_lost = Vec::new();
        let now = self.now;
        let ids = loop {
            // Results for instances of other nodes go to their inboxes in the same transaction.
            self.batch.inbox_out = self
                .replies
                .iter()
                .filter_map(|r| {
                    let msg = InboxMsg::Event { instance: r.instance.clone(), event: r.event.clone() };
                    Some(msg.row(r.remote?, now))
                })
                .chain(self.routed_out.remote.iter().map(|(part, msg)| msg.row(*part, now)))
                .collect();
            self.batch.inbox_done = self.inbox_done.iter().map(|(_, id)| *id).collect();
            let b = &self.batch;
            let parts = b
                .alerts
                .iter()
                .map(|a| partition_of(&a.dedup_key))
                .chain(b.outbox.iter().map(|e| partition_of(&e.dedup_key)))
                .chain(b.groups.iter().map(|g| partition_of(&g.group_key)))
                .chain(b.group_members.iter().map(|m| partition_of(&m.group_key)))
                .chain(b.group_members_gone.iter().map(|(g, _)| partition_of(g)))
                .chain(b.groups_gone.iter().map(|g| partition_of(g)))
                .chain(self.inbox_done.iter().map(|(p, _)| *p));
            self.batch.fence = c.ownership.fence(parts);
            match c.store.commit_alerts(&self.batch).await {
                Ok(ids) => {
                    if !self.batch.outbox.is_empty() {
                        crate::crash_point::reach(crate::crash_point::CrashPoint::AfterAlertCommit);
                    }
                    break ids;
                }
                Err(StoreError::LeaseLost(lost)) => {
                    // Another node owns these keys now: leave them out; it resumes them from what
                    // was committed (and takes the inbox's observations again).
                    (c.lose)(&lost);
                    self.drop_lost(&lost, &c);
                    all_lost.extend(lost);
                }
                Err(e) => {
                    tracing::error!(error = %e, "Committing alert states failed; retrying before anything is sent.");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        metrics::counter!("vigil_notifications_queued_total").increment(ids.len() as u64);
        if !self.acks_to_clear.is_empty()
            && let Err(e) = c.store.clear_ack_requests(&self.acks_to_clear).await
        {
            tracing::error!(error = %e, "Could not clear applied acknowledgement requests; they will be applied again (harmlessly).");
        }
        if !self.sent.is_empty() {
            let _ = c.recorded.send(self.sent);
        }
        for reply in self.replies.into_iter().filter(|r| r.remote.is_none()) {
            c.router.send(&reply.instance, reply.event);
        }
        for (reply, done) in self.acks {
            let _ = reply.send(done);
        }
        for reply in self.committed {
            let _ = reply.send(());
        }
        // The notifications after the answers: the task woken last runs first on this thread, so
        // the delivery loop takes them at once while the answers wait their turn. A flush is
        // answered after them (a stopping engine then counts them as unsent).
        for (id, e) in ids.into_iter().zip(self.batch.outbox) {
            let entry = OutboxEntry {
                id,
                dedup_key: e.dedup_key,
                notifier: e.notifier,
                notice: e.notice,
                message: e.message,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: e.created_at,
                last_error: None,
                created_at: e.created_at,
                finished_at: None,
            };
            let _ = c.delivery.send(entry);
        }
        for reply in self.flushed {
            let _ = reply.send(());
        }
        all_lost
    }

    /// Leaves out what belongs to the `lost` partitions. Routed alerts put into groups here go
    /// to the groups' new owners; an observation of this node's instance goes to its key's new
    /// owner through the inbox, or its ALERT task waits forever (one from the inbox is still
    /// there for the new owner).
    pub fn drop_lost(&mut self, lost: &[u32], c: &Committer) {
        let gone = |key: &str| lost.contains(&partition_of(key));
        let b = &mut self.batch;
        b.alerts.retain(|a| !gone(&a.dedup_key));
        b.outbox.retain(|e| !gone(&e.dedup_key));
        b.groups.retain(|g| !gone(&g.group_key));
        b.group_members.retain(|m| !gone(&m.group_key));
        b.groups_gone.retain(|g| !gone(g));
        b.group_members_gone.retain(|(g, _)| !gone(g));
        self.inbox_done.retain(|(p, _)| !lost.contains(p));
        let (lost_members, kept) =
            std::mem::take(&mut self.routed_out.local).into_iter().partition(|(p, _)| lost.contains(p));
        self.routed_out.local = kept;
        for (part, msg) in lost_members {
            crate::cluster::inbox::send_later(c.store.clone(), self.now, part, msg);
        }
        let (dropped, kept): (Vec<Reply>, Vec<Reply>) =
            std::mem::take(&mut self.replies).into_iter().partition(|r| gone(&r.key));
        self.replies = kept;
        for (part, msg) in dropped.into_iter().filter_map(|r| r.resend) {
            crate::cluster::inbox::send_later(c.store.clone(), self.now, part, msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::{mpsc, oneshot};
    use vigil_store::{NewOutboxEntry, SqliteStore};

    use super::*;

    /// A push's `Committed` is answered before the delivery loop has the notices (so the loop,
    /// woken last, runs first); a `Flush` only after, so a stopping engine that waited for it
    /// counts them as unsent, never as none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_is_answered_once_the_notices_are_with_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.unwrap());
        let (delivery, mut handed) = mpsc::unbounded_channel();
        let (recorded, _recorded_rx) = mpsc::unbounded_channel();
        let committer = Committer {
            store,
            ownership: Arc::new(Ownership::new("n1", true)),
            lose: Arc::new(|_: &[u32]| {}),
            delivery,
            recorded,
            router: Router { shards: Arc::new(Vec::new()) },
        };
        let entry = |key: &str| NewOutboxEntry {
            dedup_key: key.into(),
            notifier: "hook".into(),
            notice: "trigger".into(),
            message: "{}".into(),
            created_at: 1,
        };
        for _ in 0..200 {
            let (flush, mut flushed) = oneshot::channel();
            let (push, pushed) = oneshot::channel();
            let mut commit = Commit { now: 1, flushed: vec![flush], committed: vec![push], ..Commit::default() };
            commit.batch.outbox = vec![entry("a"), entry("b")];
            // The commit runs on a worker thread; this thread spins on the flush's answer and looks
            // at the delivery channel the moment it sees it.
            let running = tokio::spawn(commit.run(committer.clone()));
            loop {
                match flushed.try_recv() {
                    Ok(()) => break,
                    Err(oneshot::error::TryRecvError::Empty) => std::hint::spin_loop(),
                    Err(e) => panic!("{e}"),
                }
            }
            let got: Vec<String> = std::iter::from_fn(|| handed.try_recv().ok()).map(|e| e.dedup_key).collect();
            assert_eq!(got, ["a", "b"], "both notices were with delivery when the flush was answered");
            assert!(running.await.unwrap().is_empty());
            assert!(pushed.await.is_ok(), "the push was answered too");
        }
    }
}
