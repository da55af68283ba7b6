//! `vigil run NAME|FILE`: one instance to completion, output JSON on stdout, progress on stderr.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::Value;
use vigil_core::config::Config;
use vigil_core::instance::WorkflowStatus;
use vigil_runtime::{Engine, EngineConfig, StartRequest, SystemClock};

use crate::output::task_line;
use crate::setup::DbArgs;
use crate::setup::{load_all, load_config, load_secrets, open_store};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// A workflow name from `--config`, or a workflow definition file.
    pub workflow: String,
    /// Config directory (for workflow names and sub-workflows).
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Input JSON, or `@file` to read it from a file.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Workflow version (default: the latest).
    #[arg(long)]
    pub version: Option<u32>,
    /// How long `vigil run` waits at exit for the notices its instance raised to be sent (what is
    /// left goes at the next start on this store).
    #[arg(long, env = "VIGIL_NOTIFY_GRACE", default_value = "5s", value_parser = crate::commands::serve::grace_duration)]
    pub notify_grace: std::time::Duration,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub brokers: crate::setup::BrokerArgs,
}

/// Runs the instance; exit 0 only when it completes.
pub async fn run(args: Args) -> Result<ExitCode> {
    if crate::setup::postgres_url(&args.db.db).is_some() {
        // A one-shot engine owns every partition of its store; on a cluster's database it would
        // take them from the running nodes.
        anyhow::bail!(
            "`vigil run` needs a store of its own (SQLite); on a PostgreSQL cluster, start the instance through a node's API: POST /api/v1/workflows/{{name}}/instances"
        );
    }
    let store = open_store(&args.db.db).await?;
    let secrets = load_secrets(store.as_ref(), &args.db.db).await?;
    let (mut config, notifiers) = match &args.config {
        Some(dir) => load_all(dir, Some(&secrets))?,
        None => (Config::default(), Vec::new()),
    };
    let name = if Path::new(&args.workflow).is_file() {
        let file = load_config(Path::new(&args.workflow))?;
        let def = file.workflows.all().next().cloned().context("the file holds no workflow definition")?;
        for d in file.workflows.all() {
            config.workflows.insert((**d).clone());
        }
        def.name.clone()
    } else {
        args.workflow.clone()
    };
    if !config.workflows.contains(&name) {
        let known = config.workflows.names().join(", ");
        anyhow::bail!(
            "workflow `{name}` is not defined (known: {})",
            if known.is_empty() { "none; pass --config DIR or a file" } else { &known }
        );
    }
    let input = parse_input(&args.input)?;
    let secret_box = crate::setup::secret_box(&args.db.db).ok().map(Arc::new);
    let engine_config = EngineConfig {
        recover: false,
        secret_box,
        notify_grace: args.notify_grace,
        brokers: args.brokers.brokers(),
        ..EngineConfig::default()
    };
    let engine = Engine::start(store.clone(), Arc::new(SystemClock), engine_config, config.workflows, secrets).await?;
    engine.set_notifiers(notifiers);
    // vigil's own queue only: a one-off run does not consume a broker's queues, which a server
    // on another store may be consuming.
    let own_queue = |h: &vigil_core::event_handler::EventHandler| vigil_core::sink::is_own_queue(&h.event);
    engine.events().set_files(config.event_handlers.into_iter().filter(own_queue).collect()).await?;
    let id = vigil_runtime::new_instance_id();
    let mut progress = engine.watch(&id);
    let started = engine.start_instance(StartRequest {
        name,
        version: args.version,
        input,
        id: Some(id.clone()),
        correlation_id: None,
        definition: None,
        // The person at the terminal runs their own config directory.
        started_by: Default::default(),
    })?;
    eprintln!("instance {started}");
    let printer = tokio::spawn(async move {
        let mut seen: HashMap<String, String> = HashMap::new();
        while let Some(state) = progress.recv().await {
            for t in &state.tasks {
                let key = t.status.as_str().to_string();
                if seen.get(&t.task_id) != Some(&key) {
                    seen.insert(t.task_id.clone(), key);
                    eprintln!("  {}", task_line(t));
                }
            }
            if state.status.is_terminal() {
                break;
            }
        }
    });
    let done = engine.wait(&started).await?;
    let _ = printer.await;
    engine.shutdown().await;
    store.close().await;
    crate::output::outln!("{}", serde_json::to_string_pretty(&done.output)?);
    eprintln!("{} {}", done.status.as_str(), done.reason_for_incompletion.as_deref().unwrap_or(""));
    Ok(if done.status == WorkflowStatus::Completed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn parse_input(text: &str) -> Result<Value> {
    let (source, json) = match text.strip_prefix('@') {
        Some(file) => {
            (file.to_string(), std::fs::read_to_string(file).with_context(|| format!("cannot read input file {file}"))?)
        }
        None => ("--input".to_string(), text.to_string()),
    };
    serde_json::from_str(&json).with_context(|| format!("{source} is not valid JSON"))
}
