//! Operator control of instances: read, raise events, terminate, suspend, resume, retry, restart
//! and purge. Each request is checked against the committed state first, so a caller gets a
//! precise refusal (unknown, already ended, not paused); the change itself is an event the owning
//! shard applies in order with everything else the instance receives.

use serde_json::Value;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::interpreter::{Event, new_instance};
use vigil_store::{InstanceFilter, StoreError};

use super::Engine;
use crate::cluster::inbox::InboxMsg;
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
    /// The request cannot apply to the instance as it is (Conductor's IllegalStateException).
    #[error("instance `{id}`: {why}")]
    Refused {
        /// The instance.
        id: String,
        /// Why.
        why: String,
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

impl crate::shared::Shared {
    /// A fresh run of the ended instance `old`: same id, input, correlation, parent and
    /// partition, on the latest definition of its workflow when `latest`, else on the version it
    /// ran.
    pub(crate) fn rerun(&self, old: Instance, latest: bool) -> Result<Instance, ControlError> {
        let version = (!latest).then_some(old.workflow_version);
        let workflows = self.workflows.read().expect("lock").clone();
        // An instance that brought its own definition runs it again (there is no "latest").
        let def = match &old.definition {
            Some(_) => workflows.for_instance(&old),
            None => workflows.get(&old.workflow_name, version),
        }
        .ok_or_else(|| ControlError::UnknownWorkflow(old.workflow_name.clone()))?;
        let mut fresh = new_instance(&def, old.workflow_id, old.input, self.clock.now());
        // Its own definition keeps the authority it was given; a stored one has its definer's.
        if old.definition.is_some() {
            fresh.defined_by = old.defined_by;
        }
        fresh.started_by = old.started_by;
        fresh.definition = old.definition;
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
        if self.shared().cluster.ownership.owns(instance.partition) {
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
        self.raise_event_by(id, name, payload, None).await
    }

    /// [`Engine::raise_event`] by principal `by`: the instance's data acts with no more than
    /// `by` may from then on (its payload is `by`'s data).
    pub async fn raise_event_by(
        &self,
        id: &str,
        name: &str,
        payload: Value,
        by: Option<vigil_core::principal::Principal>,
    ) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        self.deliver(&instance, Event::Raise { name: name.to_string(), payload, by }).await
    }

    /// Ends a running or paused instance as TERMINATED.
    pub async fn terminate(&self, id: &str, reason: &str) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        self.deliver(&instance, Event::Terminate { reason: reason.to_string() }).await
    }

    /// Offers at once the worker tasks of a running instance that wait out a worker's
    /// `callbackAfterSeconds` (Conductor's `resetcallbacks`).
    pub async fn reset_callbacks(&self, id: &str) -> Result<(), ControlError> {
        let instance = self.live(id).await?;
        self.deliver(&instance, Event::ResetCallbacks).await
    }

    /// Records task `reference` of a running instance as SKIPPED before it is reached, with the
    /// given input and output, as Conductor's `skiptask`: the workflow passes over it.
    pub async fn skip_task(&self, id: &str, reference: &str, input: Value, output: Value) -> Result<(), ControlError> {
        let instance = self.existing(id).await?;
        let refuse = |why: String| Err(ControlError::Refused { id: id.to_string(), why });
        if instance.status != WorkflowStatus::Running {
            return refuse(format!("it is {}, so task `{reference}` cannot be skipped", instance.status.as_str()));
        }
        let def = self.workflows().for_instance(&instance);
        if def.is_none_or(|d| d.find_task(reference).is_none()) {
            return refuse(format!("its workflow has no task `{reference}`"));
        }
        if instance.tasks.iter().any(|t| t.reference_task_name == reference) {
            return refuse(format!("task `{reference}` has already been processed, so it cannot be skipped"));
        }
        self.deliver(&instance, Event::SkipTask { reference: reference.to_string(), input, output }).await
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
        self.deliver_revived(instance, Event::Retry).await
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

    /// Reruns an ended instance (Conductor's `rerun`): from the start when `from_task` is
    /// `None` (with `workflow_input` when given), else from that task (a Conductor task id,
    /// `<instance>~<execution>`, of this instance or of one of its sub-workflows, whose parents
    /// are re-opened), which runs again with `task_input` when given.
    pub async fn rerun(
        &self,
        id: &str,
        from_task: Option<&str>,
        task_input: Option<Value>,
        workflow_input: Option<Value>,
        correlation_id: Option<String>,
    ) -> Result<(), ControlError> {
        let root = self.existing(id).await?;
        let Some(task) = from_task else {
            if !root.status.is_terminal() {
                let (status, action) = (root.status.as_str(), "rerun");
                return Err(ControlError::NotEnded { id: id.to_string(), status, action });
            }
            let event = Event::Rerun { task_id: None, task_input: None, workflow_input, correlation_id };
            return self.deliver_revived(root, event).await;
        };
        let missing =
            || ControlError::Refused { id: id.to_string(), why: format!("task `{task}` is not one of its tasks") };
        let (owner, exec) = task.rsplit_once('~').ok_or_else(missing)?;
        // The task's instance: this one, or a descendant (followed up through its parents).
        let target = self.store().instance(owner).await?.ok_or_else(missing)?;
        let mut up = Some(target.clone());
        while let Some(i) = up.filter(|i| i.workflow_id != id) {
            let parent = i.parent.as_ref().ok_or_else(missing)?;
            up = self.store().instance(&parent.workflow_id).await?;
        }
        if !target.tasks.iter().any(|t| t.task_id == exec) {
            return Err(missing());
        }
        if !target.status.is_terminal() {
            let (status, action) = (target.status.as_str(), "rerun");
            return Err(ControlError::NotEnded { id: target.workflow_id, status, action });
        }
        let event = Event::Rerun {
            task_id: Some(exec.to_string()),
            task_input,
            workflow_input: workflow_input.filter(|_| target.workflow_id == id),
            correlation_id,
        };
        self.deliver_revived(target, event).await
    }

    /// Hands `event` to an ended instance: revived on this node's shard, or sent to the owner's
    /// inbox.
    async fn deliver_revived(&self, instance: Instance, event: Event) -> Result<(), ControlError> {
        if !self.shared().cluster.ownership.owns(instance.partition) {
            let msg = InboxMsg::Revive { instance: instance.workflow_id.clone(), event };
            crate::cluster::inbox::send(self.shared(), instance.partition, &msg).await?;
            return Ok(());
        }
        self.place(ShardMsg::Revive(Box::new(instance), event));
        Ok(())
    }

    /// Runs an ended instance again from the start, with the same id and input, on the latest
    /// definition of its workflow when `latest`, else on the version it ran.
    pub async fn restart(&self, id: &str, latest: bool) -> Result<(), ControlError> {
        let old = self.existing(id).await?;
        if !old.status.is_terminal() {
            let (status, action) = (old.status.as_str(), "restarted");
            return Err(ControlError::NotEnded { id: id.to_string(), status, action });
        }
        let def = self.workflows().for_instance(&old);
        if old.status == vigil_core::instance::WorkflowStatus::Completed && def.is_some_and(|d| !d.restartable) {
            return Err(ControlError::NotRestartable { id: id.to_string(), name: old.workflow_name.clone() });
        }
        if !self.shared().cluster.ownership.owns(old.partition) {
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
