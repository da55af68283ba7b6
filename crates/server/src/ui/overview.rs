//! The overview: cluster health in one line, monitors by state with counts, active alerts first,
//! the monitor grid (worst first, each with its 24-hour sparkline and uptime), and the latest
//! failed instances. The part below the filter is re-rendered and pushed live by [`super::live`].

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use vigil_core::instance::WorkflowStatus;
use vigil_runtime::monitors::uptime::Counts;
use vigil_store::InstanceFilter;

use super::cache::Sparklines;
use super::format::{self, query_escape};
use super::layout::{self, Nav};
use super::monitors::{rank, spark, state_of};
use super::session::Viewer;
use super::{UiResult, alerts, cluster, instances};
use crate::{ApiError, AppState};

/// Monitors per page of the grid.
const GRID_PAGE: usize = 120;
/// Failed instances shown.
const FAILED_SHOWN: u32 = 10;
/// Active alerts shown.
const ALERTS_SHOWN: usize = 50;

/// Query of the overview (and of its live stream).
#[derive(Debug, Default, Deserialize, Clone)]
pub struct OverviewQuery {
    /// Grid page, from 1.
    pub page: Option<usize>,
    /// Monitor name filter.
    pub q: Option<String>,
    done: Option<String>,
}

impl OverviewQuery {
    fn string(&self, page: usize) -> String {
        let mut s = format!("page={page}");
        if let Some(q) = self.q.as_deref().filter(|q| !q.is_empty()) {
            s.push_str(&format!("&q={}", query_escape(q)));
        }
        s
    }
}

/// `GET /`.
pub async fn page(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Extension(cache): Extension<Arc<Sparklines>>,
    Query(q): Query<OverviewQuery>,
) -> UiResult<Markup> {
    let live = fragment(&app, &viewer, &cache, &q).await?;
    let body = html! {
        (layout::flash(q.done.as_deref()))
        form.filters method="get" action="/" role="search" {
            label { "Monitor" input type="search" name="q" value=[q.q.as_deref()] placeholder="name"; }
            button type="submit" { "Filter" }
        }
        div #live data-live={"/ui/live/overview?" (q.string(q.page.unwrap_or(1)))} { (live) }
    };
    Ok(layout::page(&viewer, Nav::Overview, "Overview", body))
}

/// The live part of the overview.
pub async fn fragment(app: &AppState, viewer: &Viewer, cache: &Sparklines, q: &OverviewQuery) -> UiResult<Markup> {
    let now = app.engine.now();
    let alert_rows = app.engine.alert_rows();
    let snap = cache.get(&app.engine).await;
    let cluster_status = app.engine.cluster_status().await.map_err(ApiError::from)?;
    let mut active: Vec<_> =
        vigil_runtime::alert_rows::read(&*alert_rows, true, 10_000, now).await.map_err(ApiError::from)?;
    active.sort_by_key(|a| (a.condition != "firing", a.acknowledged, std::cmp::Reverse(a.firing_since)));
    let alert_count = active.len();
    active.truncate(ALERTS_SHOWN);
    let holds = super::alerts::Holds::read(&*alert_rows, &[&active]).await?;
    // One status at a time: each reads a few index entries in the listing's order.
    let mut failed = Vec::new();
    for status in [WorkflowStatus::Failed, WorkflowStatus::TimedOut] {
        let filter = InstanceFilter { statuses: vec![status], limit: FAILED_SHOWN, ..InstanceFilter::default() };
        failed.extend(app.engine.instance_rows().list_instances(&filter).await.map_err(ApiError::from)?);
    }
    failed.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    failed.truncate(FAILED_SHOWN as usize);
    let mut monitors = app.engine.monitors().await;
    let mut counts = [0usize; 4];
    for m in &monitors {
        counts[rank(state_of(m).0) as usize] += 1;
    }
    let filter = q.q.clone().unwrap_or_default().to_ascii_lowercase();
    monitors.retain(|m| filter.is_empty() || m.name.to_ascii_lowercase().contains(&filter));
    monitors.sort_by(|a, b| rank(state_of(a).0).cmp(&rank(state_of(b).0)).then_with(|| a.name.cmp(&b.name)));
    let paged = super::Paged::of(monitors.len(), GRID_PAGE, q.page);
    let shown = &monitors[paged.range.clone()];
    Ok(html! {
        (cluster::line(&cluster_status))
        div.counts {
            @for (i, (class, text)) in [("critical", "critical"), ("warning", "warning"), ("nodata", "no data"), ("ok", "ok")].iter().enumerate() {
                div class={"count " (class)} { b { (counts[i]) } (text) }
            }
            div.count { b { (alert_count) } "active alerts" }
        }
        h2 { "Active alerts" }
        section.panel #alerts { (alerts::table(viewer, &active, &holds, now, "/")) }
        h2 { "Monitors" }
        section.panel {
            div.grid #monitors {
                @for m in shown {
                    @let (class, text) = state_of(m);
                    @let up = snap.uptime.get(&m.name).map(Counts::ratios).unwrap_or([None; 3]);
                    a class={"cell " (class)} href={"/ui/monitors/" (query_escape(&m.name))} data-monitor=(m.name) {
                        span.name { (m.name) }
                        span.meta {
                            span { (text) }
                            (spark(&snap.slots, m))
                            span title="uptime, last 24 hours" { (format::percent(up[0])) }
                        }
                    }
                }
            }
            @if monitors.is_empty() { p.muted { "No monitor" @if !filter.is_empty() { " matches" } "." } }
            (paged.pager(|p| format!("/?{}", q.string(p)), &format!("{} monitors, worst first", monitors.len())))
        }
        h2 { "Latest failed instances" }
        section.panel #failed {
            @if failed.is_empty() { p.muted { "None." } }
            table {
                tbody {
                    @for r in &failed {
                        tr {
                            td.mono { a href={"/ui/instances/" (query_escape(&r.id))} { (r.id) } }
                            td { (r.workflow_name) }
                            td { (instances::status_badge(r.status)) }
                            td { (format::when(r.updated_at, now)) }
                        }
                    }
                }
            }
        }
    })
}
