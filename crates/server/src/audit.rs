//! The audit log's recorder for the API and the web UI: a middleware after sign-in, so it knows
//! the caller. Every successful change to what vigil runs or who may use it is recorded before
//! the answer goes out: definitions (workflows, schedules, notifiers, status pages, event
//! handlers, task definitions), secrets, silences, acknowledgements, maintenance, incidents,
//! subscribers, accounts and tokens. Running things (starting or controlling instances, task
//! updates, pings, pushed alerts, checks run now) are not changes and are not recorded.
//!
//! A stored definition or an account is read before and after the change, and the row holds
//! the difference; anything else holds what was sent. Either way credentials are redacted by
//! their field names ([`vigil_core::audit::redact`]), every form of every stored secret value is
//! masked ([`vigil_runtime::Engine::scrub_secrets`]), and a secret's value is never read at all.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vigil_core::audit::{redact, redacted_diff};
use vigil_store::AuditRow;

use crate::AppState;
use crate::auth::Caller;

/// What an audited request changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind of object, as the log names it.
    pub kind: &'static str,
    /// Its name, when the address says (else it is read from what was sent).
    pub name: String,
    /// Where its state is read before and after.
    pub recorded: Recorded,
}

/// What of a target is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A stored definition of this kind (the `definitions` table).
    Definition(&'static str),
    /// An account.
    Account,
    /// Nothing: the row holds what was sent.
    Sent,
    /// Nothing, and what was sent is not recorded either (a secret's value).
    Nothing,
}

/// The object a change to `path` acts on; `None` for requests that are not audited.
pub fn target(path: &str) -> Option<Target> {
    use vigil_runtime::definitions::{SCHEDULE, TASKDEF, WORKFLOW};
    // Most changes are not audited (instance starts, task updates, pings, pushed alerts): they
    // leave here without an allocation for their names.
    if !(path.starts_with("/api/") || path.starts_with("/ui/")) {
        return None;
    }
    // Routes match the path as sent; a name is read as the handler reads it (`%6Eightly` is
    // `nightly`), only once the route is one that is audited.
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = |i: usize| segs.get(i).map_or(String::new(), |s| percent_decoded(s));
    let account = |i: usize| segs.get(i).map_or(String::new(), |s| crate::accounts::normalize(&percent_decoded(s)));
    let t = |kind, name, recorded| Some(Target { kind, name, recorded });
    let page = |at: usize| -> Option<Target> {
        match segs.get(at + 1).copied() {
            None | Some("delete" | "edit") => {
                t("status-page", name(at), Recorded::Definition(vigil_runtime::status_pages::stored::STATUS_PAGE))
            }
            Some("incidents") => t("incident", name(at), Recorded::Sent),
            Some("maintenance") => t("maintenance", name(at), Recorded::Sent),
            Some("subscribers") => t("subscriber", name(at), Recorded::Sent),
            Some(_) => None,
        }
    };
    match segs.as_slice() {
        ["api", "v1", "workflows", _] => t("workflow", name(3), Recorded::Definition(WORKFLOW)),
        ["api", "v1", "schedules", _, ..] => t("schedule", name(3), Recorded::Definition(SCHEDULE)),
        ["api", "v1", "notifiers", _] => {
            t("notifier", name(3), Recorded::Definition(vigil_runtime::stored_notifiers::NOTIFIER))
        }
        ["api", "v1", "secrets", _] | ["api", "secrets", _] => t("secret", name(segs.len() - 1), Recorded::Nothing),
        ["api", "v1", "silences", ..] | ["api", "v2", "silences"] | ["api", "v2", "silence", _] => {
            t("silence", name(3), Recorded::Sent)
        }
        ["api", "v1", "alerts", "ack"] => t("alert", String::new(), Recorded::Sent),
        ["api", "v1", "status-pages", _, ..] => page(3),
        ["api", "v1", "users"] => t("user", String::new(), Recorded::Account),
        ["api", "v1", "users", _] => t("user", account(3), Recorded::Account),
        ["api", "v1", "users", _, "tokens"] => t("token", account(3), Recorded::Sent),
        ["api", "metadata", "workflow", ..] => t("workflow", name(3), Recorded::Definition(WORKFLOW)),
        ["api", "metadata", "taskdefs", ..] => t("taskdef", name(3), Recorded::Definition(TASKDEF)),
        ["api", "scheduler", "schedules", ..] => t("schedule", name(3), Recorded::Definition(SCHEDULE)),
        ["api", "event", ..] => t("event-handler", name(2), Recorded::Definition(vigil_runtime::EVENT_HANDLER)),
        // A password or a one-time code's key is never read: only that it changed.
        ["ui", "account", "password"] | ["ui", "account", "code", ..] => t("account", String::new(), Recorded::Nothing),
        ["ui", "account", ..] => t("account", String::new(), Recorded::Sent),
        ["ui", "alerts", "ack"] => t("alert", String::new(), Recorded::Sent),
        ["ui", "silences", ..] => t("silence", name(2), Recorded::Sent),
        ["ui", "schedules", _, _] => t("schedule", name(2), Recorded::Definition(SCHEDULE)),
        ["ui", "status-pages", "new"] => t("status-page", String::new(), Recorded::Sent),
        ["ui", "status-pages", _, ..] => page(2),
        _ => None,
    }
}

/// Records each successful audited change ([`target`]) once its answer is ready.
pub async fn record(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let Some(target) = target(&path) else { return next.run(req).await };
    let method = req.method().clone();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large").into_response();
    };
    let sent = match target.recorded {
        Recorded::Nothing => None,
        _ => sent_value(&parts.headers, &bytes),
    };
    let name = if target.name.is_empty() { name_in(sent.as_ref()) } else { target.name.clone() };
    let caller = parts.extensions.get::<Caller>().cloned();
    let address = crate::listen::client_ip(&parts.extensions).map_or(String::new(), |ip| ip.to_string());
    let before = state_of(&app, target.recorded, &name).await;
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        return response;
    }
    let after = state_of(&app, target.recorded, &name).await;
    let mut change = match (before, after) {
        (Some(b), Some(a)) => json!({"diff": redacted_diff(&b, &a)}),
        (None, Some(mut a)) => {
            redact(&mut a);
            json!({"created": a})
        }
        (Some(mut b), None) => {
            redact(&mut b);
            json!({"deleted": b})
        }
        (None, None) => sent.map_or_else(|| json!({}), |s| json!({"sent": s})),
    };
    if let Some(c) = &caller
        && c.user.is_some()
        && !c.id.starts_with("user:")
    {
        change["via"] = json!(format!("token:{}", c.id));
    }
    if target.kind == "notifier" {
        // A notifier's settings are its credentials (a webhook URL is its key).
        vigil_core::audit::opaque(&mut change, &["name", "type"]);
    }
    let name =
        if target.kind == "account" { caller.as_ref().and_then(|c| c.user.clone()).unwrap_or(name) } else { name };
    let row = AuditRow {
        at: app.engine.now(),
        actor: actor_of(caller.as_ref()),
        source: if crate::paths::is_ui_path(&path) { "ui" } else { "api" }.into(),
        address,
        action: format!("{method} {path}"),
        kind: target.kind.into(),
        name,
        change: change.to_string(),
        ..AuditRow::default()
    };
    write(&app, row).await;
    response
}

/// Appends `row`, every form of every stored secret masked first. A failure is logged and
/// counted (`vigil_audit_failures_total`): the change it records is made already, so its answer
/// stands.
pub async fn write(app: &AppState, mut row: AuditRow) {
    let mut change: Value = serde_json::from_str(&row.change).unwrap_or(Value::Null);
    app.engine.scrub_secrets(&mut change);
    row.change = change.to_string();
    append(app.engine.accounts().as_ref(), &row).await;
}

/// Appends `row` as it is; a failure is logged and counted in `vigil_audit_failures_total`.
pub async fn append(store: &dyn vigil_store::AuditStore, row: &AuditRow) {
    if let Err(e) = store.append_audit(row).await {
        metrics::counter!("vigil_audit_failures_total").increment(1);
        tracing::error!(error = %e, action = %row.action, name = %row.name, "Could not record a change in the audit log.");
    }
}

/// `segment` with its `%XX` escapes decoded (kept as written when they are not UTF-8).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_string())
}

/// Who a caller is, as the log names them.
pub fn actor_of(caller: Option<&Caller>) -> String {
    match caller {
        None => "anonymous".into(),
        Some(c) => match &c.user {
            Some(user) => format!("user:{user}"),
            None => format!("token:{}", c.id),
        },
    }
}

/// What was sent: JSON, or a form (without its CSRF token), credentials redacted.
fn sent_value(headers: &HeaderMap, bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let mut value = if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).ok()?;
        let map =
            pairs.into_iter().filter(|(k, _)| k != crate::ui::session::CSRF_FIELD).map(|(k, v)| (k, Value::String(v)));
        Value::Object(map.collect())
    } else {
        serde_json::from_slice(bytes).ok()?
    };
    redact(&mut value);
    Some(value)
}

/// The name a creation names in what it sends.
fn name_in(sent: Option<&Value>) -> String {
    let Some(sent) = sent else { return String::new() };
    ["name", "dedupKey", "dedup_key", "slug", "id"]
        .iter()
        .find_map(|k| sent.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string()
}

/// The object's state, to compare (credentials are redacted when the row is made).
async fn state_of(app: &AppState, state: Recorded, name: &str) -> Option<Value> {
    if name.is_empty() {
        return None;
    }
    let value = match state {
        Recorded::Definition(kind) => {
            let latest = app.engine.definitions().latest(kind, name).await.ok()??;
            serde_json::from_str(&latest.body).ok()?
        }
        Recorded::Account => {
            let u = app.engine.accounts().user(name).await.ok()??;
            json!({"name": u.id, "displayName": u.display_name, "email": u.email, "kind": u.kind, "source": u.source,
                   "role": u.role, "disabled": u.disabled_at.is_some(), "oneTimeCode": u.totp_sealed.is_some()})
        }
        Recorded::Sent | Recorded::Nothing => return None,
    };
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_audited_and_running_things_are_not() {
        let kind = |p: &str| target(p).map(|t| (t.kind, t.name));
        assert_eq!(kind("/api/v1/workflows/nightly"), Some(("workflow", "nightly".into())));
        assert_eq!(kind("/api/v1/secrets/pd_key").map(|k| k.0), Some("secret"));
        assert_eq!(
            target("/api/v1/secrets/pd_key").unwrap().recorded,
            Recorded::Nothing,
            "a secret's value is never read"
        );
        assert_eq!(kind("/api/v1/status-pages/main/incidents"), Some(("incident", "main".into())));
        assert_eq!(kind("/api/v2/silence/abc"), Some(("silence", "abc".into())));
        assert_eq!(kind("/ui/status-pages/main/maintenance/7/end"), Some(("maintenance", "main".into())));
        assert_eq!(kind("/api/v1/users/ana/tokens"), Some(("token", "ana".into())));
        assert_eq!(
            kind("/api/v1/workflows/%6Eightly"),
            Some(("workflow", "nightly".into())),
            "as the handler reads it"
        );
        assert_eq!(kind("/api/v1/users/Ana"), Some(("user", "ana".into())));
        for secret in ["/ui/account/password", "/ui/account/code", "/ui/account/code/confirm", "/api/v1/secrets/x"] {
            assert_eq!(target(secret).unwrap().recorded, Recorded::Nothing, "{secret}: never what was sent");
        }
        for running in [
            "/api/v1/workflows/nightly/instances",
            "/api/v1/instances/x/terminate",
            "/api/workflow",
            "/api/tasks",
            "/api/v2/alerts",
            "/ping/abc",
            "/api/v1/monitors/web/check",
            "/ui/instances/x/terminate",
            "/ui/workflows/w/start",
            "/ui/signin",
            "/status/main/subscribe",
        ] {
            assert_eq!(target(running), None, "{running}");
        }
    }
}
