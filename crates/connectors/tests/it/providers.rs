//! Every notifier sends to a local server that checks the request the way the provider's public
//! docs define it (required fields, allowed values, limits, auth, Lark's signature), and answers
//! the way the provider does.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use vigil_connectors::notifiers::{AlertMessage, NotifierConfig, Outcome, Severity, send};
use vigil_core::alert::Notice;

const LARK_SECRET: &str = "lark-signing-secret";

async fn provider(req: Request) -> impl IntoResponse {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let verdict = match path.as_str() {
        "/v2/enqueue" => pagerduty(&body),
        "/slack" => slack(&body),
        "/teams" => teams(&body, bytes.len()),
        "/lark" => return (StatusCode::OK, axum::Json(lark(&body))).into_response(),
        p if p.starts_with("/opsgenie/") => opsgenie(p, &query, &auth, &body),
        "/api/v2/alerts" => alertmanager(&body),
        _ => Err("unknown path".to_string()),
    };
    match (verdict, path.as_str()) {
        (Ok(()), "/v2/enqueue") => {
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "success", "dedup_key": body["dedup_key"]})))
                .into_response()
        }
        (Ok(()), "/slack") => (StatusCode::OK, "ok").into_response(),
        // A Workflows webhook accepts the request and runs the flow later.
        (Ok(()), "/teams") => StatusCode::ACCEPTED.into_response(),
        (Ok(()), p) if p.starts_with("/opsgenie/") => {
            (StatusCode::ACCEPTED, axum::Json(json!({"result": "Request will be processed"}))).into_response()
        }
        (Ok(()), _) => (StatusCode::OK, axum::Json(json!({"status": "success"}))).into_response(),
        (Err(why), _) => {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"status": "invalid event", "errors": [why]}))).into_response()
        }
    }
}

/// Microsoft Teams' Workflows webhook: a `message` with Adaptive Card attachments (at most 28 KB
/// in all), each card of a version Teams renders (up to 1.5), its elements of known types.
fn teams(b: &Value, size: usize) -> Result<(), String> {
    if size > 28 * 1024 {
        return Err("message larger than 28 KB".into());
    }
    if b["type"] != "message" {
        return Err("type must be `message`".into());
    }
    let attachments = b["attachments"].as_array().filter(|a| !a.is_empty()).ok_or("attachments missing")?;
    for a in attachments {
        if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
            return Err(format!("contentType {} is not an Adaptive Card", a["contentType"]));
        }
        let card = &a["content"];
        if card["type"] != "AdaptiveCard" {
            return Err("content.type must be AdaptiveCard".into());
        }
        let version: f64 = card["version"].as_str().and_then(|v| v.parse().ok()).ok_or("content.version missing")?;
        if version > 1.5 {
            return Err(format!("Teams renders Adaptive Cards up to 1.5, not {version}"));
        }
        let body = card["body"].as_array().filter(|b| !b.is_empty()).ok_or("content.body missing")?;
        for element in body {
            match element["type"].as_str() {
                Some("TextBlock") => element["text"].as_str().map(drop).ok_or("TextBlock without text")?,
                Some("FactSet") => {
                    for fact in element["facts"].as_array().ok_or("FactSet without facts")? {
                        if !fact["title"].is_string() || !fact["value"].is_string() {
                            return Err(format!("a fact's title and value are strings: {fact}"));
                        }
                    }
                }
                other => return Err(format!("unknown element type {other:?}")),
            }
        }
        for action in card["actions"].as_array().into_iter().flatten() {
            if action["type"] != "Action.OpenUrl" || !action["url"].as_str().is_some_and(|u| u.starts_with("http")) {
                return Err(format!("bad action {action}"));
            }
        }
    }
    Ok(())
}

fn pagerduty(b: &Value) -> Result<(), String> {
    let key = b["routing_key"].as_str().ok_or("routing_key missing")?;
    if key.len() != 32 {
        return Err("routing_key must be 32 characters".into());
    }
    let action = b["event_action"].as_str().ok_or("event_action missing")?;
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        return Err(format!("bad event_action {action}"));
    }
    let dedup = b["dedup_key"].as_str().ok_or("dedup_key missing")?;
    if dedup.len() > 255 {
        return Err("dedup_key longer than 255".into());
    }
    if action == "trigger" {
        let p = &b["payload"];
        let summary = p["summary"].as_str().ok_or("payload.summary missing")?;
        if summary.chars().count() > 1024 {
            return Err("summary longer than 1024".into());
        }
        p["source"].as_str().filter(|s| !s.is_empty()).ok_or("payload.source missing")?;
        let sev = p["severity"].as_str().ok_or("payload.severity missing")?;
        if !["critical", "error", "warning", "info"].contains(&sev) {
            return Err(format!("bad severity {sev}"));
        }
        if let Some(ts) = p["timestamp"].as_str() {
            ts.parse::<jiff::Timestamp>().map_err(|e| format!("timestamp is not ISO 8601: {e}"))?;
        }
    }
    Ok(())
}

fn slack(b: &Value) -> Result<(), String> {
    b["text"].as_str().filter(|t| !t.is_empty()).ok_or("text missing (required as notification fallback)")?;
    let blocks = b["blocks"].as_array().ok_or("blocks missing")?;
    if blocks.len() > 50 || blocks.iter().any(|bl| bl["type"].as_str().is_none()) {
        return Err("bad blocks".into());
    }
    Ok(())
}

fn lark(b: &Value) -> Value {
    let fail = |code: i64, msg: &str| json!({"code": code, "msg": msg, "data": {}});
    let (Some(ts), Some(sign)) = (b["timestamp"].as_str(), b["sign"].as_str()) else {
        return fail(19021, "sign match fail");
    };
    let Ok(secs) = ts.parse::<i64>() else { return fail(19021, "timestamp is not seconds") };
    let now = jiff::Timestamp::now().as_second();
    if (now - secs).abs() > 3600 {
        return fail(19021, "timestamp is not within one hour from current time");
    }
    let mac = Hmac::<Sha256>::new_from_slice(format!("{ts}\n{LARK_SECRET}").as_bytes()).unwrap();
    if base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) != sign {
        return fail(19021, "sign match fail or timestamp is not within one hour from current time");
    }
    match b["msg_type"].as_str() {
        Some("interactive") if b["card"]["header"]["title"]["content"].is_string() => {
            json!({"code": 0, "msg": "success", "data": {}})
        }
        Some("text") if b["content"]["text"].is_string() => json!({"code": 0, "msg": "success", "data": {}}),
        Some("post") if b["content"]["post"].is_object() => json!({"code": 0, "msg": "success", "data": {}}),
        _ => fail(19002, "params error"),
    }
}

fn opsgenie(path: &str, query: &str, auth: &str, b: &Value) -> Result<(), String> {
    if !auth.starts_with("GenieKey ") {
        return Err("Authorization must be GenieKey".into());
    }
    if path == "/opsgenie/v2/alerts" {
        let message = b["message"].as_str().ok_or("message missing")?;
        if message.chars().count() > 130 {
            return Err("message longer than 130".into());
        }
        let alias = b["alias"].as_str().ok_or("alias missing")?;
        if alias.len() > 512 {
            return Err("alias longer than 512".into());
        }
        let priority = b["priority"].as_str().ok_or("priority missing")?;
        if !["P1", "P2", "P3", "P4", "P5"].contains(&priority) {
            return Err("bad priority".into());
        }
        return Ok(());
    }
    if (path.ends_with("/close") || path.ends_with("/acknowledge")) && query == "identifierType=alias" {
        return Ok(());
    }
    Err(format!("unexpected {path}?{query}"))
}

fn alertmanager(b: &Value) -> Result<(), String> {
    for alert in b.as_array().ok_or("body must be a list")? {
        alert["labels"]["alertname"].as_str().ok_or("labels.alertname missing")?;
        for field in ["startsAt", "endsAt"] {
            alert[field]
                .as_str()
                .ok_or(format!("{field} missing"))?
                .parse::<jiff::Timestamp>()
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

async fn server() -> String {
    let app = Router::new().fallback(provider);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn message(notice: Notice) -> AlertMessage {
    let now = jiff::Timestamp::now().as_millisecond();
    AlertMessage {
        notice,
        dedup_key: "monitor/api-latency/region=eu".into(),
        name: "api latency".into(),
        severity: Severity::Critical,
        summary: "p99 latency 2.3 s over 1 s for 5 minutes ".repeat(60),
        details: json!({"p99_ms": 2300}),
        labels: [("service".to_string(), "api".to_string())].into(),
        source: "vigil/api_latency".into(),
        firing_since: now - 300_000,
        at: now,
        links: vec![],
        test: false,
        rendered: Default::default(),
    }
}

fn notifiers(base: &str) -> Vec<NotifierConfig> {
    let docs = [
        json!({"type": "pagerduty", "name": "pd", "routing_key": "0123456789abcdef0123456789abcdef", "url": format!("{base}/v2/enqueue")}),
        json!({"type": "slack", "name": "slack", "url": format!("{base}/slack")}),
        json!({"type": "teams", "name": "teams", "url": format!("{base}/teams")}),
        json!({"type": "lark", "name": "lark", "url": format!("{base}/lark"), "secret": LARK_SECRET}),
        json!({"type": "lark", "name": "lark-text", "url": format!("{base}/lark"), "secret": LARK_SECRET, "message_type": "text"}),
        json!({"type": "opsgenie", "name": "og", "api_key": "key", "url": format!("{base}/opsgenie")}),
        json!({"type": "alertmanager", "name": "am", "url": base}),
    ];
    docs.into_iter().map(|d| serde_json::from_value(d).unwrap()).collect()
}

#[tokio::test]
async fn every_notifier_is_accepted_by_a_server_checking_the_documented_format() {
    let base = server().await;
    let client = vigil_connectors::http_client();
    for notifier in notifiers(&base) {
        for notice in [Notice::Trigger, Notice::Remind, Notice::Acknowledge, Notice::Resolve] {
            let msg = message(notice);
            let req = notifier.build_request(&msg, msg.at).unwrap();
            let outcome = send(&client, &notifier, &req, Duration::from_secs(5)).await;
            assert_eq!(outcome, Outcome::Delivered, "{} {notice:?}", notifier.name());
        }
    }
}

#[tokio::test]
async fn a_wrongly_signed_lark_message_is_a_permanent_failure_despite_http_200() {
    let base = server().await;
    let lark: NotifierConfig =
        serde_json::from_value(json!({"type": "lark", "name": "l", "url": format!("{base}/lark"), "secret": "wrong"}))
            .unwrap();
    let msg = message(Notice::Trigger);
    let req = lark.build_request(&msg, msg.at).unwrap();
    let outcome = send(&vigil_connectors::http_client(), &lark, &req, Duration::from_secs(5)).await;
    assert!(matches!(&outcome, Outcome::Permanent { reason } if reason.contains("19021")), "{outcome:?}");
}

#[tokio::test]
async fn a_pagerduty_400_is_permanent() {
    let base = server().await;
    let pd: NotifierConfig = serde_json::from_value(
        json!({"type": "pagerduty", "name": "pd", "routing_key": "too-short", "url": format!("{base}/v2/enqueue")}),
    )
    .unwrap();
    let msg = message(Notice::Trigger);
    let outcome =
        send(&vigil_connectors::http_client(), &pd, &pd.build_request(&msg, msg.at).unwrap(), Duration::from_secs(5))
            .await;
    assert!(
        matches!(&outcome, Outcome::Permanent { reason } if reason.contains("routing_key must be 32")),
        "{outcome:?}"
    );
}
