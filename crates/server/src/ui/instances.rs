//! Instance pages: the list, filtered and paged on the server by keyset (so it reads one page
//! whatever the store holds), and an instance's page: its state, the task timeline as a Gantt
//! chart, the workflow graph coloured by task state, each task's input and output (secrets are
//! masked before the state is ever stored), and the API's actions.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_core::instance::{Instance, WorkflowStatus};
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_core::time::{Millis, parse_until};
use vigil_store::InstanceFilter;

use super::format::{self, query_escape};
use super::gantt;
use super::graph::{self, States};
use super::layout::{self, Nav, badge, csrf};
use super::session::Viewer;
use super::{UiResult, done};
use crate::access::Access;
use crate::views::RuntimeStatus;
use crate::{ApiError, AppState};

/// Instances per page.
const PAGE: u32 = 50;
/// Statuses offered by the filter, as the API names them.
const STATUSES: [&str; 6] = ["Running", "Suspended", "Completed", "Failed", "TimedOut", "Terminated"];

/// The CSS class and words of an instance status.
pub fn status_badge(s: WorkflowStatus) -> Markup {
    let (class, text) = match s {
        WorkflowStatus::Running => ("running", "Running"),
        WorkflowStatus::Paused => ("paused", "Suspended"),
        WorkflowStatus::Completed => ("completed", "Completed"),
        WorkflowStatus::Failed => ("failed", "Failed"),
        WorkflowStatus::TimedOut => ("failed", "TimedOut"),
        WorkflowStatus::Terminated => ("terminated", "Terminated"),
    };
    badge(class, text)
}

/// The list's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    workflow: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    correlation: Option<String>,
    text: Option<String>,
    after: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Reads a time field: RFC 3339, or a browser's `datetime-local` value (taken as UTC).
fn time(field: &str, v: &Option<String>) -> Result<Option<Millis>, ApiError> {
    given(v)
        .map(|t| parse_until(&t.replacen('T', " ", usize::from(!t.contains('Z') && !t.contains('+')))))
        .transpose()
        .map_err(|e| ApiError::invalid(field, e))
}

impl ListQuery {
    fn filter(&self) -> Result<InstanceFilter, ApiError> {
        let statuses = match given(&self.status) {
            Some(s) => vec![
                RuntimeStatus::parse(&s).ok_or_else(|| ApiError::invalid("status", format!("unknown status `{s}`")))?,
            ],
            None => Vec::new(),
        };
        let after = match given(&self.after) {
            Some(t) => Some(
                crate::operations::instances::parse_token(&t)
                    .ok_or_else(|| ApiError::invalid("after", "not a page this list gave out"))?,
            ),
            None => None,
        };
        Ok(InstanceFilter {
            workflow_name: given(&self.workflow),
            workflow_names: None,
            statuses,
            id: None,
            correlation_id: given(&self.correlation),
            text: given(&self.text),
            created_from: time("from", &self.from)?,
            created_to: time("to", &self.to)?,
            after,
            limit: PAGE,
        })
    }

    /// This query's string with `after` replaced.
    fn with_after(&self, after: &str) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("workflow", &self.workflow),
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
            ("correlation", &self.correlation),
            ("text", &self.text),
        ] {
            if let Some(v) = given(v) {
                parts.push(format!("{k}={}", query_escape(&v)));
            }
        }
        parts.push(format!("after={}", query_escape(after)));
        parts.join("&")
    }
}

/// `GET /ui/instances`.
pub async fn list(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Query(q): Query<ListQuery>,
) -> UiResult<Markup> {
    let filter = InstanceFilter { workflow_names: access.readable_workflows(&app), ..q.filter()? };
    let rows = app.engine.search_instances(&filter).await.map_err(ApiError::from)?;
    let next =
        (rows.len() == PAGE as usize).then(|| rows.last().map(|r| format!("{}.{}", r.created_at, r.id))).flatten();
    let set = app.engine.workflows();
    let seen = set.latest().filter(|w| access.sees(ObjectKind::Workflows, &w.name));
    let mut workflows: Vec<String> = seen.map(|w| w.name.clone()).collect();
    workflows.sort();
    let now = app.engine.now();
    let body = html! {
        form.filters method="get" action="/ui/instances" role="search" {
            label { "Workflow" select name="workflow" {
                option value="" { "any" }
                @for w in &workflows { option value=(w) selected[q.workflow.as_deref() == Some(w.as_str())] { (w) } }
            } }
            label { "Status" select name="status" {
                option value="" { "any" }
                @for s in STATUSES { option value=(s) selected[q.status.as_deref() == Some(s)] { (s) } }
            } }
            label { "Created from (UTC)" input type="datetime-local" name="from" value=[given(&q.from)]; }
            label { "to" input type="datetime-local" name="to" value=[given(&q.to)]; }
            label { "Correlation id" input type="text" name="correlation" value=[given(&q.correlation)]; }
            label { "Text" input type="search" name="text" value=[given(&q.text)] placeholder="in ids, input, output"; }
            button type="submit" { "Filter" }
            a.button href="/ui/instances" { "Clear" }
        }
        section.panel {
            table #instances {
                thead { tr { th { "Instance" } th { "Workflow" } th { "Status" } th { "Created" } th.num.wide { "Took" } th.wide { "Correlation" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td.mono { a href={"/ui/instances/" (query_escape(&r.id))} { (r.id) } }
                            td { a href={"/ui/workflows/" (query_escape(&r.workflow_name))} { (r.workflow_name) } " v" (r.workflow_version) }
                            td { (status_badge(r.status)) }
                            td { (format::when(r.created_at, now)) }
                            td.num.wide { @if r.status.is_terminal() { (format::duration(r.updated_at - r.created_at)) } }
                            td.wide.mono { (r.correlation_id.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
            @if rows.is_empty() { p.muted { "No instance matches." } }
            div.pager {
                @if q.after.is_some() { a href="/ui/instances" { "First page" } }
                @if let Some(n) = &next { a rel="next" href={"/ui/instances?" (q.with_after(n))} { "Older →" } }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Instances, "Instances", body))
}

/// Query of an instance page.
#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

/// `GET /ui/instances/{id}`.
pub async fn detail(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> UiResult<Markup> {
    access.check_instance(&app, &id, Role::Read).await?;
    let instance = app
        .engine
        .instance(&id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("instance `{id}` does not exist")))?;
    let here = viewer.on_object(access.role_on_named(ObjectKind::Workflows, &instance.workflow_name));
    let live = live_part(&app, &here, &instance);
    let body = html! {
        (layout::flash(q.done.as_deref()))
        @if instance.status.is_terminal() {
            div #live { (live) }
        } @else {
            div #live data-live={"/ui/live/instances/" (query_escape(&id))} { (live) }
        }
    };
    Ok(layout::page(&viewer, Nav::Instances, &format!("Instance {id}"), body))
}

/// The part of an instance page that changes while it runs (re-sent live), for `viewer` as it
/// stands on the instance ([`Viewer::on_object`]).
pub fn live_part(app: &AppState, viewer: &Viewer, i: &Instance) -> Markup {
    let now = app.engine.now();
    let path = format!("/ui/instances/{}", query_escape(&i.workflow_id));
    let ended = i.status.is_terminal();
    let mut states = States::new();
    for t in &i.tasks {
        states.insert(t.reference_task_name.clone(), gantt::status_class(t.status));
    }
    let def = app.engine.workflows().get(&i.workflow_name, Some(i.workflow_version));
    html! {
        section.panel {
            dl.facts {
                dt { "Status" } dd #status { (status_badge(i.status)) }
                dt { "Workflow" } dd { a href={"/ui/workflows/" (query_escape(&i.workflow_name))} { (i.workflow_name) } " v" (i.workflow_version) }
                dt { "Created" } dd { (format::when(i.create_time, now)) }
                dt { @if ended { "Took" } @else { "Running for" } }
                dd { (format::duration(if ended { i.update_time - i.create_time } else { now - i.create_time })) }
                @if let Some(c) = &i.correlation_id { dt { "Correlation id" } dd.mono { (c) } }
                @if let Some(p) = &i.parent { dt { "Parent" } dd.mono { a href={"/ui/instances/" (query_escape(&p.workflow_id))} { (p.workflow_id) } } }
                @if let Some(r) = &i.reason_for_incompletion { dt { "Reason" } dd { span.error-box { (r) } } }
            }
            (actions(viewer, i, &path))
        }
        h2 { "Timeline" }
        section.panel { (gantt::chart(i, now)) }
        @if let Some(def) = def {
            h2 { "Graph" }
            section.panel { (graph::draw(&def.tasks, &states, &format!("{} as this instance ran it", i.workflow_name))) }
        }
        h2 { "Tasks" }
        section.panel {
            @for t in &i.tasks {
                details data-task=(t.reference_task_name) {
                    summary { (badge(gantt::status_class(t.status), &format!("{:?}", t.status))) " " b { (gantt::label(t)) } " " span.muted { (t.task_type) } }
                    @if let Some(r) = &t.reason_for_incompletion { p.error-box { (r) } }
                    h3 { "Input" } pre { (format::pretty_json(&t.input_data)) }
                    h3 { "Output" } pre { (format::pretty_json(&t.output_data)) }
                    @if let Some(sub) = &t.sub_workflow_id { p { "Sub-workflow: " a href={"/ui/instances/" (query_escape(sub))} { (sub) } } }
                }
            }
        }
        h2 { "Input and output" }
        section.panel {
            h3 { "Input" } pre { (format::pretty_json(&i.input)) }
            @if ended { h3 { "Output" } pre { (format::pretty_json(&i.output)) } }
        }
    }
}

/// The actions the API offers on an instance in its state.
fn actions(viewer: &Viewer, i: &Instance, path: &str) -> Markup {
    if !viewer.can_write() {
        return html! {};
    }
    let running = i.status == WorkflowStatus::Running;
    let paused = i.status == WorkflowStatus::Paused;
    let ended = i.status.is_terminal();
    html! {
        div.actions {
            @if running || paused {
                (layout::action_button(viewer, &format!("{path}/terminate"), "Terminate", "danger", Some("Terminate this instance?")))
            }
            @if running { (layout::action_button(viewer, &format!("{path}/suspend"), "Suspend", "", None)) }
            @if paused { (layout::action_button(viewer, &format!("{path}/resume"), "Resume", "", None)) }
            @if matches!(i.status, WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated) {
                (layout::action_button(viewer, &format!("{path}/retry"), "Retry", "", None))
            }
            @if ended { (layout::action_button(viewer, &format!("{path}/restart"), "Restart", "", Some("Run this instance again from the start?"))) }
        }
        @if running || paused {
            details {
                summary { "Raise an event…" }
                form.stack method="post" action={(path) "/event"} {
                    (csrf(viewer))
                    label { "Event name" input type="text" name="event" required; }
                    label { "Payload (JSON)" textarea name="payload" rows="3" { "{}" } }
                    button type="submit" { "Raise" }
                }
            }
        }
    }
}

/// `POST /ui/instances/{id}/{action}`: terminate, suspend, resume, retry or restart.
pub async fn control(
    State(app): State<AppState>,
    access: Access,
    Path((id, action)): Path<(String, String)>,
) -> UiResult<Response> {
    access.check_instance(&app, &id, Role::Write).await?;
    let e = &app.engine;
    let what = match action.as_str() {
        "terminate" => e.terminate(&id, "terminated in the UI").await.map(|_| "terminated"),
        "suspend" => e.suspend(&id).await.map(|_| "suspended"),
        "resume" => e.resume(&id).await.map(|_| "resumed"),
        "retry" => e.retry(&id).await.map(|_| "retried"),
        "restart" => e.restart(&id, false).await.map(|_| "restarted"),
        other => return Err(ApiError::not_found(format!("no instance action `{other}`")).into()),
    }
    .map_err(ApiError::from)?;
    Ok(done(&format!("/ui/instances/{}", query_escape(&id)), what))
}

/// The raise-event form.
#[derive(Debug, Deserialize)]
pub struct EventForm {
    event: String,
    payload: Option<String>,
}

/// `POST /ui/instances/{id}/event`.
pub async fn raise_event(
    State(app): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    Form(f): Form<EventForm>,
) -> UiResult<Response> {
    access.check_instance(&app, &id, Role::Write).await?;
    let name = f.event.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("event", "is empty").into());
    }
    let text = f.payload.unwrap_or_default();
    let payload: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| ApiError::invalid("payload", format!("not JSON: {e}")))?
    };
    app.engine.raise_event_by(&id, name, payload, access.principal()).await.map_err(ApiError::from)?;
    Ok(done(&format!("/ui/instances/{}", query_escape(&id)), "event"))
}
