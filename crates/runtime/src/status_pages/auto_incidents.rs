//! A page's automatic incidents (`automatic_incidents:` in its file,
//! [`vigil_core::status_page::AutoIncidents`]): every two seconds the node that owns a page's
//! key looks at its components' checks, opens an incident for a component out longer than the
//! page's delay and resolves it when the component is back. The decision is the same on every
//! node and names the incident by the outage's start, so a node taking the page over neither
//! opens a second incident for the same outage nor misses the resolve.

use std::sync::atomic::Ordering;
use std::time::Duration;

use vigil_core::status_page::{AutoStep, IncidentStatus, Observed, StatusPageDef};

use super::StatusPages;
use super::delivery::page_key;
use super::incidents::{IncidentError, NewUpdate, row_of};

/// How often pages are looked at.
const EVERY: Duration = Duration::from_secs(2);

impl StatusPages {
    /// Looks at the pages every two seconds until the engine stops (the server runs this).
    pub async fn propose_incidents_forever(self) {
        loop {
            tokio::time::sleep(EVERY).await;
            if self.deps.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.propose_incidents().await {
                tracing::warn!(error = %e, "Automatic incidents were not brought up to date; trying again shortly.");
            }
        }
    }

    /// Opens and resolves the automatic incidents of every page this node runs; how many
    /// incidents it opened or resolved.
    pub async fn propose_incidents(&self) -> Result<usize, IncidentError> {
        let pages = self.all();
        let mut taken = 0;
        for page in pages.iter().filter(|p| self.deps.ownership.owns_key(&page_key(&p.slug))) {
            taken += self.propose_on(page).await?;
        }
        Ok(taken)
    }

    async fn propose_on(&self, page: &StatusPageDef) -> Result<usize, IncidentError> {
        let Some(auto) = &page.automatic_incidents else { return Ok(0) };
        let page = &self.with_stored_windows(page).await?;
        let now = self.now();
        let mut seen = Vec::with_capacity(page.components.len());
        for c in &page.components {
            let (mut state, since) = self.readings(c).await?.checked_state(page, c, auto.from);
            // Planned downtime is not an outage.
            if page.under_maintenance(&c.name, now) {
                state = Some(vigil_core::status_page::State::Maintenance);
            }
            seen.push(Observed { component: &c.name, state, since });
        }
        let open: Vec<_> =
            self.incidents_of(page, now, now + 1).await?.into_iter().filter(|i| i.resolved_at().is_none()).collect();
        let mut taken = 0;
        for step in auto.steps(&seen, &open, now) {
            match step {
                AutoStep::Open(incident) => {
                    // Resolved by hand while still out, or opened by the page's owner before:
                    // an outage gets one incident.
                    if self.deps.store.incident(&page.slug, &incident.id).await?.is_some() {
                        continue;
                    }
                    let notices = self.notices_for(page, &incident).await?;
                    self.deps.store.put_incident(&row_of(&page.slug, &incident), &notices).await?;
                    self.told(&notices);
                    tracing::info!(page = %page.slug, incident = %incident.id, component = %incident.components[0],
                        "Opened an incident: a component has been out longer than `automatic_incidents.after`.");
                    taken += 1;
                }
                AutoStep::Resolve { id, message } => {
                    let update = NewUpdate { status: IncidentStatus::Resolved, message, impact: None };
                    self.update_incident(&page.slug, &id, update).await?;
                    tracing::info!(page = %page.slug, incident = %id, "Resolved an automatic incident: its component is back.");
                    taken += 1;
                }
            }
        }
        Ok(taken)
    }
}
