//! `vigil bench`: the measurements behind docs/benchmarks.md, reproducible on any machine.
//!
//! Each benchmark uses a fresh SQLite file in a temporary directory, so results include the cost of
//! durable commits.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

mod alertmanager;
mod auth;
mod cluster;
mod engine;
mod events;
mod floor;
mod lag;
mod measure;
mod monitors;
mod overload;
mod pings;
mod probe_servers;
mod soak;
mod status_page;
mod ui;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub which: Which,
}

/// The benchmarks.
#[derive(Subcommand)]
pub enum Which {
    /// (a) INLINE → SWITCH → SET_VARIABLE → JSON_JQ_TRANSFORM → INLINE, many instances.
    Throughput {
        /// Instances to run.
        #[arg(long, default_value_t = 100_000)]
        instances: usize,
    },
    /// (b) One chain of N INLINE tasks, end to end, repeated.
    Chain {
        /// Tasks in the chain.
        #[arg(long, default_value_t = 40)]
        steps: usize,
        /// Repetitions.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Alerting: many distinct alerts fire within a second across three notifiers (an
    /// Alertmanager and two webhooks, all local receivers).
    Alerts {
        /// Distinct alerts.
        #[arg(long, default_value_t = 10_000)]
        alerts: usize,
        /// The alerts' state changes are spread evenly over this many milliseconds (0: all at once).
        #[arg(long, default_value_t = 1_000)]
        within_ms: u64,
        /// Webhooks send one alert per request instead of up to 64 (`batch: 64`).
        #[arg(long)]
        unbatched: bool,
    },
    /// The external-worker round trip over the Conductor API on loopback: a chain of SIMPLE tasks
    /// worked by one HTTP worker, measured as poll + result and as update-v2.
    Worker {
        /// SIMPLE tasks per instance.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Instances, one after the other.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// The 5-task workflow and the scheduling lag on PostgreSQL with several nodes (a fresh
    /// database on the server, dropped afterwards).
    Cluster {
        /// The PostgreSQL server (a database there to connect to, to create the benchmark's).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres: String,
        /// Nodes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Instances of the 5-task workflow.
        #[arg(long, default_value_t = 50_000)]
        instances: usize,
        /// Schedules firing every second, for the scheduling lag.
        #[arg(long, default_value_t = 1_000)]
        schedules: usize,
        /// How long they fire.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Durable heartbeat pings per second and the time to a ping's answer, with N heartbeat
    /// monitors loaded (each ping answered after its commit).
    Pings {
        /// Heartbeat monitors loaded.
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        /// Concurrent senders.
        #[arg(long, default_value_t = 64)]
        senders: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A PostgreSQL URL to run on instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Overload: more scheduled HTTP checks (with alerts) than the machine can run, then load
    /// drops; RSS, CPU per check, skipped fires, alerts missed, catch-up and stop time.
    Overload {
        /// Schedules, one check each.
        #[arg(long, default_value_t = 30_000)]
        schedules: usize,
        /// Seconds between a schedule's fires (a divisor of 60).
        #[arg(long, default_value_t = 10)]
        every: u64,
        /// Seconds of overload before load drops to a tenth.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Schedules whose endpoint reports a problem (one alert each).
        #[arg(long, default_value_t = 5_000)]
        failing: usize,
        /// Most schedule-started instances running at once (`vigil serve --max-running-fires`).
        #[arg(long, default_value_t = vigil_runtime::admission::DEFAULT_MAX_RUNNING_FIRES)]
        limit: usize,
        /// How long each check endpoint takes to answer, in milliseconds.
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
    },
    /// W1: N HTTP monitors every few seconds against a local JSON server, some above their
    /// threshold, alerts to a local webhook: CPU per check, lag p99, RSS, database growth, pages.
    Monitors {
        /// Monitors.
        #[arg(long, default_value_t = 10_000)]
        monitors: usize,
        /// Seconds between a monitor's checks.
        #[arg(long, default_value_t = 10)]
        every: u64,
        /// Seconds measured after a warm-up of one interval.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Percent of monitors above their threshold.
        #[arg(long, default_value_t = 5)]
        failing_pct: usize,
        /// Seconds between history writes (`vigil serve --monitor-history-flush`; default 600).
        #[arg(long, default_value_t = 600)]
        history_flush: u64,
        /// Threads the monitors are split over (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// What the monitors check: HTTP (W1), a TCP exchange, a DNS query or a ping.
        #[arg(long, value_enum, default_value = "http")]
        kind: probe_servers::Kind,
    },
    /// Soak: W1 (10,000 monitors every 10 s, 5% failing) plus 100 fires a second of the seed-000
    /// alert workflow, retention short, for N minutes; samples RSS, file descriptors, database
    /// and WAL size, instances, lag p99 and CPU into a CSV and SVG charts, and judges the run.
    Soak(soak::Plan),
    /// Event handlers consuming RabbitMQ and NATS JetStream, each message starting the 5-task
    /// workflow: events/s into committed instances, and publish-to-first-step latency.
    Events(events::Plan),
    /// The web UI's overview, instance list and other pages timed against a big store (10,000
    /// monitors with a day of rollups, 1,000,000 instances).
    Ui(ui::Plan),
    /// A public status page of many components over W1's monitors, read by many clients while
    /// the checks run: requests/s and p99 for the page, a badge and the feed, its size, W1's lag.
    StatusPage(status_page::Plan),
    /// vigil beside Alertmanager (Debian's `prometheus-alertmanager`), same configuration:
    /// alerts accepted per second, RSS with every alert active, push-to-notification p99.
    Alertmanager(alertmanager::Plan),
    /// What checking rights costs the API: the same routes with auth off and with a user token
    /// scoped by teams (1,000 accounts, 100 teams), in interleaved rounds.
    Auth(auth::Plan),
    /// (c) Many cron schedules loaded; half fire together at the next minute boundary.
    Schedules {
        /// Schedules loaded.
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        /// How many of them fire every minute (the rest fire once a year).
        #[arg(long, default_value_t = 50_000)]
        burst: usize,
    },
}

/// Runs one benchmark and prints its figures.
pub async fn run(args: Args) -> Result<ExitCode> {
    match args.which {
        Which::Throughput { instances } => engine::throughput(instances).await?,
        Which::Chain { steps, runs } => engine::chain(steps, runs).await?,
        Which::Schedules { count, burst } => engine::schedules(count, burst).await?,
        Which::Alerts { alerts: n, within_ms, unbatched } => engine::alerts(n, within_ms, unbatched).await?,
        Which::Worker { steps, runs } => engine::worker(steps, runs).await?,
        Which::Monitors { monitors, every, seconds, failing_pct, history_flush, threads, kind } => {
            let plan = monitors::Plan { monitors, every, seconds, failing_pct, history_flush, threads, kind };
            monitors::run(plan).await?
        }
        Which::Pings { monitors, senders, seconds, postgres } => {
            pings::run(pings::Plan { monitors, senders, seconds, postgres }).await?
        }
        Which::Overload { schedules, every, seconds, failing, limit, latency_ms } => {
            let plan = overload::Plan { schedules, every, seconds, failing, limit, latency_ms };
            overload::run(plan).await?
        }
        Which::Soak(plan) => soak::run(plan).await?,
        Which::Ui(plan) => ui::run(plan).await?,
        Which::Events(plan) => events::run(plan).await?,
        Which::Alertmanager(plan) => alertmanager::run(plan).await?,
        Which::Auth(plan) => auth::run(plan).await?,
        Which::StatusPage(plan) => status_page::run(plan).await?,
        Which::Cluster { postgres, nodes, instances, schedules, seconds } => {
            cluster::run(&postgres, nodes, instances, schedules, seconds).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}
