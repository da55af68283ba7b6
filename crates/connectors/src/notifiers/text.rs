//! A notification as text, for the providers that take a message rather than a structured card:
//! the same lines as Slack's blocks (the heading with its state, the rendered text, severity,
//! source, labels, details, links, the dedup key) in plain text, CommonMark or HTML.

use super::{AlertMessage, Severity, details_text};
use vigil_core::alert::Notice;

/// How a notice looks at a glance: an emoji for the state, as Slack's messages start.
pub fn emoji(msg: &AlertMessage) -> &'static str {
    match msg.notice {
        Notice::Resolve => "✅",
        Notice::Acknowledge => "👀",
        Notice::Trigger if msg.severity == Severity::Info => "ℹ️",
        _ if msg.severity == Severity::Warning => "⚠️",
        _ => "🚨",
    }
}

/// The heading with its emoji: `🚨 [FIRING] disk full`.
pub fn heading(msg: &AlertMessage) -> String {
    format!("{} {}", emoji(msg), msg.heading())
}

/// The facts as (name, value): severity, source, at most eight labels.
pub fn facts(msg: &AlertMessage) -> Vec<(String, String)> {
    let mut facts =
        vec![("severity".to_string(), msg.severity.as_str().to_string()), ("source".into(), msg.source.clone())];
    facts.extend(msg.labels.iter().take(8).map(|(k, v)| (k.clone(), v.clone())));
    facts
}

/// The body without the heading, as plain text.
pub fn plain_body(msg: &AlertMessage) -> String {
    let mut out = Vec::new();
    if let Some(text) = msg.rendered_text() {
        out.push(text.to_string());
    }
    out.extend(facts(msg).into_iter().map(|(k, v)| format!("{k}: {v}")));
    if let Some(details) = details_text(&msg.details) {
        out.push(details);
    }
    out.extend(msg.links.iter().map(|l| format!("{}: {}", l.text, l.href)));
    out.push(format!("dedup key: {}", msg.dedup_key));
    out.join("\n")
}

/// The whole message as plain text: the heading, then [`plain_body`].
pub fn plain(msg: &AlertMessage) -> String {
    format!("{}\n{}", heading(msg), plain_body(msg))
}

/// The body without the heading, as CommonMark: facts in bold, details in a code block, links as
/// links.
pub fn markdown_body(msg: &AlertMessage) -> String {
    let mut out = Vec::new();
    if let Some(text) = msg.rendered_text() {
        out.push(text.to_string());
    }
    let facts: Vec<String> = facts(msg).into_iter().map(|(k, v)| format!("**{k}**: {v}")).collect();
    out.push(facts.join("\n"));
    if let Some(details) = details_text(&msg.details) {
        out.push(format!("```\n{details}\n```"));
    }
    if !msg.links.is_empty() {
        let links: Vec<String> = msg.links.iter().map(|l| format!("[{}]({})", l.text, l.href)).collect();
        out.push(links.join(" · "));
    }
    out.push(format!("dedup key `{}`", msg.dedup_key));
    out.join("\n\n")
}

/// The whole message as CommonMark: the heading in bold, then [`markdown_body`].
pub fn markdown(msg: &AlertMessage) -> String {
    format!("**{}**\n\n{}", heading(msg), markdown_body(msg))
}

/// `text` with `&`, `<`, `>` and `"` escaped for HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole message as the HTML subset chat clients render (Telegram's, Matrix's): the heading in
/// bold, facts, details in `<pre>`, links.
pub fn html(msg: &AlertMessage) -> String {
    let mut out = vec![format!("<b>{}</b>", escape_html(&heading(msg)))];
    if let Some(text) = msg.rendered_text() {
        out.push(escape_html(text));
    }
    out.extend(facts(msg).into_iter().map(|(k, v)| format!("<b>{}</b>: {}", escape_html(&k), escape_html(&v))));
    if let Some(details) = details_text(&msg.details) {
        out.push(format!("<pre>{}</pre>", escape_html(&details)));
    }
    out.extend(msg.links.iter().map(|l| format!("<a href=\"{}\">{}</a>", escape_html(&l.href), escape_html(&l.text))));
    out.push(format!("dedup key <code>{}</code>", escape_html(&msg.dedup_key)));
    out.join("\n")
}

/// `text` cut to at most `max` bytes of UTF-8 on a character boundary, the cut marked with `…`
/// (WeCom and ntfy count bytes, not characters).
pub fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn every_form_names_the_state_the_facts_and_the_key() {
        let msg = message(Notice::Resolve);
        for text in [plain(&msg), markdown(&msg), html(&msg)] {
            assert!(text.contains("[RESOLVED]"), "{text}");
            assert!(text.contains("✅"), "{text}");
            assert!(text.contains("platform"), "{text}");
            assert!(text.contains("failure_alert/sample_tracker_workflow"), "{text}");
            assert!(text.contains("https://conductor.example.com/search"), "{text}");
        }
        assert!(markdown(&message(Notice::Acknowledge)).starts_with("**👀 [ACKNOWLEDGED]"));
    }

    #[test]
    fn html_is_escaped_and_bytes_are_cut_on_a_character() {
        let mut msg = message(Notice::Trigger);
        msg.summary = "<script>&".into();
        assert!(html(&msg).contains("&lt;script&gt;&amp;"));
        assert!(!html(&msg).contains("<script>"));
        assert_eq!(truncate_bytes("ééé", 5), "é…");
        assert_eq!(truncate_bytes("abc", 3), "abc");
        assert!(truncate_bytes(&"é".repeat(3000), 4096).len() <= 4096);
    }
}
