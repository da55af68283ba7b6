//! `/status/{slug}`: a public status page, for anyone, without a token or a session. It is
//! rendered on the server and works without JavaScript: the overall state, each component's
//! state and its last 90 days as bars (a day's uptime on hover, from an SVG `<title>`), light or
//! dark as the reader's system prefers. It shows only what the page declares.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use vigil_core::status_page::{Incident, Maintenance, State as Shown};
use vigil_runtime::status_pages::{ComponentView, Day, PageView};

use crate::AppState;
use crate::ui::format::percent;

pub(crate) mod cache;
mod feed;
mod history;
mod markdown;
mod subscribe;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status/{slug}", get(show))
        .route("/status/{slug}/history/{month}", get(history::show))
        .route("/status/{slug}/subscribe", axum::routing::post(subscribe::subscribe))
        .route("/status/{slug}/subscriptions/{id}/confirm", get(subscribe::confirm_page).post(subscribe::confirm))
        .route(
            "/status/{slug}/subscriptions/{id}/unsubscribe",
            get(subscribe::unsubscribe_page).post(subscribe::unsubscribe),
        )
        .route("/status/{slug}/{file}", get(feed::show))
}

async fn show(State(app): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Response {
    let now = app.engine.now();
    let rendered = app
        .status_pages
        .get(&slug, now, async || match app.engine.status_pages().status_page_view(&slug).await {
            None => Ok(None),
            Some(Ok(view)) => Ok(Some(render(&view).into_string())),
            Some(Err(e)) => Err(e),
        })
        .await;
    match rendered {
        Ok(Some(page)) => respond(&page, &headers),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, slug, "Could not read a status page's history.");
            let page = simple("Status unavailable", "This status page cannot be shown right now. Try again shortly.");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")], page).into_response()
        }
    }
}

/// A kept rendering: 304 when the reader has it (by `If-None-Match`, else `If-Modified-Since`),
/// gzipped when the reader takes gzip.
fn respond(page: &cache::Rendered, headers: &HeaderMap) -> Response {
    let last_modified = http_date(page.changed_at);
    let validators = [
        (header::CACHE_CONTROL, "public, max-age=10".to_string()),
        (header::ETAG, page.etag.clone()),
        (header::LAST_MODIFIED, last_modified),
        (header::VARY, "Accept-Encoding".to_string()),
    ];
    let tags = headers.get_all(header::IF_NONE_MATCH);
    let unchanged = if tags.iter().next().is_some() {
        tags.iter().any(|v| matches_tag(v, &page.etag))
    } else {
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .is_some_and(|since| since >= page.changed_at)
    };
    if unchanged {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    if takes_gzip(headers) {
        (validators, html, [(header::CONTENT_ENCODING, "gzip")], page.gzip.clone()).into_response()
    } else {
        (validators, html, page.html.clone()).into_response()
    }
}

/// Whether the reader takes gzip (`Accept-Encoding`, a `q` of 0 refusing it).
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it
                .any(|p| p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        },
    )
}

/// An HTTP date (RFC 9110's IMF-fixdate).
fn http_date(at: vigil_core::time::Millis) -> String {
    jiff::Timestamp::from_millisecond(at)
        .map_or_else(|_| String::new(), |t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

fn parse_http_date(text: &str) -> Option<vigil_core::time::Millis> {
    jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(text.trim()).ok().map(|t| t.as_millisecond())
}

/// A page rendered for this request (not kept) with its validator, or 304 when the reader has
/// it.
fn cached(html: String, headers: &HeaderMap) -> Response {
    let tag = cache::etag(&html);
    let validators = [(header::CACHE_CONTROL, "public, max-age=10".to_string()), (header::ETAG, tag.clone())];
    if headers.get_all(header::IF_NONE_MATCH).iter().any(|v| matches_tag(v, &tag)) {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    (validators, axum::response::Html(html)).into_response()
}

/// Whether an `If-None-Match` value names `tag` (or is `*`), compared weakly as RFC 9110 asks.
fn matches_tag(value: &HeaderValue, tag: &str) -> bool {
    let Ok(value) = value.to_str() else { return false };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    value.split(',').any(|t| t.trim() == "*" || bare(t) == bare(tag))
}

pub(crate) fn not_found() -> Response {
    let page = simple("No such status page", "There is no status page at this address.");
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], page).into_response()
}

fn simple(title: &str, text: &str) -> axum::response::Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" { (head(title)) body { main { h1 { (title) } p { (text) } } } }
    };
    axum::response::Html(markup.into_string())
}

/// The page's styles, inline: the page is one request, and small.
const STYLE: &str = "\
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5c6670;--line:#d8dee4;--card:#f6f8fa;\
--up:#1f883d;--minor:#9a6700;--partial:#bc4c00;--major:#cf222e;--maint:#0969da;--none:#c4ccd4;--on:#fff}\
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;\
--card:#161b22;--up:#3fb950;--minor:#d29922;--partial:#f0883e;--major:#f85149;--maint:#58a6ff;--none:#3d444d;\
--on:#0d1117}}\
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);\
font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{max-width:52rem;margin:0 auto;padding:2rem 1rem}header{display:flex;gap:1rem;align-items:center}\
header img{max-height:3rem;max-width:8rem}h1{margin:0;font-size:1.75rem}.muted{color:var(--muted)}\
.overall{margin:1.5rem 0;padding:1rem 1.25rem;border-radius:.5rem;color:var(--on);font-weight:600;font-size:1.2rem}\
.components{list-style:none;margin:0;padding:0;border:1px solid var(--line);border-radius:.5rem}\
.components li{padding:1rem 1.25rem;border-top:1px solid var(--line)}.components li:first-child{border-top:0}\
.row{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}.name{font-weight:600}\
.desc{margin:.25rem 0 0;font-size:.9rem}svg.bars{display:block;width:100%;height:2.25rem;margin-top:.75rem}\
.legend{display:flex;justify-content:space-between;font-size:.8rem}\
.s-operational{color:var(--up)}.s-degraded{color:var(--minor)}.s-partial_outage{color:var(--partial)}\
.s-major_outage{color:var(--major)}.s-maintenance{color:var(--maint)}.s-none{color:var(--muted)}\
.b-operational{background:var(--up)}.b-degraded{background:var(--minor)}.b-partial_outage{background:var(--partial)}\
.b-major_outage{background:var(--major)}.b-maintenance{background:var(--maint)}.b-none{background:var(--muted)}\
.d-up{fill:var(--up)}.d-minor{fill:var(--minor)}.d-partial{fill:var(--partial)}.d-major{fill:var(--major)}\
.d-none{fill:var(--none)}svg.bars rect{y:0;width:4px;height:30px;rx:1px}\
footer{margin-top:2rem;font-size:.85rem}h2{font-size:1.25rem;margin:2rem 0 .75rem}\
.incident{border:1px solid var(--line);border-left:.35rem solid var(--major);border-radius:.5rem;\
padding:.75rem 1.25rem;margin:1rem 0}.incident.i-resolved{border-left-color:var(--up)}.incident.i-maintenance{border-left-color:var(--maint)}\
.incident h3{margin:.25rem 0;font-size:1.1rem}.update{margin:.75rem 0}.update p{margin:.25rem 0}\
.when{font-size:.85rem}.subscribe .row{display:flex;gap:.5rem;flex-wrap:wrap;margin:.25rem 0}\
.subscribe input[type=email]{flex:1;min-width:12rem;padding:.5rem;font:inherit;color:inherit;background:var(--bg);\
border:1px solid var(--muted);border-radius:.35rem}.subscribe button,main form button{padding:.5rem 1rem;font:inherit;\
color:#fff;background:#0969da;border:0;border-radius:.35rem;cursor:pointer}.choice{display:block;margin:.25rem 0}\
.error{color:var(--major)}";

pub(crate) fn head(title: &str) -> Markup {
    head_of(title, None)
}

/// The head of page `slug`'s own pages: with its feeds announced, so feed readers and browsers
/// find them from the page's address (`<link rel="alternate">`, RSS and Atom).
/// `feeds_of` is the page's slug and title.
pub(crate) fn head_of(title: &str, feeds_of: Option<(&str, &str)>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) }
            @if let Some((slug, name)) = feeds_of {
                link rel="alternate" type="application/atom+xml" title={ (name) " (Atom)" } href={ "/status/" (slug) "/feed.atom" };
                link rel="alternate" type="application/rss+xml" title={ (name) " (RSS)" } href={ "/status/" (slug) "/feed.rss" };
            }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// The page.
pub fn render(view: &PageView) -> Markup {
    let page = &view.page;
    let (overall_class, overall_words) = match view.overall {
        Some(Shown::Operational) => ("operational", "All systems operational"),
        Some(state) => (state.as_str(), state.words()),
        None => ("none", "No checks yet"),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head_of(&page.title, Some((&page.slug, &page.title))))
            body {
                main {
                    header {
                        @if let Some(logo) = &page.logo { img src=(logo) alt=""; }
                        div {
                            h1 { (page.title) }
                            @if let Some(d) = &page.description { p.muted { (d) } }
                        }
                    }
                    section class={ "overall b-" (overall_class) } role="status" { (overall_words) }
                    @let (open, past): (Vec<&Incident>, Vec<&Incident>) =
                        view.incidents.iter().partition(|i| i.resolved_at().is_none());
                    @if !open.is_empty() {
                        section aria-label="Current incidents" { @for i in open { (incident(i)) } }
                    }
                    (maintenance(page, view.at))
                    ul.components {
                        @for c in &view.components { (component(c)) }
                    }
                    section {
                        h2 { "Past incidents" }
                        @if past.is_empty() { p.muted { "No incidents in the last 14 days." } }
                        @for i in past { (incident(i)) }
                        p {
                            a href={ "/status/" (page.slug) "/history/" (history::month_of(view.at)) } { "Incident history" }
                            " · " a href={ "/status/" (page.slug) "/feed.atom" } { "Atom feed" }
                            " · " a href={ "/status/" (page.slug) "/feed.rss" } { "RSS feed" }
                        }
                    }
                    (subscribe::form(page))
                    footer.muted {
                        "Uptime over the last 90 days: " (percent(view.uptime())) ". Updated "
                        (crate::ui::format::in_zone(view.at, "UTC")) "."
                    }
                }
            }
        }
    }
}

/// Scheduled maintenance under way or to come, soonest first: of a recurring window, its
/// occurrence under way or next, and how it repeats.
fn maintenance(page: &vigil_core::status_page::StatusPageDef, now: vigil_core::time::Millis) -> Markup {
    let mut windows: Vec<(Maintenance, Option<String>)> = page
        .maintenance
        .iter()
        .filter_map(|m| Some((m.current_or_next(now)?, m.repeat.as_ref().map(|r| r.describe()))))
        .collect();
    windows.sort_by_key(|(m, _)| m.starts);
    let at = |ms| crate::ui::format::in_zone(ms, "UTC");
    html! {
        @if !windows.is_empty() {
            section aria-label="Scheduled maintenance" {
                h2 { "Scheduled maintenance" }
                @for (m, repeats) in &windows {
                    article.incident.i-maintenance {
                        h3 { (m.title) }
                        p.muted.when {
                            @if m.active(now) { "In progress" } @else { "Scheduled" }
                            " · " (at(m.starts)) " to " (at(m.ends))
                            @if !m.components.is_empty() { " · " (m.components.join(", ")) }
                        }
                        @if let Some(repeats) = repeats { p.muted.repeats { "Repeats " (repeats) } }
                        @if let Some(text) = &m.message { div.update { (PreEscaped(markdown::render(text))) } }
                    }
                }
            }
        }
    }
}

/// An incident: its title, what it affects, and its updates, newest first.
fn incident(i: &Incident) -> Markup {
    let resolved = i.resolved_at().is_some();
    html! {
        article class={ "incident" @if resolved { " i-resolved" } } {
            h3 { (i.title) }
            p.muted.when {
                @if resolved { "Resolved" } @else { (i.impact.words()) }
                @if !i.components.is_empty() { " · " (i.components.join(", ")) }
            }
            @for u in i.updates.iter().rev() {
                div.update {
                    strong { (u.status.words()) } " "
                    span.muted.when { (crate::ui::format::in_zone(u.at, "UTC")) }
                    (PreEscaped(markdown::render(&u.message)))
                }
            }
            @if let Some(review) = &i.postmortem {
                details { summary { "Post-mortem" } (PreEscaped(markdown::render(review))) }
            }
        }
    }
}

fn component(c: &ComponentView) -> Markup {
    let (class, words) = match c.state {
        Some(s) => (s.as_str(), s.words()),
        None => ("none", "No checks yet"),
    };
    html! {
        li {
            div.row {
                span.name { (c.name) }
                span class={ "s-" (class) } { (words) }
            }
            @if let Some(d) = &c.description { p.desc.muted { (d) } }
            (bars(c))
            div.legend.muted {
                span { "90 days ago" }
                span { (percent(c.uptime())) " uptime" }
                span { "Today" }
            }
        }
    }
}

/// Bar width and gap in the SVG's units (the width is also in `STYLE`).
const BAR: usize = 4;
const GAP: usize = 1;

fn bars(c: &ComponentView) -> Markup {
    let width = c.days.len() * (BAR + GAP) - GAP;
    let label = format!("{}: uptime over the last 90 days {}", c.name, percent(c.uptime()));
    html! {
        svg.bars viewBox={ "0 0 " (width) " 30" } preserveAspectRatio="none" role="img" aria-label=(label) {
            @for (i, day) in c.days.iter().enumerate() {
                // Its size is the style's (`svg.bars rect`): 90 bars a component, said once.
                rect x=(i * (BAR + GAP)) class={ "d-" (day_class(day)) } {
                    @if let Some(title) = day_title(day) { title { (title) } }
                }
            }
        }
    }
}

/// A day's colour: no checks, all passed, above 99 %, above 95 %, or worse.
pub fn day_class(day: &Day) -> &'static str {
    match day.uptime() {
        None => "none",
        Some(u) if u >= 1.0 => "up",
        Some(u) if u >= 0.99 => "minor",
        Some(u) if u >= 0.95 => "partial",
        Some(_) => "major",
    }
}

/// A day's words on hover; none for a day without checks (its grey says it).
fn day_title(day: &Day) -> Option<String> {
    let date = format_day(day.start);
    match day.uptime()? {
        _ if day.failing == 0 => Some(format!("{date}: 100%")),
        u => Some(format!("{date}: {}, {} of {} checks failed", percent(Some(u)), day.failing, day.checks)),
    }
}

fn format_day(at: vigil_core::time::Millis) -> String {
    jiff::Timestamp::from_millisecond(at).map_or_else(|_| at.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests;
