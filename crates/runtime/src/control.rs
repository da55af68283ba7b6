//! Operator control of instances: read, raise events, terminate, suspend, resume, retry, restart
//! and purge. Each request is checked against the committed state first, so a caller gets a
//! precise refusal (unknown, already ended, not paused); the change itself is an event the owning
//! shard applies in order with everything else the instance receives.

use serde_json::Value;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::interpreter::{Event, new_instance};
use vigil_store::{InstanceFilter, StoreError};

use crate::cluster::inbox::InboxMsg;
use crate::engine::Engine;
use crate::shard::ShardMsg;

/// Why a control request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such instance.
    #[error("instance `{0}` does not exist")]
    NotFound(String),
    /// The request needs a running (or paused) instance.
    #[error("instance `{id}` has already ended ({status})")]
    Ended {
        /// The instance.
        id: String,
        /// How it ended.
        status: &'static str,
    },
    /// The request needs an ended instance.
    #[error("instance `{id}` is still {status}; it can only be {action} once it has ended")]
    NotEnded {
        /// The instance.
        id: String,
        /// Its status.
        status: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// The request does not apply in the instance's status.
    #[error("instance `{id}` is {status}: {why}")]
    WrongStatus {
        /// The instance.
        id: String,
        /// Its status.
        status: &'static str,
        /// Why the request does not apply.
        why: &'static str,
    },
    /// The workflow says `restartable: false` and the instance completed (Conductor answers
    /// 404 too).
    #[error("workflow `{name}` is non-restartable: completed instance `{id}` cannot be restarted")]
    NotRestartable {
        /// The instance.
        id: String,
        /// Its workflow.
        name: String,
    },
    /// The instance's workflow is no longer defined.
    #[error("workflow `{0}` is not defined any more")]
    UnknownWorkflow(String),
    /// The engine is stopping.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::engine::Shared {
    /// A fresh run of the ended instance `old`: same id, input, correlation, parent and
    /// partition, on the latest definition of its workflow when `latest`, else on the version it
    /// ran.
    pub(crate) fn rerun(&self, old: Instance, latest: bool) -> Result<Instance, ControlError> {
        let version = (!latest).then_some(old.workflow_version);
        let def = self
            .workflows
            .read()
            .expect("lock")
            .get(&old.workflow_name, version)
            .ok_or_else(|| ControlError::UnknownWorkflow(old.workflow_name.clone()))?;
        let mut fresh = new_instance(&def, old.workflow_id, old.input, self.clock.now());
        // Task ids go on from the old run's, so a restarted SUB_WORKFLOW starts a new child (its
        // id is made from the task's) while the old one stays readable, as in Conductor.
        fresh.next_task_seq = old.next_task_seq;
        fresh.correlation_id = old.correlation_id;
        fresh.parent = old.parent;
        fresh.partition = old.partition;
        Ok(fresh)
    }
}

impl Engine {
    /// The committed state of instance `id`.
    pub async fn instance(&self, id: &str) -> Result<Option<Instance>, StoreError> {
        self.store().instance(id).await
    }

    async fn existing(&self, id: &str) -> Result<Instance, ControlError> {
        if self.is_stopping() {
            return Err(ControlError::ShuttingDown);
        }
        self.store().instance(id).await?.ok_or_else(|| ControlError::NotFound(id.to_string()))
    }

    async fn live(&self, id: &str) -> Result<Instance, ControlError> {
        let instance = self.existing(id).await?;
        if instance.status.is_terminal() {
            return Err(ControlError::Ended { id: id.to_string(), status: instance.status.as_str() });
        }
        Ok(instance)
    }

    /// Hands `event` to the node that runs `instance`: this one's shard, or the owner's inbox
    /// (returns once stored there).
    async fn deliver(&self, instance: &Instance, event: Event) -> Result<(), ControlError> {
        let id = &instance.workflow_id;
        if self.shared().ownership.owns(instance.partition) {
            self.send(id, event);
            return Ok(());
        }
        let msg = InboxMsg::Event { instance: id.clone(), event };
        crate::cluster::inbox::send(self.shared(), instance.partition, &msg).await?;
        Ok(())
    }

    /// Raises event `name` on a running instance: it completes the WAIT or HUMAN task waiting for
    /// it, or is kept until one waits.
    pub async fn raise_event(&self, id: &str, name: &str, payload: Value) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        self.deliver(&instance, Event::Raise { name: name.to_string(), payload }).await
    }

    /// Ends a running or paused instance as TERMINATED.
    pub async fn terminate(&self, id: &str, reason: &str) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        self.deliver(&instance, Event::Terminate { reason: reason.to_string() }).await
    }

    /// Suspends a running instance; calls in flight finish, nothing new starts.
    pub async fn suspend(&self, id: &str) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        if instance.status == WorkflowStatus::Paused {
            return Ok(());
        }
        self.deliver(&instance, Event::Pause).await
    }

    /// Resumes a suspended instance.
    pub async fn resume(&self, id: &str) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        if instance.status != WorkflowStatus::Paused {
            let why = "only a suspended instance can be resumed";
            return Err(ControlError::WrongStatus { id: id.to_string(), status: instance.status.as_str(), why });
        }
        self.deliver(&instance, Event::Resume).await
    }

    /// Runs a failed, timed-out or terminated instance again from the tasks that did not
    /// complete.
    pub async fn retry(&self, id: &str) -> Result<(), ControlError> {
        let instance = self.existing(id).await?;
        match instance.status {
            WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated => {}
            WorkflowStatus::Completed => {
                let why = "a completed instance has nothing to retry (restart runs it again)";
                return Err(ControlError::WrongStatus { id: id.to_string(), status: "COMPLETED", why });
            }
            status => {
                let (status, action) = (status.as_str(), "retried");
                return Err(ControlError::NotEnded { id: id.to_string(), status, action });
            }
        }
        if !self.shared().ownership.owns(instance.partition) {
            let msg = InboxMsg::Retry { instance: id.to_string() };
            crate::cluster::inbox::send(self.shared(), instance.partition, &msg).await?;
            return Ok(());
        }
        self.place(ShardMsg::Revive(Box::new(instance), Event::Retry));
        Ok(())
    }

    /// [`Engine::retry`], with Conductor's `resumeSubworkflowTasks`: when the instance failed
    /// in a SUB_WORKFLOW task, the failed sub-workflow is retried instead (the deepest one,
    /// following the failed children down), so no new child starts; each parent on the way up
    /// runs again with its SUB_WORKFLOW task IN_PROGRESS.
    pub async fn retry_resuming(&self, id: &str) -> Result<(), ControlError> {
        let mut target = self.existing(id).await?;
        while let Some(child_id) = failed_child(&target) {
            match self.store().instance(&child_id).await? {
                Some(child) if child.status.is_terminal() && child.status != WorkflowStatus::Completed => {
                    target = child
                }
                _ => break,
            }
        }
        self.retry(&target.workflow_id).await
    }

    /// Runs an ended instance again from the start, with the same id and input, on the latest
    /// definition of its workflow when `latest`, else on the version it ran.
    pub async fn restart(&self, id: &str, latest: bool) -> Result<(), ControlError> {
        let old = self.existing(id).await?;
        if !old.status.is_terminal() {
            let (status, action) = (old.status.as_str(), "restarted");
            return Err(ControlError::NotEnded { id: id.to_string(), status, action });
        }
        let def = self.workflows().get(&old.workflow_name, Some(old.workflow_version));
        if old.status == vigil_core::instance::WorkflowStatus::Completed && def.is_some_and(|d| !d.restartable) {
            return Err(ControlError::NotRestartable { id: id.to_string(), name: old.workflow_name.clone() });
        }
        if !self.shared().ownership.owns(old.partition) {
            let msg = InboxMsg::Restart { instance: id.to_string(), latest };
            crate::cluster::inbox::send(self.shared(), old.partition, &msg).await?;
            return Ok(());
        }
        let fresh = self.shared().rerun(old, latest)?;
        self.place(ShardMsg::Restart(Box::new(fresh)));
        Ok(())
    }

    /// Deletes an ended instance and its history. Returns false when it does not exist.
    pub async fn purge(&self, id: &str) -> Result<bool, ControlError> {
        let Some(instance) = self.store().instance(id).await? else { return Ok(false) };
        if !instance.status.is_terminal() {
            let (status, action) = (instance.status.as_str(), "purged");
            return Err(ControlError::NotEnded { id: id.to_string(), status, action });
        }
        Ok(self.store().purge_instance(id).await?)
    }

    /// Deletes the ended instances that match `filter`; returns their ids.
    pub async fn purge_matching(&self, filter: &InstanceFilter) -> Result<Vec<String>, ControlError> {
        Ok(self.store().purge_instances(filter).await?)
    }
}

/// The child of `instance`'s first failed SUB_WORKFLOW execution (latest attempts only), as
/// Conductor's `findLastFailedSubWorkflowIfAny` looks for it.
fn failed_child(instance: &Instance) -> Option<String> {
    let latest = instance.latest_index();
    instance
        .tasks
        .iter()
        .enumerate()
        .filter(|(i, t)| latest.get(&t.reference_task_name) == Some(i))
        .map(|(_, t)| t)
        .filter(|t| t.status.is_terminal() && !t.status.is_successful())
        .find(|t| t.task_type == "SUB_WORKFLOW")
        .and_then(|t| t.sub_workflow_id.clone())
}
