//! OpenSSH's server (Debian `openssh-server`) on a free port of loopback, for the tests of the
//! `tcp` source's SSH banner and of the `ssh` source's logins. It needs root (CI runs so).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{KillOnDrop, free_port};

/// A new ed25519 key pair without a passphrase at `path` (and `path.pub`).
pub fn key_pair(path: &Path) {
    let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
}

/// The public key line of the pair at `path`.
pub fn public(path: &Path) -> String {
    std::fs::read_to_string(PathBuf::from(format!("{}.pub", path.display()))).unwrap().trim().to_string()
}

/// Starts `server` (the sshd binary) in `dir` with a host key of its own, letting in
/// `authorized` (a public key line) as root when given; returns it once it listens, its port
/// and its host key's path.
pub fn start(server: &Path, dir: &Path, authorized: Option<&str>) -> (KillOnDrop, u16, PathBuf) {
    let host_key = dir.join("host_key");
    key_pair(&host_key);
    let keys = dir.join("authorized_keys");
    std::fs::write(&keys, authorized.map(|k| format!("{k}\n")).unwrap_or_default()).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let port = free_port();
    let log = dir.join("sshd.log");
    let child = Command::new(server)
        .args(["-D", "-f", "/dev/null", "-o", &format!("Port={port}"), "-o", "ListenAddress=127.0.0.1"])
        .args(["-o", "PidFile=none", "-o", "StrictModes=no", "-o", "PermitRootLogin=prohibit-password"])
        .arg("-o")
        .arg(format!("AuthorizedKeysFile={}", keys.display()))
        .arg("-o")
        .arg(format!("HostKey={}", host_key.display()))
        .arg("-E")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "sshd did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port, host_key)
}
