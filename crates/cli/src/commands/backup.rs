//! `vigil backup FILE` and `vigil restore FILE`: a consistent online copy of a SQLite store, and
//! putting one back while no `vigil serve` runs on it. PostgreSQL stores are backed up with
//! `pg_dump` (see the README).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vigil_store::SqliteStore;

use crate::setup::DbArgs;

/// Arguments of `vigil backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The file to write; it must not exist. The secrets' key file, when there is one, is copied
    /// beside it as `<FILE>.key`.
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Arguments of `vigil restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// A file written by `vigil backup`.
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

/// The lock `vigil serve` holds on its SQLite store while it runs, `<db>.serve.lock`.
pub fn serve_lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "vigil.db".into());
    name.push(".serve.lock");
    db.with_file_name(name)
}

/// Takes the serve lock of `db`, or says who holds it. The lock lasts as long as the file.
pub fn take_serve_lock(db: &Path) -> Result<Option<File>> {
    if crate::setup::postgres_url(db).is_some() {
        return Ok(None);
    }
    let path = serve_lock_path(db);
    let file = File::create(&path).with_context(|| format!("cannot create the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("a `vigil serve` is running on {} (it holds {})", db.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// Writes a consistent copy of the store while it may be in use.
pub async fn backup(args: BackupArgs) -> Result<ExitCode> {
    let db = &args.db.db;
    if crate::setup::postgres_url(db).is_some() {
        bail!("`vigil backup` copies a SQLite store; back up PostgreSQL with `pg_dump` (see the README)");
    }
    if !db.exists() {
        bail!("there is no store at {}", db.display());
    }
    if args.file.exists() {
        bail!("{} exists already; choose a new file", args.file.display());
    }
    let store = SqliteStore::open(db).await.with_context(|| format!("cannot open {}", db.display()))?;
    store.backup_into(&args.file).await.with_context(|| format!("cannot write {}", args.file.display()))?;
    store.close().await;
    let key = crate::setup::key_file(db);
    if key.exists() {
        copy_private(&key, &crate::setup::key_file(&args.file))?;
    }
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({size} bytes)", db.display(), args.file.display());
    if key.exists() {
        println!(
            "its secrets' key went to {} (keep it as secret as the key itself)",
            crate::setup::key_file(&args.file).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Replaces the store with a backup, refusing while `vigil serve` runs on it.
pub async fn restore(args: RestoreArgs) -> Result<ExitCode> {
    let db = &args.db.db;
    if crate::setup::postgres_url(db).is_some() {
        bail!(
            "`vigil restore` puts back a SQLite store; restore PostgreSQL with `pg_restore` or `psql` (see the README)"
        );
    }
    if !args.file.is_file() {
        bail!("there is no backup at {}", args.file.display());
    }
    let _lock = take_serve_lock(db).context("stop it before restoring")?;
    // The backup is checked (and migrated to this release) on a copy beside the store, which
    // then replaces the store in one rename; the backup itself is left as it was.
    let staged = db.with_extension("restoring");
    remove_with_sidecars(&staged)?;
    std::fs::copy(&args.file, &staged).with_context(|| format!("cannot copy {}", args.file.display()))?;
    let store = SqliteStore::open(&staged)
        .await
        .with_context(|| format!("{} is not a vigil store this release can open", args.file.display()))?;
    store.close().await;
    remove_with_sidecars(db)?;
    let staged_wal = sidecars(&staged);
    for (from, to) in staged_wal.iter().zip(sidecars(db)) {
        if from.exists() {
            std::fs::rename(from, to)?;
        }
    }
    std::fs::rename(&staged, db).with_context(|| format!("cannot replace {}", db.display()))?;
    let key = crate::setup::key_file(&args.file);
    if key.exists() {
        copy_private(&key, &crate::setup::key_file(db))?;
        if std::env::var_os("VIGIL_SECRET_KEY").is_some() {
            eprintln!(
                "note: VIGIL_SECRET_KEY is set and takes precedence over the restored key file {}; unset it if the \
                 backup's secrets were sealed with that file",
                crate::setup::key_file(db).display()
            );
        }
    }
    println!("restored {} from {}", db.display(), args.file.display());
    Ok(ExitCode::SUCCESS)
}

/// The WAL and shared-memory files SQLite keeps beside `db`.
fn sidecars(db: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| {
        let mut name = db.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    })
}

fn remove_with_sidecars(db: &Path) -> Result<()> {
    for path in std::iter::once(db.to_path_buf()).chain(sidecars(db)) {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}

/// Copies a key file, readable by its owner only.
fn copy_private(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
