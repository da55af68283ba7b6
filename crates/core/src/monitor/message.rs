//! A message on a queue read as a heartbeat's ping: what it reports, as the ping routes say it
//! over HTTP (`/start`, `/fail`, `/log`, an exit code, `?rid=`).
//!
//! A message reports a success unless its JSON says otherwise, in its `status` (or, for a
//! CloudEvent such as a status listener's, `data.status`):
//!
//! | `status` (any case) | ping |
//! |---|---|
//! | `start`, `started`, `running`, `in_progress`, `scheduled` | start |
//! | `fail`, `failed`, `failure`, `error`, `timed_out`, `terminated`, `failed_with_terminal_error` | fail |
//! | `log` | log (kept, changes nothing) |
//! | anything else, or none | success |
//!
//! An `exitCode` (or `exit_code`) number decides instead of `status`: 0 a success, any other a
//! failure. A `rid` (or, in a CloudEvent, `data.workflowId`) pairs a start with its end.

use serde_json::Value;

use super::expect::PingKind;

/// What a message reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePing {
    /// Start, success, failure or log.
    pub kind: PingKind,
    /// The exit code it carries.
    pub exit_code: Option<i32>,
    /// The run it belongs to.
    pub rid: Option<String>,
}

/// Reads `payload` (a message's body, as JSON where it is JSON).
pub fn read(payload: &Value) -> MessagePing {
    let data = payload.get("data").filter(|_| payload.get("specversion").is_some());
    let field = |names: &[&str]| {
        names.iter().find_map(|n| payload.get(*n).filter(|v| !v.is_null())).or_else(|| {
            let data = data?;
            names.iter().find_map(|n| data.get(*n).filter(|v| !v.is_null()))
        })
    };
    let exit_code = field(&["exitCode", "exit_code"]).and_then(Value::as_i64).map(|c| c.clamp(-255, 255) as i32);
    let kind = match exit_code {
        Some(0) => PingKind::Success,
        Some(_) => PingKind::Fail,
        None => field(&["status"]).and_then(Value::as_str).map(kind_of_status).unwrap_or(PingKind::Success),
    };
    let rid = field(&["rid", "workflowId"]).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    MessagePing { kind, exit_code, rid }
}

fn kind_of_status(status: &str) -> PingKind {
    match status.trim().to_ascii_lowercase().as_str() {
        "start" | "started" | "running" | "in_progress" | "scheduled" => PingKind::Start,
        "fail" | "failed" | "failure" | "error" | "timed_out" | "terminated" | "failed_with_terminal_error" => {
            PingKind::Fail
        }
        "log" => PingKind::Log,
        _ => PingKind::Success,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(v: Value) -> PingKind {
        read(&v).kind
    }

    #[test]
    fn a_message_is_a_success_unless_it_says_otherwise() {
        assert_eq!(kind(json!("alive")), PingKind::Success);
        assert_eq!(kind(json!({"temperature": 21})), PingKind::Success);
        assert_eq!(kind(json!({"status": "ok"})), PingKind::Success);
        assert_eq!(kind(json!({"status": "FAILED"})), PingKind::Fail);
        assert_eq!(kind(json!({"status": "start"})), PingKind::Start);
        assert_eq!(kind(json!({"status": "log"})), PingKind::Log);
        assert_eq!(kind(json!({"status": 3})), PingKind::Success, "a status that is no text says nothing");
    }

    #[test]
    fn an_exit_code_decides_over_the_status() {
        let m = read(&json!({"status": "done", "exitCode": 2, "rid": "r1"}));
        assert_eq!(m, MessagePing { kind: PingKind::Fail, exit_code: Some(2), rid: Some("r1".into()) });
        assert_eq!(kind(json!({"status": "failed", "exit_code": 0})), PingKind::Success);
    }

    #[test]
    fn a_status_listeners_cloud_event_pairs_its_run_by_workflow_id() {
        let started = json!({"specversion": "1.0", "type": "io.vigil.workflow.started",
            "data": {"workflowId": "w1", "status": "RUNNING"}});
        assert_eq!(read(&started), MessagePing { kind: PingKind::Start, exit_code: None, rid: Some("w1".into()) });
        let failed = json!({"specversion": "1.0", "data": {"workflowId": "w1", "status": "TIMED_OUT"}});
        assert_eq!(read(&failed).kind, PingKind::Fail);
        // Outside a CloudEvent, `data` is the message's own business.
        assert_eq!(kind(json!({"data": {"status": "failed"}})), PingKind::Success);
    }
}
