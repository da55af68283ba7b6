//! The silences maintenance windows make: those of the status pages (holding the monitors of the
//! components they name) and the monitors' own. A leaf the alert manager (which holds the
//! monitors' alerts by them) and Alertmanager's API (which shows those alerts as suppressed)
//! both read, apart from the maintenance service and the engine.

use vigil_core::status_page::{Maintenance, StatusPageDef};
use vigil_core::time::Millis;
use vigil_store::StoreError;

use crate::monitors::declared::DeclaredMonitors;

/// The silences the maintenance windows of `pages` and of `monitors` make at `now`: those of
/// their files and those scheduled through the API, the UI or the CLI (a window that no longer
/// reads is left out: the page logs it). The alert manager holds its monitors' alerts by them,
/// and Alertmanager's `GET /api/v2/alerts` shows those alerts as suppressed.
pub async fn silences(
    store: &dyn vigil_store::Store,
    pages: &[StatusPageDef],
    monitors: &DeclaredMonitors,
    now: Millis,
) -> Result<Vec<vigil_core::alert::Silence>, StoreError> {
    let mut out = Vec::new();
    for page in pages {
        let rows = store.maintenance_ending_after(&page.slug, now, 200).await?;
        let scheduled: Vec<Maintenance> = rows.iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect();
        out.extend(page.maintenance_silences(&scheduled, now));
    }
    for (monitor, windows) in &monitors.maintenance {
        for window in windows {
            out.extend(window.silences(&[monitor.as_str()], now));
        }
    }
    Ok(out)
}

impl super::StatusPages {
    /// The silences every page's maintenance windows and the monitors' own make now
    /// ([`silences`]).
    pub async fn maintenance_silences(&self) -> Result<Vec<vigil_core::alert::Silence>, StoreError> {
        let monitors = self.deps.declared_monitors.read().expect("lock").clone();
        silences(&*self.deps.store, &self.all(), &monitors, self.now()).await
    }
}
