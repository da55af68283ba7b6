//! The Alertmanager configuration this cluster routes with: read from `alertmanager.yml` by the
//! node started with it, published to the store (sealed: receivers hold credentials) and read
//! back by every node, so a node without the file routes the same and keeps routing when the one
//! that had it is gone.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vigil_connectors::notifiers::NotifierConfig;
use vigil_connectors::notifiers::from_alertmanager;
use vigil_core::alertmanager::Alert;
use vigil_core::alertmanager::config::{self, AmConfig, Route};
use vigil_core::alertmanager::group::Routed;
use vigil_store::{SecretBox, Store, StoreError};

/// The store setting that holds the configuration.
const SETTING: &str = "alertmanager_config";

/// A configuration in use.
#[derive(Debug)]
pub struct Routing {
    /// The configuration.
    pub config: AmConfig,
    /// Its routes, by ID.
    pub routes: HashMap<String, Route>,
    /// Its receivers' integrations as notifiers (`<receiver>/<kind>/<index>`).
    pub notifiers: Vec<NotifierConfig>,
    /// The text it was read from.
    pub text: String,
    /// Alertmanager's default templates with the configuration's own template files.
    pub templates: vigil_core::gotemplate::Templates,
}

/// The configuration every part of a node reads; `None` while there is none.
pub type SharedRouting = Arc<RwLock<Option<Arc<Routing>>>>;

impl Routing {
    /// Reads `text`; the error names the field and the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config = config::parse(text).map_err(|problems| {
            let p = problems.into_iter().find(|p| p.is_error()).expect("an error");
            if p.path.is_empty() { p.message } else { format!("{}: {}", p.path, p.message) }
        })?;
        let notifiers = from_alertmanager::notifiers(&config).map_err(|(path, e)| format!("{path}: {e}"))?;
        let routes = config.route.walk().into_iter().map(|r| (r.id.clone(), r.clone())).collect();
        let templates = vigil_core::alertmanager::templates::with_files(&config.template_texts)?;
        Ok(Self { config, routes, notifiers, text: text.to_string(), templates })
    }

    /// The integration whose notifier is `name` (`<receiver>/<kind>/<index>`).
    pub fn integration(&self, name: &str) -> Option<&config::Integration> {
        self.config.receivers.iter().find_map(|r| r.integrations.iter().find(|i| i.name(&r.name) == name))
    }

    /// `alert` routed by the tree.
    pub fn route(&self, alert: Alert) -> Routed {
        Routed::new(&self.config.route, alert)
    }

    /// The integrations of receiver `name`: each notifier's name and whether it takes resolves.
    pub fn targets(&self, receiver: &str) -> Vec<(String, bool)> {
        self.config
            .receiver(receiver)
            .map(|r| r.integrations.iter().map(|i| (i.name(&r.name), i.send_resolved)).collect())
            .unwrap_or_default()
    }
}

/// Writes `text` for every node, sealed when a key is set.
pub async fn publish(store: &dyn Store, sealer: Option<&SecretBox>, text: &str) -> Result<(), StoreError> {
    let value = match sealer {
        Some(b) => format!("sealed:{}", b.seal_text(text)),
        None => format!("plain:{text}"),
    };
    store.put_setting(SETTING, &value).await
}

/// The published value as stored (sealed), if any: cheap to compare with the last one seen.
pub async fn read_stored(store: &dyn Store) -> Result<Option<String>, StoreError> {
    store.setting(SETTING).await
}

/// The text of a stored value.
pub fn open(stored: &str, sealer: Option<&SecretBox>) -> Result<String, StoreError> {
    if let Some(plain) = stored.strip_prefix("plain:") {
        return Ok(plain.to_string());
    }
    let sealed = stored.strip_prefix("sealed:").ok_or_else(|| StoreError::Secret("unreadable".into()))?;
    sealer.ok_or_else(|| StoreError::Secret("no key to open it".into()))?.open_text(sealed)
}

/// The published text, if any.
pub async fn read(store: &dyn Store, sealer: Option<&SecretBox>) -> Result<Option<String>, StoreError> {
    read_stored(store).await?.map(|v| open(&v, sealer)).transpose()
}

/// Installs `text` (read from the store) when it differs from what `shared` runs, and returns the
/// notifiers to add and the names to drop from the notifier map; `None` when nothing changed or
/// the text does not load (logged: the caller offers each text once).
pub fn install(shared: &SharedRouting, text: &str) -> Option<(Vec<NotifierConfig>, Vec<String>)> {
    let current = shared.read().expect("lock").clone();
    if current.as_ref().is_some_and(|r| r.text == text) {
        return None;
    }
    match Routing::parse(text) {
        Ok(routing) => {
            let old: Vec<String> =
                current.map(|r| r.notifiers.iter().map(|n| n.name().to_string()).collect()).unwrap_or_default();
            let add = routing.notifiers.clone();
            let drop = old.into_iter().filter(|n| !add.iter().any(|a| a.name() == n)).collect();
            *shared.write().expect("lock") = Some(Arc::new(routing));
            tracing::info!("Alertmanager configuration loaded.");
            Some((add, drop))
        }
        Err(e) => {
            tracing::error!(error = %e, "The published Alertmanager configuration does not load; routing with the previous one.");
            None
        }
    }
}
