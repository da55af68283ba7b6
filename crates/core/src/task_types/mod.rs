//! vigil's own task types: one module each, and one line per type in [`task_types!`] below with
//! its name in a definition's `type`. A monitor source's task type (`PROMETHEUS_QUERY`, ...) is
//! declared with the source (`crate::source_kind`) and runs as [`source_query`].
//!
//! A type's module holds all of it: the check of its settings and input that builds its
//! [`TaskKind`] (an `impl Builder` method), what starting it does (an `impl Run` method), what
//! recovery does with it after a crash ([`AfterCrash`], with the reason) and how `timeoutSeconds`
//! applies to it ([`Timeout`]). The definition builder matches [`TaskType`] exhaustively, and
//! [`TaskKind`]'s name, the interpreter's start and `declared.rs` match [`TaskKind`]
//! exhaustively, so a new line here (and its `TaskKind` variant) makes the compiler point at each
//! one-line arm still to write.
//!
//! [`TaskKind`]: crate::def::TaskKind

mod alert;
mod declared;
mod do_while;
mod dynamic;
mod event;
mod exclusive_join;
mod fork_join;
mod fork_join_dynamic;
mod http;
mod human;
mod inline;
mod jdbc;
mod join;
mod json_jq;
mod lambda;
mod noop;
mod set_variable;
mod simple;
pub(crate) mod source_query;
mod start_workflow;
mod sub_workflow;
mod switch;
mod terminate;
mod update_secret;
mod update_task;
mod wait;

/// Declares [`TaskType`] from `Variant = "NAME"` lines.
macro_rules! task_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal;)*) => {
        /// One of vigil's own task types.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskType {
            $($(#[$doc])* $variant,)*
        }

        impl TaskType {
            /// Every own task type's name, in the order listed.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The own task type a definition's `type` names.
            pub fn from_name(name: &str) -> Option<TaskType> {
                match name {
                    $($name => Some(TaskType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

task_types! {
    /// Raises, reminds and resolves an alert.
    Alert = "ALERT";
    /// An HTTP call.
    Http = "HTTP";
    /// JavaScript (or a value parameter), evaluated.
    Inline = "INLINE";
    /// A jq program over the input.
    JsonJqTransform = "JSON_JQ_TRANSFORM";
    /// Branches by a case value.
    Switch = "SWITCH";
    /// Conductor's older SWITCH.
    Decision = "DECISION";
    /// Repeats its tasks while a condition holds.
    DoWhile = "DO_WHILE";
    /// Waits for a duration, a time, or to be completed from outside.
    Wait = "WAIT";
    /// Waits to be completed by a person.
    Human = "HUMAN";
    /// A task a worker polls for.
    Simple = "SIMPLE";
    /// Sets workflow variables.
    SetVariable = "SET_VARIABLE";
    /// Does nothing.
    Noop = "NOOP";
    /// Ends the workflow.
    Terminate = "TERMINATE";
    /// Runs another workflow as a child.
    SubWorkflow = "SUB_WORKFLOW";
    /// Runs branches in parallel.
    ForkJoin = "FORK_JOIN";
    /// Waits for branches.
    Join = "JOIN";
    /// Takes the output of whichever branch of a SWITCH ran.
    ExclusiveJoin = "EXCLUSIVE_JOIN";
    /// Conductor's statement on a declared connection.
    Jdbc = "JDBC";
    /// Conductor's older INLINE.
    Lambda = "LAMBDA";
    /// Orkes' secret update.
    UpdateSecret = "UPDATE_SECRET";
    /// Orkes' update of another task's status.
    UpdateTask = "UPDATE_TASK";
    /// A worker task named at run time.
    Dynamic = "DYNAMIC";
    /// Branches chosen at run time.
    ForkJoinDynamic = "FORK_JOIN_DYNAMIC";
    /// Starts another workflow, which runs on its own (not a child: nobody waits for it).
    StartWorkflow = "START_WORKFLOW";
    /// Publishes a message to a queue (Conductor's event queues).
    Event = "EVENT";
}

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

/// How a task type's `timeoutSeconds` limits an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// A call: the shorter of `timeoutSeconds` and `responseTimeoutSeconds`, armed when it starts.
    Call,
    /// It waits for something outside the step (a timer, a person, a child workflow):
    /// `timeoutSeconds` alone, armed when it starts.
    Waiting,
    /// A worker's task: `timeoutSeconds` alone, from a worker's first poll
    /// (`responseTimeoutSeconds` is the worker's lease).
    Polled,
    /// Not armed when it starts: it completes within the step, or its call bounds itself.
    Unarmed,
}
