//! Status pages for operators: each page with its public address, and on a page's own screen its
//! incidents, a form to open one and, under each incident opened here or through the API, a
//! form to post an update (a write role), its scheduled maintenance
//! ([`super::maintenance`]) and its subscribers. Incidents declared in a page's file
//! change there.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use vigil_core::principal::Role;
use vigil_core::status_page::{Incident, IncidentStatus, State as Shown, StatusPageDef};
use vigil_core::team::ObjectKind;
use vigil_core::time::Millis;
use vigil_runtime::status_pages::incidents::{NewIncident, NewUpdate, RECENT};

use crate::access::Access;
use crate::ui::format::{self, query_escape};
use crate::ui::layout::{self, Nav, csrf};
use crate::ui::session::Viewer;
use crate::ui::{UiResult, done};
use crate::{ApiError, AppState};

const IMPACTS: [Shown; 5] =
    [Shown::MajorOutage, Shown::PartialOutage, Shown::Degraded, Shown::Maintenance, Shown::Operational];
const STATUSES: [IncidentStatus; 4] =
    [IncidentStatus::Investigating, IncidentStatus::Identified, IncidentStatus::Monitoring, IncidentStatus::Resolved];

/// The words of a status as the forms send it.
fn status_value(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Investigating => "investigating",
        IncidentStatus::Identified => "identified",
        IncidentStatus::Monitoring => "monitoring",
        IncidentStatus::Resolved => "resolved",
    }
}

/// `GET /ui/status-pages`.
pub async fn list(
    State(app): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    access: Access,
    Query(q): Query<crate::ui::DoneQuery>,
) -> UiResult<Markup> {
    let all = app.engine.status_pages().all();
    let pages: Vec<_> = all.iter().filter(|p| access.sees(ObjectKind::StatusPages, &p.slug)).collect();
    let now = app.engine.now();
    let mut open = Vec::with_capacity(pages.len());
    for p in pages.iter() {
        let incidents = app.engine.status_pages().incidents(&p.slug, now, now + 1).await.map_err(ApiError::from)?;
        open.push(incidents.iter().filter(|i| i.resolved_at().is_none()).count());
    }
    let body = html! {
        (layout::flash(q.done.as_deref()))
        @if access.everywhere(Role::Write) { p { a.button #new-page href="/ui/status-pages/new" { "New status page" } } }
        section.panel {
            @if pages.is_empty() {
                p.muted { "No status page: write one here, or declare one in the config directory's status-pages/ (docs/status-pages.md)." }
            } @else {
                table {
                    thead { tr { th { "Page" } th { "Public address" } th.num { "Components" } th.num { "Open incidents" } } }
                    tbody {
                        @for (p, open) in pages.iter().zip(&open) {
                            tr {
                                td { a href={ "/ui/status-pages/" (query_escape(&p.slug)) } { (p.title) } }
                                td.mono { a href={ "/status/" (p.slug) } { "/status/" (p.slug) } }
                                td.num { (p.components.len()) }
                                td.num { (open) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::StatusPages, "Status pages", body))
}

/// `GET /ui/status-pages/{slug}`.
pub async fn page(
    State(app): State<AppState>,
    Extension(whole): Extension<Viewer>,
    access: Access,
    Path(slug): Path<String>,
    Query(q): Query<crate::ui::DoneQuery>,
) -> UiResult<Markup> {
    access.check(ObjectKind::StatusPages, &slug, Role::Read)?;
    // Its forms show what the viewer may do on this page.
    let viewer = whole.on_object(access.role_on_named(ObjectKind::StatusPages, &slug));
    let page = app
        .engine
        .status_pages()
        .all()
        .iter()
        .find(|p| p.slug == slug)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no status page `{slug}`")))?;
    let now = app.engine.now();
    let incidents = app.engine.status_pages().incidents(&slug, now - RECENT, now + 1).await.map_err(ApiError::from)?;
    let windows = app.engine.status_pages().maintenance_windows(&slug, now - RECENT).await.map_err(ApiError::from)?;
    let path = format!("/ui/status-pages/{}", query_escape(&slug));
    // Addresses are people's: shown to those who may write, as the API does.
    let subscribers = match (viewer.can_write(), page.subscribers.is_some()) {
        (true, true) => Some(app.engine.status_pages().page_subscribers(&slug).await.map_err(ApiError::from)?),
        _ => None,
    };
    let body = html! {
        (layout::flash(q.done.as_deref()))
        section.panel {
            dl.facts {
                (layout::owner_facts(
                    access.teams(),
                    access.teams().owner_by_name(ObjectKind::StatusPages, &page.slug),
                    access.teams().folder_of(ObjectKind::StatusPages, &page.slug),
                ))
            }
            p {
                "Public at " a href={ "/status/" (page.slug) } { "/status/" (page.slug) }
                @if viewer.may_audit() { " · " (crate::ui::audit::link("status-page", &page.slug)) }
            }
            (super::editor::source_panel(&viewer, &page.slug, app.engine.status_pages().status_page_from_file(&page.slug)))
        }
        @if viewer.can_write() {
            h2 { "Open an incident" }
            section.panel { (open_form(&viewer, &page, &path)) }
        }
        (super::maintenance::section(&viewer, &page, &windows, &path, now))
        @if let Some(list) = &subscribers {
            h2 { "Subscribers" }
            section.panel { (subscriber_table(&viewer, list, &path, now)) }
        }
        h2 { "Incidents" }
        @if incidents.is_empty() { section.panel { p.muted { "No incident open or resolved in the last 14 days." } } }
        @for i in &incidents {
            @let declared = page.incidents.iter().any(|d| d.id == i.id);
            section.panel.incident {
                h3 { (i.title) }
                p.muted {
                    @if i.resolved_at().is_some() { "Resolved" } @else { (i.impact.words()) }
                    @if !i.components.is_empty() { " · " (i.components.join(", ")) }
                    @if declared { " · declared in the page's file" }
                }
                ol.updates reversed {
                    @for u in i.updates.iter().rev() {
                        li { strong { (u.status.words()) } " · " (format::when(u.at, now)) " · " (u.message) }
                    }
                }
                @if viewer.can_write() && !declared && i.resolved_at().is_none() {
                    (update_form(&viewer, i, &path))
                }
            }
        }
    };
    Ok(layout::page(&viewer, Nav::StatusPages, &format!("Status page {}", page.title), body))
}

/// A page's subscribers with a button each to remove it.
fn subscriber_table(viewer: &Viewer, list: &[vigil_store::SubscriberRow], path: &str, now: Millis) -> Markup {
    html! {
        @if list.is_empty() { p.muted { "No subscriber yet." } }
        @else {
            table #subscribers {
                thead { tr { th { "Kind" } th { "Address" } th { "Components" } th { "Confirmed" } th { "Since" } th { } } }
                tbody {
                    @for s in list {
                        @let components: Vec<String> = serde_json::from_str(&s.components).unwrap_or_default();
                        tr data-subscriber=(s.id) {
                            td { @if s.kind == vigil_runtime::status_pages::subscribers::FORM_WEBHOOK { "webhook (from the page)" } @else { (s.kind) } }
                            td.mono { (s.address) }
                            td { @if components.is_empty() { "all" } @else { (components.join(", ")) } }
                            td { @if let Some(at) = s.confirmed_at { (format::when(at, now)) } @else { "not yet" } }
                            td { (format::when(s.created_at, now)) }
                            td {
                                form method="post" action={ (path) "/subscribers/" (query_escape(&s.id)) "/remove" } {
                                    (csrf(viewer))
                                    button type="submit" aria-label={ "Remove " (s.address) } { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn impact_select(name: &str, id: &str, chosen: Option<Shown>, optional: bool) -> Markup {
    html! {
        select #(id) name=(name) {
            @if optional { option value="" { "unchanged" } }
            @for s in IMPACTS {
                option value=(s.as_str()) selected[chosen == Some(s)] { (s.words()) }
            }
        }
    }
}

fn status_select(id: &str, chosen: IncidentStatus) -> Markup {
    html! {
        select #(id) name="status" {
            @for s in STATUSES { option value=(status_value(s)) selected[s == chosen] { (s.words()) } }
        }
    }
}

fn open_form(viewer: &Viewer, page: &StatusPageDef, path: &str) -> Markup {
    html! {
        form.stack.open-incident method="post" action={ (path) "/incidents" } {
            (csrf(viewer))
            label for="incident-title" { "Title" }
            input #incident-title type="text" name="title" required maxlength="200";
            label for="incident-impact" { "Impact" }
            (impact_select("impact", "incident-impact", Some(Shown::MajorOutage), false))
            fieldset {
                legend { "Components (none: the whole page)" }
                @for c in &page.components {
                    label.choice { input type="checkbox" name="component" value=(c.name); " " (c.name) }
                }
            }
            label for="incident-status" { "Status" }
            (status_select("incident-status", IncidentStatus::Investigating))
            label for="incident-message" { "Message (Markdown)" }
            textarea #incident-message name="message" required rows="4" {}
            button.primary type="submit" { "Open the incident" }
        }
    }
}

fn update_form(viewer: &Viewer, i: &Incident, path: &str) -> Markup {
    let id = |what: &str| format!("{what}-{}", i.id);
    html! {
        form.stack.post-update method="post" action={ (path) "/incidents/" (query_escape(&i.id)) "/updates" } {
            (csrf(viewer))
            label for=(id("status")) { "Status" }
            (status_select(&id("status"), IncidentStatus::Monitoring))
            label for=(id("impact")) { "Impact" }
            (impact_select("impact", &id("impact"), None, true))
            label for=(id("message")) { "Message (Markdown)" }
            textarea id=(id("message")) name="message" required rows="3" {}
            button.primary type="submit" { "Post the update" }
        }
    }
}

fn fields(body: &Bytes) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ApiError::invalid("form", e))
}

fn one<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

fn parsed<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| ApiError::invalid(field, format!("`{value}` is not a choice here")))
}

/// `POST /ui/status-pages/{slug}/incidents`.
pub async fn open(
    State(app): State<AppState>,
    access: Access,
    Path(slug): Path<String>,
    body: Bytes,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let f = fields(&body)?;
    let new = NewIncident {
        title: one(&f, "title").unwrap_or_default().to_string(),
        impact: one(&f, "impact").map(|v| parsed("impact", v)).transpose()?.unwrap_or(Shown::MajorOutage),
        components: f.iter().filter(|(k, _)| k == "component").map(|(_, v)| v.clone()).collect(),
        status: one(&f, "status").map(|v| parsed("status", v)).transpose()?.unwrap_or(IncidentStatus::Investigating),
        message: one(&f, "message").unwrap_or_default().to_string(),
    };
    app.engine.status_pages().open_incident(&slug, new).await.map_err(ApiError::from)?;
    app.status_pages.drop_page(&slug);
    Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "incident-opened"))
}

/// `POST /ui/status-pages/{slug}/incidents/{id}/updates`.
pub async fn update(
    State(app): State<AppState>,
    access: Access,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    let f = fields(&body)?;
    let update = NewUpdate {
        status: parsed("status", one(&f, "status").unwrap_or_default())?,
        message: one(&f, "message").unwrap_or_default().to_string(),
        impact: one(&f, "impact").map(|v| parsed("impact", v)).transpose()?,
    };
    app.engine.status_pages().update_incident(&slug, &id, update).await.map_err(ApiError::from)?;
    app.status_pages.drop_page(&slug);
    Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "update-posted"))
}

/// `POST /ui/status-pages/{slug}/subscribers/{id}/remove`.
pub async fn remove_subscriber(
    State(app): State<AppState>,
    access: Access,
    Path((slug, id)): Path<(String, String)>,
) -> UiResult<Response> {
    access.check(ObjectKind::StatusPages, &slug, Role::Write)?;
    if !app.engine.status_pages().remove_subscriber(&slug, &id).await.map_err(ApiError::from)? {
        return Err(ApiError::not_found(format!("no subscriber `{id}` on `{slug}`")).into());
    }
    Ok(done(&format!("/ui/status-pages/{}", query_escape(&slug)), "subscriber-removed"))
}
