//! Shared start-up: logging, the store, secrets and config loading with printed diagnostics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use vigil_core::config::{self, Config};
use vigil_core::diagnostic::Severity;
use vigil_runtime::SecretValues;
use vigil_store::{SecretBox, SqliteStore, Store};

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Opens the SQLite store.
pub async fn open_store(db: &Path) -> Result<Arc<SqliteStore>> {
    let store = SqliteStore::open(db).await.with_context(|| format!("cannot open database {}", db.display()))?;
    Ok(Arc::new(store))
}

/// The key file beside the database.
pub fn key_file(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "vigil.db".into());
    name.push(".key");
    db.with_file_name(name)
}

/// The secret box for `db`.
pub fn secret_box(db: &Path) -> Result<SecretBox> {
    let env = std::env::var("VIGIL_SECRET_KEY").ok();
    Ok(SecretBox::load(env.as_deref(), &key_file(db))?)
}

/// Decrypts every stored secret.
pub async fn load_secrets(store: &dyn Store, db: &Path) -> Result<SecretValues> {
    let sealed = store.secrets().await?;
    if sealed.is_empty() {
        return Ok(SecretValues::new(HashMap::new()));
    }
    let secret_box = secret_box(db)?;
    let mut values = HashMap::new();
    for (name, s) in sealed {
        let plain = secret_box.open(&s).with_context(|| format!("secret `{name}`"))?;
        values.insert(name, String::from_utf8_lossy(&plain).into_owned());
    }
    Ok(SecretValues::new(values))
}

/// Loads a config path, prints its diagnostics to stderr, and fails if any is an error.
pub fn load_config(path: &Path) -> Result<Config> {
    if !path.exists() {
        anyhow::bail!("config path {} does not exist", path.display());
    }
    let (config, diags) = config::load(path);
    for d in &diags {
        eprintln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    if errors > 0 {
        anyhow::bail!("{errors} error(s) in {}", path.display());
    }
    Ok(config)
}
