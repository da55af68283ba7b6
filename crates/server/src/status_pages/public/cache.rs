//! Rendered status pages, kept a moment. During an outage many readers ask at once, exactly
//! when the machine is busy: one rendering (a read of each component's monitors and rollups)
//! serves every request of the next [`FRESH`], and readers who ask together wait for the same
//! one. Each is kept plain and gzipped, with its validators: a weak `ETag` of its text and a
//! `Last-Modified` that moves only when the text changed. Opening or updating an incident on this
//! node drops its page at once; other nodes render it anew within [`FRESH`].

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use vigil_core::time::Millis;

/// How long a rendering is served.
pub const FRESH: Duration = Duration::from_secs(2);

/// One rendering of a page.
#[derive(Debug)]
pub struct Rendered {
    /// The HTML.
    pub html: Bytes,
    /// The HTML, gzipped.
    pub gzip: Bytes,
    /// Its weak validator.
    pub etag: String,
    /// When its text last changed (whole seconds, for `Last-Modified`).
    pub changed_at: Millis,
    made: Instant,
}

/// One key's rendering, and the lock its renderer holds.
#[derive(Default)]
struct Slot {
    kept: Mutex<Option<Arc<Rendered>>>,
    rendering: tokio::sync::Mutex<()>,
}

/// The pages rendered lately, by slug, and those changed here since (rendered anew at the next
/// request, keeping the last text's validators when the text came out the same); and the pace
/// of each visitor's subscriptions.
#[derive(Clone)]
pub struct PageCache(Arc<Mutex<Pages>>, Arc<crate::throttle::SignInThrottle>);

/// Subscriptions one address makes at once before each waits.
pub const FREE_SUBSCRIPTIONS: u32 = 10;

impl Default for PageCache {
    fn default() -> Self {
        Self(Arc::default(), Arc::new(crate::throttle::SignInThrottle::with_free(FREE_SUBSCRIPTIONS)))
    }
}

#[derive(Default)]
struct Pages {
    slots: HashMap<String, Arc<Slot>>,
    changed: std::collections::HashSet<String>,
}

impl PageCache {
    /// Subscriptions made from the pages' forms, per source address: a few are free, then each
    /// waits twice as long as the one before, up to a minute ([`crate::throttle`]).
    pub(crate) fn subscriptions(&self) -> &crate::throttle::SignInThrottle {
        &self.1
    }

    /// The rendering kept under `key`: the one kept when it is fresh, else `render()`'s. One
    /// reader renders at a time; while it does, the others are served the rendering before (a
    /// big page can take seconds to read from the store), or wait for it when there is none or
    /// the key changed here. `now` dates a change of text.
    pub async fn get<E>(
        &self,
        key: &str,
        now: Millis,
        render: impl AsyncFnOnce() -> Result<Option<String>, E>,
    ) -> Result<Option<Arc<Rendered>>, E> {
        let (slot, changed) = {
            let mut pages = self.0.lock().expect("lock");
            let changed = pages.changed.remove(key);
            (pages.slots.entry(key.to_string()).or_default().clone(), changed)
        };
        let kept = slot.kept.lock().expect("lock").clone();
        let fresh = |r: &Arc<Rendered>| r.made.elapsed() < FRESH;
        if let Some(r) = kept.as_ref().filter(|r| !changed && fresh(r)) {
            return Ok(Some(r.clone()));
        }
        let _rendering = match slot.rendering.try_lock() {
            Ok(guard) => guard,
            Err(_) => match kept {
                Some(r) if !changed => return Ok(Some(r)),
                _ => {
                    let guard = slot.rendering.lock().await;
                    let now_kept = slot.kept.lock().expect("lock").clone();
                    if let Some(r) = now_kept.filter(|r| !changed && fresh(r)) {
                        return Ok(Some(r));
                    }
                    guard
                }
            },
        };
        let Some(html) = render().await? else {
            *slot.kept.lock().expect("lock") = None;
            return Ok(None);
        };
        let etag = etag(&html);
        let before = slot.kept.lock().expect("lock").clone();
        let changed_at = match before {
            Some(before) if before.etag == etag => before.changed_at,
            _ => now - now.rem_euclid(1000),
        };
        let made = Arc::new(Rendered {
            gzip: gzip(html.as_bytes()),
            html: Bytes::from(html),
            etag,
            changed_at,
            made: Instant::now(),
        });
        *slot.kept.lock().expect("lock") = Some(made.clone());
        Ok(Some(made))
    }

    /// Page `slug` changed here: the next request renders it anew, and its feeds and badges.
    pub fn drop_page(&self, slug: &str) {
        let mut pages = self.0.lock().expect("lock");
        let keys: Vec<String> = pages.slots.keys().filter(|k| mentions(k, slug)).cloned().collect();
        pages.changed.extend(keys);
        pages.changed.insert(slug.to_string());
    }
}

/// Whether cache key `key` is of page `slug`: the page, its feeds (`feed .../status/{slug}/...`)
/// or its badges (a word `{slug}`, `{slug}_...` or `{slug}.…`).
fn mentions(key: &str, slug: &str) -> bool {
    key == slug
        || key.contains(&format!("/status/{slug}/"))
        || key.split(' ').any(|w| {
            w.strip_prefix(slug).is_some_and(|rest| rest.is_empty() || rest.starts_with('_') || rest.starts_with('.'))
        })
}

/// A weak validator of a rendered page: a hash of its text.
pub fn etag(html: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    html.hash(&mut hasher);
    format!("W/\"{:016x}\"", hasher.finish())
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 6), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    Bytes::from(encoder.finish().expect("writing to memory"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn one_rendering_serves_everyone_while_fresh() {
        let cache = PageCache::default();
        let renders = Arc::new(AtomicUsize::new(0));
        let render = |text: &'static str| {
            let renders = renders.clone();
            async move || -> Result<Option<String>, ()> {
                renders.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(Some(text.to_string()))
            }
        };
        let asks = (0..8).map(|_| cache.get("acme", 5_500, render("<p>up</p>")));
        let got = futures_util::future::join_all(asks).await;
        assert_eq!(renders.load(Ordering::SeqCst), 1, "readers asking together share one rendering");
        let first = got[0].as_ref().unwrap().as_ref().unwrap().clone();
        assert_eq!(first.changed_at, 5_000, "whole seconds");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&first.gzip[..]), &mut plain).unwrap();
        assert_eq!(plain, first.html.as_ref(), "the gzipped copy is the page");

        cache.drop_page("acme");
        let again = cache.get("acme", 9_000, render("<p>up</p>")).await.unwrap().unwrap();
        assert_eq!(renders.load(Ordering::SeqCst), 2, "dropped: rendered again");
        assert_eq!((again.etag.as_str(), again.changed_at), (first.etag.as_str(), 5_000), "the same text: not changed");
        cache.drop_page("acme");
        let changed = cache.get("acme", 12_000, render("<p>down</p>")).await.unwrap().unwrap();
        assert_ne!(changed.etag, first.etag);
        assert_eq!(changed.changed_at, 12_000);
        let gone = cache.get("nope", 1, async || Ok::<_, ()>(None)).await.unwrap();
        assert!(gone.is_none());
    }

    #[test]
    fn a_page_change_reaches_its_feeds_and_badges_only() {
        for key in
            ["acme", "feed http://h/status/acme/feed.rss", "badge health acme_web", "badge healthchecks acme.svg"]
        {
            assert!(mentions(key, "acme"), "{key}");
        }
        for key in
            ["acme2", "feed http://h/status/acme2/feed.rss", "badge health acmeweb", "badge uptime 24h acme2_web"]
        {
            assert!(!mentions(key, "acme"), "{key}");
        }
    }

    /// A stale rendering is served to everyone but its renderer while the page is rendered anew.
    #[tokio::test]
    async fn readers_are_not_held_by_a_slow_rendering() {
        let cache = PageCache::default();
        cache.get("acme", 1_000, async || Ok::<_, ()>(Some("<p>old</p>".to_string()))).await.unwrap();
        // Aged past FRESH (its age is measured in real time).
        tokio::time::sleep(FRESH + Duration::from_millis(50)).await;
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get("acme", 9_000, async move || {
                        let _ = started_tx.send(());
                        let _ = finish_rx.await;
                        Ok::<_, ()>(Some("<p>new</p>".to_string()))
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let meanwhile =
            cache.get("acme", 9_000, async || -> Result<Option<String>, ()> { panic!("a second rendering") }).await;
        assert_eq!(meanwhile.unwrap().unwrap().html.as_ref(), b"<p>old</p>", "the rendering before, at once");
        finish_tx.send(()).unwrap();
        let new = slow.await.unwrap().unwrap().unwrap();
        assert_eq!(new.html.as_ref(), b"<p>new</p>");
        let after = cache.get("acme", 9_000, async || -> Result<Option<String>, ()> { panic!("fresh") }).await;
        assert_eq!(after.unwrap().unwrap().html.as_ref(), b"<p>new</p>");
    }
}
