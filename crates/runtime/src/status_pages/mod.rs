//! Public status pages, as one feature behind one handle ([`StatusPages`]): the pages in force
//! (the config directory's and the stored ones), what a page shows now, incidents (declared,
//! opened through the API, or opened by the page itself), subscribers and the notices sent to
//! them, maintenance windows with what is told of them, and badges.
//!
//! The handle is what the server and the CLI call; the engine builds it from [`Deps`] (the
//! store and the engine-wide parts the feature borrows) and keeps the feature's own state here,
//! not on the engine's shared state. Its background loops (`*_forever`) are started by `serve`.

pub mod auto_incidents;
pub mod badges;
mod delivery;
pub mod incidents;
pub mod maintenance;
pub mod maintenance_silences;
mod page_days;
pub mod stored;
pub mod subscribers;
pub mod view;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use vigil_core::status_page::StatusPageDef;
use vigil_core::time::Millis;
use vigil_store::Store;

pub use page_days::{Day, PastDays};
pub use view::{ComponentView, DAY, DAYS_SHOWN, PageView, days_to};

/// The status pages in force, shared with the alert manager (whose windows hold monitors).
pub type SharedPages = Arc<RwLock<Arc<Vec<StatusPageDef>>>>;

/// What the status pages borrow from the engine.
pub struct Deps {
    /// Where incidents, subscribers, windows and stored pages are kept.
    pub store: Arc<dyn Store>,
    /// The engine's clock.
    pub clock: Arc<dyn vigil_core::time::Clock>,
    /// Set when the engine stops: the loops end.
    pub stopping: Arc<AtomicBool>,
    /// Which pages' keys this node owns (it sends their notices and tells their windows).
    pub ownership: Arc<crate::cluster::ownership::Ownership>,
    /// Signs subscribers' links and webhooks.
    pub secret_box: Option<Arc<vigil_store::SecretBox>>,
    /// The client webhooks are posted with.
    pub http: reqwest::Client,
    /// The notifiers letters to subscribers go through.
    pub notifiers: crate::alerting::delivery::Notifiers,
    /// The server's public URL (links in letters), when set.
    pub public_url: Option<String>,
    /// What the monitors' files say: which are paused, their own windows.
    pub declared_monitors: crate::monitors::declared::SharedDeclared,
    /// The monitors (badges read their settings).
    pub monitors: crate::monitors::Monitors,
    /// The pages in force, by slug (the config directory's and the stored ones), shared with
    /// the alert manager; the feature writes them.
    pub pages: SharedPages,
}

/// The feature's own state.
#[derive(Default)]
struct State {
    /// The status pages of the config directory.
    file_pages: RwLock<Arc<Vec<StatusPageDef>>>,
    /// The status pages written through the API or the UI, as last read.
    stored_pages: RwLock<Arc<Vec<StatusPageDef>>>,
    /// Wakes the sending of subscribers' notices (one was written).
    notices_due: tokio::sync::Notify,
    /// Components' past days, read once a day.
    page_days: PastDays,
}

/// The status pages' handle: cheap to clone, every clone the same feature.
#[derive(Clone)]
pub struct StatusPages {
    deps: Arc<Deps>,
    state: Arc<State>,
}

impl std::fmt::Debug for StatusPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusPages").field("pages", &self.all().len()).finish()
    }
}

impl StatusPages {
    /// The feature over `deps`, with no page yet.
    pub fn new(deps: Deps) -> Self {
        Self { deps: Arc::new(deps), state: Arc::default() }
    }

    /// Now, by the engine's clock.
    fn now(&self) -> Millis {
        self.deps.clock.now()
    }
}
