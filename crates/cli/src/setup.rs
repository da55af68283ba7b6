//! Shared start-up: logging, the store, secrets and config loading with printed diagnostics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use vigil_connectors::notifiers::{NotifierConfig, load};
use vigil_core::config::{self, Config};
use vigil_core::diagnostic::{Diagnostic, Severity};
use vigil_core::instance::SecretSource;
use vigil_runtime::SecretValues;
use vigil_store::{PostgresStore, SecretBox, SqliteStore, Store};

/// Where the embedded store lives; shared by every command that reads or writes state.
#[derive(clap::Args, Clone)]
pub struct DbArgs {
    /// SQLite database file (created if missing). Secrets are sealed with `VIGIL_SECRET_KEY`
    /// or with the key file `<db>.key`, created beside it on first use.
    #[arg(long, env = "VIGIL_DB", default_value = "vigil.db")]
    pub db: PathBuf,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields.message` and the event's fields),
    /// for journald, Loki or Elasticsearch.
    Json,
}

/// Logs to stderr in `format`; `RUST_LOG` filters (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}

/// Opens the SQLite store.
pub async fn open_store(db: &Path) -> Result<Arc<dyn Store>> {
    if let Some(url) = postgres_url(db) {
        // No definition may open vigil's own store as a query source.
        vigil_connectors::sources::sql::protect_store(&url);
        let store =
            PostgresStore::open(&url).await.with_context(|| format!("cannot open PostgreSQL at {}", redact(&url)))?;
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(db).await.with_context(|| format!("cannot open database {}", db.display()))?;
    vigil_connectors::sources::sql::protect_store(&db.to_string_lossy());
    Ok(Arc::new(store))
}

/// `--db postgres://...` selects PostgreSQL; anything else is a SQLite file.
pub fn postgres_url(db: &Path) -> Option<String> {
    let text = db.to_string_lossy();
    (text.starts_with("postgres://") || text.starts_with("postgresql://")).then(|| text.into_owned())
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user_part = &url[scheme + 3..at];
            let user = user_part.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
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
    if env.is_none() && postgres_url(db).is_some() {
        anyhow::bail!(
            "with PostgreSQL, secrets are sealed with VIGIL_SECRET_KEY (64 hex characters, the same on every node)"
        );
    }
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
    Ok(load_all(path, None)?.0)
}

/// Loads workflows, schedules and notifiers (`<config>/notifiers/`). With `secrets`, notifier
/// credentials are substituted; diagnostics go to stderr and any error fails the load.
pub fn load_all(path: &Path, secrets: Option<&SecretValues>) -> Result<(Config, Vec<NotifierConfig>)> {
    if !path.exists() {
        anyhow::bail!("config path {} does not exist", path.display());
    }
    let (notifiers, config, diags) = check(path, secrets);
    for d in &diags {
        eprintln!("{d}");
    }
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    if errors > 0 {
        anyhow::bail!("{errors} error(s) in {}", path.display());
    }
    Ok((config, notifiers))
}

/// Every diagnostic for `path`, notifiers included.
pub fn check(path: &Path, secrets: Option<&SecretValues>) -> (Vec<NotifierConfig>, Config, Vec<Diagnostic>) {
    let dir = path.join("notifiers");
    let (notifiers, folders, mut diags) = if dir.is_dir() {
        match secrets {
            Some(values) => {
                let lookup =
                    |kind: &str, name: &str| if kind == "secrets" { values.secret(name) } else { values.env(name) };
                load::load_dir_in_folders(&dir, Some(&lookup))
            }
            None => load::load_dir_in_folders(&dir, None),
        }
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    // Names come from the files even when a credential is missing, so that one missing secret is
    // reported once, not again by every ALERT task that uses the notifier.
    let names: Vec<String> = if dir.is_dir() && secrets.is_some() {
        load::load_dir(&dir, None).0.iter().map(|n| n.name().to_string()).collect()
    } else {
        notifiers.iter().map(|n| n.name().to_string()).collect()
    };
    // Each monitor's source block is read by its connector, which names the field at fault.
    let sources = |spec: &vigil_core::monitor::SourceSpec| {
        vigil_connectors::sources::Source::problems(spec)
            .into_iter()
            .map(|p| vigil_core::diagnostic::Problem::error(p.path, p.message))
            .collect()
    };
    let checks = config::Checks { notifiers: path.is_dir().then_some(names.as_slice()), sources: Some(&sources) };
    let (mut config, more) = config::load_checked(path, checks);
    diags.extend(more);
    // A team may own the notifiers of a folder, as it owns the other kinds'.
    for (notifier, folder) in notifiers.iter().zip(&folders) {
        if let Some(folder) = folder {
            config.folders.insert(vigil_core::team::ObjectKind::Notifiers, notifier.name(), &folder.as_str().into());
        }
    }
    diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    (notifiers, config, diags)
}

/// Histogram bounds for every `*_seconds` metric: fine around the latency targets (tens of
/// milliseconds), coarse beyond.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Installs the Prometheus metrics recorder: `*_seconds` metrics are histograms (they aggregate
/// across nodes and scrapes, unlike summaries).
pub fn install_metrics() -> Result<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    // The recorder keeps every histogram sample until it is folded into the buckets, which
    // happens on a scrape or on upkeep. Without a scraper (no Prometheus configured) the samples
    // piled up for good: about 1 MB a minute at 1,000 checks a second in the soak. Upkeep folds
    // them every five seconds whether or not anyone scrapes.
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(METRICS_UPKEEP);
                upkeep.run_upkeep();
            }
        })
        .context("starting the metrics upkeep thread")?;
    Ok(handle)
}

/// How often histogram samples are folded into their buckets when nobody scrapes `/metrics`.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://vigil:hunter2@db.internal:5432/vigil"),
            "postgres://vigil@db.internal:5432/vigil"
        );
        assert_eq!(redact("postgres://postgres@127.0.0.1/vigil"), "postgres://postgres@127.0.0.1/vigil");
        assert_eq!(redact("vigil.db"), "vigil.db");
        assert!(postgres_url(Path::new("postgres://x@y/z")).is_some());
        assert!(postgres_url(Path::new("data/vigil.db")).is_none());
    }

    #[test]
    fn notifiers_in_a_folder_are_loaded_and_their_folders_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("notifiers/payments")).unwrap();
        std::fs::create_dir_all(dir.path().join("teams")).unwrap();
        let hook = |name: &str| format!("name: {name}\ntype: webhook\nurl: http://127.0.0.1:9/{name}\n");
        std::fs::write(dir.path().join("notifiers/payments/pay-hook.yaml"), hook("pay-hook")).unwrap();
        std::fs::write(dir.path().join("notifiers/ops.yaml"), hook("ops")).unwrap();
        std::fs::write(dir.path().join("teams/pay.yaml"), "name: pay\nowns:\n  folders: [payments]\n").unwrap();
        let (notifiers, config, diags) = check(dir.path(), None);
        assert!(diags.is_empty(), "{diags:?}");
        let mut names: Vec<&str> = notifiers.iter().map(|n| n.name()).collect();
        names.sort();
        assert_eq!(names, ["ops", "pay-hook"]);
        let teams = vigil_core::team::Teams::new(config.teams).with_folders(config.folders);
        use vigil_core::team::ObjectKind::Notifiers;
        assert_eq!(teams.owner_by_name(Notifiers, "pay-hook"), Some("pay"), "its folder's team owns it");
        assert_eq!(teams.owner_by_name(Notifiers, "ops"), None);
    }
}

/// The brokers EVENT tasks publish to, as URLs (which may carry passwords: give them through the
/// environment rather than the command line, which other users can see).
#[derive(clap::Args, Clone, Default)]
pub struct BrokerArgs {
    /// RabbitMQ for `amqp_queue:` and `amqp_exchange:` sinks: `amqp://user:password@host:5672/vhost`.
    #[arg(long, env = "VIGIL_AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<String>,
    /// NATS for `nats:` and `jsm:` sinks: `nats://[user:password@]host:4222`.
    #[arg(long, env = "VIGIL_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// An MQTT 5 broker for `mqtt:` sinks: `mqtt://[user:password@]host:1883`.
    #[arg(long, env = "VIGIL_MQTT_URL", hide_env_values = true)]
    pub mqtt_url: Option<String>,
    /// Redis for `redis:` (stream) sinks: `redis://[:password@]host:6379[/db]`.
    #[arg(long, env = "VIGIL_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
}

impl BrokerArgs {
    /// The brokers set.
    pub fn brokers(&self) -> vigil_connectors::sinks::Brokers {
        vigil_connectors::sinks::Brokers {
            amqp: self.amqp_url.clone(),
            nats: self.nats_url.clone(),
            mqtt: self.mqtt_url.clone(),
            redis: self.redis_url.clone(),
        }
    }
}
