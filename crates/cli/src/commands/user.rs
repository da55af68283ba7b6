//! `vigil user add|list|passwd|role|disable|enable|reset-code`: accounts, on the database
//! directly (as `vigil token` works), for whoever runs vigil on its host.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use vigil_core::principal::Role;
use vigil_core::time::{Clock, format_millis};
use vigil_runtime::SystemClock;
use vigil_server::accounts::{self, PERSON, SERVICE, password};
use vigil_store::UserRow;

use crate::setup::{DbArgs, open_store};

/// Account subcommands.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a person (who signs in to the UI with a password) or a service account (`--service`,
    /// which only holds tokens).
    Add {
        /// The name to sign in with (`a-z 0-9 . _ @ -`).
        name: String,
        /// The account's role everywhere: `viewer`, `responder`, `editor` or `admin` (or `read`,
        /// `respond`, `write`); `none` for no role of its own.
        #[arg(long)]
        role: String,
        /// A service account: holds tokens, never signs in.
        #[arg(long)]
        service: bool,
        /// Read the password from standard input (its first line); a person needs one.
        #[arg(long)]
        password_stdin: bool,
        /// A name to show.
        #[arg(long, default_value = "")]
        display_name: String,
        /// An email address.
        #[arg(long, default_value = "")]
        email: String,
        /// A person who signs in through this identity provider (`identity-providers/NAME`): the
        /// first person of that name to sign in through it gets the account. No password.
        #[arg(long, conflicts_with_all = ["service", "password_stdin"])]
        provider: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List accounts (never passwords).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a person's password, read from standard input; ends their UI sessions everywhere.
    Passwd {
        /// The account.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Change an account's role (`none` removes it); its tokens follow at once.
    Role {
        /// The account.
        name: String,
        /// `viewer`, `responder`, `editor`, `admin` or `none`.
        role: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an account: it can no longer sign in and its tokens stop working; its sessions end.
    Disable {
        /// The account.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a person's one-time code (when they lost it); they set up a new one in the UI.
    ResetCode {
        /// The account.
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// `none` or a role.
fn role_arg(text: &str) -> Result<Option<String>> {
    if text == "none" {
        return Ok(None);
    }
    match Role::parse(text) {
        Some(role) => Ok(Some(role.as_str().to_string())),
        None => bail!("--role: `{text}` is not a role; use viewer, responder, editor, admin or none"),
    }
}

/// The first line of standard input, as a password.
fn read_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading the password from standard input")?;
    let line = text.lines().next().unwrap_or_default().to_string();
    password::check_strength(&line).map_err(|e| anyhow::anyhow!("the password read from standard input: {e}"))?;
    Ok(line)
}

async fn existing(store: &dyn vigil_store::Store, name: &str) -> Result<UserRow> {
    let id = accounts::normalize(name);
    store.user(&id).await?.with_context(|| format!("no account `{id}` (see `vigil user list`)"))
}

/// Runs an account subcommand.
pub async fn run(cmd: UserCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match cmd {
        UserCommand::Add { name, role, service, password_stdin, display_name, email, provider, db } => {
            let id = accounts::normalize(&name);
            if !accounts::valid_name(&id) {
                bail!("`{name}` cannot name an account: use 1 to 64 of a-z, 0-9, `.`, `_`, `@` and `-`");
            }
            let role = role_arg(&role)?;
            if let Some(p) = &provider
                && !vigil_core::team::is_team_name(p)
            {
                bail!("--provider: `{p}` is not an identity provider's name");
            }
            let password_hash = match (service, password_stdin) {
                _ if provider.is_some() => None,
                (true, true) => bail!("a service account has no password: it holds tokens"),
                (true, false) => None,
                (false, true) => Some(password::hash(&read_password()?).await),
                (false, false) => bail!("a person needs a password: pass it on standard input with --password-stdin"),
            };
            let kind = if service { SERVICE } else { PERSON };
            let row = UserRow {
                id: id.clone(),
                display_name,
                email,
                kind: kind.into(),
                source: if provider.is_some() { "sso" } else { "local" }.into(),
                role,
                password_hash,
                created_at: now,
                // `PROVIDER:` with no subject yet: the provider's first sign-in of this name claims it.
                external_id: provider.as_ref().map(|p| format!("{p}:")),
                ..UserRow::default()
            };
            let store = open_store(&db.db).await?;
            if !store.add_user(&row).await? {
                bail!("an account `{id}` exists already");
            }
            let made = serde_json::json!({"kind": kind, "role": row.role, "displayName": row.display_name, "email": row.email});
            crate::commands::audit::command(
                store.as_ref(),
                "user add",
                "user",
                &id,
                serde_json::json!({"created": made}),
            )
            .await;
            crate::output::outln!("{kind} `{id}` added");
        }
        UserCommand::List { db } => {
            for u in open_store(&db.db).await?.users().await? {
                let state = match (u.disabled_at, u.last_sign_in_at) {
                    (Some(at), _) => format!("disabled {}", format_millis(at)),
                    (None, Some(at)) => format!("signed in {}", format_millis(at)),
                    (None, None) => "never signed in".into(),
                };
                let code = if u.totp_sealed.is_some() { "one-time code" } else { "-" };
                crate::output::outln!(
                    "{}\t{}\t{}\t{}\t{}\t{state}",
                    u.id,
                    u.kind,
                    u.source,
                    u.role.as_deref().unwrap_or("none"),
                    code
                );
            }
        }
        UserCommand::Passwd { name, db } => {
            let store = open_store(&db.db).await?;
            let user = existing(store.as_ref(), &name).await?;
            if user.kind != PERSON {
                bail!("`{}` is a service account: it has no password", user.id);
            }
            let hash = password::hash(&read_password()?).await;
            store.set_password(&user.id, Some(&hash)).await?;
            crate::commands::audit::command(store.as_ref(), "user passwd", "user", &user.id, serde_json::json!({}))
                .await;
            crate::output::outln!("password of `{}` set; their sessions ended", user.id);
        }
        UserCommand::Role { name, role, db } => {
            let store = open_store(&db.db).await?;
            let user = existing(store.as_ref(), &name).await?;
            let role = role_arg(&role)?;
            store.put_user(&UserRow { role: role.clone(), ..user.clone() }, false).await?;
            let change = serde_json::json!({"diff": [{"path": "role", "before": user.role, "after": role}]});
            crate::commands::audit::command(store.as_ref(), "user role", "user", &user.id, change).await;
            crate::output::outln!("`{}` is now {}", user.id, role.as_deref().unwrap_or("without a role"));
        }
        UserCommand::Disable { name, db } => {
            let store = open_store(&db.db).await?;
            let user = existing(store.as_ref(), &name).await?;
            store.put_user(&UserRow { disabled_at: Some(now), ..user.clone() }, true).await?;
            crate::commands::audit::command(store.as_ref(), "user disable", "user", &user.id, serde_json::json!({}))
                .await;
            crate::output::outln!("`{}` disabled; their sessions ended and their tokens stop within 2 s", user.id);
        }
        UserCommand::Enable { name, db } => {
            let store = open_store(&db.db).await?;
            let user = existing(store.as_ref(), &name).await?;
            store.put_user(&UserRow { disabled_at: None, ..user.clone() }, false).await?;
            crate::commands::audit::command(store.as_ref(), "user enable", "user", &user.id, serde_json::json!({}))
                .await;
            crate::output::outln!("`{}` enabled", user.id);
        }
        UserCommand::ResetCode { name, db } => {
            let store = open_store(&db.db).await?;
            let user = existing(store.as_ref(), &name).await?;
            store.set_totp(&user.id, None, true).await?;
            crate::commands::audit::command(store.as_ref(), "user reset-code", "user", &user.id, serde_json::json!({}))
                .await;
            crate::output::outln!("one-time code of `{}` removed; their sessions ended", user.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
