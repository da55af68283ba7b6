//! `ssh`: can vigil log in to an SSH server with a key, and does a command there succeed? Runs
//! OpenSSH's client (`ssh`, Debian's `openssh-client`; `VIGIL_SSH` names another) with the key
//! from a secret, in batch mode: no agent, no config file, no password or keyboard prompts, the
//! server's host key pinned when `hostKey` is given. As Gatus judges its `ssh://` endpoints with a
//! login, `[CONNECTED]` is whether the login succeeded and `[STATUS]` the command's exit status;
//! `[BODY]` is what the command printed and `[RESPONSE_TIME]` the time for the whole exchange.
//! (A server's banner alone is the `tcp` source with `protocol: ssh`.)
//!
//! The key is written for the client to a file only it and vigil can read (0600, in a directory
//! of 0700), removed as soon as the client exits; it is never logged or shown.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

#[cfg(test)]
mod tests;

/// The environment variable naming the OpenSSH client to run (else `ssh` on `PATH`).
pub const SSH_VARIABLE: &str = "VIGIL_SSH";

/// Most clients running at once: checks beyond wait their turn.
const MAX_CLIENTS: usize = 16;

/// Most of the command's output kept for `[BODY]`.
const MAX_OUTPUT: u64 = 64 * 1024;

/// OpenSSH's exit status for its own errors (connection, host key, authentication).
const SSH_ERROR: i32 = 255;

/// The names in a check's scratch directory: the key, the pinned host key, ssh's own messages.
const KEY_FILE: &str = "key";
const KNOWN_HOSTS_FILE: &str = "known_hosts";
const LOG_FILE: &str = "ssh.log";

static CLIENTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(MAX_CLIENTS));

/// What a monitor writes under `source: {ssh: ...}`.
#[derive(Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SshConfig {
    /// The server: `ssh://host[:port]` (Gatus' form) or `host[:port]`; port 22 by default.
    pub url: String,
    /// The user to log in as.
    pub user: String,
    /// The private key, in OpenSSH's or PEM form, from a secret (`${workflow.secrets.NAME}`). A key with
    /// a passphrase cannot be used.
    pub private_key: String,
    /// The server's public host key as `known_hosts` writes it (`ssh-ed25519 AAAA...`): the login
    /// is refused if the server shows another. Without it any host key is taken, as Gatus does.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The command to run after logging in (default `true`); `[STATUS]` is its exit status.
    #[serde(default)]
    pub command: Option<String>,
    /// Time for the whole exchange (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[STATUS] == 0` (logged in, the command
    /// succeeded).
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

super::debug_without_secrets!(SshConfig, url, user, host_key, command, timeout, conditions, failing);

/// An SSH login check as it runs.
#[derive(Clone, PartialEq)]
pub struct SshSource {
    /// `host` and `port`, or why not while the address still holds a `${...}` reference.
    address: Result<(String, u16), String>,
    user: String,
    private_key: String,
    host_key: Option<String>,
    command: String,
    timeout: Duration,
    judge: Judge,
}

impl std::fmt::Debug for SshSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSource")
            .field("address", &self.address)
            .field("user", &self.user)
            .field("private_key", &"<redacted>")
            .field("host_key", &self.host_key)
            .field("command", &self.command)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SourceConfig for SshConfig {
    type Built = SshSource;

    fn build(self) -> Result<SshSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let address = address(&self.url)?;
        let pending = |s: &str| s.contains("${");
        if !pending(&self.user) && (self.user.is_empty() || self.user.starts_with('-') || has_space(&self.user)) {
            return Err(problem("user", format!("`{}` is not a user name", self.user)));
        }
        let key = self.private_key.trim();
        let is_key = key.starts_with("-----BEGIN ") && key.contains("PRIVATE KEY-----");
        if !pending(key) && !is_key {
            // Never echo what was given: it may be a key in another form, or a secret.
            return Err(problem(
                "privateKey",
                "is not a private key in OpenSSH's or PEM form (-----BEGIN ... PRIVATE KEY-----)".into(),
            ));
        }
        if let Some(host_key) = &self.host_key
            && !pending(host_key)
            && (host_key.contains(['\n', '\r']) || !looks_like_public_key(host_key))
        {
            return Err(problem(
                "hostKey",
                format!("`{host_key}` is not a public key as known_hosts writes it (`ssh-ed25519 AAAA...`)"),
            ));
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[CERTIFICATE") || c.contains("[DNS_RCODE]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "an SSH check has no certificate or DNS answer: use [CONNECTED], [STATUS], [BODY] or [RESPONSE_TIME]"
                    .into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[STATUS] == 0", self.failing.as_deref(), true)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        let command = self.command.unwrap_or_else(|| "true".into());
        if command.trim().is_empty() {
            return Err(problem("command", "the command is empty (leave it out to run `true`)".into()));
        }
        Ok(SshSource {
            address,
            user: self.user,
            private_key: format!("{key}\n"),
            // Its type and key only (a comment is dropped): one line of `known_hosts`.
            host_key: self.host_key.map(|k| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
            command,
            timeout,
            judge,
        })
    }
}

fn has_space(s: &str) -> bool {
    s.chars().any(char::is_whitespace)
}

/// Whether `key` reads as `<type> <base64>[ comment]`.
fn looks_like_public_key(key: &str) -> bool {
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else { return false };
    let known = kind.starts_with("ssh-") || kind.starts_with("ecdsa-sha2-") || kind.starts_with("sk-");
    known && blob.len() > 16 && blob.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
}

/// `host` and port of `ssh://host[:port]` or `host[:port]` (22 when none is given).
fn address(url: &str) -> Result<Result<(String, u16), String>, SourceProblem> {
    let rest = url.strip_prefix("ssh://").unwrap_or(url).trim_end_matches('/');
    if rest.contains("${") {
        return Ok(Err(format!("ssh: `url` still holds a reference: {url}")));
    }
    let wrong =
        || SourceProblem { path: "url".into(), message: format!("`{url}` is not an address: write ssh://host[:port]") };
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]:2222`, `host:2222`; a bare IPv6 address has more than one colon.
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
            (host, port.parse::<u16>().map_err(|_| wrong())?)
        }
        _ => (rest, 22),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.starts_with('-') || has_space(host) || host.contains(['/', '@']) {
        return Err(wrong());
    }
    Ok(Ok((host.to_string(), port)))
}

/// The OpenSSH client to run: `VIGIL_SSH`, else `ssh` on `PATH`; or why none.
pub fn client() -> Result<PathBuf, String> {
    super::program::find(SSH_VARIABLE, &["ssh"])?.ok_or_else(|| {
        format!(
            "the ssh check runs OpenSSH's client, and `ssh` is not on PATH: install it (Debian: openssh-client) or set {SSH_VARIABLE}"
        )
    })
}

/// A directory of the check's own (0700) holding the key (0600) and the pinned host key; gone
/// when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        // Unique in this process by the counter; a directory someone else made under the name
        // fails the check (`create` does not take an existing one), it is never used.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("vigil-ssh-{}-{n}-{nanos:08x}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Scratch(dir))
    }

    fn write(&self, name: &str, text: &str) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.0.join(name);
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(text.as_bytes())?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SshSource {
    /// The client's arguments: batch mode, only the key in `dir`, the host key pinned (`dir`'s
    /// `known_hosts`) or ignored, its own messages to `dir`'s log (the command's stderr stays
    /// apart), and `--` before the host, so a host or command never reads as an option.
    fn arguments(&self, host: &str, port: u16, dir: &Path, pinned: bool) -> Vec<String> {
        let seconds = self.timeout.as_secs().max(1);
        let mut args: Vec<String> = ["-F", "/dev/null", "-T", "-i"].map(String::from).to_vec();
        // ssh expands `%` in an identity file's name and splits `-o` values at spaces.
        args.push(dir.join(KEY_FILE).display().to_string().replace('%', "%%"));
        args.extend(["-E".to_string(), dir.join(LOG_FILE).display().to_string()]);
        for option in [
            "BatchMode=yes",
            "IdentitiesOnly=yes",
            "IdentityAgent=none",
            "PreferredAuthentications=publickey",
            "PasswordAuthentication=no",
            "KbdInteractiveAuthentication=no",
            "ControlMaster=no",
            "ControlPath=none",
            "UpdateHostKeys=no",
            "ConnectionAttempts=1",
            "LogLevel=ERROR",
            "GlobalKnownHostsFile=/dev/null",
        ] {
            args.extend(["-o".to_string(), option.to_string()]);
        }
        args.extend(["-o".to_string(), format!("ConnectTimeout={seconds}")]);
        if pinned {
            let file = dir.join(KNOWN_HOSTS_FILE).display().to_string().replace('%', "%%");
            args.extend(["-o".into(), "StrictHostKeyChecking=yes".into()]);
            args.extend(["-o".into(), format!("UserKnownHostsFile=\"{file}\"")]);
        } else {
            args.extend(["-o".into(), "StrictHostKeyChecking=no".into()]);
            args.extend(["-o".into(), "UserKnownHostsFile=/dev/null".into()]);
        }
        args.extend(["-p".into(), port.to_string(), "-l".into(), self.user.clone(), "--".into(), host.to_string()]);
        args.push(self.command.clone());
        args
    }

    /// What one login saw: whether it got in, the command's status and output; or why not.
    async fn observe(&self, host: &str, port: u16) -> (Observed, Option<String>) {
        let mut seen = Observed::default();
        let program = match client() {
            Ok(p) => p,
            Err(why) => return (seen, Some(why)),
        };
        let Ok(_turn) = CLIENTS.acquire().await else { return (seen, Some("shutting down".into())) };
        let scratch = match Scratch::new() {
            Ok(s) => s,
            Err(e) => return (seen, Some(format!("could not make a private directory for the key: {e}"))),
        };
        if let Err(e) = scratch.write(KEY_FILE, &self.private_key) {
            return (seen, Some(format!("could not write the key for ssh: {e}")));
        }
        if let Some(k) = &self.host_key {
            let name = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
            if let Err(e) = scratch.write(KNOWN_HOSTS_FILE, &format!("{name} {k}\n")) {
                return (seen, Some(format!("could not write the pinned host key: {e}")));
            }
        }
        let started = Instant::now();
        let run = async {
            let mut child = tokio::process::Command::new(&program)
                .args(self.arguments(host, port, &scratch.0, self.host_key.is_some()))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("could not run {}: {e}", program.display()))?;
            let stdout = child.stdout.take().expect("piped");
            let stderr = child.stderr.take().expect("piped");
            let (out, err) = tokio::join!(read_capped(stdout), read_capped(stderr));
            let (out, err) =
                out.and_then(|o| Ok((o, err?))).map_err(|e| format!("reading ssh's output failed: {e}"))?;
            let status = child.wait().await.map_err(|e| format!("ssh did not finish: {e}"))?;
            Ok::<_, String>((status.code(), out, err))
        };
        let outcome = tokio::time::timeout(self.timeout, run).await;
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        // What ssh itself said (`-E`): the remote command's stderr is not mixed in.
        let log = std::fs::read_to_string(scratch.0.join(LOG_FILE)).unwrap_or_default();
        drop(scratch);
        let shown = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        match outcome {
            Err(_) => (seen, Some(format!("{shown}: no answer within {:?}", self.timeout))),
            Ok(Err(why)) => (seen, Some(why)),
            Ok(Ok((code, out, _err))) => {
                let said = why_ssh_failed(&log);
                match code {
                    Some(SSH_ERROR) if said.is_some() => {
                        let why = said.unwrap_or_default();
                        (seen, Some(format!("ssh to {}@{shown} failed: {why}", self.user)))
                    }
                    Some(code) => {
                        seen.connected = true;
                        seen.status = code.clamp(0, 255) as u16;
                        seen.body = serde_json::Value::String(String::from_utf8_lossy(&out).trim_end().to_string());
                        (seen, None)
                    }
                    None => (seen, Some("ssh was stopped by a signal".into())),
                }
            }
        }
    }
}

/// What OpenSSH's client said when it gave up: its last line (`Permission denied (publickey).`,
/// `Host key verification failed.`, `... Connection refused`), after the banner it prints when
/// the host key is not the pinned one.
fn why_ssh_failed(stderr: &str) -> Option<String> {
    let last = stderr.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with("@@@"))?;
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        return Some(format!("the server's host key is not the one in `hostKey`: {last}"));
    }
    Some(last.to_string())
}

/// The first [`MAX_OUTPUT`] bytes `reader` gives; the rest is read and dropped, so a command
/// that prints more does not block on a full pipe.
async fn read_capped(reader: impl tokio::io::AsyncRead + Unpin) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut capped = reader.take(MAX_OUTPUT);
    capped.read_to_end(&mut kept).await?;
    tokio::io::copy(&mut capped.into_inner(), &mut tokio::io::sink()).await?;
    Ok(kept)
}

impl Ask for SshSource {
    async fn ask(&self, _client: &reqwest::Client, _now: Millis) -> Answer {
        let (host, port) = match &self.address {
            Ok(a) => a,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(host, *port)).await;
        self.judge.judge(seen, note)
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}
