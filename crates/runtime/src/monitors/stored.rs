//! Monitors kept in the store beside those of the config directory's files: so far the
//! heartbeats a ping creates (Healthchecks' auto-provisioning, `/ping/{ping-key}/{slug}?create=1`).
//! Every node reads them every few seconds and runs them with the files' monitors; a file's
//! monitor of the same name wins. They are removed through the API.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use vigil_core::monitor::MonitorDef;
use vigil_core::time::Millis;
use vigil_store::{DefinitionRow, Store, StoreError};

/// Store kind of monitors kept in the store.
pub const MONITOR: &str = "monitor";

/// Who created a heartbeat by a ping, as its row records it.
const BY_PING: &str = r#"{"createdBy":"ping"}"#;

/// A created heartbeat's period and grace: Healthchecks' defaults for a new check.
const CREATED: &str = r#"{"every":"1d","heartbeat":{"grace":"1h"}}"#;

/// Most heartbeats pings may create, by default.
pub const MOST_CREATED: usize = 1_000;

/// The monitors in force come from two places.
pub struct Sources {
    inner: Mutex<Inner>,
    most_created: AtomicUsize,
}

impl Default for Sources {
    fn default() -> Self {
        Sources { inner: Mutex::default(), most_created: AtomicUsize::new(MOST_CREATED) }
    }
}

#[derive(Default)]
struct Inner {
    files: Vec<MonitorDef>,
    stored: Vec<MonitorDef>,
    /// The stored rows last read (name, body): a read that finds the same changes nothing.
    rows: Vec<(String, String)>,
}

/// Why a heartbeat was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// As many heartbeats as allowed were created by pings already.
    #[error("{0} heartbeats were created by pings already, the most allowed")]
    Limit(usize),
    /// The name is not a monitor's.
    #[error("not a monitor name: {0}")]
    Invalid(String),
    /// It was written but did not start running here in time.
    #[error("heartbeat `{0}` was created but does not run yet")]
    NotRunning(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sources {
    /// Sets the most heartbeats pings may create.
    pub fn set_most_created(&self, most: usize) {
        self.most_created.store(most, Ordering::Relaxed);
    }

    /// The most heartbeats pings may create.
    pub fn most_created(&self) -> usize {
        self.most_created.load(Ordering::Relaxed)
    }

    /// Replaces the files' monitors; the monitors in force after it.
    pub fn set_files(&self, files: Vec<MonitorDef>) -> Vec<MonitorDef> {
        let mut inner = self.inner.lock().expect("lock");
        inner.files = files;
        inner.merged()
    }

    /// Takes the stored rows `rows` (read from the store); the monitors in force when they
    /// changed.
    pub fn set_stored(&self, rows: Vec<DefinitionRow>) -> Option<Vec<MonitorDef>> {
        let mut inner = self.inner.lock().expect("lock");
        let seen: Vec<(String, String)> = rows.iter().map(|r| (r.name.clone(), r.body.clone())).collect();
        if seen == inner.rows {
            return None;
        }
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            let def =
                serde_json::from_str::<serde_json::Value>(&row.body).ok().and_then(|doc| MonitorDef::build(&doc).0);
            match def {
                Some(def) => stored.push(def),
                None => tracing::error!(monitor = %row.name, "A stored monitor no longer validates; it does not run."),
            }
        }
        inner.stored = stored;
        inner.rows = seen;
        Some(inner.merged())
    }

    /// Whether `name` is a file's monitor.
    pub fn from_file(&self, name: &str) -> bool {
        self.inner.lock().expect("lock").files.iter().any(|d| d.name == name)
    }
}

impl Inner {
    fn merged(&self) -> Vec<MonitorDef> {
        let mut out = self.files.clone();
        out.extend(self.stored.iter().filter(|s| !self.files.iter().any(|f| f.name == s.name)).cloned());
        out
    }
}

/// The stored monitors' rows.
pub async fn read(store: &dyn Store) -> Result<Vec<DefinitionRow>, StoreError> {
    store.definitions(MONITOR).await
}

/// Creates heartbeat `name` as a ping asks (Healthchecks' defaults: expected daily, an hour's
/// grace), unless `most` were created by pings already. Its alerts route as a monitor's without
/// `notify` do: through the Alertmanager routing tree, by `alertname`.
pub async fn create_heartbeat(store: &dyn Store, name: &str, most: usize, now: Millis) -> Result<(), CreateError> {
    let created = read(store).await?.iter().filter(|r| r.defined_by.as_deref() == Some(BY_PING)).count();
    if created >= most {
        return Err(CreateError::Limit(created));
    }
    let mut doc: serde_json::Value = serde_json::from_str(CREATED).expect("a heartbeat document");
    doc["name"] = serde_json::Value::from(name);
    if let (None, problems) = MonitorDef::build(&doc) {
        let said: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        return Err(CreateError::Invalid(said.join("; ")));
    }
    let row = DefinitionRow {
        kind: MONITOR.into(),
        name: name.into(),
        version: 0,
        body: doc.to_string(),
        updated_at: now,
        defined_by: Some(BY_PING.into()),
    };
    store.put_definition(&row).await?;
    Ok(())
}

/// Removes stored monitor `name`; whether there was one.
pub async fn delete(store: &dyn Store, name: &str) -> Result<bool, StoreError> {
    Ok(store.delete_definition(MONITOR, name, None).await? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, body: &str) -> DefinitionRow {
        DefinitionRow {
            kind: MONITOR.into(),
            name: name.into(),
            version: 0,
            body: body.into(),
            updated_at: 0,
            defined_by: None,
        }
    }

    #[test]
    fn a_files_monitor_wins_over_a_stored_one_of_its_name_and_an_unchanged_read_changes_nothing() {
        let sources = Sources::default();
        let file: serde_json::Value = serde_json::json!({"name": "a", "every": "1m", "heartbeat": {"grace": "5m"}});
        let files = vec![MonitorDef::build(&file).0.unwrap()];
        assert_eq!(sources.set_files(files).len(), 1);
        let rows = vec![
            row("a", r#"{"name":"a","every":"1d","heartbeat":{"grace":"1h"}}"#),
            row("b", r#"{"name":"b","every":"1d","heartbeat":{"grace":"1h"}}"#),
            row("c", r#"{"name":"c"}"#),
        ];
        let merged = sources.set_stored(rows.clone()).expect("changed");
        let names: Vec<&str> = merged.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "c does not validate");
        assert!(format!("{:?}", merged[0].cadence).contains("60000"), "the file's `a`: {:?}", merged[0].cadence);
        assert!(sources.set_stored(rows).is_none());
        assert!(sources.from_file("a") && !sources.from_file("b"));
    }
}
