//! A status page's scheduled maintenance for operators: the windows to come, under way and
//! recently ended (declared in the page's file or scheduled here and through the API), a form
//! to schedule one, and a button to cancel one to come or end one under way (a write role).
//! Subscribers are told of each.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use vigil_core::principal::Role;
use vigil_core::status_page::{DayName, Maintenance, Repeat, StatusPageDef};
use vigil_core::team::ObjectKind;
use vigil_core::time::{Millis, parse_duration, parse_until};
use vigil_runtime::status_pages::maintenance::NewMaintenance;

use crate::access::Access;
use crate::ui::format::{self, query_escape};
use crate::ui::layout::{badge, csrf};
use crate::ui::session::Viewer;
use crate::ui::{UiResult, done};
use crate::{ApiError, AppState};

/// The windows, and for a writer the buttons and the form.
pub fn section(viewer: &Viewer, page: &StatusPageDef, windows: &[Maintenance], path: &str, now: Millis) -> Markup {
    html! {
        h2 { "Scheduled maintenance" }
        section.panel {
            @if windows.is_empty() { p.muted { "No maintenance to come, under way or in the last 14 days." } }
            @else {
                table #maintenance {
                    thead { tr { th { "Title" } th { "State" } th { "Starts" } th { "Ends" } th { "Components" } th { } } }
                    tbody {
                        @for w in windows {
                            // A recurring window shows its occurrence under way or next.
                            @let shown = w.current_or_next(now).unwrap_or_else(|| w.clone());
                            tr data-window=(w.key()) {
                                td {
                                    (w.title)
                                    @if let Some(r) = &w.repeat { br; span.muted.repeats { "repeats " (r.describe()) } }
                                }
                                td {
                                    @if w.active(now) { (badge("running", "in progress")) }
                                    @else if w.upcoming(now) { (badge("scheduled", "scheduled")) }
                                    @else { (badge("completed", "completed")) }
                                }
                                td { (format::when(shown.starts, now)) }
                                td { (format::when(shown.ends, now)) }
                                td { @if w.components.is_empty() { "all" } @else { (w.components.join(", ")) } }
                                td {
                                    @if w.id.is_empty() { span.muted { "declared in the page's file" } }
                                    @else if viewer.can_write() && (w.active(now) || w.upcoming(now)) {
                                        form method="post" action={ (path) "/maintenance/" (query_escape(&w.id)) "/end" } {
                                            (csrf(viewer))
                                            @let verb = match (&w.repeat, w.active(now)) {
                                                (Some(_), _) => "Stop repeating",
                                                (None, true) => "End now",
                                                (None, false) => "Cancel",
                                            };
                                            button type="submit" aria-label={ (verb) " " (w.title) } { (verb) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if viewer.can_write() { (form(viewer, page, path)) }
        }
    }
}

fn form(viewer: &Viewer, page: &StatusPageDef, path: &str) -> Markup {
    html! {
        form.stack.schedule-maintenance method="post" action={ (path) "/maintenance" } {
            (csrf(viewer))
            label for="maintenance-title" { "Title" }
            input #maintenance-title type="text" name="title" required maxlength="200";
            fieldset {
                legend { "Components (none: the whole page)" }
                @for c in &page.components {
                    label.choice { input type="checkbox" name="component" value=(c.name); " " (c.name) }
                }
            }
            label for="maintenance-starts" { "Starts (empty: now)" }
            input #maintenance-starts type="text" name="starts" placeholder="3h, 2026-12-01 22:00 Europe/Berlin, or RFC 3339";
            label for="maintenance-for" { "Lasts (each time, when it repeats)" }
            input #maintenance-for type="text" name="for" required placeholder="1h30m";
            fieldset.repeat {
                legend { "Repeats" }
                label for="maintenance-every" { "Every" }
                select #maintenance-every name="every" {
                    option value="" { "never (once)" }
                    option value="day" { "day" }
                    option value="week" { "week" }
                    option value="month" { "month" }
                    option value="cron" { "cron expression" }
                }
                label for="maintenance-at" { "At (local time)" }
                input #maintenance-at type="text" name="at" placeholder="02:00";
                label for="maintenance-days" { "Days (weekdays, or days of the month)" }
                input #maintenance-days type="text" name="days" placeholder="mon, thu · or 1, 15, last";
                label for="maintenance-cron" { "Cron expression" }
                input #maintenance-cron type="text" name="cron" placeholder="0 2 * * 1-5";
                label for="maintenance-zone" { "Time zone" }
                input #maintenance-zone type="text" name="timezone" placeholder="UTC, or Europe/Berlin";
                label.choice { input type="checkbox" name="notify" value="1"; " Tell subscribers of each time" }
            }
            label for="maintenance-message" { "Message (Markdown)" }
            textarea #maintenance-message name="message" rows="3" {}
            button.primary type="submit" { "Schedule maintenance" }
        }
    }
}

/// `POST /ui/status-pages/{slug}/maintenance`.
pub async fn schedule(
    State(app): State<AppState>,
    access: Access,
    Path(slug): Path<String>,
    body: Bytes,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    // A window silences the page's monitors: it needs a responder's role on each.
    if let Some(page) = app.engine.status_pages().all().iter().find(|p| p.slug == slug) {
        crate::status_pages::access::check_page_monitors(&app, &access, page, Role::Respond).await?;
    }
    let f: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::invalid("form", e))?;
    let one = |name: &str| f.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let now = app.engine.now();
    let starts = match one("starts") {
        None => now,
        Some(text) => parse_duration(text)
            .map(|d| now + d)
            .or_else(|_| parse_until(text))
            .map_err(|e| ApiError::invalid("starts", e))?,
    };
    let length_text = one("for").unwrap_or_default();
    let length = parse_duration(length_text).map_err(|e| ApiError::invalid("for", e))?;
    if length <= 0 {
        return Err(ApiError::invalid("for", "must be positive").into());
    }
    let repeat = repeat_of(&one, length_text);
    let new = NewMaintenance {
        title: one("title").unwrap_or_default().to_string(),
        message: one("message").map(str::to_string),
        components: f.iter().filter(|(k, _)| k == "component").map(|(_, v)| v.clone()).collect(),
        starts,
        // A series runs until it is stopped.
        ends: if repeat.is_some() { 0 } else { starts + length },
        repeat,
    };
    app.engine.status_pages().schedule_maintenance(&slug, new).await.map_err(ApiError::from)?;
    app.status_pages.drop_page(&slug);
    Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "maintenance-scheduled"))
}

/// The form's repetition, when "Repeats" is not "never".
fn repeat_of<'a>(one: &impl Fn(&str) -> Option<&'a str>, length: &str) -> Option<Repeat> {
    let every = one("every")?;
    let (every, cron) = if every == "cron" { (None, one("cron")) } else { (Some(every), None) };
    let days = one("days")
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<i8>().map_or_else(|_| DayName::Name(d.to_string()), DayName::Number))
        .collect();
    Some(Repeat {
        every: every.map(str::to_string),
        days: if cron.is_some() { Vec::new() } else { days },
        at: one("at").filter(|_| cron.is_none()).map(str::to_string),
        // An empty expression is refused by name rather than taken as "every".
        cron: if every.is_none() { Some(cron.unwrap_or_default().to_string()) } else { None },
        timezone: one("timezone").map(str::to_string),
        length: length.to_string(),
        notify: one("notify").is_some(),
    })
}

/// `POST /ui/status-pages/{slug}/maintenance/{id}/end`.
pub async fn end(
    State(app): State<AppState>,
    access: Access,
    Path((slug, id)): Path<(String, String)>,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    app.engine.status_pages().end_maintenance(&slug, &id).await.map_err(ApiError::from)?;
    app.status_pages.drop_page(&slug);
    Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "maintenance-ended"))
}
