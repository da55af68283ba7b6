//! Connectors: where alerts go (notifiers) and where monitors read (sources).
//!
//! Every notifier is a folder with the same shape: its config (what the user writes in
//! `<config>/notifiers/*.yaml`), a pure `build_request()` that turns an [`notifiers::AlertMessage`]
//! into the exact HTTP request the provider documents, and a `classify()` that reads the answer as
//! delivered, retry (after a delay), or permanent failure. Sending is shared ([`notifiers::send`])
//! and goes through an injected HTTP client.

pub mod credentials;
pub mod egress;
pub mod notifiers;
pub mod public_address;
pub mod schema;
pub mod sinks;
pub mod sources;
pub mod standard_webhooks;

/// The HTTP client crate, for callers that hold a client.
pub use reqwest;

/// The one place vigil's HTTP clients start from: rustls with the ring provider (installed here,
/// once per process), a 10 s connect timeout and vigil's user agent. HTTP tasks add their own
/// settings on top.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
}

/// The HTTP client notifiers send with.
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("HTTP client")
}
