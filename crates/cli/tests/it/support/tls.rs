//! TLS servers for tests: a certificate made by `openssl` (Debian `openssl`), served by a Python
//! script of the test's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{KillOnDrop, free_port, service_binary};

#[allow(dead_code)]
/// A self-signed certificate for `localhost` (its name in `subjectAltName`, not a CA), valid for
/// `days`, written into `dir`: `(key, cert)`. `None`, with a message, when openssl is missing.
pub fn self_signed_certificate(dir: &Path, days: u32) -> Option<(PathBuf, PathBuf)> {
    let openssl = service_binary(&["/usr/bin/openssl"], "openssl (Debian `openssl`)")?;
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", &days.to_string(), "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {}", String::from_utf8_lossy(&made.stderr));
    Some((key, cert))
}

#[allow(dead_code)]
/// Runs the Python `script` (given its port, certificate and key as arguments) on a free port of
/// loopback, and waits until it accepts connections: the server, and its port.
pub async fn python_server(script: &str, cert: &Path, key: &Path) -> (KillOnDrop, u16) {
    let port = free_port();
    let server = KillOnDrop(
        Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .arg(cert)
            .arg(key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the Python TLS server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, port)
}
