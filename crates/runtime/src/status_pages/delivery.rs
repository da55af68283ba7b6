//! Sends the notices for status page subscribers ([`super::subscribers`]): the node that owns
//! a page's key sends its notices in the order they were written, deletes each once sent, and
//! tries a failed one again later (after 2 s, doubling to an hour, 20 attempts at most). A
//! webhook is signed as Standard Webhooks says, with the notice's row id as `webhook-id` (the
//! same on a retry, so a receiver drops a copy sent again after a crash); a letter's
//! `Message-ID` is made from it too.

use std::sync::atomic::Ordering;
use std::time::Duration;

use vigil_connectors::notifiers::email::Letter;
use vigil_connectors::notifiers::{NotifierConfig, Outcome};
use vigil_connectors::public_address;
use vigil_core::time::Millis;
use vigil_store::NoticeRow;

use super::StatusPages;
use super::subscribers::{Message, webhook_secret};

/// How often due notices are looked for when nothing wakes the loop.
const EVERY: Duration = Duration::from_secs(1);

/// The most attempts a notice gets.
const MOST_ATTEMPTS: u32 = 20;

/// How long one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The key whose partition's owner sends page `slug`'s notices.
pub(crate) fn page_key(slug: &str) -> String {
    format!("status-page/{slug}")
}

/// When to try again after `attempts` failed ones.
fn backoff(attempts: u32) -> Millis {
    (2_000i64 << attempts.min(11)).min(3_600_000)
}

impl StatusPages {
    /// Sends due notices until the engine stops (the server runs this).
    pub async fn deliver_notices_forever(self) {
        loop {
            let _ = tokio::time::timeout(EVERY, self.state.notices_due.notified()).await;
            if self.deps.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.deliver_notices().await {
                tracing::warn!(error = %e, "Notices for status page subscribers could not be read; trying again shortly.");
            }
        }
    }

    /// Sends the notices due now of the pages this node owns; how many were sent.
    pub async fn deliver_notices(&self) -> Result<usize, vigil_store::StoreError> {
        let pages: Vec<String> = self
            .all()
            .iter()
            .filter(|p| p.subscribers.is_some() && self.deps.ownership.owns_key(&page_key(&p.slug)))
            .map(|p| p.slug.clone())
            .collect();
        if pages.is_empty() {
            return Ok(0);
        }
        let store = &self.deps.store;
        let mut sent = 0;
        for row in store.due_notices(&pages, self.now(), 100).await? {
            match self.send_notice(&row).await {
                Outcome::Delivered => {
                    store.notice_sent(row.id).await?;
                    sent += 1;
                }
                Outcome::Retry { reason, .. } if row.attempts + 1 < MOST_ATTEMPTS => {
                    tracing::warn!(page = %row.notice.page, subscriber = %row.notice.subscriber, error = %reason,
                        "A notice for a status page subscriber was not sent; it will be tried again.");
                    store.notice_deferred(row.id, self.now() + backoff(row.attempts), &reason).await?;
                }
                Outcome::Retry { reason, .. } | Outcome::Permanent { reason } => {
                    tracing::error!(page = %row.notice.page, subscriber = %row.notice.subscriber, error = %reason,
                        attempts = row.attempts + 1, "A notice for a status page subscriber was given up.");
                    store.notice_sent(row.id).await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send_notice(&self, row: &NoticeRow) -> Outcome {
        let message: Message = match serde_json::from_str(&row.notice.body) {
            Ok(m) => m,
            Err(e) => return Outcome::Permanent { reason: format!("the stored notice does not read: {e}") },
        };
        let host = self
            .deps
            .public_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "vigil.invalid".into());
        match message {
            Message::Email { notifier, to, subject, text, unsubscribe } => {
                let configured = self.deps.notifiers.read().expect("lock").clone();
                let Some(found) = configured.as_ref().and_then(|n| n.get(&notifier).cloned()) else {
                    return Outcome::Retry { reason: format!("no notifier `{notifier}`"), after: None };
                };
                let NotifierConfig::Email(email) = &*found else {
                    return Outcome::Permanent { reason: format!("notifier `{notifier}` is not an email notifier") };
                };
                let message_id = format!("vigil-notice-{}@{host}", row.id);
                let letter = Letter {
                    to: &to,
                    subject: &subject,
                    text: &text,
                    unsubscribe: unsubscribe.as_deref(),
                    message_id: &message_id,
                };
                email.send_letter(&letter, SEND_TIMEOUT).await
            }
            Message::Webhook { url, body, public_only, from_form } => {
                match self.post_signed(row, &url, body, (public_only, from_form)).await {
                    Ok(_) => Outcome::Delivered,
                    Err(failed) => failed,
                }
            }
            Message::Verify { url, body, challenge, public_only, .. } => {
                // Every challenge goes to a webhook subscribed from a page's form.
                let answer = match self.post_signed(row, &url, body, (public_only, true)).await {
                    Ok(r) => read_at_most(r, 64 * 1024).await,
                    Err(failed) => return failed,
                };
                if !answer.contains(&challenge) {
                    return Outcome::Permanent { reason: "the webhook's answer did not hold the challenge".into() };
                }
                match self.webhook_verified(&row.notice.page, &row.notice.subscriber).await {
                    Ok(()) => Outcome::Delivered,
                    Err(e) => {
                        Outcome::Retry { reason: format!("the verified webhook was not recorded: {e}"), after: None }
                    }
                }
            }
        }
    }

    /// Posts `body` to `url`, signed as Standard Webhooks says; with `public_only`, only to the
    /// public addresses its name resolves to now, and `from_form`, never to this host's or
    /// vigil's own; either way following no redirect. The answer when it is a success, else what
    /// to do about the notice.
    async fn post_signed(
        &self,
        row: &NoticeRow,
        url: &str,
        body: String,
        (public_only, from_form): (bool, bool),
    ) -> Result<reqwest::Response, Outcome> {
        let Some(sealer) = self.deps.secret_box.clone() else {
            return Err(Outcome::Retry { reason: "no signing key".into(), after: None });
        };
        let client = if public_only || from_form {
            let parsed = reqwest::Url::parse(url).map_err(|e| Outcome::Permanent { reason: e.to_string() })?;
            let resolved = if public_only {
                public_address::resolve_public(&parsed).await
            } else {
                vigil_connectors::egress::resolve_outward(&parsed).await
            };
            let addrs = resolved.map_err(|e| match e {
                public_address::AddressError::Unresolved { .. } => {
                    Outcome::Retry { reason: e.to_string(), after: None }
                }
                _ => Outcome::Permanent { reason: e.to_string() },
            })?;
            public_address::pinned_client(&parsed, &addrs, SEND_TIMEOUT)
                .map_err(|e| Outcome::Retry { reason: e.to_string(), after: None })?
        } else {
            self.deps.http.clone()
        };
        let secret = webhook_secret(&sealer, &row.notice.page, &row.notice.subscriber);
        let id = format!("msg_vigil_{}", row.id);
        let timestamp = self.now().div_euclid(1_000);
        let signature = vigil_connectors::standard_webhooks::signature(&secret, &id, timestamp, &body);
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .timeout(SEND_TIMEOUT)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 && r.status().as_u16() != 408 => {
                Err(Outcome::Permanent { reason: format!("the webhook answered {}", r.status()) })
            }
            Ok(r) => Err(Outcome::Retry { reason: format!("the webhook answered {}", r.status()), after: None }),
            Err(e) => Err(Outcome::Retry { reason: format!("the webhook could not be reached: {e}"), after: None }),
        }
    }
}

/// The first `limit` bytes of an answer's body, as text (a webhook anyone subscribed may answer
/// with anything).
async fn read_at_most(mut r: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match r.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(0), 2_000);
        assert_eq!(backoff(1), 4_000);
        assert_eq!(backoff(30), 3_600_000);
    }
}
