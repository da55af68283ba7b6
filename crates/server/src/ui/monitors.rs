//! Monitor pages: the list with each monitor's state, sparkline and uptime; a monitor's page with
//! its value over time per series (thresholds drawn), the last check's series, its alerts, and
//! "check now", silence and ack.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use vigil_core::time::Millis;
use vigil_runtime::monitors::MonitorStatus;
use vigil_runtime::monitors::recent::Beat;
use vigil_runtime::monitors::uptime;

use super::cache::Sparklines;
use super::charts::{self, Bucket};
use super::format::{self, query_escape};
use super::layout::{self, Nav, badge};
use super::session::Viewer;
use super::{UiResult, alerts};
use crate::access::Access;
use crate::{ApiError, AppState};
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;

/// A monitor's state for the grid: `ok`, `warning`, `critical` or `nodata`, and its words.
pub fn state_of(m: &MonitorStatus) -> (&'static str, &'static str) {
    if m.paused {
        return ("nodata", "paused");
    }
    match m.series.iter().filter_map(|s| s.tier).max() {
        Some(vigil_core::alert::Tier::Critical) => ("critical", "critical"),
        Some(vigil_core::alert::Tier::Warning) => ("warning", "warning"),
        Some(_) => ("ok", "ok"),
        None if m.error.is_some() => ("nodata", "error"),
        None => ("nodata", "no data"),
    }
}

/// The order of the grid: worst first.
pub fn rank(class: &str) -> u8 {
    match class {
        "critical" => 0,
        "warning" => 1,
        "nodata" => 2,
        _ => 3,
    }
}

/// Monitors per page of the list.
const LIST_PAGE: usize = 200;

/// Query of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<usize>,
}

/// `GET /ui/monitors`.
pub async fn list(
    State(app): State<AppState>,
    access: Access,
    Extension(viewer): Extension<Viewer>,
    Extension(cache): Extension<Arc<Sparklines>>,
    Query(q): Query<ListQuery>,
) -> UiResult<Markup> {
    let snap = cache.get(&app.engine).await;
    let filter = q.q.clone().unwrap_or_default().to_ascii_lowercase();
    let mut all = app.engine.monitors().await;
    all.retain(|m| access.sees_labelled(ObjectKind::Monitors, &m.name, &m.labels));
    all.retain(|m| filter.is_empty() || m.name.to_ascii_lowercase().contains(&filter) || m.source.contains(&filter));
    all.sort_by(|a, b| rank(state_of(a).0).cmp(&rank(state_of(b).0)).then_with(|| a.name.cmp(&b.name)));
    let now = app.engine.now();
    let paged = super::Paged::of(all.len(), LIST_PAGE, q.page);
    let count = all.len();
    let all = &all[paged.range.clone()];
    let link = |p: usize| {
        format!(
            "/ui/monitors?page={p}{}",
            q.q.as_deref().map(|f| format!("&q={}", query_escape(f))).unwrap_or_default()
        )
    };
    let body = html! {
        form.filters method="get" action="/ui/monitors" role="search" {
            label { "Name or source" input type="search" name="q" value=[q.q.as_deref()]; }
            button type="submit" { "Filter" }
        }
        section.panel {
            table {
                thead { tr {
                    th { "Monitor" } th { "State" } th.wide { "Source" } th { "Last 24 h" }
                    th.num { "24 h" } th.num.wide { "7 d" } th.num.wide { "30 d" } th.wide { "Last check" } th.wide { "Next" }
                } }
                tbody {
                    @for m in all {
                        @let (class, text) = state_of(m);
                        @let up = snap.uptime.get(&m.name).map(uptime::Counts::ratios).unwrap_or([None; 3]);
                        tr {
                            td { a href={"/ui/monitors/" (query_escape(&m.name))} { (m.name) } }
                            td { (badge(class, text)) }
                            td.wide { (m.source) }
                            td { (spark(&snap.slots, m)) }
                            td.num { (format::percent(up[0])) }
                            td.num.wide { (format::percent(up[1])) }
                            td.num.wide { (format::percent(up[2])) }
                            td.wide { @if let Some(at) = m.last_check { (format::when(at, now)) } @else { "never" } }
                            td.wide { @if let Some(at) = m.next_check { (format::when(at, now)) } }
                        }
                    }
                }
            }
            @if all.is_empty() { p.muted { "No monitor matches." } }
            (paged.pager(link, &format!("{count} monitors, worst first")))
        }
    };
    Ok(layout::page(&viewer, Nav::Monitors, "Monitors", body))
}

/// A monitor's sparkline from the snapshot. History reaches the store every few minutes, so the
/// current hour's slot, while it holds nothing yet, shows the last check's state.
pub fn spark(slots: &std::collections::HashMap<String, Vec<Option<Bucket>>>, m: &MonitorStatus) -> Markup {
    let mut shown = slots.get(&m.name).cloned().unwrap_or_else(|| vec![None; super::cache::SLOTS]);
    if let Some(last @ None) = shown.last_mut()
        && let Some(at) = m.last_check
    {
        let worst = m.series.iter().filter_map(|s| s.tier).max().map_or(0, |t| match t {
            vigil_core::alert::Tier::Critical => 2,
            vigil_core::alert::Tier::Warning => 1,
            _ => 0,
        });
        let value = m.series.iter().find_map(|s| s.value);
        let errors = u32::from(value.is_none() && worst == 0);
        *last = Some(Bucket {
            at,
            checks: 1,
            failing: u32::from(worst > 0),
            errors,
            worst,
            min: value,
            max: value,
            mean: value,
        });
    }
    charts::sparkline(&shown, &format!("{}: the last 24 hours", m.name))
}

/// Query of a monitor's page.
#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    /// `24h` (default), `7d` or `30d`.
    range: Option<String>,
    done: Option<String>,
}

/// `GET /ui/monitors/{name}`.
pub async fn detail(
    State(app): State<AppState>,
    access: Access,
    Extension(viewer): Extension<Viewer>,
    Path(name): Path<String>,
    Query(q): Query<DetailQuery>,
) -> UiResult<Markup> {
    let m = crate::monitors::owned_monitor(&app, &access, &name, Role::Read).await?;
    let now = app.engine.now();
    let (range, window, width): (&str, Millis, Option<Millis>) = match q.range.as_deref() {
        Some("7d") => ("7d", 7 * 86_400_000, Some(3_600_000)),
        Some("30d") => ("30d", 30 * 86_400_000, Some(86_400_000)),
        _ => ("24h", 86_400_000, None),
    };
    let from = now - window;
    let live = app.engine.monitor_relay().monitor_live(&name).await.unwrap_or_default();
    let mut rows = match width {
        None => app.engine.monitor_history(&name, from, 100_000).await,
        Some(w) => app.engine.monitor_rollups(&name, w, from, 100_000).await,
    }
    .map_err(ApiError::from)?;
    if width.is_none() {
        merge_unwritten(&mut rows, &live.unwritten);
    }
    let mut series: std::collections::BTreeMap<&str, Vec<Bucket>> = std::collections::BTreeMap::new();
    for row in &rows {
        series.entry(row.series.as_str()).or_default().push(Bucket::of(row));
    }
    let counts = app.engine.monitor_uptime(&name).await.map_err(ApiError::from)?;
    let (class, text) = state_of(&m);
    let store = app.engine.alert_rows();
    // Each series' alert has the series' key as its dedup key.
    let mut monitor_alerts = Vec::new();
    let mut told = Vec::new();
    for s in &m.series {
        if let Some(a) = store.alert(&s.key).await.map_err(ApiError::from)? {
            monitor_alerts.push(a);
            told.extend(store.alert_outbox(&s.key, 20).await.map_err(ApiError::from)?);
        }
    }
    told.sort_by_key(|e| std::cmp::Reverse(e.id));
    let holds = alerts::Holds::read(&*store, &[&monitor_alerts]).await?;
    let labels = silence_labels(&m);
    let covering = alerts::covering(&holds.silences, &m.name, &labels, now);
    let path = format!("/ui/monitors/{}", query_escape(&name));
    let evidence = super::evidence::section(&app, &name, now).await?;
    let body = html! {
        (layout::flash(q.done.as_deref()))
        @if viewer.may_audit() { p { (super::audit::link("monitor", &name)) } }
        section.panel {
            dl.facts {
                dt { "State" } dd { (badge(class, text)) }
                dt { "Source" } dd { (m.source) }
                (layout::owner_facts(
                    access.teams(),
                    access.teams().owner(ObjectKind::Monitors, &m.name, &m.labels),
                    access.teams().folder_of(ObjectKind::Monitors, &m.name),
                ))
                @if let Some(t) = m.warning { dt { "Warning" } dd.mono { (t) } }
                @if let Some(t) = m.critical { dt { "Critical" } dd.mono { (t) } }
                @if let Some(id) = &m.ping_id { dt { "Ping URL" } dd.mono { "/ping/" (id) } }
                @if !m.labels.is_empty() {
                    dt { "Labels" } dd.mono { @for (k, v) in &m.labels { (k) "=" (v) " " } }
                }
                @if !covering.is_empty() {
                    dt { "Silences" } dd { @for s in &covering { (alerts::silence_note(s, now)) br; } }
                }
                @let windows = crate::monitors::own_windows(&app, &name);
                @if !windows.is_empty() {
                    dt { "Maintenance" }
                    dd.maintenance {
                        @for w in &windows {
                            @let shown = if w["next"].is_object() { &w["next"] } else { w };
                            (w["title"].as_str().unwrap_or_default()) " · "
                            @if w["state"] == "in_progress" { "in progress" } @else { "next" }
                            " " (format::when(shown["starts"].as_i64().unwrap_or_default(), now))
                            " to " (format::when(shown["ends"].as_i64().unwrap_or_default(), now))
                            @if let Some(r) = w["repeats"].as_str() { " · repeats " (r) }
                            br;
                        }
                    }
                }
            }
            div.actions {
                @if viewer.can_respond() {
                    form.inline method="post" action=(format!("{path}/check")) {
                        (layout::csrf(&viewer))
                        button type="submit" class="primary" { "Check now" }
                    }
                    (alerts::silence_form(&viewer, &silence_labels(&m), &path))
                }
            }
        }
        h2 { "Last checks" }
        div data-live={"/ui/live/monitors/" (query_escape(&name))} { (live_part(&m, &live.beats, now)) }
        h2 { "Value over time" }
        nav.actions aria-label="Range" {
            @for r in ["24h", "7d", "30d"] {
                a.button href={(path) "?range=" (r)} aria-current=[(r == range).then_some("true")] { (r) }
            }
        }
        @if series.is_empty() {
            section.panel { p.muted { "No checks in this range yet." } }
        }
        @for (key, buckets) in &series {
            @let c = counts.get(&(name.clone(), key.to_string())).copied().unwrap_or_default().ratios();
            section.panel {
                h2 { (if key.is_empty() { "(one series)" } else { key }) }
                p.muted { "uptime 24 h " (format::percent(c[0])) " · 7 d " (format::percent(c[1])) " · 30 d " (format::percent(c[2])) }
                (charts::value_chart(buckets, from, now, m.warning, m.critical, &format!("{name} {key}: {range}")))
            }
        }
        (evidence)
        h2 { "Alerts" }
        section.panel { (alerts::table(&viewer, &monitor_alerts, &holds, now, &path)) }
        h2 { "Who was told" }
        section.panel {
            @if told.is_empty() { p.muted { "Nothing sent about this monitor." } }
            @else { (alerts::outbox_table(&told, now)) }
        }
    };
    Ok(layout::page(&viewer, Nav::Monitors, &format!("Monitor {name}"), body))
}

/// The part of a monitor's page kept live: the beat bar of its last checks (from the memory of
/// the node running it), when it was checked and is next, and its last check's series.
pub fn live_part(m: &MonitorStatus, beats: &[Beat], now: Millis) -> Markup {
    let (class, text) = state_of(m);
    let label = match beats.len() {
        0 => format!("{}: no checks here yet", m.name),
        n => format!("{}: the last {n} checks, the newest on the right", m.name),
    };
    let mean_took = (!beats.is_empty()).then(|| beats.iter().map(|b| b.took_us).sum::<u64>() / beats.len() as u64);
    html! {
        section.panel {
            (charts::beat_bar(beats, &label))
            p.muted {
                (badge(class, text)) " · last check "
                @if let Some(at) = m.last_check { (format::when(at, now)) } @else { "never" }
                @if let Some(b) = beats.last() { ", took " (format::took(b.took_us)) }
                @else if let Some(ms) = m.took_ms { ", took " (format::duration(ms as i64)) }
                @if let Some(us) = mean_took { " · " (beats.len()) " checks, " (format::took(us)) " on average" }
                " · next " @if let Some(at) = m.next_check { (format::when(at, now)) } @else { "–" }
            }
            @if let Some(e) = &m.error { p { span.error-box { (e) } } }
            table {
                thead { tr { th { "Series" } th { "Tier" } th.num { "Value" } th { "Note" } } }
                tbody {
                    @for s in &m.series {
                        @let tier = s.tier.map_or("unchanged", vigil_core::alert::Tier::as_str);
                        tr {
                            td.mono { (s.key) }
                            td { (badge(tier, tier)) }
                            td.num { @if let Some(v) = s.value { (format::number(v)) } @else { "–" } }
                            td { (s.note.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
            @if m.series.is_empty() { p.muted { "No series yet." } }
        }
    }
}

/// Adds the buckets memory holds and the store does not yet (they are minutes old: history is
/// written every few minutes) to the stored `rows`, in the order the chart reads them.
fn merge_unwritten(rows: &mut Vec<vigil_store::MonitorHistoryRow>, unwritten: &[vigil_store::MonitorHistoryRow]) {
    let stored: std::collections::HashSet<(&str, Millis)> =
        rows.iter().map(|r| (r.series.as_str(), r.bucket)).collect();
    let missing: Vec<_> =
        unwritten.iter().filter(|r| !stored.contains(&(r.series.as_str(), r.bucket))).cloned().collect();
    rows.extend(missing);
    rows.sort_by(|a, b| (&a.series, a.bucket).cmp(&(&b.series, b.bucket)));
}

/// The labels a silence made on this monitor's page matches: its labels and its name (its
/// alerts are named after it).
fn silence_labels(m: &MonitorStatus) -> std::collections::BTreeMap<String, String> {
    vigil_core::alert::Silence::matchers_for(&m.name, &m.labels)
}

/// `POST /ui/monitors/{name}/check`: the dry run of `vigil check`, through the alert lifecycle
/// as a scheduled check.
pub async fn check_now(State(app): State<AppState>, access: Access, Path(name): Path<String>) -> UiResult<Response> {
    crate::monitors::owned_monitor(&app, &access, &name, Role::Respond).await?;
    app.engine
        .check_monitor(&name)
        .await
        .ok_or_else(|| ApiError::not_found(format!("monitor `{name}` does not exist")))?;
    Ok(super::done(&format!("/ui/monitors/{}", query_escape(&name)), "checked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket: Millis, checks: u32) -> vigil_store::MonitorHistoryRow {
        vigil_store::MonitorHistoryRow {
            monitor: "web".into(),
            series: String::new(),
            bucket,
            checks,
            failing: 0,
            errors: 0,
            worst: 0,
            min: None,
            max: None,
            sum: None,
            last: None,
        }
    }

    #[test]
    fn unwritten_buckets_join_the_stored_ones_which_win() {
        let mut rows = vec![row(60_000, 6)];
        merge_unwritten(&mut rows, &[row(120_000, 2), row(60_000, 1), row(0, 3)]);
        let got: Vec<(Millis, u32)> = rows.iter().map(|r| (r.bucket, r.checks)).collect();
        assert_eq!(got, [(0, 3), (60_000, 6), (120_000, 2)]);
    }
}
