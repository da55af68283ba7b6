//! Every channel's request for each notice (trigger, tier change, acknowledgement, resolve), as a
//! snapshot: what each provider is sent, event by event.

use serde_json::json;
use vigil_core::alert::Notice;

use crate::notifiers::fixtures::message;
use crate::notifiers::{NotifierConfig, Severity};

fn channels() -> Vec<NotifierConfig> {
    let key30 = |c: char| c.to_string().repeat(30);
    [
        json!({"type": "discord", "name": "discord", "url": "https://discord.com/api/webhooks/1/t"}),
        json!({"type": "telegram", "name": "telegram", "bot_token": "1:A", "chat_id": -100}),
        json!({"type": "mattermost", "name": "mattermost", "url": "https://mm.example/hooks/x"}),
        json!({"type": "rocketchat", "name": "rocketchat", "url": "https://rc.example/hooks/a/b"}),
        json!({"type": "google_chat", "name": "google_chat", "url": "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t"}),
        json!({"type": "zulip", "name": "zulip", "url": "https://org.zulipchat.com", "bot_email": "b@x", "api_key": "k", "channel": "ops"}),
        json!({"type": "matrix", "name": "matrix", "homeserver": "https://m.example", "access_token": "t", "room_id": "!r:m.example"}),
        json!({"type": "ntfy", "name": "ntfy", "topic": "ops"}),
        json!({"type": "gotify", "name": "gotify", "url": "https://gotify.example", "token": "t"}),
        json!({"type": "pushover", "name": "pushover", "token": key30('a'), "user": key30('u'), "emergency": true}),
        json!({"type": "dingtalk", "name": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=T", "secret": "SECx"}),
        json!({"type": "wecom", "name": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"}),
        json!({"type": "twilio", "name": "twilio", "account_sid": "AC1", "auth_token": "x", "from": "+15550000000", "to": "+15551111111", "call": true}),
        json!({"type": "splunk_oncall", "name": "splunk_oncall", "api_key": "K", "routing_key": "team"}),
        json!({"type": "squadcast", "name": "squadcast", "url": "https://api.squadcast.com/v2/incidents/api/T"}),
        json!({"type": "incident_io", "name": "incident_io", "url": "https://api.incident.io/v2/alert_events/http/1", "token": "t"}),
        json!({"type": "jsm", "name": "jsm", "api_key": "k"}),
        json!({"type": "signal", "name": "signal", "url": "http://signal-api:8080", "number": "+4915100000000", "recipients": ["+4915111111111"]}),
    ]
    .into_iter()
    .map(|d| serde_json::from_value(d).unwrap())
    .collect()
}

#[test]
fn each_channel_tells_each_notice() {
    let changed = {
        let mut m = message(Notice::Change);
        m.severity = Severity::Warning;
        m
    };
    let notices = [
        ("trigger", message(Notice::Trigger)),
        ("change", changed),
        ("acknowledge", message(Notice::Acknowledge)),
        ("resolve", message(Notice::Resolve)),
    ];
    for channel in channels() {
        for (event, msg) in &notices {
            let req = channel.build_request(msg, 1_767_225_660_000).unwrap();
            let (body, _) = req.wire_body();
            // Form bodies as their fields, so the snapshot reads as the JSON ones do.
            let body: serde_json::Value = match req.encoding {
                crate::notifiers::Encoding::Json => req.body.clone(),
                crate::notifiers::Encoding::Form => serde_json::Value::Object(
                    form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), json!(v))).collect(),
                ),
            };
            let shown = json!({"method": req.method, "url": req.url, "encoding": req.encoding, "body": body});
            insta::assert_json_snapshot!(format!("{}-{event}", channel.type_name()), shown);
        }
    }
}
