//! Twilio: a text (`POST {url}/2010-04-01/Accounts/{sid}/Messages.json`) or, with `call: true`, a
//! voice call that reads the page aloud (`.../Calls.json` with inline TwiML `<Say>`). Both are
//! form-encoded with HTTP Basic auth (the account SID and auth token, or an API key and its
//! secret). A call rings only for pages: resolves and acknowledgements of a calling notifier go
//! as a text from the same number. Twilio answers 201; a 429 (code 20429) is always safe to
//! retry.

use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest, text, truncate};

/// The API's base.
pub const DEFAULT_URL: &str = "https://api.twilio.com";
/// Twilio's limits: a text's characters, inline TwiML's characters.
const MAX_BODY: usize = 1600;
const MAX_TWIML: usize = 4000;

/// `type: twilio`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// Notifier name.
    pub name: String,
    /// The account SID (`AC...`).
    pub account_sid: String,
    /// The account's auth token, or the secret of `api_key` (use `${workflow.secrets.NAME}`).
    pub auth_token: String,
    /// An API key SID (`SK...`) to authenticate with instead of the account SID.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The number to send from (E.164, `+15551234567`), a sender id, or a short code.
    #[serde(default)]
    pub from: Option<String>,
    /// A Messaging Service (`MG...`) to pick the sender, instead of `from` (texts only).
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// The number to text or call (E.164).
    pub to: String,
    /// Call `to` and read the page aloud, instead of texting it.
    #[serde(default)]
    pub call: bool,
    /// The API's base.
    #[serde(default = "default_url")]
    pub url: String,
}

fn default_url() -> String {
    DEFAULT_URL.into()
}

/// `text` with XML's five special characters escaped, for TwiML.
fn escape_xml(text: &str) -> String {
    text::escape_html(text).replace('\'', "&apos;")
}

impl TwilioConfig {
    /// The text or call request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        let pages = !matches!(msg.notice, Notice::Resolve | Notice::Acknowledge);
        let calling = self.call && pages;
        let mut body = json!({"To": self.to});
        match (&self.from, &self.messaging_service_sid) {
            (Some(from), _) => body["From"] = json!(from),
            (None, Some(service)) if !self.call => body["MessagingServiceSid"] = json!(service),
            _ => {
                return Err(NotifyError::Invalid(
                    "twilio: `from` is needed (a call needs a number to call from)".into(),
                ));
            }
        }
        let resource = if calling {
            let spoken = format!("{}. {}. Severity {}.", msg.heading(), msg.source, msg.severity.as_str());
            let say = |text: &str| format!("<Response><Say loop=\"2\">{}</Say></Response>", escape_xml(text));
            let mut spoken_cut = spoken.clone();
            while say(&spoken_cut).chars().count() > MAX_TWIML {
                spoken_cut = truncate(&spoken_cut, spoken_cut.chars().count() * 9 / 10);
            }
            body["Twiml"] = json!(say(&spoken_cut));
            "Calls"
        } else {
            let text = format!("{}\n{}\nkey: {}", msg.heading(), msg.source, msg.dedup_key);
            body["Body"] = json!(truncate(&text, MAX_BODY));
            "Messages"
        };
        let user = self.api_key.as_deref().unwrap_or(&self.account_sid);
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", self.auth_token));
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.url.trim_end_matches('/'),
            super::opsgenie::encode_path(&self.account_sid)
        );
        let mut req = OutgoingRequest::post_json(url, body).header("Authorization", format!("Basic {basic}"));
        req.encoding = Encoding::Form;
        Ok(req)
    }
}

impl super::Notifier for TwilioConfig {
    const TYPE: &'static str = "twilio";
    const SECRETS: &'static [&'static str] = &["auth_token"];
    /// Twilio queues; a long code sends about one text a second.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 5.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        match (&self.from, &self.messaging_service_sid, self.call) {
            (None, None, _) => {
                Some(("from".into(), "a sender is needed".into(), Some("set `from` or `messaging_service_sid`".into())))
            }
            (None, Some(_), true) => Some(("from".into(), "a call needs a number to call from".into(), None)),
            _ => None,
        }
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::notifiers::fixtures::message;
    use crate::notifiers::{Notifier, Outcome};

    fn twilio(extra: Value) -> TwilioConfig {
        let mut v = json!({"name": "t", "account_sid": "AC123", "auth_token": "secret", "from": "+15550000000", "to": "+15551111111"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn form(req: &OutgoingRequest) -> Vec<(String, String)> {
        form_urlencoded::parse(&req.wire_body().0).into_owned().collect()
    }

    #[test]
    fn a_text_is_a_form_with_basic_auth() {
        let req = twilio(json!({})).build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(req.headers[0], ("Authorization".into(), "Basic QUMxMjM6c2VjcmV0".into()));
        let form = form(&req);
        assert_eq!(form[0], ("To".into(), "+15551111111".into()));
        assert!(form.contains(&("From".into(), "+15550000000".into())));
        assert!(form.iter().any(|(k, v)| k == "Body" && v.starts_with("[FIRING]")));
    }

    #[test]
    fn a_call_reads_the_page_and_the_resolve_comes_as_a_text() {
        let t = twilio(json!({"call": true}));
        let mut msg = message(Notice::Trigger);
        msg.summary = "disk <full> & \"hot\"".into();
        let call = t.build_request(&msg).unwrap();
        assert!(call.url.ends_with("/Calls.json"));
        let twiml = form(&call).into_iter().find(|(k, _)| k == "Twiml").unwrap().1;
        assert!(
            twiml.starts_with("<Response><Say loop=\"2\">[FIRING] disk &lt;full&gt; &amp; &quot;hot&quot;"),
            "{twiml}"
        );
        let resolve = t.build_request(&message(Notice::Resolve)).unwrap();
        assert!(resolve.url.ends_with("/Messages.json"));
        assert!(form(&resolve).iter().any(|(k, v)| k == "Body" && v.starts_with("[RESOLVED]")));
        let mut long = message(Notice::Trigger);
        long.summary = "&".repeat(5000);
        let twiml = form(&t.build_request(&long).unwrap()).into_iter().find(|(k, _)| k == "Twiml").unwrap().1;
        assert!(twiml.chars().count() <= 4000);
    }

    #[test]
    fn a_sender_is_needed_and_answers_are_read() {
        let none: TwilioConfig =
            serde_json::from_value(json!({"name": "t", "account_sid": "AC1", "auth_token": "x", "to": "+1"})).unwrap();
        assert!(none.problem().is_some());
        let service = twilio(json!({"from": null, "messaging_service_sid": "MG1"}));
        assert!(
            form(&service.build_request(&message(Notice::Trigger)).unwrap())
                .contains(&("MessagingServiceSid".into(), "MG1".into()))
        );
        assert_eq!(service.classify(201, None, r#"{"sid":"SM1","status":"queued"}"#), Outcome::Delivered);
        assert!(matches!(service.classify(429, None, r#"{"code":20429}"#), Outcome::Retry { .. }));
        assert!(matches!(service.classify(400, None, r#"{"code":21211}"#), Outcome::Permanent { .. }));
    }
}
