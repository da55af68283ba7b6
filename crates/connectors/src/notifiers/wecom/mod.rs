//! WeCom (企业微信) group robots: `POST <robot webhook url>` (its `key` in the query) with a Markdown
//! message, the state in WeCom's colours (`warning` for a page, `info` once resolved). WeCom
//! answers HTTP 200 even on failure: `errcode` 0 is success, 45009 means over the limit of 20 a
//! minute, 93000 a robot that was removed.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http, text, truncate};

/// WeCom's limit on Markdown content (bytes).
const MAX_CONTENT: usize = 4096;

/// `type: wecom`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeComConfig {
    /// Notifier name.
    pub name: String,
    /// The robot's webhook URL, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...` (use
    /// `${workflow.secrets.NAME}`).
    pub url: String,
}

impl WeComConfig {
    /// The robot request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("wecom: url must be the robot's webhook URL".into()));
        }
        // WeCom's Markdown has three colours: info (green), comment (grey), warning (orange-red).
        let colour = match msg.notice {
            Notice::Resolve => "info",
            Notice::Acknowledge => "comment",
            _ => "warning",
        };
        let mut lines = vec![format!("### <font color=\"{colour}\">{}</font>", text::heading(msg))];
        if let Some(rendered) = msg.rendered_text() {
            lines.push(rendered.to_string());
        }
        lines.extend(text::facts(msg).into_iter().map(|(k, v)| format!("> {k}: <font color=\"comment\">{v}</font>")));
        if let Some(details) = super::details_text(&msg.details) {
            // Inline code only: WeCom renders no code blocks.
            lines.extend(details.lines().take(20).map(|l| format!("> `{l}`")));
        }
        lines.extend(msg.links.iter().map(|l| format!("[{}]({})", l.text, l.href)));
        lines.push(format!("<font color=\"comment\">dedup key {}</font>", msg.dedup_key));
        let body = json!({"msgtype": "markdown", "markdown": {"content": text::truncate_bytes(&lines.join("\n"), MAX_CONTENT)}});
        Ok(OutgoingRequest::post_json(self.url.clone(), body))
    }
}

/// `errcode` decides: 0 sent; 45009 (over the limit) and -1 (busy) retried after a minute;
/// anything else, or no `errcode`, refused.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    if !(200..=299).contains(&status) {
        return classify_http(status, retry_after, body);
    }
    let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match answer["errcode"].as_i64() {
        Some(0) => Outcome::Delivered,
        Some(45009 | -1) => Outcome::Retry {
            reason: format!("wecom is throttling: {}", truncate(body, 300)),
            after: Some(retry_after.unwrap_or(Duration::from_secs(60))),
        },
        _ => Outcome::Permanent { reason: format!("wecom answered: {}", truncate(body, 300)) },
    }
}

impl super::Notifier for WeComConfig {
    const TYPE: &'static str = "wecom";
    const SECRETS: &'static [&'static str] = &["url"];
    /// WeCom: 20 messages a minute per robot.
    const RATE_LIMIT: Option<(f64, f64)> = Some((20.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        classify(status, retry_after, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn markdown_in_wecoms_colours_within_4096_bytes() {
        let w: WeComConfig = serde_json::from_value(
            json!({"name": "w", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"}),
        )
        .unwrap();
        let req = w.build_request(&message(Notice::Trigger)).unwrap();
        let content = req.body["markdown"]["content"].as_str().unwrap();
        assert!(content.starts_with("### <font color=\"warning\">🚨 [FIRING]"), "{content}");
        insta::assert_json_snapshot!(req.body);
        let resolved = w.build_request(&message(Notice::Resolve)).unwrap();
        assert!(
            resolved.body["markdown"]["content"]
                .as_str()
                .unwrap()
                .starts_with("### <font color=\"info\">✅ [RESOLVED]")
        );
        let mut long = message(Notice::Trigger);
        long.rendered.insert("text".into(), "长".repeat(3000));
        assert!(w.build_request(&long).unwrap().body["markdown"]["content"].as_str().unwrap().len() <= 4096);
    }

    #[test]
    fn errcode_decides_even_in_a_200() {
        assert_eq!(classify(200, None, r#"{"errcode":0,"errmsg":"ok"}"#), Outcome::Delivered);
        assert!(matches!(
            classify(200, None, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify(200, None, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(classify(200, None, "ok"), Outcome::Permanent { .. }));
    }
}
