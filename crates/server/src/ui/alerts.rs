//! Alerts and silences: firing, pending and acknowledged alerts, and the recently resolved ones,
//! each with the outbox's record of who was told what and when (failed sends included); ack; a
//! silence made from an alert's labels with an expiry; the active silences, each expirable.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;
use vigil_core::alert::{AlertState, Silence};
use vigil_core::time::{Millis, format_millis, parse_duration};
use vigil_store::{AlertRow, OutboxEntry, OutboxStatus, SilenceRow};

use super::format::{self, query_escape};
use super::layout::{self, Nav, badge, csrf};
use super::session::Viewer;
use super::{UiResult, done};
use crate::access::Access;
use crate::{ApiError, AppState};
use vigil_core::principal::Role;

/// Notices shown per alert in the record.
const OUTBOX_PER_ALERT: u32 = 20;
/// Active alerts whose record is shown (the first, firing ones first).
const RECORDS_SHOWN: usize = 100;
/// Resolved alerts shown.
const RESOLVED_SHOWN: usize = 50;

/// At most this many active (pending or firing) alerts are read for the page.
const ACTIVE_READ: u32 = 100_000;

/// What the UI reads of an alert row's stored record: the lifecycle state (labels, tier) and
/// the last observation's summary.
#[derive(Debug, Default, Deserialize)]
struct Stored {
    #[serde(default)]
    state: AlertState,
    #[serde(default)]
    request: StoredRequest,
}

#[derive(Debug, Default, Deserialize)]
struct StoredRequest {
    #[serde(default)]
    summary: String,
    /// The alert's labels (states stored before kept a copy too: read when these are absent).
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    /// The monitors it depends on (`dependsOn`).
    #[serde(default)]
    depends_on: Vec<String>,
}

fn stored(a: &AlertRow) -> Stored {
    serde_json::from_str(&a.state).unwrap_or_default()
}

/// The state class and words of an alert row.
fn condition(a: &AlertRow) -> (&'static str, &'static str) {
    match (a.condition.as_str(), a.acknowledged) {
        ("firing", true) => ("acknowledged", "acknowledged"),
        ("firing", false) => ("firing", "firing"),
        ("pending", _) => ("pending", "pending"),
        _ => ("resolved", "resolved"),
    }
}

/// The silences, active or to come (maintenance windows), that match an alert named `name` with
/// `labels`.
pub fn covering<'a>(
    silences: &'a [SilenceRow],
    name: &str,
    labels: &BTreeMap<String, String>,
    now: Millis,
) -> Vec<&'a SilenceRow> {
    silences
        .iter()
        .filter(|r| r.ends_at > now)
        .filter(|r| {
            let at = r.starts_at.unwrap_or(now).max(now);
            Silence::from_stored(&r.matchers, r.ends_at).is_some_and(|s| s.mutes(name, labels, at))
        })
        .collect()
}

/// One silence as a line: silenced until when, or a maintenance window to come.
pub fn silence_note(s: &SilenceRow, now: Millis) -> Markup {
    html! {
        span.silence-note data-silence=(s.id) {
            @match s.starts_at {
                Some(at) if at > now => { (badge("pending", "maintenance")) " starts " (format::when(at, now)) ", ends " (format::when(s.ends_at, now)) }
                _ if s.until_resolved => { (badge("acknowledged", "silenced")) " until it resolves" }
                _ => { (badge("acknowledged", "silenced")) " ends " (format::when(s.ends_at, now)) }
            }
            @if let Some(c) = &s.comment { " · " (c) }
        }
    }
}

/// What holds alerts back besides their own state: the silences, and the monitors they depend on
/// that fail.
pub struct Holds {
    /// Every silence (those ended are passed over).
    pub silences: Vec<SilenceRow>,
    /// The monitors some of the alerts depend on that fire now.
    pub failing_parents: std::collections::HashSet<String>,
}

impl Holds {
    /// The silences, and which of the parents of `rows` fire.
    pub async fn read(store: &dyn vigil_store::AlertingStore, rows: &[&[AlertRow]]) -> Result<Holds, ApiError> {
        let parents: Vec<String> =
            rows.iter().flat_map(|r| r.iter()).flat_map(|a| stored(a).request.depends_on).collect();
        let failing_parents = store.firing_names(&parents).await.map_err(ApiError::from)?.into_iter().collect();
        Ok(Holds { silences: store.silences().await.map_err(ApiError::from)?, failing_parents })
    }
}

/// A table of alerts with their ack and silence actions, and what holds each back (silences,
/// maintenance windows, a failing monitor it depends on); `back` is where actions return.
pub fn table(viewer: &Viewer, rows: &[AlertRow], holds: &Holds, now: Millis, back: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "No alerts." }
        } @else {
            table {
                thead { tr { th { "Alert" } th { "State" } th.wide { "Tier" } th { "Since" } th.wide { "Last told" } th { "" } } }
                tbody {
                    @for a in rows {
                        @let (class, text) = condition(a);
                        @let Stored { state: st, request } = stored(a);
                        tr data-alert=(a.dedup_key) {
                            td {
                                b { (a.name) } br;
                                @if !request.summary.is_empty() { (request.summary) br; }
                                span.mono.muted { (a.dedup_key) }
                                @if a.condition != "ok" {
                                    @let labels = if request.labels.is_empty() { &st.labels } else { &request.labels };
                                    @for s in covering(&holds.silences, &a.name, labels, now) { br; (silence_note(s, now)) }
                                    @for p in request.depends_on.iter().filter(|p| holds.failing_parents.contains(*p)) {
                                        br; span.held-note { (badge("pending", "held")) " depends on " b { (p) } ", which fails" }
                                    }
                                }
                            }
                            td { (badge(class, text)) }
                            td.wide { (badge(st.tier.as_str(), st.tier.as_str())) }
                            td { @if let Some(at) = a.firing_since { (format::when(at, now)) } @else { (format::when(a.updated_at, now)) } }
                            td.wide { @if let Some(at) = a.last_notified { (format::when(at, now)) } @else { "–" } }
                            td {
                                div.actions {
                                    @if a.condition == "firing" && !a.acknowledged && viewer.can_respond() {
                                        form.inline method="post" action="/ui/alerts/ack" {
                                            (csrf(viewer))
                                            input type="hidden" name="dedupKey" value=(a.dedup_key);
                                            input type="hidden" name="back" value=(back);
                                            button type="submit" { "Ack" }
                                        }
                                    }
                                    @if a.condition != "ok" && viewer.can_respond() {
                                        (silence_form(viewer, &Silence::matchers_for(&a.name, if request.labels.is_empty() { &st.labels } else { &request.labels }), back))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A small form that creates a silence for `matchers`, for a chosen time.
pub fn silence_form(viewer: &Viewer, matchers: &BTreeMap<String, String>, back: &str) -> Markup {
    html! {
        details.silence {
            summary { "Silence…" }
            form.stack method="post" action="/ui/silences" {
                (csrf(viewer))
                input type="hidden" name="back" value=(back);
                fieldset {
                    legend { "Matchers (an alert must have all)" }
                    @for (k, v) in matchers {
                        label { input type="checkbox" name="matcher" value={(k) "=" (v)} checked; span.mono { (k) "=" (v) } }
                    }
                }
                label { "For" select name="duration" {
                    option value="30m" { "30 minutes" }
                    option value="1h" { "1 hour" }
                    option value="2h" selected { "2 hours" }
                    option value="8h" { "8 hours" }
                    option value="24h" { "1 day" }
                    option value="7d" { "7 days" }
                    option value="resolved" { "Until it resolves (at most 7 days)" }
                } }
                label { "Starts (empty: now)"
                    input type="text" name="starts" placeholder="3h, 2026-12-01 22:00 Europe/Berlin, or RFC 3339"; }
                label { "Why" input type="text" name="comment" maxlength="500" placeholder="maintenance, known issue…"; }
                button type="submit" { "Create silence" }
            }
        }
    }
}

/// `GET /ui/alerts`.
pub async fn page(
    State(app): State<AppState>,
    access: Access,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<super::DoneQuery>,
) -> UiResult<Markup> {
    let store = app.engine.alert_rows();
    let now = app.engine.now();
    // Active alerts are few; resolved ones are kept for days and may be many, so only the newest
    // shown are read.
    let mut active = vigil_runtime::alert_rows::read(&*store, true, ACTIVE_READ, now).await.map_err(ApiError::from)?;
    let sees = |a: &AlertRow| access.role_on(access.alert_owner(&a.name, &a.state).as_deref()).is_some();
    active.retain(sees);
    active.sort_by_key(|a| (a.condition != "firing", a.acknowledged, std::cmp::Reverse(a.firing_since)));
    let mut resolved = store.resolved_alerts(RESOLVED_SHOWN as u32).await.map_err(ApiError::from)?;
    resolved.retain(sees);
    let mut record: HashMap<String, Vec<OutboxEntry>> = HashMap::new();
    for a in active.iter().take(RECORDS_SHOWN).chain(resolved.iter()) {
        let told = store.alert_outbox(&a.dedup_key, OUTBOX_PER_ALERT).await.map_err(ApiError::from)?;
        if !told.is_empty() {
            record.insert(a.dedup_key.clone(), told);
        }
    }
    let holds = Holds::read(&*store, &[&active, &resolved]).await?;
    let silences: Vec<&SilenceRow> = holds
        .silences
        .iter()
        .filter(|s| s.ends_at > now && access.role_on(access.stored_silence_owner(s).as_deref()).is_some())
        .collect();
    let covered = |rows: &[AlertRow]| table(&viewer, rows, &holds, now, "/ui/alerts");
    let body = html! {
        (layout::flash(q.done.as_deref()))
        h2 { "Active" }
        section.panel #active { (covered(&active)) }
        h2 { "Who was told what" }
        section.panel #told {
            @let shown: Vec<&AlertRow> = active.iter().chain(resolved.iter()).filter(|a| record.contains_key(&a.dedup_key)).collect();
            @if shown.is_empty() { p.muted { "Nothing sent yet." } }
            @for a in shown {
                details open[a.condition == "firing"] {
                    summary { b { (a.name) } " " span.mono.muted { (a.dedup_key) } }
                    (outbox_table(&record[&a.dedup_key], now))
                }
            }
        }
        h2 { "Recently resolved" }
        section.panel #resolved { (covered(&resolved)) }
        h2 { "Silences" }
        section.panel #silences {
            @if silences.is_empty() { p.muted { "No active silence." } }
            @else {
                table {
                    thead { tr { th { "Matchers" } th { "Starts" } th { "Ends" } th.wide { "Why" } th { "" } } }
                    tbody {
                        @for s in silences.iter().copied() {
                            @let matchers: BTreeMap<String, String> = serde_json::from_str(&s.matchers).unwrap_or_default();
                            tr data-silence=(s.id) {
                                td.mono { @for (k, v) in &matchers { (k) "=" (v) " " } }
                                td { @match s.starts_at { Some(at) if at > now => { (badge("pending", "to come")) " " (format::when(at, now)) }, _ => "now" } }
                                td { @if s.until_resolved { "when resolved, at the latest " } (format::when(s.ends_at, now)) }
                                td.wide { (s.comment.clone().unwrap_or_default()) }
                                td { (layout::action_button(&viewer, &format!("/ui/silences/{}/expire", query_escape(&s.id)), "Expire", "danger", Some("Expire this silence now?"))) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::Alerts, "Alerts and silences", body))
}

/// The record of one alert's notices: notice, notifier, status and when, attempts, summary and the
/// last error.
pub fn outbox_table(entries: &[OutboxEntry], now: Millis) -> Markup {
    html! {
        table {
            thead { tr { th { "Notice" } th { "Notifier" } th { "Status" } th.num { "Attempts" } th { "Created" } th.wide { "Summary" } th { "Last error" } } }
            tbody {
                @for e in entries {
                    @let summary = serde_json::from_str::<serde_json::Value>(&e.message).ok().and_then(|m| m["summary"].as_str().map(str::to_string)).unwrap_or_default();
                    @let status = match e.status { OutboxStatus::Pending => "pending", OutboxStatus::Delivered => "completed", OutboxStatus::Failed => "failed" };
                    @let text = match e.status { OutboxStatus::Pending => "pending", OutboxStatus::Delivered => "delivered", OutboxStatus::Failed => "failed" };
                    tr {
                        td { (e.notice) }
                        td { (e.notifier) }
                        td { (badge(status, text)) @if let Some(at) = e.finished_at { " " (format::when(at, now)) } }
                        td.num { (e.attempts) }
                        td { (format::when(e.created_at, now)) }
                        td.wide { (summary) }
                        td { (e.last_error.clone().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// The ack form.
#[derive(Debug, Deserialize)]
pub struct AckForm {
    #[serde(rename = "dedupKey")]
    dedup_key: String,
    back: Option<String>,
}

/// `POST /ui/alerts/ack`.
pub async fn ack(State(app): State<AppState>, access: Access, Form(f): Form<AckForm>) -> UiResult<Response> {
    let row = app.engine.alert_rows().alert(&f.dedup_key).await.map_err(ApiError::from)?;
    let owner = row.as_ref().and_then(|a| access.alert_owner(&a.name, &a.state));
    access.check_owned(owner.as_deref(), Role::Respond, || format!("alert `{}`", f.dedup_key))?;
    if !app.engine.acknowledge(&f.dedup_key).await {
        return Err(ApiError::not_found(format!("no firing alert has dedup key `{}`", f.dedup_key)).into());
    }
    Ok(done(super::local_path(f.back.as_deref(), "/ui/alerts"), "acked"))
}

/// `POST /ui/silences`: `matcher=k=v` fields (repeated), `duration`, `comment`.
pub async fn add_silence(State(app): State<AppState>, access: Access, body: axum::body::Bytes) -> UiResult<Response> {
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::invalid("form", e))?;
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let matchers: BTreeMap<String, String> = fields
        .iter()
        .filter(|(k, _)| k == "matcher")
        .filter_map(|(_, v)| v.split_once('=').map(|(a, b)| (a.to_string(), b.to_string())))
        .collect();
    if matchers.is_empty() {
        return Err(ApiError::invalid("matcher", "tick at least one label for the silence to match").into());
    }
    access.check_silence(&matchers)?;
    let duration = get("duration").unwrap_or("2h");
    let until_resolved = duration == "resolved";
    let length = if until_resolved {
        vigil_runtime::until_resolved::LONGEST_MS
    } else {
        parse_duration(duration).map_err(|e| ApiError::invalid("duration", e))?
    };
    if length <= 0 {
        return Err(ApiError::invalid("duration", "must be positive").into());
    }
    let now = app.engine.now();
    // A maintenance window to come: a duration from now, a zoned local time, or RFC 3339.
    let start = match get("starts").map(str::trim).filter(|t| !t.is_empty()) {
        None => now,
        Some(text) => parse_duration(text)
            .map(|d| now + d)
            .or_else(|_| vigil_core::time::parse_until(text))
            .map_err(|e| ApiError::invalid("starts", e))?
            .max(now),
    };
    let comment = get("comment").map(str::trim).filter(|c| !c.is_empty()).map(|c| c.chars().take(500).collect());
    let row = SilenceRow {
        id: format!("s-{}", vigil_runtime::new_instance_id()),
        matchers: serde_json::to_string(&matchers).map_err(ApiError::internal)?,
        ends_at: start + length,
        starts_at: (start > now).then_some(start),
        created_at: now,
        comment,
        created_by: access.author(),
        until_resolved,
    };
    let store = app.engine.alert_rows();
    if until_resolved
        && !vigil_runtime::until_resolved::matches_firing(&*store, &row, now).await.map_err(ApiError::from)?
    {
        return Err(ApiError::invalid(
            "duration",
            "nothing that fires matches: a silence until it resolves would end at once",
        )
        .into());
    }
    store.put_silence(&row).await.map_err(ApiError::from)?;
    tracing::info!(silence = %row.id, ends = %format_millis(row.ends_at), "Silence created in the UI.");
    Ok(done(super::local_path(get("back"), "/ui/alerts"), "silenced"))
}

/// `POST /ui/silences/{id}/expire`.
pub async fn expire_silence(
    State(app): State<AppState>,
    access: Access,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> UiResult<Response> {
    let silences = app.engine.alert_rows().silences().await.map_err(ApiError::from)?;
    let owner = silences.iter().find(|s| s.id == id).and_then(|s| access.stored_silence_owner(s));
    access.check_owned(owner.as_deref(), Role::Respond, || format!("silence `{id}`"))?;
    if !app.engine.alert_rows().delete_silence(&id).await.map_err(ApiError::from)? {
        return Err(ApiError::not_found(format!("silence `{id}` does not exist")).into());
    }
    Ok(done("/ui/alerts", "expired"))
}
