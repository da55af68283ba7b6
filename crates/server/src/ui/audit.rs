//! `GET /ui/audit` (admins): who changed what, newest first, filtered by object and actor
//! (object pages link here with `kind` and `name`), a page at a time, with each change's
//! difference; and the same as JSON lines (`/api/v1/audit?format=jsonl`) to export.

use axum::Extension;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_store::{AuditQuery, AuditRow};

use super::UiResult;
use super::format;
use super::layout::{self, Nav};
use super::session::Viewer;
use crate::{ApiError, AppState};

/// Rows a page shows.
const PAGE: u32 = 50;

/// The page's filters.
#[derive(Debug, Deserialize, Default)]
pub struct Filter {
    kind: Option<String>,
    name: Option<String>,
    actor: Option<String>,
    before: Option<i64>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A link to the changes of one object.
pub fn link(kind: &str, name: &str) -> Markup {
    let href = format!("/ui/audit?kind={}&name={}", format::query_escape(kind), format::query_escape(name));
    html! { a.audit-link href=(href) { "Changes" } }
}

/// `GET /ui/audit`.
pub async fn page(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Query(f): Query<Filter>,
) -> UiResult<Markup> {
    let query = AuditQuery {
        kind: nonempty(f.kind),
        name: nonempty(f.name),
        actor: nonempty(f.actor),
        since: None,
        before_id: f.before,
        limit: PAGE,
    };
    let rows = app.engine.accounts().audit_log(&query).await.map_err(ApiError::from)?;
    let now = app.engine.now();
    let next = (rows.len() == PAGE as usize).then(|| rows.last().map(|r| r.id)).flatten();
    let keep = |q: &Option<String>| q.clone().unwrap_or_default();
    let export = format!(
        "/api/v1/audit?format=jsonl&kind={}&name={}&actor={}",
        format::query_escape(&keep(&query.kind)),
        format::query_escape(&keep(&query.name)),
        format::query_escape(&keep(&query.actor))
    );
    let body = html! {
        form.filters #audit-filter method="get" action="/ui/audit" {
            label { "Kind " input type="text" name="kind" value=(keep(&query.kind)) placeholder="workflow"; }
            label { "Name " input type="text" name="name" value=(keep(&query.name)); }
            label { "Actor " input type="text" name="actor" value=(keep(&query.actor)) placeholder="user:ana"; }
            button type="submit" { "Filter" }
            " " a href=(export) { "Export (JSON lines, with an admin token)" }
        }
        section.panel {
            @if rows.is_empty() { p.muted { "No change recorded." } }
            @else {
                table #audit {
                    thead { tr { th { "When" } th { "Who" } th.wide { "Through" } th { "What" } th { "Object" } th { "Change" } } }
                    tbody { @for row in &rows { (line(row, now)) } }
                }
            }
        }
        @if let Some(before) = next {
            p { a #older href=(older(&query, before)) { "Older changes" } }
        }
    };
    Ok(layout::page(&viewer, Nav::Audit, "Audit log", body))
}

fn older(q: &AuditQuery, before: i64) -> String {
    let v = |o: &Option<String>| format::query_escape(o.as_deref().unwrap_or_default());
    format!("/ui/audit?kind={}&name={}&actor={}&before={before}", v(&q.kind), v(&q.name), v(&q.actor))
}

fn line(row: &AuditRow, now: vigil_core::time::Millis) -> Markup {
    let change: Value = serde_json::from_str(&row.change).unwrap_or(Value::Null);
    html! {
        tr {
            td { (format::when(row.at, now)) }
            td.mono { (row.actor) }
            td.wide { (row.source) @if !row.address.is_empty() { " · " (row.address) } }
            td.mono { (row.action) }
            td { (row.kind) " " strong { (row.name) } }
            td { (summary(&change)) }
        }
    }
}

/// A change: each field's before and after, or what was made, removed or sent.
fn summary(change: &Value) -> Markup {
    let shown = |v: Option<&Value>| v.map_or_else(|| "–".to_string(), |v| v.to_string());
    html! {
        @if let Some(diff) = change.get("diff").and_then(Value::as_array) {
            @if diff.is_empty() { span.muted { "no difference" } }
            ul.changes {
                @for c in diff {
                    li { code { (c["path"].as_str().unwrap_or_default()) } ": " (shown(c.get("before"))) " → " (shown(c.get("after"))) }
                }
            }
        } @else {
            @for (what, value) in change.as_object().into_iter().flatten() {
                details { summary { (what) } pre { (serde_json::to_string_pretty(value).unwrap_or_default()) } }
            }
        }
    }
}
