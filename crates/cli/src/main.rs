//! `vigil`: durable scheduled monitoring and alerting workflows.

mod alertmanager_file;
mod allocator;
mod commands;
mod output;
mod setup;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Durable scheduled monitoring and alerting workflows, in Conductor's format.
#[derive(Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text`, or `json` (one object per line).
    #[arg(long, global = true, env = "VIGIL_LOG_FORMAT", value_enum, default_value_t = setup::LogFormat::Text)]
    log_format: setup::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run schedules and instances until SIGINT/SIGTERM; serve the HTTP API.
    Serve(Box<commands::serve::Args>),
    /// Run one instance to completion and print its output JSON.
    Run(commands::run::Args),
    /// Check definitions and print every problem with file:line:col.
    Validate(commands::validate::Args),
    /// Run the `tests:` blocks of monitors offline (canned answers, manual clock, nothing sent).
    Test(commands::test::Args),
    /// Run one monitor now and print each series' value, tier and the notice it would send
    /// (exit 0 ok, 1 warning, 2 critical, 3 unknown); `--notify` sends it.
    Check(commands::check::Args),
    /// Monitors with their tier, last and next check (from a running `vigil serve`).
    Monitors(commands::monitors::Args),
    /// List recent instances.
    Instances(commands::inspect::InstancesArgs),
    /// Show one instance with its tasks.
    Status(commands::inspect::StatusArgs),
    /// List schedules with their next fire times.
    Schedules(commands::inspect::SchedulesArgs),
    /// Manage secrets (values are encrypted at rest and never printed).
    #[command(subcommand)]
    Secret(commands::secret::SecretCommand),
    /// Nodes on this database.
    #[command(subcommand)]
    Cluster(commands::cluster::ClusterCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Manage accounts: people who sign in, and service accounts that hold tokens.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// List active alerts (and failed notifications).
    Alerts(commands::alerts::AlertsArgs),
    /// Act on one alert.
    #[command(subcommand)]
    Alert(commands::alerts::AlertCommand),
    /// Mute alerts by label.
    #[command(subcommand)]
    Silence(commands::alerts::SilenceCommand),
    /// Test notifiers.
    #[command(subcommand)]
    Notify(commands::alerts::NotifyCommand),
    /// Open, update and list a status page's incidents (through a running server).
    #[command(subcommand)]
    Incident(commands::incident::IncidentCommand),
    /// Schedule, end and list a status page's maintenance (through a running server).
    #[command(subcommand)]
    Maintenance(commands::maintenance::MaintenanceCommand),
    /// Write a consistent copy of the SQLite store while it is in use (`vigil backup FILE`).
    Backup(commands::backup::BackupArgs),
    /// Replace the SQLite store with a backup; refused while `vigil serve` runs on it.
    Restore(commands::backup::RestoreArgs),
    /// Measure throughput, latency and schedule load on this machine.
    Bench(commands::bench::Args),
    /// Turn another tool's checks into vigil files (`vigil import robopager checklist.yaml`).
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Print a shell completion script: `vigil completions bash > /etc/bash_completion.d/vigil`.
    Completions(commands::generate::CompletionsArgs),
    /// Print vigil's man page (roff): `vigil man > /usr/local/share/man/man1/vigil.1`.
    Man,
    /// Print the JSON Schema of a definition file (`workflow`, `schedule`, `monitor`, `notifier`),
    /// for editors that validate YAML (yaml-language-server).
    Schema(commands::generate::SchemaArgs),
    /// Print the configuration reference (every command's flags and environment variables, and
    /// the definition files' fields) as Markdown, as `docs/configuration.md` holds it.
    Reference,
}

fn main() -> ExitCode {
    allocator::tune();
    vigil_core::memory::set_collect(allocator::collect);
    let cli = Cli::parse();
    setup::init_tracing(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(a) => commands::serve::run(*a).await,
            Command::Run(a) => commands::run::run(a).await,
            Command::Validate(a) => commands::validate::run(a).await,
            Command::Test(a) => commands::test::run(a).await,
            Command::Check(a) => commands::check::run(a).await,
            Command::Monitors(a) => commands::monitors::run(a).await,
            Command::Instances(a) => commands::inspect::instances(a).await,
            Command::Status(a) => commands::inspect::status(a).await,
            Command::Schedules(a) => commands::inspect::schedules(a).await,
            Command::Secret(c) => commands::secret::run(c).await,
            Command::Token(c) => commands::token::run(c).await,
            Command::User(c) => commands::user::run(c).await,
            Command::Cluster(c) => commands::cluster::run(c).await,
            Command::Alerts(a) => commands::alerts::list(a).await,
            Command::Alert(c) => commands::alerts::alert(c).await,
            Command::Silence(c) => commands::alerts::silence(c).await,
            Command::Notify(c) => commands::alerts::notify(c).await,
            Command::Incident(c) => commands::incident::run(c).await,
            Command::Maintenance(c) => commands::maintenance::run(c).await,
            Command::Backup(a) => commands::backup::backup(a).await,
            Command::Restore(a) => commands::backup::restore(a).await,
            Command::Bench(a) => commands::bench::run(a).await,
            Command::Import(c) => commands::import::run(c).await,
            Command::Completions(a) => commands::generate::completions(&mut Cli::command(), a),
            Command::Man => commands::generate::man(Cli::command()),
            Command::Schema(a) => commands::generate::schema(a),
            Command::Reference => commands::generate::reference(&Cli::command()),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
