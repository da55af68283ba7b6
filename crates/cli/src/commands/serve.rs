//! `vigil serve`: schedules and instances until a signal, with /healthz and /metrics.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use vigil_runtime::cluster::ClusterConfig;
use vigil_runtime::{Engine, EngineConfig, SystemClock};

use crate::commands::schedule_names::ScheduleNames;
use crate::commands::shared_config;
use crate::setup::DbArgs;
use crate::setup::{load_all, load_secrets, open_store};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Config directory with `workflows/`, `schedules/` and `notifiers/`. On PostgreSQL it is
    /// published to the database, and a node started without it runs the published copy.
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub brokers: crate::setup::BrokerArgs,
    /// Where the status changes of workflows with `workflowStatusListenerEnabled` (and no
    /// `workflowStatusListenerSink` of their own) are published, as CloudEvents: a sink
    /// (`amqp_exchange:status`, `jsm:status`, `conductor:status`) or an http(s):// URL.
    #[arg(long, env = "VIGIL_STATUS_SINK")]
    pub status_sink: Option<String>,
    /// Publish every workflow's status changes to `--status-sink`, whatever its definition says.
    #[arg(long, env = "VIGIL_STATUS_SINK_ALL", requires = "status_sink")]
    pub status_sink_all: bool,
    /// The notifiers told of alerts that Prometheus (or anything speaking Alertmanager's API)
    /// pushes to `POST /api/v2/alerts`, comma-separated. Without any, pushed alerts are tracked
    /// and shown but notify no one.
    #[arg(long, env = "VIGIL_ALERT_RECEIVERS", value_delimiter = ',')]
    pub alert_receivers: Vec<String>,
    /// An Alertmanager configuration (`alertmanager.yml`) to route pushed alerts with: its
    /// routes, groups, inhibition rules, time intervals and receivers. Default:
    /// `<config>/alertmanager.yml` when it exists. Published to every node.
    #[arg(long, env = "VIGIL_ALERTMANAGER_CONFIG")]
    pub alertmanager_config: Option<PathBuf>,
    #[command(flatten)]
    pub retention: crate::commands::retention::Args,
    /// Address of the HTTP API (/api/v1, /healthz, /metrics).
    #[arg(long, env = "VIGIL_LISTEN", default_value = "127.0.0.1:7700")]
    pub listen: SocketAddr,
    /// The API's externally visible base URL (behind a proxy), used in management URIs and in
    /// the signed acknowledgement links pages carry.
    #[arg(long, env = "VIGIL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Require API tokens (`vigil token create`): `auto` (the default) requires them unless vigil
    /// listens on a loopback address only.
    #[arg(long, env = "VIGIL_AUTH", value_enum, default_value_t = AuthMode::Auto)]
    pub auth: AuthMode,
    /// Interpreter threads (default: one per core, at least 2).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Most instances started by schedules running at once on this node; past it due fires wait
    /// for some to end (then each schedule's misfire policy applies), so overload cannot grow
    /// memory without bound.
    #[arg(long, env = "VIGIL_MAX_RUNNING_FIRES", default_value_t = vigil_runtime::admission::DEFAULT_MAX_RUNNING_FIRES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_running_fires: usize,
    /// Most kilobytes an instance's workflow variables may take as JSON; a SET_VARIABLE that
    /// would pass it fails (Conductor's `max-workflow-variables-payload-size-threshold`).
    #[arg(long, env = "VIGIL_MAX_VARIABLES_KB", default_value_t = 256, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_variables_kb: usize,
    /// Most heartbeats pings may create with `?create=1` (Healthchecks' auto-provisioning); past
    /// it such a ping answers 404 as for an unknown slug. 0 turns creating off.
    #[arg(long, env = "VIGIL_HEARTBEATS_CREATED_MOST", default_value_t = vigil_runtime::monitors::stored::MOST_CREATED)]
    pub heartbeats_created_most: usize,
    /// Length of a monitor history bucket: each series keeps one row per bucket (checks, failing,
    /// min, max, mean and last value).
    #[arg(long, env = "VIGIL_MONITOR_HISTORY_BUCKET", default_value = "1m", value_parser = positive_duration)]
    pub monitor_history_bucket: i64,
    /// How long monitor history buckets are kept.
    #[arg(long, env = "VIGIL_MONITOR_HISTORY_KEEP", default_value = "48h", value_parser = positive_duration)]
    pub monitor_history_keep: i64,
    /// How long the downsampled monitor history (5-minute, hourly and daily min/max/mean, checks
    /// and failures: charts and uptime) is kept, or `forever`; a monitor's `retention.history`
    /// overrides it.
    #[arg(long, env = "VIGIL_MONITOR_HISTORY_ROLLUP_KEEP", default_value = "90d", value_parser = vigil_core::retention::parse_keep)]
    pub monitor_history_rollup_keep: i64,
    /// How often closed history buckets are written (in one transaction; a crash loses at most
    /// this much history, never an alert transition).
    #[arg(long, env = "VIGIL_MONITOR_HISTORY_FLUSH", default_value = "10m", value_parser = positive_duration)]
    pub monitor_history_flush: i64,
    /// This node's id in a cluster (default: host name and API port). A node restarted with the
    /// same id takes its partitions back at once instead of waiting for their leases to lapse.
    #[arg(long, env = "VIGIL_NODE_ID")]
    pub node_id: Option<String>,
    /// How long a stop (SIGTERM, Ctrl-C) waits for the notices due now to be sent, e.g. `5s`, `0s`
    /// to not wait; what is left stays in the outbox and goes at the next start.
    #[arg(long, env = "VIGIL_NOTIFY_GRACE", default_value = "5s", value_parser = grace_duration)]
    pub notify_grace: std::time::Duration,
    /// Seconds a partition lease lasts unless renewed (PostgreSQL clusters): a dead node's work
    /// moves to the others within about 1.25 times this.
    #[arg(long, env = "VIGIL_LEASE_TTL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub lease_ttl: u64,
    /// Send a startup notice through this notifier, so a restart is visible (as Robopager's
    /// heartbeat service): a PagerDuty Change Event (no incident), a ping of the Opsgenie heartbeat
    /// the notifier names (`heartbeat:`), an informational message elsewhere. Repeat the flag for
    /// several notifiers.
    #[arg(long, env = "VIGIL_HEARTBEAT", value_delimiter = ',')]
    pub heartbeat: Vec<String>,
    /// A target on this host (`HOST:PORT`) that workflows written by non-admins may send a probe's
    /// `body` to (a TCP, UDP or WebSocket check), or that is vigil's own address and they may call.
    /// Without it they may not: see docs/reliability.md, "Where calls and checks may go". Repeat
    /// the flag, or separate targets with commas.
    #[arg(long, env = "VIGIL_PROBE_ALLOW", value_delimiter = ',')]
    pub probe_allow: Vec<String>,
}

/// When API tokens are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Required unless listening on loopback only.
    Auto,
    /// Always required.
    On,
    /// Never required (only behind something that authenticates).
    Off,
}

impl AuthMode {
    fn required(self, listen: SocketAddr) -> bool {
        match self {
            AuthMode::Auto => !listen.ip().is_loopback(),
            AuthMode::On => true,
            AuthMode::Off => false,
        }
    }
}

/// Runs until SIGINT or SIGTERM, then stops gracefully.
pub async fn run(args: Args) -> Result<ExitCode> {
    // Held while serving: `vigil restore` refuses to replace a store in use, and a second
    // `vigil serve` on the same SQLite file is refused here.
    let _serve_lock = super::backup::take_serve_lock(&args.db.db)?;
    let store = open_store(&args.db.db).await?;
    let secrets = load_secrets(store.as_ref(), &args.db.db).await?;
    let clustered = crate::setup::postgres_url(&args.db.db).is_some();
    // Listen first: a second process with this node's id (same host and port) fails here,
    // before it could take the partitions of the running one.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let listen = listener.local_addr()?;
    vigil_connectors::egress::configure(vec![listen], args.probe_allow.clone());
    let node_id = args.node_id.clone();
    let node = crate::commands::cluster::this_node(
        node_id.unwrap_or_else(|| format!("{}:{}", crate::commands::cluster::host_name(), listen.port())),
    );
    // The directory this node loads: its own, or (on PostgreSQL, without one) its copy of the
    // directory another node published.
    let copy = shared_config::copy_dir(&node.id);
    let config_dir = match &args.config {
        Some(dir) => dir.clone(),
        None if clustered => {
            shared_config::materialize(&shared_config::fetch(store.as_ref()).await?, &copy)?;
            copy.clone()
        }
        None => anyhow::bail!(
            "--config DIR is required with SQLite (on PostgreSQL a node without it runs the config another node published)"
        ),
    };
    let loading = std::time::Instant::now();
    let (config, notifiers) = load_all(&config_dir, Some(&secrets))?;
    tracing::info!(
        workflows = config.workflows.latest().count(),
        schedules = config.schedules.len(),
        monitors = config.monitors.len(),
        took_ms = loading.elapsed().as_millis() as u64,
        "Definitions loaded."
    );
    if clustered && let Some(dir) = &args.config {
        shared_config::publish(store.as_ref(), &shared_config::files(dir)?).await?;
    }
    let metrics = crate::setup::install_metrics()?;
    let secret_box = crate::setup::secret_box(&args.db.db).ok().map(Arc::new);
    let mut engine_config = EngineConfig { secret_box: secret_box.clone(), ..EngineConfig::default() };
    if let Some(n) = args.shards {
        engine_config.shards = n;
    }
    engine_config.max_running_fires = args.max_running_fires;
    engine_config.max_variables_bytes = args.max_variables_kb * 1024;
    engine_config.heartbeats_created_most = args.heartbeats_created_most;
    engine_config.retention = args.retention.settings();
    engine_config.notify_grace = args.notify_grace;
    engine_config.brokers = args.brokers.brokers();
    engine_config.alert_receivers = args.alert_receivers.clone();
    engine_config.public_url = args.public_url.clone();
    // Known from the alert manager's first step (the API's stored ones are added at the start).
    engine_config.notifiers = Some(notifiers.clone());
    let am_file = args.alertmanager_config.clone().or_else(|| {
        let dir = args.config.as_ref()?;
        vigil_core::config::ALERTMANAGER_FILES.iter().map(|n| dir.join(n)).find(|f| f.is_file())
    });
    if let Some(file) = am_file {
        engine_config.alertmanager_config = Some(crate::alertmanager_file::load(&file)?);
    }
    if let Some(sink) = args.status_sink.as_deref().filter(|s| !s.starts_with("http://") && !s.starts_with("https://"))
    {
        vigil_connectors::sinks::Address::parse(sink).map_err(|e| anyhow::anyhow!("--status-sink: {e}"))?;
    }
    engine_config.status_listeners = vigil_runtime::status_events::config::StatusListenerConfig {
        sink: args.status_sink.clone(),
        all: args.status_sink_all,
    };
    engine_config.monitor_history = vigil_runtime::monitors::record::HistorySettings {
        bucket: args.monitor_history_bucket,
        keep: args.monitor_history_keep,
        flush: args.monitor_history_flush,
        rollup_keep: args.monitor_history_rollup_keep,
    };
    engine_config.cluster = ClusterConfig {
        node: node.clone(),
        lease_ttl: std::time::Duration::from_secs(args.lease_ttl),
        solo: !clustered,
    };
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), engine_config, config.workflows, secrets).await?;
    for name in &args.heartbeat {
        let target = notifiers.iter().find(|n| n.name() == name).cloned();
        let Some(target) = target else { anyhow::bail!("--heartbeat: notifier `{name}` is not defined in notifiers/") };
        tokio::spawn(async move {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this host".into());
            let summary = format!("vigil {} started on {host}", env!("CARGO_PKG_VERSION"));
            match crate::commands::alerts::send_info(&target, "vigil-heartbeat", &summary, "vigil/heartbeat", false)
                .await
            {
                vigil_connectors::notifiers::Outcome::Delivered => {
                    tracing::info!(notifier = %target.name(), "Startup heartbeat sent.")
                }
                other => {
                    tracing::warn!(notifier = %target.name(), outcome = ?other, "Startup heartbeat was not delivered.")
                }
            }
        });
    }
    let stored = engine.definitions().load_api_definitions().await?;
    if stored > 0 {
        tracing::info!(workflows = stored, "Loaded workflow definitions written through the API.");
    }
    if !config.teams.is_empty() {
        tracing::info!(teams = config.teams.len(), "Teams loaded.");
    }
    engine.set_teams_in_folders(config.teams, config.folders);
    if !config.identity_providers.is_empty() {
        tracing::info!(providers = config.identity_providers.len(), "Identity providers loaded.");
    }
    engine.accounts().set_identity_providers(config.identity_providers);
    if !config.event_handlers.is_empty() {
        tracing::info!(event_handlers = config.event_handlers.len(), "Event handlers loaded.");
    }
    engine.events().set_files(config.event_handlers).await?;
    if !config.status_pages.is_empty() {
        tracing::info!(status_pages = config.status_pages.len(), "Status pages loaded.");
    }
    engine.status_pages().set_status_pages(config.status_pages);
    if let Err(e) = engine.status_pages().load_stored_pages().await {
        tracing::warn!(error = %e, "Could not read the status pages written through the API; trying again shortly.");
    }
    // Last: checks start now, and what holds their alerts (teams, pages' windows) is in place.
    if let Err(e) = engine.load_stored_monitors().await {
        tracing::warn!(error = %e, "Could not read the monitors kept in the store; trying again shortly.");
    }
    tokio::spawn(engine.clone().follow_stored_monitors_forever());
    if !config.monitors.is_empty() {
        tracing::info!(monitors = config.monitors.len(), "Monitors loaded.");
    }
    engine.set_monitors(config.monitors);
    tokio::spawn(engine.status_pages().clone().follow_stored_pages_forever());
    tokio::spawn(engine.status_pages().clone().propose_incidents_forever());
    tokio::spawn(engine.status_pages().clone().deliver_notices_forever());
    tokio::spawn(engine.status_pages().clone().tell_maintenance_forever());
    tokio::spawn(engine.monitor_relay().clone().relay_monitor_live_forever());
    let file_schedules = ScheduleNames::new(config.schedules.iter().map(|s| s.name.as_str()));
    let mut schedules = config.schedules;
    for def in engine.definitions().api_schedules().await? {
        if !file_schedules.contains(&def.name) {
            schedules.push(def);
        }
    }
    engine.run_schedules(schedules).await?;
    // Loading parsed far more than it keeps: give the freed memory back.
    vigil_core::memory::give_back();
    if let Some(dir) = &args.config {
        let watch = crate::commands::reload::watch(
            engine.clone(),
            store.clone(),
            args.db.db.clone(),
            (dir.clone(), clustered),
            file_schedules.clone(),
        );
        tokio::spawn(watch);
    } else {
        #[cfg(unix)]
        if let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            // Nothing to reload without `--config` (a cluster node follows the published copy),
            // but a SIGHUP (systemd's `ExecReload`) must not end the server either.
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: no --config directory to reload; this node follows the published one.");
                }
            });
        }
    }
    // Notifiers are loaded again from the directory this node runs: its own, or the published copy.
    let follow_secrets =
        crate::commands::secret_watch::follow(engine.clone(), store.clone(), args.db.db.clone(), config_dir);
    tokio::spawn(follow_secrets);
    if clustered {
        tokio::spawn(crate::commands::reload::follow_published(
            engine.clone(),
            store.clone(),
            args.db.db.clone(),
            copy,
            file_schedules,
        ));
    }
    let required = args.auth.required(listen);
    if required && store.tokens().await?.iter().all(|t| t.revoked_at.is_some()) {
        tracing::warn!("API tokens are required but none exists: create one with `vigil token create --role admin`.");
    }
    let app = vigil_server::app(vigil_server::AppState {
        status_pages: Default::default(),
        engine: engine.clone(),
        listen,
        public_url: args.public_url.clone(),
        metrics: Arc::new(move || metrics.render()),
        auth: Arc::new(vigil_server::auth::Auth::new(store.clone(), required).with_teams({
            let engine = engine.clone();
            Arc::new(move || engine.teams())
        })),
        secret_box,
        allowed_hosts: vigil_server::cross_site::AllowedHosts::for_listen(
            listen,
            args.public_url.as_deref(),
            &std::env::var("VIGIL_ALLOWED_HOSTS").unwrap_or_default(),
        ),
    });
    let db = crate::setup::redact(&args.db.db.to_string_lossy());
    tracing::info!(listen = %listen, db = %db, auth = required, node = %node.id, "vigil is serving.");
    vigil_server::listen::serve(listener, app, shutdown_signal()).await?;
    tracing::info!("Shutting down: committing in-memory state.");
    engine.shutdown().await;
    store.close().await;
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
        _ = parent_gone() => {},
    }
}

/// With `VIGIL_EXIT_WITH_PARENT=<pid>` (the test harness sets its own pid), resolves once vigil's
/// parent is no longer that process (it died and vigil was re-parented), so a test that panics or
/// is killed never leaves a server running.
async fn parent_gone() {
    let Some(expected) = std::env::var("VIGIL_EXIT_WITH_PARENT").ok().and_then(|p| p.parse::<u32>().ok()) else {
        return std::future::pending().await;
    };
    loop {
        let parent = std::os::unix::process::parent_id();
        if parent != expected {
            tracing::warn!(expected, parent, "The process that started vigil has gone; stopping.");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A duration such as `1m` or `2d`, above zero, in milliseconds.
/// A duration of zero or more (`0s`, `5s`, `1m`).
pub(crate) fn grace_duration(text: &str) -> Result<std::time::Duration, String> {
    Ok(std::time::Duration::from_millis(vigil_core::time::parse_duration(text)?.max(0) as u64))
}

fn positive_duration(text: &str) -> Result<i64, String> {
    match vigil_core::time::parse_duration(text)? {
        0 => Err("must be longer than zero".into()),
        ms => Ok(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_is_on_by_default_unless_listening_on_loopback() {
        let at = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert!(!AuthMode::Auto.required(at("127.0.0.1:7700")));
        assert!(!AuthMode::Auto.required(at("[::1]:7700")));
        assert!(AuthMode::Auto.required(at("0.0.0.0:7700")));
        assert!(AuthMode::Auto.required(at("10.1.2.3:7700")));
        assert!(AuthMode::On.required(at("127.0.0.1:7700")));
        assert!(!AuthMode::Off.required(at("0.0.0.0:7700")));
    }
}
