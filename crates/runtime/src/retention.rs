//! The background purge: ended instances, resolved alerts, sent notices, old fire records and
//! monitor history go when their retention has passed.
//!
//! One task runs a pass every [`RetentionSettings::every`]. Each delete takes at most
//! [`RetentionSettings::chunk`] rows and the task yields between chunks (sleeping a little when
//! a chunk was full), so a purge of a month's backlog never holds the store's writer long enough
//! to delay commits, fires or API answers. In a cluster each node purges the instances and
//! alerts of the partitions it owns; the owner of partition 0 prunes the shared records (fire
//! records, the outbox and monitor history).
//!
//! The task owns its message type ([`RetentionMsg`]) and its handle ([`Retention`]); it needs
//! only the store, the clock, the node's ownership and the alert manager's channel, not the
//! engine's shared state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vigil_core::retention::{FAILED_STATUSES, FOREVER, Policy};
use vigil_core::time::{Clock, Millis};
use vigil_store::{PurgeRule, Store, Workflows};

use crate::alerting::messages::AlertMsg;
use crate::cluster::ownership::Ownership;

/// Global retention settings (`vigil serve --retain-*`).
#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// Ended instances, for workflows without a `retention` block of their own.
    pub instances: Policy,
    /// Resolved alerts, counted from when they resolved.
    pub resolved_alerts: Millis,
    /// Sent and failed notices in the outbox (pending ones are never deleted).
    pub notices: Millis,
    /// Schedule fire records (started or skipped).
    pub fires: Millis,
    /// Audit log rows.
    pub audit: Millis,
    /// Time between two passes.
    pub every: Duration,
    /// Rows per delete statement.
    pub chunk: u32,
}

impl Default for RetentionSettings {
    /// Completed instances 7 days, failed 30, resolved alerts 30, notices 7, fire records 30,
    /// audit rows 365; a pass a minute, 500 rows per statement.
    fn default() -> Self {
        RetentionSettings {
            instances: Policy::default(),
            resolved_alerts: 30 * DAY,
            notices: 7 * DAY,
            fires: 30 * DAY,
            audit: 365 * DAY,
            every: Duration::from_secs(60),
            chunk: 500,
        }
    }
}

const DAY: Millis = 24 * 3_600_000;

/// The per-definition overrides, replaced whenever definitions load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Workflow name and its `retention` block.
    pub workflows: Vec<(String, vigil_core::retention::Retention)>,
}

/// Work for the purge task.
pub enum RetentionMsg {
    /// New overrides (definitions were loaded).
    Overrides(Overrides),
}

/// The purge task's handle. Cheap to clone.
#[derive(Clone)]
pub struct Retention {
    tx: mpsc::UnboundedSender<RetentionMsg>,
}

/// What the purge task needs.
pub struct Deps {
    /// Where rows are deleted.
    pub store: Arc<dyn Store>,
    /// The time ages are measured against.
    pub clock: Arc<dyn Clock>,
    /// The partitions this node purges.
    pub ownership: Arc<Ownership>,
    /// The alert manager, which deletes resolved alerts itself (it caches them).
    pub alerts: mpsc::UnboundedSender<AlertMsg>,
}

impl Retention {
    /// Starts the purge task.
    pub fn spawn(deps: Deps, settings: RetentionSettings) -> (Retention, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Retention { tx }, tokio::spawn(run(rx, deps, settings)))
    }

    /// Replaces the per-definition overrides.
    pub fn set_overrides(&self, overrides: Overrides) {
        let _ = self.tx.send(RetentionMsg::Overrides(overrides));
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<RetentionMsg>, deps: Deps, settings: RetentionSettings) {
    let mut overrides = Overrides::default();
    let mut tick = tokio::time::interval(settings.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: let startup (recovery, the first fires) go first.
    tick.reset();
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(RetentionMsg::Overrides(o)) => overrides = o,
                None => return,
            },
            _ = tick.tick() => pass(&deps, &settings, &overrides).await,
        }
    }
}

/// One pass over everything retention covers.
async fn pass(deps: &Deps, settings: &RetentionSettings, overrides: &Overrides) {
    let now = deps.clock.now();
    let solo = deps.ownership.solo();
    let parts = (!solo).then(|| deps.ownership.parts());
    if parts.as_ref().is_some_and(|p| p.is_empty()) {
        return;
    }
    let mut instances = 0;
    for rule in instance_rules(settings.instances, overrides, now, parts.clone()) {
        instances += delete_in_chunks(settings.chunk, "instances", |limit| deps.store.purge_ended(&rule, limit)).await;
    }
    for (name, keep) in overrides.workflows.iter().filter_map(|(n, r)| Some((n, r.keep_last?))) {
        instances += delete_in_chunks(settings.chunk, "instances", |limit| {
            deps.store.purge_beyond_last(name, keep, parts.as_deref(), limit)
        })
        .await;
    }
    metrics::counter!("vigil_purged_instances_total").increment(instances);
    if instances > 0 {
        tracing::debug!(instances, "Retention deleted ended instances.");
        // The deletes pulled pages into the writer's cache that nothing reads again.
        deps.store.release_memory().await;
        vigil_core::memory::give_back();
    }
    let (reply, alerts) = oneshot::channel();
    if settings.resolved_alerts != FOREVER
        && deps.alerts.send(AlertMsg::Expire { before: now - settings.resolved_alerts, reply }).is_ok()
    {
        let n = alerts.await.unwrap_or(0);
        metrics::counter!("vigil_purged_alerts_total").increment(n);
    }
    if solo || deps.ownership.owns(0) {
        if settings.notices != FOREVER {
            // Small on its own (a few rows a minute), so one statement.
            match deps.store.prune_outbox(now - settings.notices).await {
                Ok(n) => metrics::counter!("vigil_purged_notices_total").increment(n),
                Err(e) => tracing::warn!(error = %e, "Could not prune the outbox; trying again later."),
            }
            // Failed browser checks' screenshots go with the notices of their time.
            if let Err(e) = deps.store.prune_check_evidence(now - settings.notices).await {
                tracing::warn!(error = %e, "Could not prune browser checks' screenshots; trying again later.");
            }
        }
        if settings.fires != FOREVER {
            delete_in_chunks(settings.chunk, "fire records", |limit| {
                deps.store.prune_fires(now - settings.fires, limit)
            })
            .await;
        }
        if settings.audit != FOREVER {
            delete_in_chunks(settings.chunk, "audit log rows", |limit| {
                deps.store.prune_audit(now - settings.audit, limit)
            })
            .await;
        }
        // One node vacuums for the cluster.
        if let Err(e) = deps.store.reclaim_space().await {
            tracing::warn!(error = %e, "Could not vacuum the tables retention deletes from; trying again later.");
        }
    }
}

/// The age rules of one pass: each overriding workflow's own, then the defaults for the rest.
fn instance_rules(defaults: Policy, overrides: &Overrides, now: Millis, parts: Option<Vec<u32>>) -> Vec<PurgeRule> {
    use vigil_core::instance::WorkflowStatus::Completed;
    let mut rules = Vec::new();
    let mut add = |workflows: Workflows, policy: Policy| {
        if policy.completed != FOREVER {
            rules.push(PurgeRule {
                workflows: workflows.clone(),
                statuses: vec![Completed],
                ended_before: now - policy.completed,
                parts: parts.clone(),
            });
        }
        if policy.failed != FOREVER {
            rules.push(PurgeRule {
                workflows,
                statuses: FAILED_STATUSES.to_vec(),
                ended_before: now - policy.failed,
                parts: parts.clone(),
            });
        }
    };
    let own: Vec<&(String, vigil_core::retention::Retention)> =
        overrides.workflows.iter().filter(|(_, r)| r.completed.is_some() || r.failed.is_some()).collect();
    for (name, retention) in &own {
        add(Workflows::Only(vec![name.clone()]), defaults.with(retention));
    }
    add(Workflows::AllBut(own.iter().map(|(n, _)| n.clone()).collect()), defaults);
    rules
}

/// Runs `delete` (of at most `chunk` rows) until a chunk comes back short; returns the rows
/// deleted. A full chunk is followed by a short sleep, so a large backlog is spread out instead of
/// hogging the writer. Every background delete (retention, monitor history, the ping log) goes
/// through it.
pub(crate) async fn delete_in_chunks<F, Fut>(chunk: u32, what: &str, mut delete: F) -> u64
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = vigil_store::Result<u64>>,
{
    let mut total = 0;
    loop {
        match delete(chunk).await {
            Ok(n) => {
                total += n;
                if n < chunk as u64 {
                    return total;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Could not delete old {what}; trying again at the next pass.");
                return total;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::retention::Retention as Block;

    #[test]
    fn overriding_workflows_get_their_own_rules_and_are_left_out_of_the_default() {
        let overrides = Overrides {
            workflows: vec![
                ("short".into(), Block { completed: Some(1_000), ..Default::default() }),
                ("counted".into(), Block { keep_last: Some(5), ..Default::default() }),
                ("kept".into(), Block { completed: Some(FOREVER), failed: Some(FOREVER), ..Default::default() }),
            ],
        };
        let rules = instance_rules(Policy { completed: 10_000, failed: 20_000 }, &overrides, 100_000, None);
        let summary: Vec<(Workflows, usize, Millis)> =
            rules.into_iter().map(|r| (r.workflows, r.statuses.len(), r.ended_before)).collect();
        assert_eq!(
            summary,
            [
                (Workflows::Only(vec!["short".into()]), 1, 99_000),
                (Workflows::Only(vec!["short".into()]), 3, 80_000),
                (Workflows::AllBut(vec!["short".into(), "kept".into()]), 1, 90_000),
                (Workflows::AllBut(vec!["short".into(), "kept".into()]), 3, 80_000),
            ],
            "`kept` keeps everything; `counted` has only a count, so the default ages apply to it"
        );
    }
}
