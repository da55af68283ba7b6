//! Subscribing to a status page by email or webhook, without JavaScript: the page's form posts
//! an address or a webhook's URL (and, optionally, the components it follows) to
//! `/status/{slug}/subscribe`; the letter it is sent holds a confirmation link, the webhook is
//! sent a challenge to answer. Confirmation and unsubscribe links open a page with a
//! button (mail scanners open links by themselves: opening one changes nothing); the button
//! posts. A `POST` to the unsubscribe link is also RFC 8058's one-click unsubscribe, which
//! mail programs send from the letter's `List-Unsubscribe` headers.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use vigil_core::status_page::StatusPageDef;
use vigil_runtime::status_pages::subscribers::SubscribeError;

use crate::AppState;

/// A link's query.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Token {
    token: String,
}

/// The forms on the page: by email when the page takes email subscribers, by webhook when its
/// file offers the webhook form.
pub(crate) fn form(page: &StatusPageDef) -> Markup {
    let offered = page.subscribers.as_ref().is_some_and(|s| s.email.is_some());
    let hooks = page.subscribers.as_ref().is_some_and(|s| !s.webhook_form.is_none());
    html! {
        (email_form(page, offered))
        @if hooks {
            section {
                h2 { "Get updates by webhook" }
                form.subscribe-webhook method="post" action={ "/status/" (page.slug) "/subscribe" } {
                    label for="subscribe-webhook" { "Webhook URL" }
                    div.row {
                        input #subscribe-webhook type="url" name="webhook" required placeholder="https://";
                        button type="submit" { "Subscribe" }
                    }
                    (some_components(page))
                    p.muted {
                        "Your webhook gets a signed request with a challenge to answer first, then a signed "
                        "JSON post for each incident update and maintenance notice (Standard Webhooks)."
                    }
                }
            }
        }
    }
}

/// The components a subscriber may pick, when there is a choice.
fn some_components(page: &StatusPageDef) -> Markup {
    html! {
        @if page.components.len() > 1 {
            details {
                summary { "Only some components" }
                @for c in &page.components {
                    label.choice { input type="checkbox" name="component" value=(c.name); " " (c.name) }
                }
            }
        }
    }
}

fn email_form(page: &StatusPageDef, offered: bool) -> Markup {
    html! {
        @if offered {
            section {
                h2 { "Get updates by email" }
                form.subscribe method="post" action={ "/status/" (page.slug) "/subscribe" } {
                    label for="subscribe-email" { "Email address" }
                    div.row {
                        input #subscribe-email type="email" name="email" required autocomplete="email";
                        button type="submit" { "Subscribe" }
                    }
                    (some_components(page))
                    p.muted { "You will get a letter with a link to confirm. Every letter has a link to unsubscribe." }
                }
            }
        }
    }
}

fn answer(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (super::head(title))
            body { main { h1 { (title) } (body) } }
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

fn back(slug: &str) -> Markup {
    html! { p { a href={ "/status/" (slug) } { "Back to the status page" } } }
}

fn refused(slug: &str, e: &SubscribeError) -> Response {
    let status = match e {
        SubscribeError::NoPage(_) | SubscribeError::NotOffered(..) => StatusCode::NOT_FOUND,
        SubscribeError::Invalid(_) => StatusCode::BAD_REQUEST,
        SubscribeError::BadLink => StatusCode::FORBIDDEN,
        SubscribeError::Busy => StatusCode::TOO_MANY_REQUESTS,
        SubscribeError::NoLinks | SubscribeError::Store(_) => {
            tracing::error!(error = %e, page = slug, "A status page subscription could not be handled.");
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let said = match e {
        SubscribeError::Store(_) | SubscribeError::NoLinks => {
            "Subscriptions cannot be handled right now. Try again later.".to_string()
        }
        other => format!("{other}."),
    };
    answer(status, "Subscription", html! { p.error role="alert" { (said) } (back(slug)) })
}

/// `POST /status/{slug}/subscribe`: the form's address (or webhook) and components.
pub(crate) async fn subscribe(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    // Each visitor subscribes at a pace: a few at once, then one a minute at most, so no one
    // sends letters to many addresses or fills the page's quota of unconfirmed subscriptions.
    let source = crate::listen::client_ip(&extensions).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let pacing = app.status_pages.subscriptions();
    let now = std::time::Instant::now();
    if let Some(wait) = pacing.wait(source, now) {
        let seconds = wait.as_secs_f64().ceil() as u64;
        let mut page = answer(
            StatusCode::TOO_MANY_REQUESTS,
            "Subscription",
            html! { p.error role="alert" { "Too many subscriptions from your address; try again in " (seconds) " s." } (back(&slug)) },
        );
        page.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        return page;
    }
    pacing.failed(source, now);
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let email = fields.iter().find(|(k, _)| k == "email").map(|(_, v)| v.as_str()).unwrap_or_default();
    let components: Vec<String> = fields.iter().filter(|(k, _)| k == "component").map(|(_, v)| v.clone()).collect();
    if let Some((_, url)) = fields.iter().find(|(k, _)| k == "webhook") {
        return match app.engine.status_pages().subscribe_webhook_from_page(&slug, url, &components).await {
            Ok(secret) => webhook_answer(&slug, url.trim(), secret.as_deref()),
            Err(e) => refused(&slug, &e),
        };
    }
    match app.engine.status_pages().subscribe_email(&slug, email, &components).await {
        // The same answer whether the address was new or not: the form tells nobody who subscribes.
        Ok(()) => answer(
            StatusCode::OK,
            "Check your inbox",
            html! {
                p { "If " strong { (email.trim()) } " is not subscribed yet, a letter with a link to confirm is on its way." }
                (back(&slug))
            },
        ),
        Err(e) => refused(&slug, &e),
    }
}

/// What the webhook form answers: the secret, shown once, and the challenge to answer; or, for
/// a webhook the page has already, how to get a new secret.
fn webhook_answer(slug: &str, url: &str, secret: Option<&str>) -> Response {
    let body = match secret {
        Some(secret) => html! {
            p { "A signed request is on its way to " strong { (url) } ". Answer it with a 2xx status "
                "whose body holds its " code { "challenge" } " (sending back the JSON it carries does); "
                "until then nothing else is sent to it." }
            p { "Your webhook's signing secret, shown only now: keep it to check the "
                code { "webhook-signature" } " header of every request." }
            p { code #webhook-secret { (secret) } }
            p.muted { "Every request carries an " code { "unsubscribe" } " link: a POST to it ends the subscription." }
            (back(slug))
        },
        None => html! {
            p { strong { (url) } " is subscribed already, or waits for its challenge to be answered. "
                "To get a new secret, post to the unsubscribe link its requests carry, then subscribe again." }
            (back(slug))
        },
    };
    answer(StatusCode::OK, "Check your webhook", body)
}

/// `GET .../subscriptions/{id}/confirm`: a button that confirms.
pub(crate) async fn confirm_page(Path((slug, _id)): Path<(String, String)>, Query(_): Query<Token>) -> Response {
    answer(
        StatusCode::OK,
        "Confirm your subscription",
        html! {
            form method="post" { button.primary type="submit" { "Confirm" } }
            (back(&slug))
        },
    )
}

/// `POST .../subscriptions/{id}/confirm`.
pub(crate) async fn confirm(
    State(app): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(link): Query<Token>,
) -> Response {
    match app.engine.status_pages().confirm_subscription(&slug, &id, &link.token).await {
        Ok(()) => answer(
            StatusCode::OK,
            "You are subscribed",
            html! { p { "You will be told by email when an incident is posted or updated." } (back(&slug)) },
        ),
        Err(e) => refused(&slug, &e),
    }
}

/// `GET .../subscriptions/{id}/unsubscribe`: a button that unsubscribes.
pub(crate) async fn unsubscribe_page(Path((slug, _id)): Path<(String, String)>, Query(_): Query<Token>) -> Response {
    answer(
        StatusCode::OK,
        "Unsubscribe",
        html! {
            form method="post" { button.primary type="submit" { "Unsubscribe" } }
            (back(&slug))
        },
    )
}

/// `POST .../subscriptions/{id}/unsubscribe`: the page's button, or a mail program's one click.
pub(crate) async fn unsubscribe(
    State(app): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(link): Query<Token>,
) -> Response {
    match app.engine.status_pages().unsubscribe(&slug, &id, &link.token).await {
        Ok(_) => answer(
            StatusCode::OK,
            "You are unsubscribed",
            html! { p { "No more letters will be sent to you about this page." } (back(&slug)) },
        ),
        Err(e) => refused(&slug, &e),
    }
}
