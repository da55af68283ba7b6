//! `/status/{slug}/feed.rss` and `/status/{slug}/feed.atom`: a page's incidents of the last 90
//! days as RSS 2.0 and Atom 1.0, one item per incident (its updates, newest first, as HTML),
//! for readers who follow the page in a feed reader. Links are absolute: under `--public-url`
//! when it is set, else the address the reader used.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vigil_core::status_page::Incident;
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
    let Some(page) = app.engine.status_pages().iter().find(|p| p.slug == slug).cloned() else {
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
            let incidents = engine.incidents(&slug, now - FEED_SPAN, now + 1).await?;
            Ok::<_, vigil_runtime::incidents::IncidentError>(Some(feed_text(&page, &site, &incidents, atom)))
        })
        .await;
    match text {
        Ok(Some(text)) => {
            ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=60")], text.html.clone())
                .into_response()
        }
        Ok(None) => super::not_found(),
        Err(e) => {
            tracing::error!(error = %e, slug, "Could not read a status page's incidents.");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")]).into_response()
        }
    }
}

/// The feed of `page`'s `incidents` at `site`, Atom or RSS.
fn feed_text(page: &vigil_core::status_page::StatusPageDef, site: &str, incidents: &[Incident], atom: bool) -> String {
    let updated = incidents.iter().map(last_update).max().unwrap_or(0);
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
        for i in incidents {
            out.push_str(&format!(
                "<entry><title>{}</title><id>{}/incidents/{}</id><updated>{}</updated><published>{}</published>\
                 <link rel=\"alternate\" href=\"{}\"/><content type=\"html\">{}</content></entry>",
                xml(&i.title),
                xml(site),
                xml(&i.id),
                rfc3339(last_update(i)),
                rfc3339(i.opened_at()),
                xml(site),
                xml(&html_of(i))
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
        for i in incidents {
            out.push_str(&format!(
                "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}/incidents/{}</guid><pubDate>{}</pubDate>\
                 <description>{}</description></item>",
                xml(&i.title),
                xml(site),
                xml(site),
                xml(&i.id),
                rfc2822(last_update(i)),
                xml(&html_of(i))
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
