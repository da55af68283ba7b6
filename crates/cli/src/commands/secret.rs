//! `vigil secret set|list|rm`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::setup::DbArgs;
use crate::setup::{open_store, secret_box};

/// Secret subcommands.
#[derive(Subcommand)]
pub enum SecretCommand {
    /// Store a secret; the value is read from stdin (a trailing newline is dropped).
    Set {
        /// Name, referenced as `${workflow.secrets.NAME}`.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List secret names (never values).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Delete a secret.
    Rm {
        /// Name.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs a secret subcommand.
pub async fn run(cmd: SecretCommand) -> Result<ExitCode> {
    match cmd {
        SecretCommand::Set { name, db } => {
            if !vigil_core::params::is_secret_name(&name) {
                anyhow::bail!("secret names use letters, digits, `_` and `-`; got `{name}`");
            }
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value).context("reading the secret value from stdin")?;
            let value = value.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&value);
            if value.is_empty() {
                anyhow::bail!("the secret value read from stdin is empty");
            }
            let sealed = secret_box(&db.db)?.seal(value.as_bytes());
            let store = open_store(&db.db).await?;
            store.put_secret(&name, &sealed, now()).await?;
            crate::commands::audit::command(store.as_ref(), "secret set", "secret", &name, serde_json::json!({})).await;
            crate::output::outln!("secret `{name}` set (value: ***)");
        }
        SecretCommand::List { db } => {
            let store = open_store(&db.db).await?;
            for (name, _) in store.secrets().await? {
                crate::output::outln!("{name}\t***");
            }
        }
        SecretCommand::Rm { name, db } => {
            let store = open_store(&db.db).await?;
            if !store.delete_secret(&name).await? {
                eprintln!("error: secret `{name}` does not exist");
                return Ok(ExitCode::from(1));
            }
            crate::commands::audit::command(store.as_ref(), "secret rm", "secret", &name, serde_json::json!({})).await;
            crate::output::outln!("secret `{name}` removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn now() -> i64 {
    vigil_core::time::Clock::now(&vigil_runtime::SystemClock)
}
