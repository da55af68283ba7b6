//! `/status/{slug}/feed.rss` and `/status/{slug}/feed.atom`: a page's incidents and scheduled
//! maintenance of the last 90 days (and the maintenance to come) as RSS 2.0 and Atom 1.0, one
//! item per incident (its updates, newest first, as HTML) and per window, for readers who
//! follow the page in a feed reader. Links are absolute: under `--public-url`
//! when it is set, else the address the reader used.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vigil_core::status_page::{Incident, Maintenance};
use vigil_core::time::Millis;

use crate::AppState;

/// How far back a feed goes.
const FEED_SPAN: Millis = 90 * 86_400_000;

/// Escapes `text` for XML character data and double-quoted attribute values; the control
/// characters XML 1.0 does not allow are left out.
fn xml(text: &str) -> String {
    let allowed: String = text.chars().filter(|c| *c >= ' ' || matches!(c, '\t' | '\n' | '\r')).collect();
    maud::html! { (allowed) }.into_string()
}

/// The incident's updates, newest first, as HTML.
fn html_of(i: &Incident) -> String {
    let mut out = String::new();
    for u in i.updates.iter().rev() {
        out.push_str(&format!(
            "<p><strong>{}</strong> ({})</p>{}",
            u.status.words(),
            crate::ui::format::in_zone(u.at, "UTC"),
            super::markdown::render(&u.message)
        ));
    }
    out
}

fn rfc2822(at: Millis) -> String {
    jiff::Timestamp::from_millisecond(at).map_or_else(
        |_| String::new(),
        |t| jiff::fmt::rfc2822::to_string(&t.to_zoned(jiff::tz::TimeZone::UTC)).unwrap_or_default(),
    )
}

fn rfc3339(at: Millis) -> String {
    jiff::Timestamp::from_millisecond(at)
        .map_or_else(|_| String::new(), |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn last_update(i: &Incident) -> Millis {
    i.updates.iter().map(|u| u.at).max().unwrap_or_default()
}

/// One item of a feed.
struct Entry {
    title: String,
    /// Unique within the page (`incidents/<id>`, `maintenance/<key>`).
    id: String,
    updated: Millis,
    published: Millis,
    html: String,
}

impl Entry {
    fn of_incident(i: &Incident) -> Self {
        Entry {
            title: i.title.clone(),
            id: format!("incidents/{}", i.id),
            updated: last_update(i),
            published: i.opened_at(),
            html: html_of(i),
        }
    }

    /// A window, dated by its start (its end once over), its times and components first.
    fn of_window(w: &Maintenance, now: Millis) -> Self {
        let state = if w.active(now) {
            "In progress"
        } else if w.upcoming(now) {
            "Scheduled"
        } else {
            "Completed"
        };
        let mut html = format!(
            "<p><strong>{state}</strong> ({} to {})",
            crate::ui::format::in_zone(w.starts, "UTC"),
            crate::ui::format::in_zone(w.ends, "UTC")
        );
        if !w.components.is_empty() {
            html.push_str(&format!(" · {}", xml(&w.components.join(", "))));
        }
        html.push_str("</p>");
        if let Some(text) = &w.message {
            html.push_str(&super::markdown::render(text));
        }
        Entry {
            title: format!("Maintenance: {}", w.title),
            id: format!("maintenance/{}", w.key()),
            updated: if now >= w.ends { w.ends } else { w.starts },
            published: w.starts,
            html,
        }
    }
}

/// The address readers reach this server at.
fn base(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &app.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

pub(super) async fn show(
    State(app): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let atom = match file.as_str() {
        "feed.atom" => true,
        "feed.rss" => false,
        _ => return super::not_found(),
    };
    let Some(page) = app.engine.status_pages().all().iter().find(|p| p.slug == slug).cloned() else {
        return super::not_found();
    };
    let site = format!("{}/status/{slug}", base(&app, &headers));
    let kind = if atom { "application/atom+xml; charset=utf-8" } else { "application/rss+xml; charset=utf-8" };
    // Worked out once per FRESH for every reader at this address.
    let engine = app.engine.clone();
    let text = app
        .status_pages
        .get(&format!("feed {site}/{file}"), app.engine.now(), async || {
            let now = engine.now();
            let incidents =
                engine.status_pages().incidents(&slug, now - FEED_SPAN, now + 1).await.map_err(|e| e.to_string())?;
            let windows =
                engine.status_pages().maintenance_windows(&slug, now - FEED_SPAN).await.map_err(|e| e.to_string())?;
            let mut entries: Vec<Entry> = incidents.iter().map(Entry::of_incident).collect();
            entries.extend(windows.iter().map(|w| Entry::of_window(w, now)));
            entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
            Ok::<_, String>(Some(feed_text(&page, &site, &entries, atom)))
        })
        .await;
    match text {
        Ok(Some(text)) => {
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=60")], text.html.clone())
                .into_response()
        }
        Ok(None) => super::not_found(),
        Err(e) => {
            tracing::error!(error = %e, slug, "Could not read a status page's incidents and maintenance.");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")]).into_response()
        }
    }
}

/// The feed of `page`'s `entries` (newest first) at `site`, Atom or RSS.
fn feed_text(page: &vigil_core::status_page::StatusPageDef, site: &str, entries: &[Entry], atom: bool) -> String {
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or(0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    if atom {
        out.push_str(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>{}</id><updated>{}</updated>\
             <link rel=\"alternate\" href=\"{}\"/><link rel=\"self\" href=\"{}/feed.atom\"/><author><name>{}</name></author>",
            xml(&page.title),
            xml(site),
            rfc3339(updated),
            xml(site),
            xml(site),
            xml(&page.title)
        ));
        for e in entries {
            out.push_str(&format!(
                "<entry><title>{}</title><id>{}/{}</id><updated>{}</updated><published>{}</published>\
                 <link rel=\"alternate\" href=\"{}\"/><content type=\"html\">{}</content></entry>",
                xml(&e.title),
                xml(site),
                xml(&e.id),
                rfc3339(e.updated),
                rfc3339(e.published),
                xml(site),
                xml(&e.html)
            ));
        }
        out.push_str("</feed>\n");
    } else {
        out.push_str(&format!(
            "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>{}</title><link>{}</link>\
             <description>{}</description><atom:link href=\"{}/feed.rss\" rel=\"self\" type=\"application/rss+xml\"/>",
            xml(&page.title),
            xml(site),
            xml(page.description.as_deref().unwrap_or("Incidents")),
            xml(site)
        ));
        for e in entries {
            out.push_str(&format!(
                "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}/{}</guid><pubDate>{}</pubDate>\
                 <description>{}</description></item>",
                xml(&e.title),
                xml(site),
                xml(site),
                xml(&e.id),
                rfc2822(e.updated),
                xml(&e.html)
            ));
        }
        out.push_str("</channel></rss>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_times_are_as_the_formats_ask() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(rfc3339(1_795_162_320_000), "2026-11-20T08:12:00Z");
        assert_eq!(rfc2822(1_795_162_320_000), "Fri, 20 Nov 2026 08:12:00 +0000");
    }
}
