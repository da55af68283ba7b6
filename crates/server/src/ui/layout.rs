//! The page shell every UI page shares: a skip link, the navigation, who is signed in, and the
//! one stylesheet and script.

use maud::{DOCTYPE, Markup, html};

use super::session::{CSRF_FIELD, Viewer};

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`
    Overview,
    /// `/ui/monitors`
    Monitors,
    /// `/ui/alerts`
    Alerts,
    /// `/ui/instances`
    Instances,
    /// `/ui/workflows`
    Workflows,
    /// `/ui/schedules`
    Schedules,
    /// `/ui/cluster`
    Cluster,
    /// `/ui/status-pages`
    StatusPages,
    /// `/ui/account` (not in the bar: reached from the account's name)
    Account,
    /// `/ui/audit` (in the bar for admins)
    Audit,
}

const LINKS: [(Nav, &str, &str); 8] = [
    (Nav::Overview, "/", "Overview"),
    (Nav::Monitors, "/ui/monitors", "Monitors"),
    (Nav::Alerts, "/ui/alerts", "Alerts"),
    (Nav::Instances, "/ui/instances", "Instances"),
    (Nav::Workflows, "/ui/workflows", "Workflows"),
    (Nav::Schedules, "/ui/schedules", "Schedules"),
    (Nav::StatusPages, "/ui/status-pages", "Status pages"),
    (Nav::Cluster, "/ui/cluster", "Cluster"),
];

/// A whole page: `title` in the tab and as the heading, `body` under it.
pub fn page(viewer: &Viewer, active: Nav, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, true))
            body {
                a.skip href="#content" { "Skip to content" }
                header.top {
                    a.brand href="/" { "vigil" }
                    nav.main aria-label="Sections" {
                        @for (nav, href, text) in LINKS {
                            a href=(href) aria-current=[(nav == active).then_some("page")] { (text) }
                        }
                        @if viewer.may_audit() {
                            a href="/ui/audit" aria-current=[(active == Nav::Audit).then_some("page")] { "Audit" }
                        }
                    }
                    div.who {
                        span.live-dot title="not live" {}
                        @match viewer.role {
                            Some(role) => {
                                @if let Some(user) = &viewer.user {
                                    a href="/ui/account" { (user) } span { " · " (role.as_str()) }
                                } @else {
                                    span { "signed in · " (role.as_str()) }
                                }
                                form.inline method="post" action="/ui/signout" {
                                    (csrf(viewer))
                                    button type="submit" { "Sign out" }
                                }
                            }
                            None => span { "auth off" },
                        }
                    }
                }
                main #content tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page's `<head>`: `title` in the tab, the stylesheet, and the live-update script when
/// `script`.
pub fn head(title: &str, script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · vigil" }
            link rel="stylesheet" href=(super::assets::CSS_PATH);
            @if script { script src=(super::assets::JS_PATH) defer {} }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf); }
}

/// A one-button form that POSTs to `action` (shown only to viewers who may change things).
pub fn action_button(viewer: &Viewer, action: &str, text: &str, class: &str, confirm: Option<&str>) -> Markup {
    html! {
        @if viewer.can_write() {
            form.inline method="post" action=(action) data-confirm=[confirm] {
                (csrf(viewer))
                button type="submit" class=(class) { (text) }
            }
        }
    }
}

/// An object's owner as a page's facts show it: its team, and the config directory's folder it
/// is in (which may be why the team owns it).
pub fn owner_facts(teams: &vigil_core::team::Teams, owner: Option<&str>, folder: Option<&str>) -> Markup {
    let described = owner.and_then(|t| teams.get(t)).and_then(|t| t.description.clone());
    html! {
        dt { "Team" }
        dd { @match owner { Some(t) => { b { (t) } @if let Some(d) = described { " · " (d) } }, None => span.muted { "none (shared)" } } }
        @if let Some(f) = folder { dt { "Folder" } dd.mono { (f) "/" } }
    }
}

/// The status badge of a state class.
pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={"badge " (class)} { (text) } }
}

/// The message a redirect after an action carries in `?done=`: a fixed set, so a link cannot
/// put words of its own on the page.
pub fn flash(done: Option<&str>) -> Markup {
    let text = match done {
        Some("started") => "Started.",
        Some("terminated") => "Terminate requested.",
        Some("suspended") => "Suspend requested.",
        Some("resumed") => "Resume requested.",
        Some("retried") => "Retry requested.",
        Some("restarted") => "Restart requested.",
        Some("event") => "Event raised.",
        Some("acked") => "Acknowledged: reminders stop, and providers that support it were told.",
        Some("silenced") => "Silence created.",
        Some("expired") => "Silence expired.",
        Some("paused") => "Schedule paused.",
        Some("schedule-resumed") => "Schedule resumed.",
        Some("ran") => "Schedule started its workflow now.",
        Some("checked") => "Checked now: the results below are fresh.",
        Some("incident-opened") => "Incident opened: the public page shows it, and its subscribers are told.",
        Some("update-posted") => "Update posted: the public page shows it, and its subscribers are told.",
        Some("subscriber-removed") => "Subscriber removed: nothing more is sent to it.",
        Some("page-saved") => "Page saved: it is served at once, on every node within seconds.",
        Some("page-deleted") => "Page deleted: it is no longer served.",
        Some("maintenance-scheduled") => {
            "Maintenance scheduled: the public page shows it, and its subscribers are told."
        }
        Some("maintenance-ended") => {
            "Maintenance ended: the public page no longer shows it, and its subscribers are told."
        }
        Some("code") => "Your one-time code is set up: sign-ins now ask for it.",
        Some("token-revoked") => "Token revoked: it stops working on every node within 2 seconds.",
        _ => return html! {},
    };
    html! { p.flash role="status" { (text) } }
}
