//! What each task type declares, read through its [`TaskKind`]: recovery after a crash and how
//! `timeoutSeconds` applies. Each module says both, with the reason, beside its code; this file
//! only looks them up, in one exhaustive match per property.

use super::{AfterCrash, Timeout};
use super::{
    alert, do_while, dynamic, event, exclusive_join, fork_join, fork_join_dynamic, http, human, inline, jdbc, join,
    json_jq, lambda, noop, set_variable, simple, source_query, start_workflow, sub_workflow, switch, terminate,
    update_secret, update_task, wait,
};
use crate::def::TaskKind;

/// A property every task type declares, by the type of `$kind`.
macro_rules! declared {
    ($kind:expr, $property:ident) => {
        match $kind {
            TaskKind::Http => http::$property,
            TaskKind::Inline => inline::$property,
            TaskKind::Lambda => lambda::$property,
            TaskKind::JsonJq { .. } => json_jq::$property,
            TaskKind::Switch(_) => switch::$property,
            TaskKind::DoWhile(_) => do_while::$property,
            TaskKind::Wait => wait::$property,
            TaskKind::Human => human::$property,
            TaskKind::Simple => simple::$property,
            TaskKind::SetVariable => set_variable::$property,
            TaskKind::StartWorkflow => start_workflow::$property,
            TaskKind::Event { .. } => event::$property,
            TaskKind::Noop => noop::$property,
            TaskKind::Terminate => terminate::$property,
            TaskKind::SubWorkflow { .. } => sub_workflow::$property,
            TaskKind::ForkJoin { .. } => fork_join::$property,
            TaskKind::Join { .. } => join::$property,
            TaskKind::ExclusiveJoin { .. } => exclusive_join::$property,
            TaskKind::ForkJoinDynamic(_) => fork_join_dynamic::$property,
            TaskKind::Dynamic { .. } => dynamic::$property,
            TaskKind::Alert => alert::$property,
            TaskKind::UpdateSecret => update_secret::$property,
            TaskKind::UpdateTask => update_task::$property,
            TaskKind::Query { jdbc: true, .. } => jdbc::$property,
            TaskKind::Query { .. } => source_query::$property,
        }
    };
}

impl TaskKind {
    /// What recovery does with this type's execution left in progress by a crash.
    pub fn after_crash(&self) -> AfterCrash {
        declared!(self, AFTER_CRASH)
    }

    /// How this type's `timeoutSeconds` limits an attempt.
    pub fn timeout(&self) -> Timeout {
        declared!(self, TIMEOUT)
    }
}
