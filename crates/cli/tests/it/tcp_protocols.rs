//! The `tcp` source's protocols against real servers on loopback: SMTP with STARTTLS (Python's
//! `aiosmtpd`), IMAP and POP3 with STARTTLS (Dovecot), FTP with AUTH TLS (`pyftpdlib`) and an
//! SSH banner (OpenSSH's `sshd`), each checked by a `TCP_CHECK` task through `vigil run`: the
//! greeting is read, TLS starts on the same connection and the certificate's expiry is read.
//! A server missing is skipped with a message, unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn skip(why: &str) {
    assert!(!std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"), "VIGIL_REQUIRE_SERVICES=1 but {why}");
    eprintln!("SKIPPED: {why}");
}

fn is_root() -> bool {
    String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap().trim() == "0"
}

async fn listening(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs one `TCP_CHECK` with `input` and returns its sample (tier, fields, note).
async fn tcp_check(dir: &Path, input: Value) -> Value {
    let workflow = dir.join(format!("w{}.json", rand_suffix()));
    std::fs::write(
        &workflow,
        json!({"name": "probe", "tasks": [{"name": "probe", "taskReferenceName": "probe", "type": "TCP_CHECK", "inputParameters": input}],
               "outputParameters": {"series": "${probe.output.series}"}})
        .to_string(),
    )
    .unwrap();
    let out = run_async(dir.join("v.db"), vec!["run".into(), workflow.display().to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stdout_json(&out)["series"][0].clone()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

const SMTP: &str = r#"
import sys, ssl, time
from aiosmtpd.controller import Controller
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True).start()
while True:
    time.sleep(3600)
"#;

const FTP: &str = r#"
import sys, tempfile
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
authorizer = DummyAuthorizer()
authorizer.add_anonymous(tempfile.mkdtemp())
TLS_FTPHandler.certfile, TLS_FTPHandler.keyfile, TLS_FTPHandler.authorizer = cert, key, authorizer
FTPServer(("127.0.0.1", port), TLS_FTPHandler).serve_forever()
"#;

fn python_has(module: &str) -> bool {
    Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_and_ftp_start_tls_and_show_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let Some((key, cert)) = tls::self_signed_certificate(dir.path(), 30) else { return };
    if !python_has("aiosmtpd") || !python_has("pyftpdlib") || !python_has("OpenSSL") {
        return skip(
            "python3's aiosmtpd, pyftpdlib and pyOpenSSL are needed (Debian python3-aiosmtpd; pip pyftpdlib pyopenssl)",
        );
    }
    let (_smtp, smtp_port) = tls::python_server(SMTP, &cert, &key).await;
    let (_ftp, ftp_port) = tls::python_server(FTP, &cert, &key).await;
    let ca = cert.to_str().unwrap();
    let conditions = json!([
        "[CONNECTED] == true",
        "[CERTIFICATE_EXPIRATION] > 29d",
        "[CERTIFICATE_EXPIRATION] < 31d",
        "[BODY] == pat(220*)"
    ]);
    for (port, protocol) in [(smtp_port, "smtp"), (ftp_port, "ftp")] {
        let sample = tcp_check(
            dir.path(),
            json!({"url": format!("tcp://localhost:{port}"), "protocol": protocol, "starttls": true,
            "caFile": ca, "conditions": conditions}),
        )
        .await;
        assert_eq!(sample["tier"], "ok", "{protocol}: {sample}");
    }
    // Gatus' starttls:// is SMTP's.
    let gatus = tcp_check(dir.path(), json!({"url": format!("starttls://localhost:{smtp_port}"), "caFile": ca, "conditions": ["[CERTIFICATE_EXPIRATION] > 7d"]})).await;
    assert_eq!(gatus["tier"], "ok", "{gatus}");
    // Without STARTTLS the greeting alone; the wrong protocol is named.
    let plain = tcp_check(dir.path(), json!({"url": format!("tcp://127.0.0.1:{smtp_port}"), "protocol": "smtp", "conditions": ["[BODY] == pat(220 *)"]})).await;
    assert_eq!(plain["tier"], "ok", "{plain}");
    let wrong = tcp_check(dir.path(), json!({"url": format!("tcp://127.0.0.1:{ftp_port}"), "protocol": "pop3"})).await;
    assert_eq!(wrong["tier"], "critical");
    assert!(wrong["note"].as_str().unwrap().contains("no pop3 greeting"), "{wrong}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_and_pop3_start_tls_on_dovecot() {
    let Some(dovecot) = service_binary(&["/usr/sbin/dovecot"], "Dovecot (Debian `dovecot-imapd` and `dovecot-pop3d`)")
    else {
        return;
    };
    if !std::path::Path::new("/usr/lib/dovecot/pop3-login").exists() {
        return skip("Dovecot's POP3 is not installed (Debian `dovecot-pop3d`)");
    }
    if !is_root() {
        return skip("the test starts Dovecot, which needs root (it runs so in CI)");
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((key, cert)) = tls::self_signed_certificate(dir.path(), 30) else { return };
    let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.path(), perms).unwrap();
    let (imap, pop3) = (free_port(), free_port());
    let (run, log) = (dir.path().join("run"), dir.path().join("dovecot.log"));
    std::fs::create_dir_all(&run).unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "nobody:{PLAIN}x:65534:65534::/nonexistent\n").unwrap();
    let conf = dir.path().join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "base_dir = {run}\nstate_dir = {run}\nlog_path = {log}\nprotocols = imap pop3\nlisten = 127.0.0.1\n\
             ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\nmail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {users}\n}}\nuserdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n",
            run = run.display(),
            log = log.display(),
            cert = cert.display(),
            key = key.display(),
            users = users.display(),
        ),
    )
    .unwrap();
    let _dovecot =
        KillOnDrop(Command::new(dovecot).arg("-c").arg(&conf).arg("-F").stdout(Stdio::null()).spawn().unwrap());
    listening(imap, "Dovecot", &log).await;
    listening(pop3, "Dovecot", &log).await;
    let ca = cert.to_str().unwrap();
    for (port, protocol, greeting) in [(imap, "imap", "pat(* OK*)"), (pop3, "pop3", "pat(+OK*)")] {
        let sample = tcp_check(
            dir.path(),
            json!({"url": format!("tcp://localhost:{port}"), "protocol": protocol, "starttls": true,
            "caFile": ca, "conditions": [format!("[BODY] == {greeting}"), "[CERTIFICATE_EXPIRATION] > 29d"]}),
        )
        .await;
        assert_eq!(sample["tier"], "ok", "{protocol}: {sample}");
    }
    // A certificate for another name is refused after STARTTLS: not connected, and why.
    let other = tcp_check(
        dir.path(),
        json!({"url": format!("tcp://localhost:{imap}"), "protocol": "imap", "starttls": true,
        "caFile": ca, "serverName": "mail.example.org"}),
    )
    .await;
    assert_eq!(other["tier"], "critical");
    assert!(other["note"].as_str().unwrap().contains("TLS handshake failed"), "{other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_server_is_known_by_its_banner() {
    let Some(server) = service_binary(&["/usr/sbin/sshd"], "OpenSSH's server (Debian `openssh-server`)") else {
        return;
    };
    if !is_root() {
        return skip("the test starts sshd, which needs root (it runs so in CI)");
    }
    let dir = tempfile::tempdir().unwrap();
    let (_sshd, port, _) = sshd::start(&server, dir.path(), None);
    let sample = tcp_check(dir.path(), json!({"url": format!("tcp://127.0.0.1:{port}"), "protocol": "ssh", "conditions": ["[BODY] == pat(SSH-2.0-OpenSSH*)"]})).await;
    assert_eq!(sample["tier"], "ok", "{sample}");
    let not_smtp =
        tcp_check(dir.path(), json!({"url": format!("tcp://127.0.0.1:{port}"), "protocol": "smtp", "timeout": "3s"}))
            .await;
    assert_eq!(not_smtp["tier"], "critical", "{not_smtp}");
}
