//! The chat, push, SMS and incident channels send every notice to a local server that checks the
//! request the way each provider documents it (method, path, auth, encoding, required fields,
//! allowed values, limits, DingTalk's signature) and answers as the provider does, failures in a
//! 200 included. Each provider's way of saying "slow down" is honoured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use vigil_connectors::notifiers::{AlertMessage, Link, NotifierConfig, Outcome, Severity, send};
use vigil_core::alert::Notice;

const DINGTALK_SECRET: &str = "SECdingtalk";

/// What a request carried.
struct Seen {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    bytes: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Result<Value, String> {
        if !self.headers.get("content-type").is_some_and(|c| c.starts_with("application/json")) {
            return Err("Content-Type must be application/json".into());
        }
        serde_json::from_slice(&self.bytes).map_err(|e| format!("body is not JSON: {e}"))
    }

    fn form(&self) -> Result<HashMap<String, String>, String> {
        if self.headers.get("content-type").map(String::as_str) != Some("application/x-www-form-urlencoded") {
            return Err("Content-Type must be application/x-www-form-urlencoded".into());
        }
        Ok(form_urlencoded::parse(&self.bytes).into_owned().collect())
    }

    fn auth(&self) -> &str {
        self.headers.get("authorization").map(String::as_str).unwrap_or_default()
    }
}

/// Matrix event ids by transaction id: a repeated transaction gets its first answer.
type Transactions = Arc<Mutex<HashMap<String, String>>>;

async fn provider(State(txns): State<Transactions>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        bytes: axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    };
    let first = seen.path.split('/').nth(1).unwrap_or_default().to_string();
    let json_answer = |status: StatusCode, v: Value| (status, axum::Json(v)).into_response();
    let bad = |why: String| json_answer(StatusCode::BAD_REQUEST, json!({"error": why}));
    match first.as_str() {
        "discord" => match discord(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"id": "1", "type": 0})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"code": 50035, "message": why})),
        },
        "telegram" => match telegram(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"ok": true, "result": {"message_id": 1}})),
            Err(why) => {
                json_answer(StatusCode::BAD_REQUEST, json!({"ok": false, "error_code": 400, "description": why}))
            }
        },
        "mattermost" => match mattermost(&seen) {
            Ok(()) => (StatusCode::OK, "ok").into_response(),
            Err(why) => bad(why),
        },
        "rocketchat" => match rocketchat(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"success": true})),
            // Rocket.Chat's REST API may refuse in a 200.
            Err(why) => json_answer(StatusCode::OK, json!({"success": false, "error": why})),
        },
        "google" => match google_chat(&seen) {
            Ok(()) => json_answer(
                StatusCode::OK,
                json!({"name": "spaces/AAA/messages/1", "thread": {"name": "spaces/AAA/threads/1"}}),
            ),
            Err(why) => json_answer(
                StatusCode::BAD_REQUEST,
                json!({"error": {"code": 400, "message": why, "status": "INVALID_ARGUMENT"}}),
            ),
        },
        "zulip" => match zulip(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"result": "success", "msg": "", "id": 42})),
            Err(why) => {
                json_answer(StatusCode::BAD_REQUEST, json!({"result": "error", "msg": why, "code": "BAD_REQUEST"}))
            }
        },
        "matrix" => match matrix(&seen) {
            Ok(txn) => {
                let mut txns = txns.lock().unwrap();
                let next = format!("$event{}", txns.len());
                let event = txns.entry(txn).or_insert(next).clone();
                json_answer(StatusCode::OK, json!({"event_id": event}))
            }
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"errcode": "M_BAD_JSON", "error": why})),
        },
        "ntfy" => match ntfy(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"id": "x1", "event": "message"})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"code": 40000, "http": 400, "error": why})),
        },
        "gotify" => match gotify(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"id": 1, "appid": 1})),
            Err(why) => json_answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "Bad Request", "errorCode": 400, "errorDescription": why}),
            ),
        },
        "pushover" => match pushover(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"status": 1, "request": "r1"})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"status": 0, "errors": [why], "request": "r1"})),
        },
        // DingTalk and WeCom answer every failure in a 200.
        "dingtalk" => match dingtalk(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"errcode": 0, "errmsg": "ok"})),
            Err((code, why)) => json_answer(StatusCode::OK, json!({"errcode": code, "errmsg": why})),
        },
        "wecom" => match wecom(&seen) {
            Ok(()) => json_answer(StatusCode::OK, json!({"errcode": 0, "errmsg": "ok"})),
            Err((code, why)) => json_answer(StatusCode::OK, json!({"errcode": code, "errmsg": why})),
        },
        "twilio" => match twilio(&seen) {
            Ok(sid) => json_answer(StatusCode::CREATED, json!({"sid": sid, "status": "queued"})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"code": 21211, "message": why, "status": 400})),
        },
        "victorops" => match splunk_oncall(&seen) {
            Ok(entity) => json_answer(StatusCode::OK, json!({"result": "success", "entity_id": entity})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"result": "failure", "message": why})),
        },
        "squadcast" => match squadcast(&seen) {
            Ok(()) => json_answer(StatusCode::ACCEPTED, json!({})),
            Err(why) => bad(why),
        },
        "incidentio" => match incident_io(&seen) {
            Ok(key) => json_answer(
                StatusCode::ACCEPTED,
                json!({"status": "success", "message": "Event accepted for processing", "deduplication_key": key}),
            ),
            Err(why) => {
                json_answer(StatusCode::BAD_REQUEST, json!({"type": "validation_error", "errors": [{"message": why}]}))
            }
        },
        "jsm" => match jsm(&seen) {
            Ok(()) => {
                json_answer(StatusCode::ACCEPTED, json!({"result": "Request will be processed", "requestId": "r1"}))
            }
            Err(why) => json_answer(StatusCode::UNPROCESSABLE_ENTITY, json!({"message": why})),
        },
        "signal" => match signal(&seen) {
            Ok(()) => json_answer(StatusCode::CREATED, json!({"timestamp": "1767225660000"})),
            Err(why) => json_answer(StatusCode::BAD_REQUEST, json!({"error": why})),
        },
        "limited" => limited(&seen),
        _ => bad(format!("unknown path {}", seen.path)),
    }
}

fn need_str<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v[field].as_str().ok_or(format!("{field} missing"))
}

fn at_most(what: &str, text: &str, chars: usize) -> Result<(), String> {
    match text.chars().count() {
        n if n > chars => Err(format!("{what} is {n} characters, over {chars}")),
        _ => Ok(()),
    }
}

/// Discord's Execute Webhook: embed limits and the 6,000-character total.
fn discord(s: &Seen) -> Result<(), String> {
    if s.method != "POST"
        || s.path != "/discord/api/webhooks/123/tok"
        || s.query.get("wait").map(String::as_str) != Some("true")
    {
        return Err(format!("unexpected {} {}", s.method, s.path));
    }
    let b = s.json()?;
    let embeds = b["embeds"].as_array().cloned().unwrap_or_default();
    if b["content"].as_str().is_none() && embeds.is_empty() {
        return Err("content or embeds needed".into());
    }
    at_most("content", b["content"].as_str().unwrap_or_default(), 2000)?;
    if embeds.len() > 10 {
        return Err("more than 10 embeds".into());
    }
    let mut total = 0;
    for e in &embeds {
        let title = e["title"].as_str().unwrap_or_default();
        at_most("title", title, 256)?;
        let description = e["description"].as_str().unwrap_or_default();
        at_most("description", description, 4096)?;
        e["color"].as_u64().filter(|c| *c <= 0xFF_FF_FF).ok_or("color must be an integer RGB")?;
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err("more than 25 fields".into());
        }
        total += title.chars().count() + description.chars().count();
        for f in &fields {
            at_most("field name", need_str(f, "name")?, 256)?;
            at_most("field value", need_str(f, "value")?, 1024)?;
            total += f["name"].as_str().unwrap().chars().count() + f["value"].as_str().unwrap().chars().count();
        }
        total += e["footer"]["text"].as_str().unwrap_or_default().chars().count();
    }
    if total > 6000 {
        return Err(format!("embeds hold {total} characters, over 6000"));
    }
    Ok(())
}

/// Telegram's sendMessage: a chat, 1-4096 characters, HTML of the tags Telegram knows.
fn telegram(s: &Seen) -> Result<(), String> {
    if s.path != "/telegram/bot123456:ABC-DEF/sendMessage" {
        return Err("Not Found".into());
    }
    let b = s.json()?;
    if b["chat_id"].is_null() {
        return Err("Bad Request: chat_id is empty".into());
    }
    let text = need_str(&b, "text")?;
    if text.is_empty() || text.chars().count() > 4096 {
        return Err("Bad Request: message is too long".into());
    }
    if b["parse_mode"] == "HTML" {
        let known = [
            "b",
            "strong",
            "i",
            "em",
            "u",
            "ins",
            "s",
            "strike",
            "del",
            "a",
            "code",
            "pre",
            "blockquote",
            "tg-spoiler",
            "span",
        ];
        for tag in text.split('<').skip(1) {
            let name: String =
                tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if !known.contains(&name.as_str()) {
                return Err(format!("Bad Request: can't parse entities: unsupported start tag \"{name}\""));
            }
        }
    }
    Ok(())
}

/// A Mattermost incoming webhook: text or attachments, text within 16,383 characters.
fn mattermost(s: &Seen) -> Result<(), String> {
    if s.path != "/mattermost/hooks/xyz" {
        return Err("Unable to find the webhook".into());
    }
    let b = s.json()?;
    let attachments = b["attachments"].as_array().cloned().unwrap_or_default();
    if b["text"].as_str().unwrap_or_default().is_empty() && attachments.is_empty() {
        return Err("Unable to parse incoming data: text or attachments needed".into());
    }
    for a in &attachments {
        at_most("attachment text", a["text"].as_str().unwrap_or_default(), 16_383)?;
        need_str(a, "fallback")?;
        let colour = need_str(a, "color")?;
        if !(colour.len() == 7 && colour.starts_with('#') && colour[1..].chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(format!("color {colour} is not #RRGGBB"));
        }
    }
    Ok(())
}

/// Rocket.Chat: the webhook, or chat.postMessage with a token, a user id and a channel.
fn rocketchat(s: &Seen) -> Result<(), String> {
    let b = s.json()?;
    match s.path.as_str() {
        "/rocketchat/hooks/abc/def" if b.get("channel").is_some() => {
            Err("overriding destination channel is disabled for this integration".into())
        }
        "/rocketchat/hooks/abc/def" => Ok(()),
        "/rocketchat/api/v1/chat.postMessage" => {
            if s.headers.get("x-auth-token").map(String::as_str) != Some("pat")
                || s.headers.get("x-user-id").map(String::as_str) != Some("uid")
            {
                return Err("You must be logged in to do this.".into());
            }
            need_str(&b, "channel")?;
            at_most("text", b["text"].as_str().unwrap_or_default(), 5000)
        }
        other => Err(format!("unknown {other}")),
    }
}

/// Google Chat's spaces.messages.create through a webhook: key and token, 32,000 bytes, cards of
/// at most 100 widgets, a request id.
fn google_chat(s: &Seen) -> Result<(), String> {
    if s.path != "/google/v1/spaces/AAA/messages" || !s.query.contains_key("key") || !s.query.contains_key("token") {
        return Err("PERMISSION_DENIED".into());
    }
    let options = ["MESSAGE_REPLY_OPTION_UNSPECIFIED", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD", "REPLY_MESSAGE_OR_FAIL"];
    if let Some(option) = s.query.get("messageReplyOption").filter(|o| !options.contains(&o.as_str())) {
        return Err(format!("bad messageReplyOption {option}"));
    }
    s.query.get("requestId").filter(|r| !r.is_empty()).ok_or("requestId expected (vigil sends one)")?;
    if s.bytes.len() > 32_000 {
        return Err("message over 32,000 bytes".into());
    }
    let b = s.json()?;
    let cards = b["cardsV2"].as_array().cloned().unwrap_or_default();
    if b["text"].as_str().is_none() && cards.is_empty() {
        return Err("text or cardsV2 needed".into());
    }
    for card in &cards {
        let widgets: usize = card["card"]["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["widgets"].as_array().map_or(0, Vec::len))
            .sum();
        if widgets > 100 {
            return Err("more than 100 widgets".into());
        }
    }
    at_most("threadKey", b["thread"]["threadKey"].as_str().unwrap_or_default(), 4000)
}

/// Zulip's send-message: a form with Basic auth, a topic of at most 60 characters, content of at
/// most 10,000 bytes.
fn zulip(s: &Seen) -> Result<(), String> {
    let basic = base64::engine::general_purpose::STANDARD.encode("bot@org.zulipchat.com:KEY");
    if s.path != "/zulip/api/v1/messages" || s.auth() != format!("Basic {basic}") {
        return Err("Invalid API key".into());
    }
    let f = s.form()?;
    if !["stream", "channel", "private", "direct"].contains(&f.get("type").map(String::as_str).unwrap_or_default()) {
        return Err("Invalid type".into());
    }
    f.get("to").ok_or("Missing 'to' argument")?;
    at_most("topic", f.get("topic").map(String::as_str).unwrap_or_default(), 60)?;
    let content = f.get("content").ok_or("Missing 'content' argument")?;
    if content.len() > 10_000 {
        return Err("Message too long".into());
    }
    Ok(())
}

/// Matrix's send-event: a PUT under a transaction id with a Bearer token, an `m.room.message`
/// within 64 KiB. Returns the transaction id.
fn matrix(s: &Seen) -> Result<String, String> {
    // The room id path-encoded, as the spec asks (`!` and `:` are reserved).
    let prefix = "/matrix/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/";
    if s.method != "PUT" {
        return Err(format!("send is a PUT, not {}", s.method));
    }
    let txn = s.path.strip_prefix(prefix).ok_or(format!("unexpected {}", s.path))?;
    if s.auth() != "Bearer syt_token" {
        return Err("M_UNKNOWN_TOKEN".into());
    }
    if s.bytes.len() > 65_536 {
        return Err("M_TOO_LARGE".into());
    }
    let b = s.json()?;
    if !["m.text", "m.notice"].contains(&need_str(&b, "msgtype")?) {
        return Err("bad msgtype".into());
    }
    need_str(&b, "body")?;
    if b.get("format").is_some() {
        need_str(&b, "formatted_body")?;
    }
    Ok(txn.to_string())
}

/// ntfy's JSON publish: to the root, a valid topic, priority 1-5, at most 3 actions.
fn ntfy(s: &Seen) -> Result<(), String> {
    if s.path != "/ntfy/" {
        return Err("JSON must be published to the root URL".into());
    }
    if s.auth() != "Bearer tk_token" {
        return Err("unauthorized".into());
    }
    let b = s.json()?;
    let topic = need_str(&b, "topic")?;
    if topic.is_empty() || topic.len() > 64 || !topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("invalid topic".into());
    }
    if !b["priority"].as_u64().is_some_and(|p| (1..=5).contains(&p)) {
        return Err("invalid priority".into());
    }
    if b["actions"].as_array().is_some_and(|a| a.len() > 3) {
        return Err("too many actions".into());
    }
    if b["message"].as_str().unwrap_or_default().len() > 4096 {
        return Err("message too large".into());
    }
    Ok(())
}

/// Gotify's create-message: the app token, a message, an integer priority, extras as an object.
fn gotify(s: &Seen) -> Result<(), String> {
    if s.path != "/gotify/message" || s.headers.get("x-gotify-key").map(String::as_str) != Some("AppToken") {
        return Err("you need to provide a valid access token".into());
    }
    let b = s.json()?;
    if need_str(&b, "message")?.is_empty() {
        return Err("message is required".into());
    }
    b["priority"].as_i64().ok_or("priority must be an integer")?;
    if !b["extras"].is_object() {
        return Err("extras must be an object".into());
    }
    Ok(())
}

/// Pushover's messages API: 30-character keys, Pushover's limits, emergency's retry and expire.
fn pushover(s: &Seen) -> Result<(), String> {
    if s.path != "/pushover/1/messages.json" {
        return Err("not found".into());
    }
    let b = s.json()?;
    for key in ["token", "user"] {
        let v = need_str(&b, key)?;
        if v.len() != 30 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("{key} is invalid"));
        }
    }
    at_most("message", need_str(&b, "message")?, 1024)?;
    at_most("title", b["title"].as_str().unwrap_or_default(), 250)?;
    at_most("url", b["url"].as_str().unwrap_or_default(), 512)?;
    at_most("url_title", b["url_title"].as_str().unwrap_or_default(), 100)?;
    let priority = b["priority"].as_i64().unwrap_or(0);
    if !(-2..=2).contains(&priority) {
        return Err("priority is invalid".into());
    }
    if priority == 2
        && !(b["retry"].as_i64().is_some_and(|r| r >= 30) && b["expire"].as_i64().is_some_and(|e| e <= 10_800))
    {
        return Err("retry and expire must be supplied with priority=2".into());
    }
    Ok(())
}

/// A DingTalk robot with signing: the signature of timestamp and secret, within an hour.
fn dingtalk(s: &Seen) -> Result<(), (i64, String)> {
    if s.query.get("access_token").map(String::as_str) != Some("T") {
        return Err((300001, "token is not exist".into()));
    }
    let ts = s.query.get("timestamp").ok_or((310000, "sign not match".to_string()))?;
    let sign = s.query.get("sign").ok_or((310000, "sign not match".to_string()))?;
    let millis: i64 = ts.parse().map_err(|_| (310000, "invalid timestamp".to_string()))?;
    if (jiff::Timestamp::now().as_millisecond() - millis).abs() > 3_600_000 {
        return Err((310000, "invalid timestamp".into()));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(DINGTALK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}\n{DINGTALK_SECRET}").as_bytes());
    if base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()) != *sign {
        return Err((310000, "sign not match".into()));
    }
    let b = s.json().map_err(|e| (40035, e))?;
    if s.bytes.len() > 20_000 {
        return Err((460101, "message too long, exceed 20000 bytes".into()));
    }
    match b["msgtype"].as_str() {
        Some("markdown") if b["markdown"]["title"].is_string() && b["markdown"]["text"].is_string() => Ok(()),
        Some("text") if b["text"]["content"].is_string() => Ok(()),
        _ => Err((40035, "缺少参数 json".into())),
    }
}

/// A WeCom group robot: the key, Markdown content of at most 4,096 bytes.
fn wecom(s: &Seen) -> Result<(), (i64, String)> {
    if s.path != "/wecom/cgi-bin/webhook/send" || s.query.get("key").map(String::as_str) != Some("K") {
        return Err((93000, "invalid webhook url".into()));
    }
    let b = s.json().map_err(|e| (40008, e))?;
    match b["msgtype"].as_str() {
        Some("markdown") => {
            let content = b["markdown"]["content"].as_str().ok_or((40008, "markdown.content missing".to_string()))?;
            if content.len() > 4096 {
                return Err((40058, "markdown.content exceed max length 4096".into()));
            }
            Ok(())
        }
        _ => Err((40008, "invalid message type".into())),
    }
}

/// Twilio's Messages and Calls: a form with Basic auth, To, a sender, Body within 1,600
/// characters, or TwiML within 4,000. Returns the new resource's SID.
fn twilio(s: &Seen) -> Result<String, String> {
    let basic = base64::engine::general_purpose::STANDARD.encode("AC123:secret");
    if s.auth() != format!("Basic {basic}") {
        return Err("Authenticate".into());
    }
    let f = s.form()?;
    f.get("To").ok_or("A 'To' phone number is required.")?;
    match s.path.as_str() {
        "/twilio/2010-04-01/Accounts/AC123/Messages.json" => {
            if !f.contains_key("From") && !f.contains_key("MessagingServiceSid") {
                return Err("A 'From' phone number is required.".into());
            }
            at_most("Body", f.get("Body").ok_or("A 'Body' is required")?, 1600)?;
            Ok("SM1".into())
        }
        "/twilio/2010-04-01/Accounts/AC123/Calls.json" => {
            f.get("From").ok_or("A 'From' phone number is required.")?;
            let twiml = f.get("Twiml").ok_or("Url or Twiml is required")?;
            at_most("Twiml", twiml, 4000)?;
            if !twiml.starts_with("<Response>")
                || !twiml.ends_with("</Response>")
                || twiml.matches('<').count() != twiml.matches('>').count()
            {
                return Err("Twiml is not valid XML".into());
            }
            Ok("CA1".into())
        }
        other => Err(format!("The requested resource {other} was not found")),
    }
}

/// Splunk On-Call's REST endpoint: a message type it knows, an entity id.
fn splunk_oncall(s: &Seen) -> Result<String, String> {
    if s.path != "/victorops/integrations/generic/20131114/alert/KEY/team-a" {
        return Err("Invalid API key or routing key".into());
    }
    let b = s.json()?;
    if !["CRITICAL", "WARNING", "INFO", "ACKNOWLEDGEMENT", "RECOVERY"].contains(&need_str(&b, "message_type")?) {
        return Err("bad message_type".into());
    }
    Ok(need_str(&b, "entity_id")?.to_string())
}

/// Squadcast's incident webhook: a message, a status it knows, an event id, at most 30 KB.
fn squadcast(s: &Seen) -> Result<(), String> {
    if s.path != "/squadcast/v2/incidents/api/TOKEN" {
        return Err("invalid token".into());
    }
    if s.bytes.len() > 30 * 1024 {
        return Err("payload too large".into());
    }
    let b = s.json()?;
    need_str(&b, "message")?;
    need_str(&b, "event_id")?;
    match b["status"].as_str() {
        Some("trigger" | "resolve") => Ok(()),
        other => Err(format!("bad status {other:?}")),
    }
}

/// incident.io's HTTP alert source: the Bearer token, a title, firing or resolved.
fn incident_io(s: &Seen) -> Result<String, String> {
    if s.path != "/incidentio/v2/alert_events/http/01H" || s.auth() != "Bearer tok" {
        return Err("unauthorized".into());
    }
    let b = s.json()?;
    need_str(&b, "title")?;
    if !["firing", "resolved"].contains(&need_str(&b, "status")?) {
        return Err("status must be firing or resolved".into());
    }
    if !b["metadata"].is_object() {
        return Err("metadata must be an object".into());
    }
    Ok(need_str(&b, "deduplication_key")?.to_string())
}

/// JSM's alert API (Opsgenie's): GenieKey, message within 130 characters, alias within 512;
/// close, acknowledge and a new priority by alias.
fn jsm(s: &Seen) -> Result<(), String> {
    if !s.auth().starts_with("GenieKey ") {
        return Err("Authorization must be GenieKey".into());
    }
    let b = s.json()?;
    if s.path == "/jsm/v2/alerts" {
        at_most("message", need_str(&b, "message")?, 130)?;
        at_most("alias", need_str(&b, "alias")?, 512)?;
        return Ok(());
    }
    let by_alias = s.query.get("identifierType").map(String::as_str) == Some("alias");
    if by_alias && s.method == "POST" && (s.path.ends_with("/close") || s.path.ends_with("/acknowledge")) {
        return Ok(());
    }
    if by_alias && s.method == "PUT" && s.path.ends_with("/priority") {
        return match b["priority"].as_str() {
            Some("P1" | "P2" | "P3" | "P4" | "P5") => Ok(()),
            other => Err(format!("bad priority {other:?}")),
        };
    }
    Err(format!("unexpected {} {}", s.method, s.path))
}

/// signal-cli-rest-api's `POST /v2/send` (its `SendMessageV2`): a JSON body whose `number` is a
/// string and `recipients` a list of strings, at least one; what does not bind is refused as the
/// server refuses it.
fn signal(s: &Seen) -> Result<(), String> {
    if s.method != "POST" || s.path != "/signal/v2/send" {
        return Err(format!("unexpected {} {}", s.method, s.path));
    }
    let invalid = || "Couldn't process request - invalid request".to_string();
    let b = s.json().map_err(|_| invalid())?;
    let recipients = b["recipients"].as_array().ok_or_else(invalid)?;
    if recipients.is_empty() || !recipients.iter().all(Value::is_string) {
        return Err("Couldn't process request - please provide at least one recipient".into());
    }
    let groups = recipients.iter().filter(|r| r.as_str().is_some_and(|r| r.starts_with("group."))).count();
    if groups > 1 || (groups == 1 && recipients.len() > 1) {
        return Err("one group per request, and not with phone numbers".into());
    }
    if need_str(&b, "number").map_err(|_| invalid())?.is_empty() {
        return Err("Couldn't process request - please provide a valid number".into());
    }
    if need_str(&b, "message").map_err(|_| invalid())?.is_empty() {
        return Err("message is empty".into());
    }
    Ok(())
}

/// Each provider's way of saying "slow down".
fn limited(s: &Seen) -> Response {
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    match s.path.as_str() {
        "/limited/zulip/api/v1/messages" => (
            too_many,
            [("retry-after", "0.5")],
            axum::Json(json!({"result": "error", "code": "RATE_LIMIT_HIT", "msg": "API usage exceeded rate limit", "retry-after": 0.5})),
        )
            .into_response(),
        p if p.starts_with("/limited/telegram/") => (
            too_many,
            axum::Json(json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}})),
        )
            .into_response(),
        p if p.starts_with("/limited/discord/") => {
            (too_many, axum::Json(json!({"message": "You are being rate limited.", "retry_after": 2.25, "global": false}))).into_response()
        }
        "/limited/dingtalk" => {
            (StatusCode::OK, axum::Json(json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}))).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn server() -> String {
    let app = Router::new().fallback(provider).with_state(Transactions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A notice long enough to reach every provider's limits, with markup in its text.
fn message(notice: Notice) -> AlertMessage {
    let now = jiff::Timestamp::now().as_millisecond();
    AlertMessage {
        notice,
        dedup_key: "monitor/api-latency/region=eu".into(),
        name: "api latency".into(),
        severity: Severity::Critical,
        summary: "p99 <latency> 2.3 s & over 1 s for 5 minutes ".repeat(60),
        details: json!({"p99_ms": 2300, "log": "x".repeat(30_000)}),
        labels: [("service".to_string(), "api".to_string()), ("region".into(), "eu".into())].into(),
        source: "vigil/api_latency".into(),
        firing_since: now - 300_000,
        at: now,
        links: vec![Link { href: "https://grafana.example.com/d/api".into(), text: "Dashboard".into() }],
        test: false,
        rendered: Default::default(),
    }
}

fn channels(base: &str) -> Vec<NotifierConfig> {
    let pushover_key = |c: char| c.to_string().repeat(30);
    let docs = [
        json!({"type": "discord", "name": "discord", "url": format!("{base}/discord/api/webhooks/123/tok"), "content": "<@&1>"}),
        json!({"type": "telegram", "name": "telegram", "bot_token": "123456:ABC-DEF", "chat_id": -100_123, "api_url": format!("{base}/telegram")}),
        json!({"type": "mattermost", "name": "mattermost", "url": format!("{base}/mattermost/hooks/xyz")}),
        json!({"type": "rocketchat", "name": "rocketchat-hook", "url": format!("{base}/rocketchat/hooks/abc/def")}),
        json!({"type": "rocketchat", "name": "rocketchat-api", "url": format!("{base}/rocketchat"), "token": "pat", "user_id": "uid", "channel": "#ops"}),
        json!({"type": "google_chat", "name": "google", "url": format!("{base}/google/v1/spaces/AAA/messages?key=k&token=t")}),
        json!({"type": "zulip", "name": "zulip", "url": format!("{base}/zulip"), "bot_email": "bot@org.zulipchat.com", "api_key": "KEY", "channel": "ops"}),
        json!({"type": "matrix", "name": "matrix", "homeserver": format!("{base}/matrix"), "access_token": "syt_token", "room_id": "!room:example.org"}),
        json!({"type": "ntfy", "name": "ntfy", "url": format!("{base}/ntfy"), "topic": "ops-alerts", "token": "tk_token"}),
        json!({"type": "gotify", "name": "gotify", "url": format!("{base}/gotify"), "token": "AppToken"}),
        json!({"type": "pushover", "name": "pushover", "token": pushover_key('a'), "user": pushover_key('u'), "emergency": true, "url": format!("{base}/pushover/1/messages.json")}),
        json!({"type": "dingtalk", "name": "dingtalk", "url": format!("{base}/dingtalk/robot/send?access_token=T"), "secret": DINGTALK_SECRET}),
        json!({"type": "wecom", "name": "wecom", "url": format!("{base}/wecom/cgi-bin/webhook/send?key=K")}),
        json!({"type": "twilio", "name": "twilio-sms", "account_sid": "AC123", "auth_token": "secret", "from": "+15550000000", "to": "+15551111111", "url": format!("{base}/twilio")}),
        json!({"type": "twilio", "name": "twilio-call", "account_sid": "AC123", "auth_token": "secret", "from": "+15550000000", "to": "+15551111111", "call": true, "url": format!("{base}/twilio")}),
        json!({"type": "splunk_oncall", "name": "victorops", "api_key": "KEY", "routing_key": "team-a", "url": format!("{base}/victorops/integrations/generic/20131114/alert")}),
        json!({"type": "squadcast", "name": "squadcast", "url": format!("{base}/squadcast/v2/incidents/api/TOKEN")}),
        json!({"type": "incident_io", "name": "incident.io", "url": format!("{base}/incidentio/v2/alert_events/http/01H"), "token": "tok"}),
        json!({"type": "jsm", "name": "jsm", "api_key": "key", "url": format!("{base}/jsm")}),
        json!({"type": "signal", "name": "signal", "url": format!("{base}/signal"), "number": "+4915100000000", "recipients": ["+4915111111111", "+4915122222222"]}),
        json!({"type": "signal", "name": "signal-group", "url": format!("{base}/signal"), "number": "+4915100000000", "recipients": ["group.b3BzCg=="]}),
    ];
    docs.into_iter().map(|d| serde_json::from_value::<NotifierConfig>(d).unwrap()).collect()
}

#[tokio::test]
async fn every_channel_is_accepted_by_a_server_checking_the_documented_format() {
    let base = server().await;
    let client = vigil_connectors::http_client();
    let all = channels(&base);
    assert_eq!(all.len(), 21);
    for notifier in all {
        for notice in [Notice::Trigger, Notice::Remind, Notice::Change, Notice::Acknowledge, Notice::Resolve] {
            let msg = message(notice);
            let req = notifier.build_request(&msg, msg.at).unwrap();
            let outcome = send(&client, &notifier, &req, Duration::from_secs(5)).await;
            assert_eq!(outcome, Outcome::Delivered, "{} {notice:?}", notifier.name());
        }
    }
}

/// The server's checks are not vacuous: what breaks a documented rule is refused, and refusals
/// that come in a 200 are read as refusals.
#[tokio::test]
async fn a_request_breaking_the_format_is_refused_even_in_a_200() {
    let base = server().await;
    let client = vigil_connectors::http_client();
    let refused = |doc: Value| async {
        let notifier = serde_json::from_value::<NotifierConfig>(doc).unwrap();
        let msg = message(Notice::Trigger);
        send(&client, &notifier, &notifier.build_request(&msg, msg.at).unwrap(), Duration::from_secs(5)).await
    };
    let wrong_secret = refused(json!({"type": "dingtalk", "name": "d", "url": format!("{base}/dingtalk/robot/send?access_token=T"), "secret": "SECwrong"})).await;
    assert!(matches!(&wrong_secret, Outcome::Permanent { reason } if reason.contains("310000")), "{wrong_secret:?}");
    let wrong_key =
        refused(json!({"type": "wecom", "name": "w", "url": format!("{base}/wecom/cgi-bin/webhook/send?key=X")})).await;
    assert!(matches!(&wrong_key, Outcome::Permanent { reason } if reason.contains("93000")), "{wrong_key:?}");
    let channel_override = refused(
        json!({"type": "rocketchat", "name": "r", "url": format!("{base}/rocketchat/hooks/abc/def"), "channel": "#x"}),
    )
    .await;
    assert!(
        matches!(&channel_override, Outcome::Permanent { reason } if reason.contains("overriding")),
        "{channel_override:?}"
    );
    let wrong_chat_token = refused(json!({"type": "telegram", "name": "t", "bot_token": "1:X", "chat_id": "@ops", "api_url": format!("{base}/telegram")})).await;
    assert!(matches!(wrong_chat_token, Outcome::Permanent { .. }), "{wrong_chat_token:?}");
}

/// Each provider's "slow down" sets the wait before the next try.
#[tokio::test]
async fn each_providers_rate_limit_answer_sets_the_wait() {
    let base = server().await;
    let client = vigil_connectors::http_client();
    let cases = [
        (
            json!({"type": "zulip", "name": "z", "url": format!("{base}/limited/zulip"), "bot_email": "b@x", "api_key": "k", "channel": "ops"}),
            Some(Duration::from_millis(500)),
        ),
        (
            json!({"type": "telegram", "name": "t", "bot_token": "1:X", "chat_id": 1, "api_url": format!("{base}/limited/telegram")}),
            Some(Duration::from_secs(3)),
        ),
        (
            json!({"type": "discord", "name": "d", "url": format!("{base}/limited/discord/api/webhooks/1/t")}),
            Some(Duration::from_millis(2250)),
        ),
        (
            json!({"type": "dingtalk", "name": "dt", "url": format!("{base}/limited/dingtalk")}),
            Some(Duration::from_secs(60)),
        ),
    ];
    for (doc, wait) in cases {
        let notifier = serde_json::from_value::<NotifierConfig>(doc).unwrap();
        let msg = message(Notice::Trigger);
        let outcome =
            send(&client, &notifier, &notifier.build_request(&msg, msg.at).unwrap(), Duration::from_secs(5)).await;
        assert!(matches!(&outcome, Outcome::Retry { after, .. } if *after == wait), "{}: {outcome:?}", notifier.name());
    }
}

/// Matrix sees a retried send under the same transaction id, and answers it with the first
/// event: the room gets the message once.
#[tokio::test]
async fn a_retried_matrix_send_is_one_event() {
    let base = server().await;
    let client = vigil_connectors::http_client();
    let matrix = serde_json::from_value::<NotifierConfig>(json!({"type": "matrix", "name": "m", "homeserver": format!("{base}/matrix"), "access_token": "syt_token", "room_id": "!room:example.org"})).unwrap();
    let msg = message(Notice::Trigger);
    let (first, retry) =
        (matrix.build_request(&msg, msg.at).unwrap(), matrix.build_request(&msg, msg.at + 5_000).unwrap());
    assert_eq!(first.url, retry.url, "a retry builds the same transaction");
    for req in [first, retry] {
        assert_eq!(send(&client, &matrix, &req, Duration::from_secs(5)).await, Outcome::Delivered);
    }
    let resolve = matrix.build_request(&message(Notice::Resolve), msg.at).unwrap();
    assert_ne!(resolve.url, matrix.build_request(&msg, msg.at).unwrap().url);
}
