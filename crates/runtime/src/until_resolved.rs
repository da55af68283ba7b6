//! Silences "until resolved": a silence that ends once nothing it matches fires, so an operator
//! who silences a known problem is told of the next one. Its `ends_at` is only the latest it may
//! last. One node (the owner of partition 0) ends them, looking every few seconds at the firing
//! alerts of the whole cluster as stored; the check reads the store only while such a silence is
//! active.

use std::collections::BTreeMap;

use vigil_core::alert::Silence;
use vigil_core::time::Millis;
use vigil_store::{AlertingStore, SilenceRow, StoreError};

/// The longest a silence until resolved lasts when nothing resolves it, unless given.
pub const LONGEST_MS: Millis = 7 * 24 * 3_600_000;

/// The name and labels of every firing alert.
async fn firing(store: &dyn AlertingStore, now: Millis) -> Result<Vec<(String, BTreeMap<String, String>)>, StoreError> {
    Ok(crate::firing_alerts::read(store, now).await?.into_iter().map(|f| (f.name, f.labels)).collect())
}

fn silence_of(row: &SilenceRow) -> Option<Silence> {
    Some(Silence::from_stored(&row.matchers, row.ends_at)?.starting(row.starts_at))
}

/// Whether some firing alert would be muted by `row` at `at` (when it starts, for one to come).
pub async fn matches_firing(store: &dyn AlertingStore, row: &SilenceRow, now: Millis) -> Result<bool, StoreError> {
    let at = row.starts_at.unwrap_or(now).max(now);
    let Some(silence) = silence_of(row) else { return Ok(false) };
    Ok(firing(store, now).await?.iter().any(|(name, labels)| silence.mutes(name, labels, at)))
}

/// Ends the active silences until resolved that nothing firing matches any more; their ids.
pub async fn end_resolved(store: &dyn AlertingStore, now: Millis) -> Result<Vec<String>, StoreError> {
    let live: Vec<SilenceRow> = store
        .silences()
        .await?
        .into_iter()
        .filter(|r| r.until_resolved && r.ends_at > now && r.starts_at.is_none_or(|s| s <= now))
        .collect();
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let firing = firing(store, now).await?;
    let mut ended = Vec::new();
    for mut row in live {
        let Some(silence) = silence_of(&row) else { continue };
        if !firing.iter().any(|(name, labels)| silence.mutes(name, labels, now)) {
            row.ends_at = now;
            store.put_silence(&row).await?;
            tracing::info!(silence = %row.id, "Nothing the silence matches fires any more: it ended.");
            ended.push(row.id);
        }
    }
    Ok(ended)
}
