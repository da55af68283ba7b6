//! vigil's own task types, declared once: one line per type with its name in a definition's
//! `type`. A monitor source's task type (`PROMETHEUS_QUERY`, ...) is declared with the source
//! (`crate::source_kind`), not here.
//!
//! The definition builder matches [`TaskType`] exhaustively, and so do [`TaskKind`]'s name, the
//! interpreter's start and the crash recovery (`TaskKind::after_crash`), so a new line here makes
//! the compiler point at each place still to write.
//!
//! [`TaskKind`]: super::TaskKind

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
    /// Conductor's statement on a declared connection.
    Jdbc = "JDBC";
    /// Conductor's older INLINE.
    Lambda = "LAMBDA";
    /// Orkes' secret update.
    UpdateSecret = "UPDATE_SECRET";
    /// A worker task named at run time.
    Dynamic = "DYNAMIC";
    /// Branches chosen at run time.
    ForkJoinDynamic = "FORK_JOIN_DYNAMIC";
    /// Starts another workflow, which runs on its own (not a child: nobody waits for it).
    StartWorkflow = "START_WORKFLOW";
}
