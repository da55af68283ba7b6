//! Schedules: each with its next fire times in its own zone, its last runs and their outcome,
//! and pause, resume and run now.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_store::{FireStatus, InstanceFilter};

use super::format::{self, query_escape};
use super::instances::status_badge;
use super::layout::{self, Nav, badge};
use super::session::Viewer;
use super::{UiResult, done};
use crate::access::Access;
use crate::{ApiError, AppState};

/// Schedules per page (each reads its last runs).
const PAGE: usize = 50;
/// Next fire times shown.
const NEXT: usize = 3;
/// Last runs shown.
const LAST: u32 = 5;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    q: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

/// `GET /ui/schedules`.
pub async fn page(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Query(q): Query<PageQuery>,
) -> UiResult<Markup> {
    let filter = q.q.clone().unwrap_or_default().to_ascii_lowercase();
    let mut all = app.engine.schedules().await;
    all.retain(|(s, _)| access.sees(ObjectKind::Schedules, &s.name));
    all.retain(|(s, _)| {
        filter.is_empty()
            || s.name.to_ascii_lowercase().contains(&filter)
            || s.start.name.to_ascii_lowercase().contains(&filter)
    });
    all.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let paged = super::Paged::of(all.len(), PAGE, q.page);
    let shown = &all[paged.range.clone()];
    let (fire_rows, instance_rows) = (app.engine.fire_rows(), app.engine.instance_rows());
    let now = app.engine.now();
    let mut rows = Vec::with_capacity(shown.len());
    for (def, next) in shown {
        let mut fires = Vec::new();
        for fire in fire_rows.fires(&def.name, LAST).await.map_err(ApiError::from)? {
            let filter = InstanceFilter { id: Some(fire.instance_id.clone()), limit: 1, ..InstanceFilter::default() };
            let status = match fire.status {
                FireStatus::Started => {
                    instance_rows.list_instances(&filter).await.map_err(ApiError::from)?.first().map(|r| r.status)
                }
                _ => None,
            };
            fires.push((fire, status));
        }
        let times = def.fires_from(*next, NEXT);
        rows.push((def, times, fires));
    }
    let query = |p: usize| {
        format!(
            "/ui/schedules?page={p}{}",
            q.q.as_deref().map(|f| format!("&q={}", query_escape(f))).unwrap_or_default()
        )
    };
    let body = html! {
        (layout::flash(q.done.as_deref()))
        form.filters method="get" action="/ui/schedules" role="search" {
            label { "Schedule or workflow" input type="search" name="q" value=[q.q.as_deref()]; }
            button type="submit" { "Filter" }
        }
        section.panel {
            table #schedules {
                thead { tr { th { "Schedule" } th { "When" } th { "Next fires (its zone)" } th { "Last runs" } th { "" } } }
                tbody {
                    @for (def, times, fires) in &rows {
                        @let path = format!("/ui/schedules/{}", query_escape(&def.name));
                        tr data-schedule=(def.name) {
                            td {
                                b { (def.name) } br;
                                "starts " a href={"/ui/workflows/" (query_escape(&def.start.name))} { (def.start.name) }
                                @if let Some(team) = access.teams().owner_by_name(ObjectKind::Schedules, &def.name) {
                                    br; span.muted.team { "team " (team) }
                                    @if let Some(f) = access.teams().folder_of(ObjectKind::Schedules, &def.name) { span.muted { " · " (f) "/" } }
                                }
                                @if def.paused { " " (badge("paused", "paused")) }
                            }
                            td.mono { (def.cron_expression) br; span.muted { (if def.zone_id.is_empty() { "UTC" } else { &def.zone_id }) } }
                            td {
                                @if def.paused { span.muted { "paused" } }
                                @else { @for t in times { (format::in_zone(*t, &def.zone_id)) br; } }
                            }
                            td {
                                @for (fire, status) in fires {
                                    div {
                                        (format::when(fire.scheduled_at, now)) " "
                                        @match (fire.status, status) {
                                            (FireStatus::Skipped, _) => (badge("idle", "skipped")),
                                            (_, Some(s)) => a href={"/ui/instances/" (query_escape(&fire.instance_id))} { (status_badge(*s)) },
                                            _ => (badge("idle", "purged")),
                                        }
                                    }
                                }
                                @if fires.is_empty() { span.muted { "none yet" } }
                            }
                            td {
                                @let here = viewer.on_object(access.role_on_named(ObjectKind::Schedules, &def.name));
                                div.actions {
                                    @if def.paused {
                                        (layout::action_button(&here, &format!("{path}/resume"), "Resume", "", None))
                                    } @else {
                                        (layout::action_button(&here, &format!("{path}/pause"), "Pause", "", None))
                                    }
                                    (layout::action_button(&here, &format!("{path}/run"), "Run now", "", None))
                                }
                            }
                        }
                    }
                }
            }
            @if all.is_empty() { p.muted { "No schedule." } }
            (paged.pager(query, &format!("{} schedules", all.len())))
        }
    };
    Ok(layout::page(&viewer, Nav::Schedules, "Schedules", body))
}

/// `POST /ui/schedules/{name}/{action}`: pause, resume or run.
pub async fn control(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Path((name, action)): Path<(String, String)>,
) -> UiResult<Response> {
    access.check(ObjectKind::Schedules, &name, Role::Write)?;
    let what = match action.as_str() {
        "pause" | "resume" => {
            let paused = action == "pause";
            crate::operations::schedules::pause_or_resume(&app, &name, paused).await?;
            wait_until_applied(&app, &name, paused).await;
            if paused { "paused" } else { "schedule-resumed" }
        }
        "run" => {
            crate::operations::schedules::run_now_id(&app, &name, &crate::auth::principal(caller.as_ref())).await?;
            "ran"
        }
        other => return Err(ApiError::not_found(format!("no schedule action `{other}`")).into()),
    };
    Ok(done("/ui/schedules", what))
}

/// Waits (briefly) until the scheduler shows `name` as `paused`, so the page it returns to shows
/// the change.
async fn wait_until_applied(app: &AppState, name: &str, paused: bool) {
    for _ in 0..50 {
        if app.engine.schedules().await.iter().any(|(d, _)| d.name == name && d.paused == paused) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
