//! `/ack/{token}`: acknowledging an alert from the page that told of it, without an API token.
//! The token is a signed link ([`vigil_runtime::ack_link`]) naming one incident. `GET` only
//! shows what the link would acknowledge and a button (mail scanners and chat link previews
//! open links by themselves: opening one must not acknowledge); the button's `POST` does it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use vigil_runtime::LinkedAlert;

use crate::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ack/{token}", get(show).post(acknowledge))
}

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (crate::ui::layout::head(title, false))
            body { main.signin { h1 { (title) } (body) } }
        }
    };
    // `same-origin`: the token in the address goes to no other site, and the button's POST
    // carries this site's `Origin` (under `no-referrer` Chromium sends `Origin: null`, which the
    // cross-site guard refuses).
    (
        status,
        [(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "same-origin")],
        axum::response::Html(markup.into_string()),
    )
        .into_response()
}

fn refused(e: vigil_runtime::ack_link::LinkError) -> Response {
    page(StatusCode::FORBIDDEN, "Cannot acknowledge", html! { p.error-box role="alert" { (e.to_string()) "." } })
}

fn what(linked: &LinkedAlert) -> Markup {
    html! { p { "Alert " strong { (linked.name) } } p.muted { code { (linked.claim.dedup_key) } } }
}

async fn show(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    let linked = match app.engine.ack_link(&token).await {
        Ok(linked) => linked,
        Err(e) => return refused(e),
    };
    let body = html! {
        (what(&linked))
        @if !linked.live {
            p { "This incident is over: there is nothing to acknowledge." }
        } @else if linked.acknowledged {
            p { "Someone already acknowledged it." }
        } @else {
            form.stack method="post" {
                button.primary type="submit" { "Acknowledge" }
            }
            p.muted { "Acknowledging stops reminders and escalation, and tells whoever was paged." }
        }
    };
    page(StatusCode::OK, "Acknowledge alert", body)
}

async fn acknowledge(
    State(app): State<AppState>,
    Path(token): Path<String>,
    extensions: axum::http::Extensions,
) -> Response {
    match app.engine.acknowledge_by_link(&token).await {
        Ok(true) => {
            let linked = app.engine.ack_link(&token).await;
            if let Ok(l) = &linked {
                // The link is a credential: the row names the alert, never the link.
                let address = crate::listen::client_ip(&extensions).map_or(String::new(), |ip| ip.to_string());
                let row = vigil_store::AuditRow {
                    at: app.engine.now(),
                    actor: "ack-link".into(),
                    source: "link".into(),
                    address,
                    action: "acknowledge".into(),
                    kind: "alert".into(),
                    name: l.claim.dedup_key.clone(),
                    change: serde_json::json!({"alert": l.name, "firingSince": l.claim.firing_since}).to_string(),
                    ..Default::default()
                };
                crate::audit::write(&app, row).await;
            }
            let body = html! {
                @if let Ok(l) = &linked { (what(l)) }
                p { "Acknowledged. Whoever was paged is told; reminders and escalation stop." }
            };
            page(StatusCode::OK, "Acknowledged", body)
        }
        Ok(false) => page(
            StatusCode::CONFLICT,
            "Nothing to acknowledge",
            html! { p { "The incident is over, or someone already acknowledged it." } },
        ),
        Err(e) => refused(e),
    }
}
