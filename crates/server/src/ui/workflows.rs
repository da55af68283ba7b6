//! Workflow pages: the definitions, and each drawn as a graph with its schedules and latest
//! instances, and a form to start one.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_runtime::StartRequest;
use vigil_store::InstanceFilter;

use super::format::{self, query_escape};
use super::graph::{self, States};
use super::instances::status_badge;
use super::layout::{self, Nav, csrf};
use super::session::Viewer;
use super::{UiResult, done};
use crate::access::Access;
use crate::{ApiError, AppState};

/// `GET /ui/workflows`.
pub async fn list(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
) -> UiResult<Markup> {
    let set = app.engine.workflows();
    let mut defs: Vec<_> = set.latest().filter(|d| access.sees(ObjectKind::Workflows, &d.name)).cloned().collect();
    defs.sort_by(|a, b| a.name.cmp(&b.name));
    let counts: Vec<usize> = defs
        .iter()
        .map(|d| {
            let mut count = 0;
            vigil_core::def::each(&d.tasks, &mut |_| count += 1);
            count
        })
        .collect();
    let body = html! {
        section.panel {
            table {
                thead { tr { th { "Workflow" } th.num { "Version" } th.num { "Tasks" } th.wide { "Description" } } }
                tbody {
                    @for (d, count) in defs.iter().zip(&counts) {
                        tr {
                            td { a href={"/ui/workflows/" (query_escape(&d.name))} { (d.name) } }
                            td.num { (d.version) }
                            td.num { (count) }
                            td.wide { (d.description.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
            @if defs.is_empty() { p.muted { "No workflow is defined." } }
        }
    };
    Ok(layout::page(&viewer, Nav::Workflows, "Workflows", body))
}

/// `GET /ui/workflows/{name}`.
pub async fn detail(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Path(name): Path<String>,
) -> UiResult<Markup> {
    access.check(ObjectKind::Workflows, &name, Role::Read)?;
    let def = app
        .engine
        .workflows()
        .get(&name, None)
        .ok_or_else(|| ApiError::not_found(format!("workflow `{name}` does not exist")))?;
    let filter = InstanceFilter { workflow_name: Some(name.clone()), limit: 10, ..InstanceFilter::default() };
    let recent = app.engine.instance_rows().list_instances(&filter).await.map_err(ApiError::from)?;
    let schedules: Vec<_> = app
        .engine
        .schedules()
        .await
        .into_iter()
        .filter(|(s, _)| s.start.name == name && access.sees(ObjectKind::Schedules, &s.name))
        .collect();
    let now = app.engine.now();
    let body = html! {
        @if let Some(d) = &def.description { p { (d) } }
        dl.facts {
            (layout::owner_facts(
                access.teams(),
                access.teams().owner_by_name(ObjectKind::Workflows, &name),
                access.teams().folder_of(ObjectKind::Workflows, &name),
            ))
        }
        @if viewer.may_audit() { p { (super::audit::link("workflow", &name)) } }
        section.panel { (graph::draw(&def.tasks, &States::new(), &format!("workflow {name} v{}", def.version))) }
        @if viewer.on_object(access.role_on_named(ObjectKind::Workflows, &name)).can_write() {
            section.panel {
                details {
                    summary { "Start an instance…" }
                    form.stack method="post" action={"/ui/workflows/" (query_escape(&name)) "/start"} {
                        (csrf(&viewer))
                        label { "Input (JSON object)" textarea name="input" rows="4" { "{}" } }
                        label { "Correlation id (optional)" input type="text" name="correlation"; }
                        button.primary type="submit" { "Start" }
                    }
                }
            }
        }
        h2 { "Schedules" }
        section.panel {
            @if schedules.is_empty() { p.muted { "No schedule starts it." } }
            @for (s, next) in &schedules {
                p { b { (s.name) } " · " span.mono { (s.cron_expression) } " " (s.zone_id) @if let Some(n) = next { " · next " (format::in_zone(*n, &s.zone_id)) } }
            }
        }
        h2 { "Latest instances" }
        section.panel {
            table {
                tbody {
                    @for r in &recent {
                        tr {
                            td.mono { a href={"/ui/instances/" (query_escape(&r.id))} { (r.id) } }
                            td { (status_badge(r.status)) }
                            td { (format::when(r.created_at, now)) }
                        }
                    }
                }
            }
            p { a href={"/ui/instances?workflow=" (query_escape(&name))} { "All instances of " (name) } }
        }
        h2 { "Definition" }
        section.panel { details { summary { "JSON" } pre { (format::pretty_json(&def.source)) } } }
    };
    Ok(layout::page(&viewer, Nav::Workflows, &format!("Workflow {name}"), body))
}

/// The start form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    input: Option<String>,
    correlation: Option<String>,
}

/// `POST /ui/workflows/{name}/start`.
pub async fn start(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Path(name): Path<String>,
    Form(f): Form<StartForm>,
) -> UiResult<Response> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    let text = f.input.unwrap_or_default();
    let input: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| ApiError::invalid("input", format!("not JSON: {e}")))?
    };
    let correlation_id = f.correlation.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let started_by = crate::auth::principal(caller.as_ref());
    let req = StartRequest { name, version: None, input, id: None, correlation_id, definition: None, started_by };
    let id = crate::operations::instances::start_or_existing(&app, req).await?;
    Ok(done(&format!("/ui/instances/{}", query_escape(&id)), "started"))
}
