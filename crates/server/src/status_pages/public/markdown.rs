//! Markdown written by operators (incident updates, post-mortems), rendered for the public
//! safely: CommonMark's text, emphasis, lists, code and links, but raw HTML is shown as the text
//! it is, images become links, and a link goes only to `http`, `https` or `mailto` addresses
//! (no `javascript:` or `data:`); links open no window of their own and pass no referrer.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// The HTML of `text`.
pub fn render(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    let mut dropped_links = Vec::new();
    let events = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).filter_map(|event| {
        Some(match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Image { dest_url, title, id, .. }) => {
                let safe = safe_url(&dest_url);
                dropped_links.push(!safe);
                if !safe {
                    return None;
                }
                Event::Start(Tag::Link { link_type: pulldown_cmark::LinkType::Inline, dest_url, title, id })
            }
            Event::End(TagEnd::Image) => {
                if dropped_links.pop().unwrap_or(true) {
                    return None;
                }
                Event::End(TagEnd::Link)
            }
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                let safe = safe_url(dest_url);
                dropped_links.push(!safe);
                if !safe {
                    return None;
                }
                event
            }
            Event::End(TagEnd::Link) => {
                if dropped_links.pop().unwrap_or(true) {
                    return None;
                }
                event
            }
            other => other,
        })
    });
    pulldown_cmark::html::push_html(&mut out, events);
    out.replace("<a href=", "<a rel=\"nofollow noopener noreferrer\" href=")
}

/// Whether a link may go to `url`.
fn safe_url(url: &CowStr) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn text_and_links_render_and_html_does_not() {
        assert_eq!(render("We are *looking* into it."), "<p>We are <em>looking</em> into it.</p>\n");
        let html = render("<script>alert(1)</script>\n\nSee <b onclick=x>this</b>");
        assert!(!html.contains("<script") && !html.contains("<b "), "{html}");
        assert!(html.contains("&lt;script&gt;"), "raw HTML shows as text: {html}");
        let link = render("[status](https://example.com/a?b=1&c=2)");
        assert_eq!(
            link,
            "<p><a rel=\"nofollow noopener noreferrer\" href=\"https://example.com/a?b=1&amp;c=2\">status</a></p>\n"
        );
    }

    #[test]
    fn only_web_and_mail_links_are_links() {
        for bad in ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "/relative"] {
            let html = render(&format!("[click]({bad}) and ![img]({bad})"));
            assert!(!html.contains("href"), "{bad}: {html}");
            assert!(html.contains("click"), "the text stays: {html}");
        }
        let image = render("![graph](https://example.com/g.png)");
        assert!(!image.contains("<img"), "no images load from elsewhere: {image}");
        assert!(image.contains("href=\"https://example.com/g.png\""), "{image}");
        assert!(render("[mail](mailto:ops@example.com)").contains("href=\"mailto:ops@example.com\""));
    }
}
