//! Microsoft Teams through a Workflows webhook (the "Post to a channel when a webhook request is
//! received" template, which replaced Office 365 connectors): `POST <workflow URL>` with a
//! `message` whose one attachment is an Adaptive Card (`application/vnd.microsoft.card.adaptive`,
//! schema version 1.4). The workflow answers 202 Accepted; 429 carries `Retry-After`.
//!
//! Built as CONTRIBUTING.md's "add a notifier" walkthrough: this folder and one line in
//! `notifiers!` (with its `pub mod`).

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest, Severity, truncate};

/// Characters of the details shown in the card's code block.
const MAX_DETAILS: usize = 2000;

/// `type: teams`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// Notifier name.
    pub name: String,
    /// The workflow's HTTP POST URL (use `${workflow.secrets.NAME}`: it carries its signature).
    pub url: String,
}

impl TeamsConfig {
    /// The workflow request for `msg`: an Adaptive Card with the title coloured by state, the
    /// summary, the facts (severity, source, labels), the details and the links as buttons.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(NotifyError::Invalid("teams: url must be the workflow's HTTP POST URL".into()));
        }
        // Adaptive Card text colours: attention (red), warning (amber), good (green), accent.
        let colour = match msg.notice {
            Notice::Resolve => "good",
            Notice::Acknowledge => "accent",
            _ if msg.severity == Severity::Info => "accent",
            _ if msg.severity == Severity::Warning => "warning",
            _ => "attention",
        };
        let mut facts = vec![
            json!({"title": "Severity", "value": msg.severity.as_str()}),
            json!({"title": "Source", "value": msg.source}),
        ];
        facts.extend(msg.labels.iter().take(8).map(|(k, v)| json!({"title": k, "value": v})));
        facts.push(json!({"title": "Dedup key", "value": msg.dedup_key}));
        let mut body = vec![
            json!({"type": "TextBlock", "text": truncate(&msg.heading(), 150), "size": "Large", "weight": "Bolder",
                   "color": colour, "wrap": true}),
            json!({"type": "FactSet", "facts": facts}),
        ];
        if let Some(text) = msg.rendered_text() {
            body.insert(1, json!({"type": "TextBlock", "text": truncate(text, MAX_DETAILS), "wrap": true}));
        }
        if let Some(details) = super::details_text(&msg.details) {
            body.push(json!({"type": "TextBlock", "text": truncate(&details, MAX_DETAILS), "fontType": "Monospace",
                             "size": "Small", "wrap": true}));
        }
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": {"width": "Full"},
            "body": body,
        });
        if !msg.links.is_empty() {
            let actions: Vec<Value> =
                msg.links.iter().map(|l| json!({"type": "Action.OpenUrl", "title": l.text, "url": l.href})).collect();
            card["actions"] = Value::Array(actions);
        }
        Ok(OutgoingRequest {
            method: "POST",
            url: self.url.clone(),
            headers: Vec::new(),
            body: json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": card,
                }],
            }),
            encoding: Encoding::Json,
        })
    }
}

impl super::Notifier for TeamsConfig {
    const TYPE: &'static str = "teams";
    const SECRETS: &'static [&'static str] = &["url"];
    /// About one a second with bursts of 4: Teams allows an app 4 requests a second into one
    /// channel; a Workflows webhook's own throttling (Power Automate's, with no per-webhook
    /// figure documented) answers 429 with `Retry-After`, which delivery honours.
    const RATE_LIMIT: Option<(f64, f64)> = Some((60.0, 4.0));

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }
}

#[cfg(test)]
mod tests;
