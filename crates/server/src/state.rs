//! What every handler can reach.

use std::net::SocketAddr;
use std::sync::Arc;

use vigil_runtime::Engine;

use crate::{auth, cross_site};

/// Largest request body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Renders the Prometheus metrics.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// The address vigil listens on (for management URIs when the request names no host).
    pub listen: SocketAddr,
    /// The externally visible base URL, when vigil is behind a proxy.
    pub public_url: Option<String>,
    /// Renders `/metrics`.
    pub metrics: MetricsRender,
    /// Token checks.
    pub auth: Arc<auth::Auth>,
    /// Seals secrets written through the API (`None`: the secrets API refuses writes).
    pub secret_box: Option<Arc<vigil_store::SecretBox>>,
    /// The `Host` names answered ([`cross_site`]).
    pub allowed_hosts: cross_site::AllowedHosts,
    /// Status pages rendered lately.
    pub status_pages: crate::status_pages::public::cache::PageCache,
}
