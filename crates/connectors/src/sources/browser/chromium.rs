//! Finding and starting Chromium: one headless browser per visit, in a profile of its own that
//! goes with it, its DevTools endpoint read from what it prints when it starts.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The environment variable that names the Chromium to run.
pub const CHROMIUM_VARIABLE: &str = "VIGIL_CHROMIUM";

/// Names Chromium goes by on `PATH`, tried in order.
const NAMES: [&str; 5] = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "headless_shell"];

/// The Chromium to run: `VIGIL_CHROMIUM`, else the first of [`NAMES`] on `PATH`; or why none.
pub fn find() -> Result<PathBuf, String> {
    if let Some(found) = crate::sources::program::find(CHROMIUM_VARIABLE, &NAMES)? {
        return Ok(found);
    }
    Err(format!(
        "a browser check needs Chromium, and this machine has none: install it (Debian: \
         `apt-get install chromium`) or set {CHROMIUM_VARIABLE} to its path (looked for {} on PATH)",
        NAMES.join(", ")
    ))
}

/// A running headless Chromium and the profile folder it uses (both gone when dropped).
pub struct Chromium {
    child: Child,
    profile: PathBuf,
    /// The browser's DevTools WebSocket URL.
    pub endpoint: String,
}

impl Chromium {
    /// Starts `program` headless with a fresh profile, and waits for its DevTools endpoint.
    pub async fn start(program: &Path, (width, height): (u32, u32)) -> Result<Chromium, String> {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let profile = std::env::temp_dir().join(format!(
            "vigil-browser-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&profile).map_err(|e| format!("creating {}: {e}", profile.display()))?;
        let mut command = Command::new(program);
        command
            .args([
                "--headless",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Chromium's sandbox refuses to start as root.
        if running_as_root() {
            command.arg("--no-sandbox");
        }
        command.arg("about:blank");
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(format!("starting {}: {e}", program.display()));
            }
        };
        let stderr = child.stderr.take().ok_or("Chromium's standard error is not readable")?;
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let endpoint = loop {
            match lines.next_line().await {
                Ok(Some(line)) => match line.split_once("DevTools listening on ") {
                    Some((_, url)) => break Some(url.trim().to_string()),
                    None if said.len() < 5 => said.push(line),
                    None => {}
                },
                _ => break None,
            }
        };
        let mut chromium = Chromium { child, profile, endpoint: String::new() };
        let Some(endpoint) = endpoint else {
            return Err(format!("Chromium ended before it listened: {}", said.join(" | ")));
        };
        chromium.endpoint = endpoint;
        // What it prints later is read and dropped, so a full pipe never stops it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(chromium)
    }

    /// Ends the browser and waits (briefly) for it, then removes its profile.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Whether this process runs as root (the owner of `/proc/self` is its effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
