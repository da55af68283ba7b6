//! Follows the stored secrets while `vigil serve` runs: a change made anywhere (`vigil secret set`
//! against the same store, the secrets API of this node or another, a workflow rotating a token)
//! reaches new task executions and notifier sends within [`EVERY`]. Notifiers are loaded again
//! with the new values, as their credentials are substituted when they are loaded.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::instance::SecretSource;
use vigil_runtime::Engine;
use vigil_store::Store;

use crate::setup::load_secrets;

/// How often the stored secrets are compared with the ones in use.
pub const EVERY: Duration = Duration::from_millis(250);

/// A digest of the stored secrets (names and sealed values): it changes when any secret does.
async fn fingerprint(store: &dyn Store) -> Option<u64> {
    let rows = store.secrets().await.ok()?;
    let mut bytes = Vec::new();
    for (name, sealed) in rows {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(&sealed);
        bytes.push(0);
    }
    Some(vigil_store::fnv1a_bytes(bytes))
}

/// Runs until the process ends.
/// `config` is the directory the node loads its notifiers from: its `--config`, or on a cluster
/// node without one, its copy of the published directory.
pub async fn follow(engine: Engine, store: Arc<dyn Store>, db: PathBuf, config: PathBuf) {
    let mut seen = fingerprint(store.as_ref()).await;
    loop {
        tokio::time::sleep(EVERY).await;
        let now = fingerprint(store.as_ref()).await;
        if now.is_none() || now == seen {
            continue;
        }
        seen = now;
        let secrets = match load_secrets(store.as_ref(), &db).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "The stored secrets changed but do not open; the old values stay."
                );
                continue;
            }
        };
        engine.set_secrets(secrets.clone());
        let notifiers = match config.join("notifiers") {
            dir if dir.is_dir() => {
                let loaded = tokio::task::spawn_blocking(move || {
                    let lookup = |kind: &str, name: &str| {
                        if kind == "secrets" { secrets.secret(name) } else { secrets.env(name) }
                    };
                    vigil_connectors::notifiers::load::load_dir(&dir, Some(&lookup))
                })
                .await;
                match loaded {
                    Ok((notifiers, diags))
                        if diags.iter().all(|d| d.severity != vigil_core::diagnostic::Severity::Error) =>
                    {
                        notifiers
                    }
                    Ok((_, diags)) => {
                        for d in &diags {
                            tracing::error!(problem = %d, "A notifier does not load with the new secrets.");
                        }
                        continue;
                    }
                    Err(_) => continue,
                }
            }
            _ => Vec::new(),
        };
        let count = match engine.load_notifiers(notifiers).await {
            Ok(count) => count,
            Err(e) => {
                tracing::error!(error = %e, "Could not read the notifiers written through the API.");
                0
            }
        };
        tracing::info!(notifiers = count, "Secrets changed; new executions and notifier sends use the new values.");
    }
}
