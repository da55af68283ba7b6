//! `vigil token create|list|revoke`: API tokens for `vigil serve`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use vigil_core::team::Teams;
use vigil_core::time::{Clock, format_millis};
use vigil_runtime::SystemClock;
use vigil_server::auth::{Role, mint, mint_for};

use crate::setup::DbArgs;
use crate::setup::open_store;

/// Token subcommands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once: only a hash is kept).
    Create {
        /// `read` (GET only), `respond` (also acknowledge, silence, check now), `write` (also
        /// start, signal, control, purge, define) or `admin` (also tokens, accounts and secrets).
        #[arg(long)]
        role: String,
        /// The account it belongs to: it then never does more than the account may.
        #[arg(long)]
        user: Option<String>,
        /// The config directory whose teams give the account roles (`teams/`); by default the
        /// copy a cluster published to the database, if any.
        #[arg(long, value_name = "DIR")]
        config: Option<std::path::PathBuf>,
        /// When it stops working, from now: `30d`, `12h`.
        #[arg(long)]
        expires: Option<String>,
        /// A label, such as who or what uses it.
        #[arg(long, default_value = "")]
        name: String,
        /// A secret that definitions written with this token may reference, or `env:NAME` for an
        /// environment variable; repeat for more. Admin tokens need none.
        #[arg(long)]
        grant: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List tokens (ids, names, roles; never secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token by id; a running `vigil serve` refuses it within 2 seconds.
    Revoke {
        /// The token id (the part after `vgl_`).
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs a token subcommand.
pub async fn run(cmd: TokenCommand) -> Result<ExitCode> {
    match cmd {
        TokenCommand::Create { role, name, grant, user, config, expires, db } => {
            let Some(role) = Role::parse(&role) else {
                anyhow::bail!("--role: `{role}` is not a role; use read, respond, write or admin");
            };
            let now = SystemClock.now();
            let expires_at = match expires {
                Some(text) => {
                    Some(now + vigil_core::time::parse_duration(&text).map_err(|e| anyhow::anyhow!("--expires: {e}"))?)
                }
                None => None,
            };
            let store = open_store(&db.db).await?;
            let minted = match user {
                Some(user) => {
                    let id = vigil_server::accounts::normalize(&user);
                    let Some(account) = store.user(&id).await? else {
                        anyhow::bail!("--user: no account `{id}` (see `vigil user list`)");
                    };
                    let teams = teams_of(store.as_ref(), config.as_deref()).await?;
                    mint_for(&account, &teams, &name, role, grant, expires_at, now).map_err(|why| {
                        let hint =
                            if teams.is_empty() { " (no team counted: give --config DIR for its teams)" } else { "" };
                        anyhow::anyhow!("--role: {why}{hint}")
                    })?
                }
                None => {
                    let mut minted = mint(&name, role, grant, now);
                    minted.row.expires_at = expires_at;
                    minted
                }
            };
            store.put_token(&minted.row).await?;
            let made = serde_json::json!({"id": minted.row.id, "name": minted.row.name, "role": minted.row.role,
                "user": minted.row.user_id, "grants": minted.row.grants, "expiresAt": minted.row.expires_at});
            crate::commands::audit::command(store.as_ref(), "token create", "token", &minted.row.id, made).await;
            eprintln!("token {} ({}) created; it is shown only now:", minted.row.id, role.as_str());
            crate::output::outln!("{}", minted.token);
        }
        TokenCommand::List { db } => {
            for t in open_store(&db.db).await?.tokens().await? {
                let state =
                    t.revoked_at.map(|at| format!("revoked {}", format_millis(at))).unwrap_or_else(|| "active".into());
                let state = match t.expires_at {
                    Some(at) if t.revoked_at.is_none() => format!("{state}, expires {}", format_millis(at)),
                    _ => state,
                };
                let used =
                    t.last_used_at.map_or_else(|| "never used".into(), |at| format!("used {}", format_millis(at)));
                crate::output::outln!(
                    "{}\t{}\t{}\tcreated {}\t{state}\t{used}\tuser: {}\tgrants: {}",
                    t.id,
                    t.role,
                    t.name,
                    format_millis(t.created_at),
                    t.user_id.as_deref().unwrap_or("-"),
                    if t.grants.is_empty() { "-".to_string() } else { t.grants.join(",") }
                );
            }
        }
        TokenCommand::Revoke { id, db } => {
            let id = id.strip_prefix("vgl_").map(|rest| rest.split('_').next().unwrap_or(rest)).unwrap_or(&id);
            let store = open_store(&db.db).await?;
            if !store.revoke_token(id, SystemClock.now()).await? {
                anyhow::bail!("no active token with id `{id}` (see `vigil token list`)");
            }
            crate::commands::audit::command(store.as_ref(), "token revoke", "token", id, serde_json::json!({})).await;
            crate::output::outln!("token {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The teams in force for `vigil token create --user`: those of `config`, else of the copy a
/// cluster published, else none.
async fn teams_of(store: &dyn vigil_store::Store, config: Option<&std::path::Path>) -> Result<Teams> {
    let (dir, _copy) = match config {
        Some(dir) => (dir.to_path_buf(), None),
        None => {
            let published = crate::commands::shared_config::fetch(store).await?;
            if published.is_empty() {
                return Ok(Teams::default());
            }
            let copy = tempfile::tempdir()?;
            crate::commands::shared_config::materialize(&published, copy.path())?;
            (copy.path().to_path_buf(), Some(copy))
        }
    };
    let (config, diags) = vigil_core::config::load(&dir);
    if vigil_core::config::has_errors(&diags) {
        anyhow::bail!("--config: {} does not validate (see `vigil validate {}`)", dir.display(), dir.display());
    }
    Ok(Teams::new(config.teams).with_folders(config.folders))
}
