//! The cluster: nodes with their heartbeat and partitions, partitions nobody holds, and the
//! scheduling lag; and the one line of it the overview shows.

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};
use vigil_core::time::Millis;
use vigil_runtime::cluster::status::{ClusterStatus, NodeState, ranges};

use super::UiResult;
use super::format;
use super::layout::{self, Nav, badge};
use super::session::Viewer;
use crate::{ApiError, AppState};

/// The overview's line: nodes alive, partitions unowned, scheduling lag.
pub fn line(s: &ClusterStatus) -> Markup {
    let healthy = s.unowned.is_empty() && s.alive() > 0;
    html! {
        p.cluster-line {
            (badge(if healthy { "ok" } else { "warning" }, if healthy { "cluster ok" } else { "cluster degraded" })) " "
            (s.alive()) " of " (s.nodes.len()) " nodes alive · "
            @if s.unowned.is_empty() { (s.partitions) " partitions held" } @else { (s.unowned.len()) " partitions unowned" }
            " · scheduling lag "
            @match s.lag { Some(l) => { "p99 " (l.p99) " ms over " (l.fires) " fires" }, None => "no fires in 5 min" }
            " · " a href="/ui/cluster" { "details" }
        }
    }
}

/// `GET /ui/cluster`.
pub async fn page(State(app): State<AppState>, Extension(viewer): Extension<Viewer>) -> UiResult<Markup> {
    let now: Millis = app.engine.now();
    let s = app.engine.cluster_status().await.map_err(ApiError::from)?;
    let body = html! {
        (line(&s))
        section.panel {
            table #nodes {
                thead { tr { th { "Node" } th.wide { "Host" } th.wide { "Version" } th { "State" } th { "Heartbeat" } th.wide { "Started" } th { "Partitions" } } }
                tbody {
                    @for n in &s.nodes {
                        tr {
                            td.mono { (n.node.id) }
                            td.wide { (n.node.host) }
                            td.wide { (n.node.version) }
                            td { @match n.state {
                                NodeState::Alive => (badge("ok", "alive")),
                                NodeState::Dead => (badge("critical", "dead")),
                                NodeState::Stopped(at) => { (badge("idle", "stopped")) " " (format::when(at, now)) },
                            } }
                            td { (format::when(n.node.heartbeat_at, now)) }
                            td.wide { (format::when(n.node.started_at, now)) }
                            td.mono { @if n.parts.is_empty() { "–" } @else { (n.parts.len()) " (" (ranges(&n.parts)) ")" } }
                        }
                    }
                }
            }
            @if s.nodes.is_empty() { p.muted { "No node has written a heartbeat yet." } }
        }
        h2 { "Scheduling lag (last 5 minutes)" }
        section.panel {
            @match s.lag {
                Some(l) => dl.facts {
                    dt { "Fires" } dd { (l.fires) }
                    dt { "p50" } dd { (l.p50) " ms" }
                    dt { "p99" } dd { (l.p99) " ms" }
                    dt { "max" } dd { (l.max) " ms" }
                },
                None => p.muted { "Nothing fired in the last 5 minutes." },
            }
            @if !s.unowned.is_empty() {
                p.error-box { "Unowned or lapsed partitions: " (ranges(&s.unowned)) " (taken over within the lease time)." }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Cluster, "Cluster", body))
}
