//! A status page's subscribers: email addresses, confirmed by a link they are sent (double
//! opt-in) and unsubscribed by a link in every letter (RFC 8058's one click), and webhooks,
//! added through the API and signed as Standard Webhooks says. A message for a subscriber is a
//! notice in the store, written in the same transaction as the incident change it tells of
//! (and once per update and subscriber), and sent by the node that owns the page
//! ([`super::delivery`]): a crash neither loses nor doubles one.
//!
//! Links are signed with the cluster's signing key, so any node checks them and nobody makes
//! one for another subscriber; a webhook's secret is derived from the same key and its id, so it
//! is never stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use vigil_connectors::public_address;
use vigil_core::status_page::{Incident, StatusPageDef, WebhookForm};
use vigil_store::{NewNotice, SecretBox, StoreError, SubscriberRow};

use super::StatusPages;

/// The most subscribers waiting for confirmation a page keeps: a form anyone can post to must
/// not fill the store.
const MOST_UNCONFIRMED: u64 = 1_000;

/// The most new subscriptions waiting for confirmation a page takes in an hour.
const MOST_PER_HOUR: u64 = 100;

/// Why a subscription could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// There is no page with that slug.
    #[error("no status page `{0}`")]
    NoPage(String),
    /// The page does not take this kind of subscriber.
    #[error("status page `{0}` takes no {1} subscribers (`subscribers:` in its file)")]
    NotOffered(String, &'static str),
    /// A field is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A confirmation or unsubscribe link that this cluster did not sign for that subscriber.
    #[error("this link is not valid")]
    BadLink,
    /// Links cannot be made: no public URL or no signing key.
    #[error("subscribers need `vigil serve --public-url` (the address links in letters point at) and the signing key")]
    NoLinks,
    /// Too many subscriptions wait for confirmation.
    #[error("too many subscriptions are waiting for confirmation; try again later")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A message for one subscriber, as its notice stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Message {
    /// A letter through email notifier `notifier`.
    Email {
        /// The email notifier whose server and sender send it.
        notifier: String,
        /// The subscriber's address.
        to: String,
        /// Its subject.
        subject: String,
        /// Its text.
        text: String,
        /// The one-click unsubscribe address, in the letter's headers too.
        unsubscribe: Option<String>,
    },
    /// A signed `POST` of `body` (JSON) to `url`.
    Webhook {
        /// Where.
        url: String,
        /// The JSON sent, as signed.
        body: String,
        /// Only to public addresses (a webhook subscribed from a page whose form says so).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        public_only: bool,
        /// Subscribed from a page's form: never to this host's or vigil's own addresses
        /// ([`vigil_connectors::egress::resolve_outward`]), whatever the form allows.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        from_form: bool,
    },
    /// The challenge a webhook subscribed from the page must answer (its answer's body holds
    /// `challenge`) before anything else is sent to it: a signed `POST` of `body`.
    Verify {
        /// Where.
        url: String,
        /// The JSON sent, as signed.
        body: String,
        /// What the answer must hold.
        challenge: String,
        /// Only to public addresses.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        public_only: bool,
        /// Subscribed from a page's form (every `Verify` is, but those stored before this field).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        from_form: bool,
    },
}

/// The kind of a webhook subscribed from the page's form (`webhook`: added by an operator).
pub const FORM_WEBHOOK: &str = "form_webhook";

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirms a subscription.
    Confirm,
    /// Ends one.
    Unsubscribe,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "confirm",
            LinkPurpose::Unsubscribe => "unsubscribe",
        }
    }
}

fn signed(sealer: &SecretBox, what: &str, page: &str, id: &str) -> [u8; 32] {
    sealer.sign(format!("vigil-subscriber\0{what}\0{page}\0{id}").as_bytes())
}

/// The token of a `purpose` link for subscriber `id` of `page`.
pub fn link_token(sealer: &SecretBox, purpose: LinkPurpose, page: &str, id: &str) -> String {
    B64.encode(signed(sealer, purpose.as_str(), page, id))
}

/// The secret webhook subscriber `id` of `page` checks signatures with.
pub(crate) fn webhook_secret(sealer: &SecretBox, page: &str, id: &str) -> Vec<u8> {
    signed(sealer, "webhook", page, id).to_vec()
}

/// Whether `address` reads as one email address (the SMTP server decides the rest).
fn plausible_email(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    address.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && vigil_connectors::notifiers::email::is_address(address)
}

/// Whether subscriber `s` follows a change of `changed`: it follows the whole page, or one of
/// them, or the change is of the whole page (names none).
fn follows(s: &SubscriberRow, changed: &[String]) -> bool {
    let components: Vec<String> = serde_json::from_str(&s.components).unwrap_or_default();
    components.is_empty() || changed.is_empty() || changed.iter().any(|c| components.contains(c))
}

impl StatusPages {
    fn subscribable(&self, slug: &str) -> Result<StatusPageDef, SubscribeError> {
        self.all().iter().find(|p| p.slug == slug).cloned().ok_or_else(|| SubscribeError::NoPage(slug.into()))
    }

    /// The public URL and the signing key links are made with.
    fn link_parts(&self) -> Result<(String, std::sync::Arc<SecretBox>), SubscribeError> {
        match (&self.deps.public_url, &self.deps.secret_box) {
            (Some(url), Some(sealer)) => Ok((url.trim_end_matches('/').to_string(), sealer.clone())),
            _ => Err(SubscribeError::NoLinks),
        }
    }

    /// The `purpose` link of subscriber `id` of `page`.
    fn link(&self, base: &str, sealer: &SecretBox, purpose: LinkPurpose, page: &str, id: &str) -> String {
        let token = link_token(sealer, purpose, page, id);
        format!("{base}/status/{page}/subscriptions/{id}/{}?token={token}", purpose.as_str())
    }

    fn checked_components(page: &StatusPageDef, components: &[String]) -> Result<String, SubscribeError> {
        for c in components {
            if !page.components.iter().any(|p| &p.name == c) {
                return Err(SubscribeError::Invalid(format!("`{c}` is not a component of this page")));
            }
        }
        Ok(serde_json::to_string(components).expect("names serialize"))
    }

    /// Subscribes `address` to page `slug` (the components named, or all), and sends it a
    /// confirmation link. An address already subscribed, confirmed or not, is sent nothing,
    /// and the caller is not told: the form does not say who subscribes.
    pub async fn subscribe_email(
        &self,
        slug: &str,
        address: &str,
        components: &[String],
    ) -> Result<(), SubscribeError> {
        let page = self.subscribable(slug)?;
        let notifier = page
            .subscribers
            .as_ref()
            .and_then(|s| s.email.clone())
            .ok_or(SubscribeError::NotOffered(slug.into(), "email"))?;
        let address = address.trim();
        if !plausible_email(address) {
            return Err(SubscribeError::Invalid(format!("`{address}` is not an email address")));
        }
        let components = Self::checked_components(&page, components)?;
        let (base, sealer) = self.link_parts()?;
        self.room_for_one_more(slug).await?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let confirm = self.link(&base, &sealer, LinkPurpose::Confirm, slug, &id);
        let message = Message::Email {
            notifier,
            to: address.to_string(),
            subject: format!("Confirm your subscription to {}", page.title),
            text: format!(
                "Someone, hopefully you, asked to be told by email when {title} posts an incident.\n\n\
                 To confirm, open this link:\n{confirm}\n\n\
                 If it was not you, ignore this letter: nothing more will be sent.\n\n{base}/status/{slug}\n",
                title = page.title,
            ),
            unsubscribe: None,
        };
        self.add_unconfirmed(slug, &id, ("email", address), components, ("confirm", message)).await?;
        Ok(())
    }

    /// Refuses a new subscription to page `slug` while [`MOST_UNCONFIRMED`] wait for confirmation
    /// (they expire after [`vigil_store::UNCONFIRMED_KEPT`]) or [`MOST_PER_HOUR`] came in the
    /// last hour: a flood closes the page's form for an hour at most, not until someone cleans up.
    async fn room_for_one_more(&self, slug: &str) -> Result<(), SubscribeError> {
        let store = &self.deps.store;
        let now = self.now();
        if store.unconfirmed_subscribers(slug, now - 3_600_000).await? >= MOST_PER_HOUR
            || store.unconfirmed_subscribers(slug, now - vigil_store::UNCONFIRMED_KEPT).await? >= MOST_UNCONFIRMED
        {
            return Err(SubscribeError::Busy);
        }
        Ok(())
    }

    /// Adds subscriber `id` of page `slug`, of `kind` at `address`, not confirmed yet, with the
    /// `message` that asks it to confirm (its dedup key `<what>/<page>/<id>`), unless the page
    /// has one of that kind and address; whether it was added.
    async fn add_unconfirmed(
        &self,
        slug: &str,
        id: &str,
        (kind, address): (&str, &str),
        components: String,
        (what, message): (&str, Message),
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let row = SubscriberRow {
            page: slug.to_string(),
            id: id.to_string(),
            kind: kind.to_string(),
            address: address.to_string(),
            components,
            confirmed_at: None,
            created_at: now,
        };
        let notice = NewNotice {
            page: slug.to_string(),
            subscriber: id.to_string(),
            dedup: format!("{what}/{slug}/{id}"),
            body: serde_json::to_string(&message).expect("a message serializes"),
            created_at: now,
        };
        let added = self.deps.store.put_subscriber(&row, Some(&notice)).await?;
        if added {
            self.state.notices_due.notify_one();
        }
        Ok(added)
    }

    /// Confirms subscriber `id` of page `slug`, whose link carried `token`.
    pub async fn confirm_subscription(&self, slug: &str, id: &str, token: &str) -> Result<(), SubscribeError> {
        self.check_link(slug, id, token, LinkPurpose::Confirm)?;
        let store = &self.deps.store;
        if store.subscriber(slug, id).await?.is_none() {
            return Err(SubscribeError::BadLink);
        }
        store.confirm_subscriber(slug, id, self.now()).await?;
        Ok(())
    }

    /// Ends subscription `id` of page `slug`, whose link carried `token`; whether there was one.
    pub async fn unsubscribe(&self, slug: &str, id: &str, token: &str) -> Result<bool, SubscribeError> {
        self.check_link(slug, id, token, LinkPurpose::Unsubscribe)?;
        Ok(self.deps.store.remove_subscriber(slug, id).await?)
    }

    fn check_link(&self, slug: &str, id: &str, token: &str, purpose: LinkPurpose) -> Result<(), SubscribeError> {
        let (_, sealer) = self.link_parts()?;
        let given = B64.decode(token).map_err(|_| SubscribeError::BadLink)?;
        let expected = signed(&sealer, purpose.as_str(), slug, id);
        // Compared in constant time: the token is a MAC.
        let same = given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
        if same { Ok(()) } else { Err(SubscribeError::BadLink) }
    }

    /// Subscribes webhook `url` from page `slug`'s form (the components named, or all): it is
    /// sent a signed challenge, and only once it answered is anything else sent to it. Returns
    /// the secret its signatures are checked with, shown once, or `None` when the page has that
    /// webhook already (its secret is not shown again).
    pub async fn subscribe_webhook_from_page(
        &self,
        slug: &str,
        url: &str,
        components: &[String],
    ) -> Result<Option<String>, SubscribeError> {
        let page = self.subscribable(slug)?;
        let form = page.subscribers.as_ref().map(|s| s.webhook_form).unwrap_or_default();
        if form == WebhookForm::None {
            return Err(SubscribeError::NotOffered(slug.into(), "webhook"));
        }
        let url = url.trim();
        let parsed = reqwest::Url::parse(url).map_err(|e| SubscribeError::Invalid(format!("`{url}`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || url.len() > 2_000 {
            return Err(SubscribeError::Invalid(format!("`{url}` is not an http:// or https:// URL")));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(SubscribeError::Invalid("a webhook's URL carries no user or password".into()));
        }
        if form == WebhookForm::Public {
            public_address::resolve_public(&parsed).await.map_err(|e| SubscribeError::Invalid(e.to_string()))?;
        } else {
            vigil_connectors::egress::resolve_outward(&parsed)
                .await
                .map_err(|e| SubscribeError::Invalid(e.to_string()))?;
        }
        let components = Self::checked_components(&page, components)?;
        let (base, sealer) = self.link_parts()?;
        self.room_for_one_more(slug).await?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let challenge = B64.encode(signed(&sealer, "challenge", slug, &id));
        let body = serde_json::json!({
            "type": "subscription.verify",
            "challenge": challenge,
            "page": {"slug": slug, "title": page.title, "url": format!("{base}/status/{slug}")},
            "unsubscribe": self.link(&base, &sealer, LinkPurpose::Unsubscribe, slug, &id),
        });
        let message = Message::Verify {
            url: url.to_string(),
            body: body.to_string(),
            challenge,
            public_only: form == WebhookForm::Public,
            from_form: true,
        };
        if !self.add_unconfirmed(slug, &id, (FORM_WEBHOOK, url), components, ("verify", message)).await? {
            return Ok(None);
        }
        Ok(Some(vigil_connectors::standard_webhooks::secret_text(&webhook_secret(&sealer, slug, &id))))
    }

    /// Confirms webhook subscriber `id` of `page`, which answered its challenge.
    pub(crate) async fn webhook_verified(&self, page: &str, id: &str) -> Result<(), StoreError> {
        self.deps.store.confirm_subscriber(page, id, self.now()).await?;
        Ok(())
    }

    /// Adds webhook `url` as a subscriber of page `slug` (confirmed: an operator adds it); the
    /// subscriber and the secret its signatures are checked with (shown once: it is not stored).
    pub async fn add_webhook_subscriber(
        &self,
        slug: &str,
        url: &str,
        components: &[String],
    ) -> Result<(SubscriberRow, String), SubscribeError> {
        let page = self.subscribable(slug)?;
        if !page.subscribers.as_ref().is_some_and(|s| s.webhooks) {
            return Err(SubscribeError::NotOffered(slug.into(), "webhook"));
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| SubscribeError::Invalid(format!("`url`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SubscribeError::Invalid("`url`: a webhook is an http:// or https:// URL".into()));
        }
        let components = Self::checked_components(&page, components)?;
        let (_, sealer) = self.link_parts()?;
        let row = SubscriberRow {
            page: slug.to_string(),
            id: uuid::Uuid::new_v4().simple().to_string()[..16].to_string(),
            kind: "webhook".into(),
            address: url.to_string(),
            components,
            confirmed_at: Some(self.now()),
            created_at: self.now(),
        };
        if !self.deps.store.put_subscriber(&row, None).await? {
            return Err(SubscribeError::Invalid(format!("`{url}` is subscribed to this page already")));
        }
        let secret = vigil_connectors::standard_webhooks::secret_text(&webhook_secret(&sealer, slug, &row.id));
        Ok((row, secret))
    }

    /// Page `slug`'s subscribers.
    pub async fn page_subscribers(&self, slug: &str) -> Result<Vec<SubscriberRow>, SubscribeError> {
        self.subscribable(slug)?;
        Ok(self.deps.store.subscribers(slug).await?)
    }

    /// Removes subscriber `id` of page `slug`; whether there was one.
    pub async fn remove_subscriber(&self, slug: &str, id: &str) -> Result<bool, SubscribeError> {
        self.subscribable(slug)?;
        Ok(self.deps.store.remove_subscriber(slug, id).await?)
    }

    /// The notices telling `page`'s confirmed subscribers of `incident`'s last update: none
    /// when the page has no subscribers or links cannot be made (a warning says so).
    pub(crate) async fn notices_for(
        &self,
        page: &StatusPageDef,
        incident: &Incident,
    ) -> Result<Vec<NewNotice>, StoreError> {
        let Some(update) = incident.updates.iter().max_by_key(|u| u.at) else { return Ok(Vec::new()) };
        let tell = Tell {
            components: &incident.components,
            dedup: format!("incident/{}/{}/{}", page.slug, incident.id, incident.updates.len()),
            subject: format!("[{}] {}: {}", page.title, incident.title, update.status.words()),
            text: format!(
                "{title}\n{status} ({when})\n\n{message}\n\nAffects: {affects}\n",
                title = incident.title,
                status = update.status.words(),
                when = utc(update.at),
                message = update.message,
                affects = affects(&incident.components),
            ),
            payload: serde_json::json!({
                "type": "incident.updated",
                "incident": {
                    "id": incident.id, "title": incident.title, "impact": incident.impact.as_str(),
                    "components": incident.components, "status": update.status,
                    "resolved": incident.resolved_at().is_some(),
                },
                "update": {"at": update.at, "status": update.status, "message": update.message},
            }),
        };
        self.notices_to(page, tell).await
    }

    /// The notices telling `page`'s confirmed subscribers who follow what `tell` is about: an
    /// email with the page's address and an unsubscribe link, or a webhook of its payload with
    /// the page added.
    pub(crate) async fn notices_to(&self, page: &StatusPageDef, tell: Tell<'_>) -> Result<Vec<NewNotice>, StoreError> {
        let Some(offered) = &page.subscribers else { return Ok(Vec::new()) };
        let subscribers = self.deps.store.subscribers(&page.slug).await?;
        let told: Vec<&SubscriberRow> =
            subscribers.iter().filter(|s| s.confirmed_at.is_some() && follows(s, tell.components)).collect();
        if told.is_empty() {
            return Ok(Vec::new());
        }
        let Ok((base, sealer)) = self.link_parts() else {
            tracing::warn!(page = %page.slug, "Subscribers were not told of a change: vigil serve needs --public-url.");
            return Ok(Vec::new());
        };
        let page_url = format!("{base}/status/{}", page.slug);
        let mut payload = tell.payload;
        payload["page"] = serde_json::json!({"slug": page.slug, "title": page.title, "url": page_url});
        let form = offered.webhook_form;
        let mut notices = Vec::with_capacity(told.len());
        for s in told {
            let message = match s.kind.as_str() {
                "webhook" => Message::Webhook {
                    url: s.address.clone(),
                    body: payload.to_string(),
                    public_only: false,
                    from_form: false,
                },
                FORM_WEBHOOK => {
                    // Whoever subscribed it from the page can leave the same way.
                    let mut body = payload.clone();
                    body["unsubscribe"] = self.link(&base, &sealer, LinkPurpose::Unsubscribe, &page.slug, &s.id).into();
                    Message::Webhook {
                        url: s.address.clone(),
                        body: body.to_string(),
                        public_only: form == WebhookForm::Public,
                        from_form: true,
                    }
                }
                _ => {
                    let Some(notifier) = offered.email.clone() else { continue };
                    let unsubscribe = self.link(&base, &sealer, LinkPurpose::Unsubscribe, &page.slug, &s.id);
                    Message::Email {
                        notifier,
                        to: s.address.clone(),
                        subject: tell.subject.clone(),
                        text: format!("{}\n{page_url}\n\nTo stop these letters: {unsubscribe}\n", tell.text),
                        unsubscribe: Some(unsubscribe),
                    }
                }
            };
            notices.push(NewNotice {
                page: page.slug.clone(),
                subscriber: s.id.clone(),
                dedup: format!("{}/{}", tell.dedup, s.id),
                body: serde_json::to_string(&message).expect("a message serializes"),
                created_at: self.now(),
            });
        }
        Ok(notices)
    }
}

/// What subscribers are told of one change.
pub(crate) struct Tell<'a> {
    /// The components it is about; none: the whole page.
    pub components: &'a [String],
    /// What makes it one message per subscriber (the subscriber's id is added).
    pub dedup: String,
    /// A letter's subject.
    pub subject: String,
    /// A letter's text (the page's address and the unsubscribe link are added).
    pub text: String,
    /// A webhook's JSON (`page` is added).
    pub payload: serde_json::Value,
}

/// A time as letters write it.
pub(crate) fn utc(at: vigil_core::time::Millis) -> String {
    jiff::Timestamp::from_millisecond(at).map(|t| t.to_string()).unwrap_or_default()
}

/// What a change affects, in words.
pub(crate) fn affects(components: &[String]) -> String {
    if components.is_empty() { "everything on the page".into() } else { components.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_purpose_page_and_subscriber() {
        let sealer = SecretBox::new([7; 32]);
        let confirm = link_token(&sealer, LinkPurpose::Confirm, "acme", "a1");
        assert_ne!(confirm, link_token(&sealer, LinkPurpose::Unsubscribe, "acme", "a1"));
        assert_ne!(confirm, link_token(&sealer, LinkPurpose::Confirm, "acme", "a2"));
        assert_ne!(confirm, link_token(&sealer, LinkPurpose::Confirm, "other", "a1"));
        assert_ne!(confirm, link_token(&SecretBox::new([8; 32]), LinkPurpose::Confirm, "acme", "a1"));
    }

    #[test]
    fn addresses_are_checked_before_anything_is_sent() {
        assert!(plausible_email("reader@example.org"));
        for bad in [
            "",
            "reader",
            "reader@",
            "@example.org",
            "reader@localhost",
            "a b@example.org",
            "x@example.org\r\nBcc: y@z.org",
        ] {
            assert!(!plausible_email(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_subscriber_of_one_component_hears_of_its_incidents_only() {
        let s = |components: &str| SubscriberRow {
            page: "acme".into(),
            id: "a".into(),
            kind: "email".into(),
            address: "r@example.org".into(),
            components: components.into(),
            confirmed_at: Some(1),
            created_at: 1,
        };
        let incident = |components: &[&str]| Incident {
            id: "i".into(),
            title: "t".into(),
            impact: vigil_core::status_page::State::MajorOutage,
            components: components.iter().map(|c| c.to_string()).collect(),
            updates: Vec::new(),
            postmortem: None,
        };
        assert!(follows(&s("[]"), &incident(&["API"]).components));
        assert!(follows(&s(r#"["API"]"#), &incident(&["API", "Web"]).components));
        assert!(!follows(&s(r#"["Billing"]"#), &incident(&["API"]).components));
        assert!(follows(&s(r#"["Billing"]"#), &incident(&[]).components), "an incident of the whole page");
    }
}
