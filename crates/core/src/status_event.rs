//! Status listeners: what an instance's status change publishes, as a CloudEvent (version 1.0,
//! structured JSON: the format Azure Event Grid takes), for Conductor's
//! `workflowStatusListenerEnabled`.

use serde_json::{Value, json};

use crate::instance::{Instance, WorkflowStatus};
use crate::time::Millis;

/// The changes an instance's step made, from `before` (`None`: it was just created) to its
/// status now, by the names Conductor's `WorkflowStatusListener` gives them: `started`,
/// `completed`, `failed`, `terminated`, `timed_out`, `paused`, `resumed`, `restarted`.
/// `reopened`: the step ran an ended instance again (a restart, retry or rerun), which may end
/// in the same step.
pub fn changes(before: Option<WorkflowStatus>, now: WorkflowStatus, reopened: bool) -> Vec<&'static str> {
    use WorkflowStatus::*;
    let mut out = Vec::new();
    match before {
        None => out.push("started"),
        Some(b) if reopened && b.is_terminal() => out.push("restarted"),
        Some(b) if b == now => return out,
        Some(b) if b.is_terminal() && !now.is_terminal() => out.push("restarted"),
        Some(Paused) if now == Running => out.push("resumed"),
        _ => {}
    }
    match now {
        Completed => out.push("completed"),
        Failed => out.push("failed"),
        Terminated => out.push("terminated"),
        TimedOut => out.push("timed_out"),
        Paused => out.push("paused"),
        Running => {}
    }
    out
}

/// The CloudEvent for change `kind` of `instance` at `now`. Its id is the same however often it
/// is published: the instance, the change and when it happened.
pub fn cloud_event(kind: &str, instance: &Instance, now: Millis) -> Value {
    let time = jiff::Timestamp::from_millisecond(now).map(|t| t.to_string()).unwrap_or_default();
    json!({
        "specversion": "1.0",
        "id": format!("{}:{kind}:{now}", instance.workflow_id),
        "source": format!("/vigil/workflows/{}", instance.workflow_name),
        "type": format!("io.vigil.workflow.{kind}"),
        "subject": instance.workflow_id,
        "time": time,
        "datacontenttype": "application/json",
        "data": {
            "workflowId": instance.workflow_id,
            "workflowType": instance.workflow_name,
            "version": instance.workflow_version,
            "status": instance.status.as_str(),
            "correlationId": instance.correlation_id,
            "startTime": instance.create_time,
            "endTime": instance.end_time,
            "reasonForIncompletion": instance.reason_for_incompletion,
            "input": instance.input,
            "output": instance.output,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkflowStatus::*;

    #[test]
    fn changes_are_named_as_conductors_listener_names_them() {
        assert_eq!(changes(None, Running, false), ["started"]);
        assert_eq!(changes(None, Completed, false), ["started", "completed"], "one step can start and end it");
        assert_eq!(changes(Some(Running), Running, false), Vec::<&str>::new());
        assert_eq!(changes(Some(Running), Failed, false), ["failed"]);
        assert_eq!(changes(Some(Paused), Running, false), ["resumed"]);
        assert_eq!(changes(Some(Failed), Running, true), ["restarted"]);
        assert_eq!(
            changes(Some(Completed), Completed, true),
            ["restarted", "completed"],
            "restarted and ended at once"
        );
        assert_eq!(changes(Some(Completed), Completed, false), Vec::<&str>::new(), "an ended instance left alone");
        assert_eq!(changes(Some(Running), TimedOut, false), ["timed_out"]);
    }
}
