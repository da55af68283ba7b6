//! A status page's incidents: those declared in its file and those opened through the API
//! (kept in the store, so every node of a cluster shows the same). Opening one or adding an
//! update checks it as the page's file would be checked.

use vigil_core::status_page::{Incident, IncidentStatus, IncidentUpdate, State, StatusPageDef};
use vigil_core::time::Millis;
use vigil_store::{IncidentRow, StoreError};

use super::StatusPages;

/// How far back a page shows resolved incidents.
pub const RECENT: Millis = 14 * 86_400_000;

/// The most incidents one listing returns.
const MOST: u32 = 200;

/// Why an incident could not be opened or updated.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// There is no page with that slug.
    #[error("no status page `{0}`")]
    NoPage(String),
    /// The page has no such incident.
    #[error("status page `{page}` has no incident `{id}`")]
    NoIncident {
        /// The page.
        page: String,
        /// The id asked for.
        id: String,
    },
    /// The incident is declared in the page's file: it changes there.
    #[error("incident `{0}` is declared in the status page's file: change it there")]
    Declared(String),
    /// A field is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new incident, as the API takes it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// Its heading.
    pub title: String,
    /// What its components show until it is resolved.
    #[serde(default = "major")]
    pub impact: State,
    /// The components it affects (display names); none: the whole page.
    #[serde(default)]
    pub components: Vec<String>,
    /// Where it stands.
    #[serde(default = "investigating")]
    pub status: IncidentStatus,
    /// The first update's text (Markdown).
    pub message: String,
}

/// A new update, as the API takes it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// Where the incident stands now.
    pub status: IncidentStatus,
    /// What is said (Markdown).
    pub message: String,
    /// A new impact, when it changed.
    #[serde(default)]
    pub impact: Option<State>,
}

fn major() -> State {
    State::MajorOutage
}

fn investigating() -> IncidentStatus {
    IncidentStatus::Investigating
}

/// The incidents of `page` open at some time in `from..to`: declared and stored, newest first.
pub(crate) fn declared_between(page: &StatusPageDef, from: Millis, to: Millis) -> impl Iterator<Item = &Incident> {
    page.incidents.iter().filter(move |i| i.opened_at() < to && i.resolved_at().is_none_or(|r| r >= from))
}

fn checked(incident: &Incident, page: &StatusPageDef) -> Result<(), IncidentError> {
    let names: Vec<&str> = page.components.iter().map(|c| c.name.as_str()).collect();
    match incident.problems("", &names).into_iter().find(|p| p.is_error()) {
        Some(p) => Err(IncidentError::Invalid { field: p.path.clone(), message: p.message.clone() }),
        None => Ok(()),
    }
}

pub(crate) fn row_of(page: &str, incident: &Incident) -> IncidentRow {
    IncidentRow {
        page: page.to_string(),
        id: incident.id.clone(),
        opened_at: incident.opened_at(),
        resolved_at: incident.resolved_at(),
        body: serde_json::to_string(incident).expect("an incident serializes"),
    }
}

impl StatusPages {
    /// Wakes the sending of `notices` just written.
    pub(crate) fn told(&self, notices: &[vigil_store::NewNotice]) {
        if !notices.is_empty() {
            self.state.notices_due.notify_one();
        }
    }

    fn page(&self, slug: &str) -> Result<StatusPageDef, IncidentError> {
        self.all().iter().find(|p| p.slug == slug).cloned().ok_or_else(|| IncidentError::NoPage(slug.into()))
    }

    /// Page `slug`'s incidents open at some time in `from..to`, declared and opened through
    /// the API, newest first.
    pub async fn incidents(&self, slug: &str, from: Millis, to: Millis) -> Result<Vec<Incident>, IncidentError> {
        let page = self.page(slug)?;
        Ok(self.incidents_of(&page, from, to).await?)
    }

    pub(crate) async fn incidents_of(
        &self,
        page: &StatusPageDef,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut out: Vec<Incident> = declared_between(page, from, to).cloned().collect();
        for row in self.deps.store.incidents(&page.slug, from, to, MOST).await? {
            match serde_json::from_str::<Incident>(&row.body) {
                Ok(incident) => out.push(incident),
                Err(e) => {
                    tracing::error!(page = %page.slug, id = %row.id, error = %e, "A stored incident no longer reads; it is skipped.")
                }
            }
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.opened_at()));
        Ok(out)
    }

    /// Opens an incident on page `slug`.
    pub async fn open_incident(&self, slug: &str, new: NewIncident) -> Result<Incident, IncidentError> {
        let page = self.page(slug)?;
        let incident = Incident {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            title: new.title,
            impact: new.impact,
            components: new.components,
            updates: vec![IncidentUpdate { at: self.now(), status: new.status, message: new.message }],
            postmortem: None,
        };
        checked(&incident, &page)?;
        let notices = self.notices_for(&page, &incident).await?;
        self.deps.store.put_incident(&row_of(slug, &incident), &notices).await?;
        self.told(&notices);
        Ok(incident)
    }

    /// Adds an update to incident `id` of page `slug`.
    pub async fn update_incident(&self, slug: &str, id: &str, update: NewUpdate) -> Result<Incident, IncidentError> {
        let page = self.page(slug)?;
        if page.incidents.iter().any(|i| i.id == id) {
            return Err(IncidentError::Declared(id.into()));
        }
        let no_incident = || IncidentError::NoIncident { page: slug.into(), id: id.into() };
        // Read, change, and write only if nobody else wrote it in between (another node, another
        // operator); else read again: no update is lost.
        loop {
            let row = self.deps.store.incident(slug, id).await?.ok_or_else(no_incident)?;
            let mut incident: Incident = serde_json::from_str(&row.body).map_err(|_| no_incident())?;
            // Never before the last update, whatever the clock says: updates stay in order.
            let last = incident.updates.iter().map(|u| u.at).max().unwrap_or_default();
            let at = self.now().max(last);
            incident.updates.push(IncidentUpdate { at, status: update.status, message: update.message.clone() });
            if let Some(impact) = update.impact {
                incident.impact = impact;
            }
            checked(&incident, &page)?;
            let notices = self.notices_for(&page, &incident).await?;
            if self.deps.store.replace_incident(&row_of(slug, &incident), &row.body, &notices).await? {
                self.told(&notices);
                return Ok(incident);
            }
        }
    }
}
