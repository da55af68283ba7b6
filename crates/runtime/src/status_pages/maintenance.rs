//! A status page's scheduled maintenance: windows declared in its file and those scheduled
//! through the API, the UI or the CLI (kept in the store, so every node's page shows them), and
//! what subscribers are told of each: that it is scheduled, that it started, that it ended, or
//! that it was cancelled. Each of these is told once, whichever node tells it and whatever
//! crashes: what was told is written in the same transaction as the notices telling it.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use vigil_core::status_page::{Maintenance, MaintenanceEvent, Repeat, StatusPageDef};
use vigil_core::time::Millis;
use vigil_store::{MaintenanceRow, MaintenanceWrite, StoreError};

use super::StatusPages;
use super::delivery::page_key;
use super::subscribers::{Tell, affects, utc};

/// How far back a listing shows windows that ended.
pub const RECENT: Millis = 14 * 86_400_000;

/// The most stored windows one read returns.
const MOST: u32 = 200;

/// A day.
const DAY: Millis = 86_400_000;

/// How often the pages' windows are looked at for something to tell.
const EVERY: Duration = Duration::from_secs(2);

/// Why a window could not be scheduled or ended.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// There is no page with that slug.
    #[error("no status page `{0}`")]
    NoPage(String),
    /// The page has no such window.
    #[error("status page `{page}` has no scheduled maintenance `{id}`")]
    NoWindow {
        /// The page.
        page: String,
        /// The id asked for.
        id: String,
    },
    /// The window is declared in the page's file: it changes there.
    #[error("maintenance `{0}` is declared in the status page's file: change it there")]
    Declared(String),
    /// The window has ended or was cancelled already.
    #[error("maintenance `{0}` has ended or was cancelled already")]
    Over(String),
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

/// A window to schedule, as the API takes it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenance {
    /// Its heading.
    pub title: String,
    /// What is done, and what readers may notice (Markdown).
    #[serde(default)]
    pub message: Option<String>,
    /// The components it affects (display names); none: the whole page.
    #[serde(default)]
    pub components: Vec<String>,
    /// When it starts: RFC 3339 or milliseconds. For a recurring window, when the series
    /// begins (none: now).
    #[serde(default, with = "vigil_core::status_page::when")]
    pub starts: Millis,
    /// When it ends. For a recurring window, when the series stops (none: never).
    #[serde(default, with = "vigil_core::status_page::when")]
    pub ends: Millis,
    /// How it comes back: every day, week or month at a local time, or at a cron expression's
    /// times, in a time zone, for a duration ([`Repeat`]).
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

fn row_of(page: &str, window: &Maintenance) -> MaintenanceRow {
    MaintenanceRow {
        page: page.to_string(),
        id: window.id.clone(),
        starts_at: window.starts,
        // A series is read until it stops.
        ends_at: window.series_end(),
        body: serde_json::to_string(window).expect("a window serializes"),
    }
}

fn told(page: &str, window: &Maintenance, event: MaintenanceEvent) -> Option<(String, String, String)> {
    Some((page.to_string(), window.key(), event.as_str().to_string()))
}

impl StatusPages {
    fn maintained_page(&self, slug: &str) -> Result<StatusPageDef, MaintenanceError> {
        self.all().iter().find(|p| p.slug == slug).cloned().ok_or_else(|| MaintenanceError::NoPage(slug.into()))
    }

    /// Page `page`'s stored windows ending after `after`, soonest first.
    async fn stored_windows(&self, page: &str, after: Millis) -> Result<Vec<Maintenance>, StoreError> {
        let rows = self.deps.store.maintenance_ending_after(page, after, MOST).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match serde_json::from_str::<Maintenance>(&row.body) {
                Ok(window) => Some(window),
                Err(e) => {
                    tracing::error!(page = %page, id = %row.id, error = %e, "A stored maintenance window no longer reads; it is skipped.");
                    None
                }
            })
            .collect())
    }

    /// `page` with its stored windows beside those of its file: what it shows and what counts
    /// as under maintenance now.
    pub(crate) async fn with_stored_windows(&self, page: &StatusPageDef) -> Result<StatusPageDef, StoreError> {
        let mut page = page.clone();
        page.maintenance = self.windows_of(&page, self.now()).await?;
        Ok(page)
    }

    /// Every window of `page` not over before `after`: those of its file, those of the monitors
    /// it shows (in their files), and those scheduled through the API, the UI or the CLI.
    async fn windows_of(&self, page: &StatusPageDef, after: Millis) -> Result<Vec<Maintenance>, StoreError> {
        let mut windows = page.maintenance.clone();
        windows.extend(page.monitors_windows(&self.deps.declared_monitors.read().expect("lock").maintenance));
        windows.extend(self.stored_windows(&page.slug, after).await?);
        windows.retain(|w| !w.cancelled && w.series_end() > after);
        Ok(windows)
    }

    /// Page `slug`'s windows, declared (in its file or its monitors') and scheduled, not
    /// cancelled, that end after `after`, soonest first (a recurring window by its occurrence
    /// under way or next).
    pub async fn maintenance_windows(&self, slug: &str, after: Millis) -> Result<Vec<Maintenance>, MaintenanceError> {
        let page = self.maintained_page(slug)?;
        let mut windows = self.windows_of(&page, after).await?;
        let now = self.now();
        windows.sort_by_cached_key(|w| w.current_or_next(now).map_or(w.starts, |o| o.starts));
        Ok(windows)
    }

    /// Schedules a window on page `slug`, and tells its subscribers (scheduled, or started
    /// when it starts at once).
    pub async fn schedule_maintenance(&self, slug: &str, new: NewMaintenance) -> Result<Maintenance, MaintenanceError> {
        let page = self.maintained_page(slug)?;
        let now = self.now();
        let recurring = new.repeat.is_some();
        let window = Maintenance {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            title: new.title,
            message: new.message.filter(|m| !m.trim().is_empty()),
            components: new.components,
            // A series given no start begins now (and `every: 2 weeks` counts from today).
            starts: if recurring && new.starts == 0 { now } else { new.starts },
            ends: new.ends,
            cancelled: false,
            repeat: new.repeat,
        };
        let names: Vec<&str> = page.components.iter().map(|c| c.name.as_str()).collect();
        if let Some(p) = window.problems("", &names).into_iter().find(|p| p.is_error()) {
            return Err(MaintenanceError::Invalid { field: p.path, message: p.message });
        }
        if window.series_end() <= now {
            return Err(MaintenanceError::Invalid {
                field: "ends".into(),
                message: "a window to schedule ends later than now".into(),
            });
        }
        let event = if window.upcoming(now) { MaintenanceEvent::Scheduled } else { MaintenanceEvent::Started };
        // A series tells nothing itself: its occurrences are told when it asks for it.
        let (told_now, notices) = match recurring {
            true => (None, Vec::new()),
            false => (told(slug, &window, event), self.notices_of_window(&page, &window, event).await?),
        };
        let write = MaintenanceWrite {
            window: Some((row_of(slug, &window), None)),
            told: told_now,
            after: None,
            notices,
            at: now,
        };
        self.deps.store.write_maintenance(&write).await?;
        self.told(&write.notices);
        Ok(window)
    }

    /// Ends window `id` of page `slug`: one to come is cancelled (its subscribers are told),
    /// one under way ends now (and they are told it ended).
    pub async fn end_maintenance(&self, slug: &str, id: &str) -> Result<Maintenance, MaintenanceError> {
        let page = self.maintained_page(slug)?;
        let declared = page.monitors_windows(&self.deps.declared_monitors.read().expect("lock").maintenance);
        if page.maintenance.iter().chain(&declared).any(|w| w.key() == id) {
            return Err(MaintenanceError::Declared(id.into()));
        }
        let no_window = || MaintenanceError::NoWindow { page: slug.into(), id: id.into() };
        // Read, change, and write only if nobody else wrote it in between; else read again.
        loop {
            let row = self.deps.store.maintenance(slug, id).await?.ok_or_else(no_window)?;
            let mut window: Maintenance = serde_json::from_str(&row.body).map_err(|_| no_window())?;
            let now = self.now();
            let mut write = MaintenanceWrite { at: now, ..Default::default() };
            if window.repeat.is_some() {
                // A series that has not begun is called off; one that has stops now, and an
                // occurrence under way ends with it (told by the look, if it tells).
                if window.series_end() <= now {
                    return Err(MaintenanceError::Over(id.into()));
                } else if window.starts > now {
                    window.cancelled = true;
                } else {
                    window.ends = now;
                }
            } else if window.upcoming(now) {
                window.cancelled = true;
                write.told = told(slug, &window, MaintenanceEvent::Cancelled);
                write.notices = self.notices_of_window(&page, &window, MaintenanceEvent::Cancelled).await?;
            } else if window.active(now) {
                // Its end is told by the look every few seconds, as for a window ending on time.
                window.ends = now;
            } else {
                return Err(MaintenanceError::Over(id.into()));
            }
            write.window = Some((row_of(slug, &window), Some(row.body)));
            if self.deps.store.write_maintenance(&write).await? {
                self.told(&write.notices);
                return Ok(window);
            }
        }
    }

    /// The notices telling `page`'s subscribers of `event` of `window`.
    async fn notices_of_window(
        &self,
        page: &StatusPageDef,
        window: &Maintenance,
        event: MaintenanceEvent,
    ) -> Result<Vec<vigil_store::NewNotice>, StoreError> {
        if page.subscribers.is_none() {
            return Ok(Vec::new());
        }
        let message = window.message.as_deref().unwrap_or("");
        let tell = Tell {
            components: &window.components,
            dedup: format!("maintenance/{}/{}/{}", page.slug, window.key(), event.as_str()),
            subject: format!("[{}] {}: {}", page.title, event.words(), window.title),
            text: format!(
                "{title}\n{words}: {starts} to {ends}\n\n{message}\n\nAffects: {affects}\n",
                title = window.title,
                words = event.words(),
                starts = utc(window.starts),
                ends = utc(window.ends),
                affects = affects(&window.components),
            ),
            payload: serde_json::json!({
                "type": format!("maintenance.{}", event.as_str()),
                "maintenance": {
                    "id": window.key(), "title": window.title, "message": window.message,
                    "components": window.components, "starts": window.starts, "ends": window.ends,
                },
            }),
        };
        self.notices_to(page, tell).await
    }

    /// Tells subscribers of the pages this node owns what is due of their windows, until the
    /// engine stops (the server runs this).
    pub async fn tell_maintenance_forever(self) {
        // What this node already wrote or found written, per page: tried once per run.
        let mut settled: HashSet<String> = HashSet::new();
        loop {
            tokio::time::sleep(EVERY).await;
            if self.deps.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.tell_maintenance(&mut settled).await {
                tracing::warn!(error = %e, "Subscribers were not told of maintenance; trying again shortly.");
            }
        }
    }

    /// One look: for each window of each page this node owns, what is due to be told and not
    /// `settled`; how many things were told.
    pub async fn tell_maintenance(&self, settled: &mut HashSet<String>) -> Result<usize, StoreError> {
        let now = self.now();
        let mut seen = HashSet::new();
        let mut count = 0;
        let pages = self.all();
        for page in pages.iter().filter(|p| self.deps.ownership.owns_key(&page_key(&p.slug))) {
            let mut windows = Vec::new();
            for window in self.windows_of(page, now - DAY).await? {
                match &window.repeat {
                    // Each occurrence is told as a window of its own when the series asks: that
                    // it started and that it ended (none is announced ahead: a series may stop).
                    Some(repeat) if repeat.notify => windows.extend(window.occurrences(now - DAY, now + 1)),
                    Some(_) => {}
                    None => windows.push(window),
                }
            }
            for window in windows {
                let Some((event, after)) = window.due_event(now) else { continue };
                let key = format!("{}\0{}\0{}", page.slug, window.key(), event.as_str());
                seen.insert(key.clone());
                if settled.contains(&key) {
                    continue;
                }
                let write = MaintenanceWrite {
                    window: None,
                    told: told(&page.slug, &window, event),
                    after: after.map(|e| e.as_str().to_string()),
                    notices: self.notices_of_window(page, &window, event).await?,
                    at: now,
                };
                if self.deps.store.write_maintenance(&write).await? {
                    self.told(&write.notices);
                    tracing::info!(page = %page.slug, window = %window.key(), event = event.as_str(),
                        subscribers = write.notices.len(), "Told subscribers of maintenance.");
                    count += 1;
                }
                settled.insert(key);
            }
        }
        // Forget what is no longer due: the set stays as small as the windows in force.
        settled.retain(|k| seen.contains(k));
        Ok(count)
    }
}
