//! What each task type asks of recovery when vigil finds one of its executions still in progress
//! after a crash: every type says so here, with its reason, in one exhaustive match.

use super::TaskKind;

/// What recovery does with an execution found IN_PROGRESS (or SCHEDULED and offered) after a
/// crash. Its due time and timeout are re-armed whatever the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCrash {
    /// Its call may or may not have reached the server: it is recorded as a failed attempt and
    /// sent again, as a new attempt that counts in `restarts`, not against `retryCount`.
    Resend,
    /// It starts again: repeating it is harmless (an evaluation, a read-only query, an alert
    /// observation, which newest-wins makes idempotent) or it was never made.
    Restart,
    /// It is offered to workers again; a worker that still holds it may report, and the first
    /// report wins.
    Reoffer,
    /// Its child is asked whether it ended: the child was created with the parent's commit, so
    /// only the notice of its end can have been lost.
    CheckChild,
    /// Nothing to do but wait: its timers are re-armed (a WAIT, a HUMAN task), or it is a
    /// container whose children recover on their own.
    Wait,
    /// It fails with this reason: repeating it is not safe.
    Fail(&'static str),
}

impl TaskKind {
    /// What recovery does with this type's execution left in progress by a crash.
    pub fn after_crash(&self) -> AfterCrash {
        match self {
            TaskKind::Http => AfterCrash::Resend,
            // Conductor runs its system tasks at least once, and so does vigil: a JDBC UPDATE
            // that committed just before a crash runs again, as on Conductor.
            TaskKind::Inline
            | TaskKind::Lambda
            | TaskKind::JsonJq { .. }
            | TaskKind::Alert
            | TaskKind::Query { .. } => AfterCrash::Restart,
            TaskKind::Simple => AfterCrash::Reoffer,
            // It stands in for the task it makes, which recovers as its own type.
            TaskKind::Dynamic { .. } => AfterCrash::Wait,
            TaskKind::SubWorkflow { .. } => AfterCrash::CheckChild,
            // It completes in the step that starts its workflow, and the new instance commits with
            // that step: found in progress, it never started one, so starting now is the first.
            TaskKind::StartWorkflow => AfterCrash::Restart,
            TaskKind::UpdateSecret => AfterCrash::Fail(
                "vigil stopped while this secret was being stored; whether it was is unknown, and its \
                 value is masked everywhere vigil keeps it, so it cannot be stored again",
            ),
            TaskKind::Wait
            | TaskKind::Human
            | TaskKind::Switch(_)
            | TaskKind::DoWhile(_)
            | TaskKind::SetVariable
            | TaskKind::Noop
            | TaskKind::Terminate
            | TaskKind::ForkJoin { .. }
            | TaskKind::ForkJoinDynamic(_)
            | TaskKind::Join { .. } => AfterCrash::Wait,
        }
    }
}
