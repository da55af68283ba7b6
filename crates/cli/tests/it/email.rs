//! The `email` source against a real Dovecot (Debian `dovecot-imapd`), started by the test on a
//! free port with TLS on (a certificate made by `openssl` for the test, trusted through
//! `caFile`): seed 001's daily email check through `vigil serve`. Messages are appended over IMAP
//! by the test. Skipped with a message when Dovecot or openssl is missing, or when the test does
//! not run as root (Dovecot switches to the mail user); `VIGIL_REQUIRE_SERVICES=1` fails instead.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use support::*;

const USER: &str = "robot";
const PASSWORD: &str = "imap-secret-pass";

struct Dovecot {
    _process: KillOnDrop,
    port: u16,
    ca: PathBuf,
}

fn skip_unless(ok: bool, why: &str) -> bool {
    if !ok {
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("VIGIL_REQUIRE_SERVICES=1 but {why}");
        }
        eprintln!("SKIPPED: {why}");
    }
    ok
}

/// Starts Dovecot with IMAPS on a free port, a passwd-file user and Maildir under `dir`. With
/// `oauth`, Dovecot also takes XOAUTH2 and OAUTHBEARER, validating each token at `oauth`
/// (an introspection endpoint asked with the token as its bearer, as for Microsoft's or Google's
/// userinfo endpoints).
async fn start_dovecot(dir: &Path, oauth: Option<&str>) -> Option<Dovecot> {
    let dovecot = service_binary(&["/usr/sbin/dovecot"], "Dovecot (Debian `dovecot-imapd`)")?;
    let uid = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
    if !skip_unless(uid.trim() == "0", "the Dovecot test starts Dovecot, which needs root (it runs so in CI)") {
        return None;
    }
    let (key, cert) = support::tls::self_signed_certificate(dir, 2)?;
    // Mail belongs to `nobody`: Dovecot refuses to run mail processes as root.
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    std::os::unix::fs::chown(&mail, Some(65534), Some(65534)).unwrap();
    let mut perms = std::fs::metadata(dir).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir, perms).unwrap();
    let users = dir.join("users");
    std::fs::write(&users, format!("{USER}:{{PLAIN}}{PASSWORD}:65534:65534::{}\n", mail.join(USER).display())).unwrap();
    let port = free_port();
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let conf = dir.join("dovecot.conf");
    let (mechanisms, oauth_passdb) = match oauth {
        Some(url) => {
            let ext = dir.join("oauth2.conf.ext");
            std::fs::write(
                &ext,
                format!("introspection_mode = auth\nintrospection_url = {url}\nusername_attribute = username\n"),
            )
            .unwrap();
            let passdb = format!(
                "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
                ext.display()
            );
            ("plain login xoauth2 oauthbearer", passdb)
        }
        None => ("plain login", String::new()),
    };
    std::fs::write(
        &conf,
        format!(
            "base_dir = {run}\nstate_dir = {run}\nlog_path = {log}\nprotocols = imap\nlisten = 127.0.0.1\n\
             ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\nauth_mechanisms = {mechanisms}\n\
             mail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n  args = scheme=PLAIN username_format=%u {users}\n}}\n{oauth_passdb}\
             userdb {{\n  driver = passwd-file\n  args = username_format=%u {users}\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n",
            run = run.display(),
            log = dir.join("dovecot.log").display(),
            cert = cert.display(),
            key = key.display(),
            users = users.display(),
        ),
    )
    .unwrap();
    let child = Command::new(dovecot).arg("-c").arg(&conf).arg("-F").stdout(Stdio::null()).spawn().unwrap();
    let process = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "Dovecot did not start: {}",
            std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(Dovecot { _process: process, port, ca: cert })
}

/// Appends a message to INBOX over IMAPS, with its arrival time `internal_date` when given.
async fn append(server: &Dovecot, from: &str, subject: &str, internal_date: Option<&str>) {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_file_iter(&server.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(name, tcp).await.unwrap();
    let mut client = async_imap::Client::new(stream);
    client.read_response().await.unwrap();
    let mut session = client.login(USER, PASSWORD).await.map_err(|(e, _)| e).unwrap();
    let message = format!(
        "From: Reports <{from}>\r\nTo: {USER}@localhost\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\n\r\nAll good.\r\n"
    );
    session.append("INBOX", None, internal_date, message.as_bytes()).await.unwrap();
    // Drain what the server said about the append, then leave.
    let _ = session.select("INBOX").await.unwrap();
    let _ = session.uid_search("ALL").await.unwrap();
    let _ = session.uid_fetch("1:*", "UID").await.unwrap().collect::<Vec<_>>().await;
    session.logout().await.unwrap();
}

/// Seed 001's daily email check, imported by hand: the check time has just passed and nothing
/// matching arrived since the delivery time (an email before it and one with another subject do
/// not count), so PagerDuty is paged once; the email arrives late and the next check resolves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_email_pages_once_and_resolves_when_it_arrives() {
    rustls::crypto::ring::default_provider().install_default().ok();
    let dir = tempfile::tempdir().unwrap();
    let Some(imap) = start_dovecot(dir.path(), None).await else { return };
    let pagerduty =
        Recorder::start(|_| Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO }).await;

    // The window: delivery ten minutes ago, check time this minute (already past), in UTC.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let check = now.strftime("%H:%M").to_string();
    let delivery = (now.clone() - jiff::SignedDuration::from_mins(10)).strftime("%H:%M").to_string();
    let yesterday =
        (now.clone() - jiff::SignedDuration::from_hours(20)).strftime("\"%d-%b-%Y %H:%M:%S +0000\"").to_string();
    append(&imap, "reports@example.com", "Great - You look awesome!", Some(&yesterday)).await;
    append(&imap, "reports@example.com", "Something else", None).await;

    let db = dir.path().join("vigil.db");
    set_secret(&db, "imap_password", PASSWORD);
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::write(
        config.join("notifiers/email-checks.yaml"),
        format!(
            "name: email-checks\ntype: pagerduty\nrouting_key: 0123456789abcdef0123456789abcdef\nurl: {}/v2/enqueue\n",
            pagerduty.url
        ),
    )
    .unwrap();
    std::fs::write(
        config.join("monitors/daily-report.yaml"),
        format!(
            "name: daily-report\nevery: 1s\nzone: UTC\nsource:\n  email:\n    host: localhost\n    port: {port}\n    caFile: {ca}\n    user: {USER}\n    password: ${{workflow.secrets.imap_password}}\n    senders: [reports@example.com]\n    subjects: ['Great - You look awesome!', 'Good - You look OK!']\n    delivery_time: '{delivery}'\n    check_time: '{check}'\nnotify: [email-checks]\nrepeatInterval: never\nsummary: 'Daily report email: ${{tier}}'\n",
            port = imap.port,
            ca = imap.ca.display(),
        ),
    )
    .unwrap();
    let validated = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(validated.status.success(), "{}", String::from_utf8_lossy(&validated.stdout));
    let _vigil = KillOnDrop(serve(&db, &config, &[]));

    let events = |action: &str| {
        pagerduty.to("/v2/enqueue").into_iter().filter(|r| r.body["event_action"] == json!(action)).collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    while events("trigger").is_empty() {
        assert!(Instant::now() < deadline, "no page for the missing email: {:?}", pagerduty.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trigger = &events("trigger")[0];
    assert_eq!(trigger.body["payload"]["severity"], json!("critical"), "{:?}", trigger.body);
    assert!(!trigger.body.to_string().contains(PASSWORD), "the password never leaves vigil");
    // Still missing for a few more checks: no second page.
    stays(Duration::from_secs(3), "no second page", async || events("trigger").len() == 1).await;

    append(&imap, "Reports@Example.com", "Great - You look awesome!", None).await;
    while events("resolve").is_empty() {
        assert!(Instant::now() < deadline, "the arrival did not resolve: {:?}", pagerduty.received());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stays(Duration::from_secs(2), "one trigger and one resolve", async || {
        (events("trigger").len(), events("resolve").len()) == (1, 1)
    })
    .await;
    assert_eq!(events("resolve")[0].body["dedup_key"], trigger.body["dedup_key"]);
}

/// Seed 001's README checklist, imported verbatim (`vigil import robopager`), runs end to end
/// through `vigil serve`. Only what depends on this machine is edited in the generated files: the
/// IMAP server (a local Dovecot instead of Gmail), the day's times (so the check time has just
/// passed), the check cadence (every second), and PagerDuty's URL (a local receiver). The email
/// arrives late: one page, one resolve. The batchy job falls behind: a warning at 80 %, critical at
/// the limit, once each, then it catches up and resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_imported_unchanged_runs_end_to_end() {
    rustls::crypto::ring::default_provider().install_default().ok();
    let dir = tempfile::tempdir().unwrap();
    let Some(imap) = start_dovecot(dir.path(), None).await else { return };
    let last_run = Arc::new(std::sync::Mutex::new(String::new()));
    let server = Recorder::start({
        let last_run = last_run.clone();
        move |r| {
            if r.path.starts_with("/get_status/") {
                let at = last_run.lock().unwrap().clone();
                return Reply::json(json!({"global": {"batch_start": at, "status": "success"}}));
            }
            Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO }
        }
    })
    .await;
    *last_run.lock().unwrap() = batchy_time(50);

    let db = dir.path().join("vigil.db");
    let etl = format!("[batchy]\nserver = {}\n[timezone]\ntimezone = UTC\n", server.url);
    let (_, config) = import_robopager(&db, dir.path(), &etl);
    for (name, value) in [
        ("pagerduty_1", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ("robopager_gmail_user", USER),
        ("robopager_gmail_password", PASSWORD),
    ] {
        set_secret(&db, name, value);
    }
    let edit = |file: &str, edits: &[(&str, String)]| {
        let path = config.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "`{from}` not in {file}:\n{text}");
            text = text.replace(from, to);
        }
        std::fs::write(&path, text).unwrap();
    };
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let check = now.strftime("%H:%M").to_string();
    let delivery = (now.clone() - jiff::SignedDuration::from_mins(10)).strftime("%H:%M").to_string();
    edit(
        "monitors/unique_email_check_job_name.yaml",
        &[
            ("every: 5m", "every: 1s".into()),
            (
                "host: imap.gmail.com",
                format!("host: localhost\n    port: {}\n    caFile: {}", imap.port, imap.ca.display()),
            ),
            ("delivery_time: \"03:00\"", format!("delivery_time: \"{delivery}\"")),
            ("check_time: \"03:15\"", format!("check_time: \"{check}\"")),
        ],
    );
    edit("monitors/unique_latency_check_name.yaml", &[("cron: \"0 */3 9-23 * * *\"", "every: 1s".into())]);
    edit(
        "notifiers/pagerduty-1.yaml",
        &[("type: pagerduty", format!("type: pagerduty\nurl: {}/v2/enqueue", server.url))],
    );
    let validated = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(validated.status.success(), "{}", String::from_utf8_lossy(&validated.stdout));
    let _vigil = KillOnDrop(serve(&db, &config, &[]));

    let events = |key: &str| -> Vec<(String, String)> {
        server
            .to("/v2/enqueue")
            .into_iter()
            .filter(|r| r.body["dedup_key"].as_str().is_some_and(|k| k.contains(key)))
            .map(|r| {
                let severity = r.body["payload"]["severity"].as_str().unwrap_or_default().to_string();
                (r.body["event_action"].as_str().unwrap_or_default().to_string(), severity)
            })
            .collect()
    };
    let wait = |key: &'static str, want: usize| {
        let deadline = Instant::now() + Duration::from_secs(40);
        let events = &events;
        async move {
            while events(key).len() < want {
                assert!(Instant::now() < deadline, "{key}: {:?}", events(key));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // The email is missing; the job is at 50 of its 60 minutes (a warning past 80 %).
    wait("unique_email_check_job_name", 1).await;
    wait("unique_latency_check_name", 1).await;
    *last_run.lock().unwrap() = batchy_time(70);
    wait("unique_latency_check_name", 2).await;
    append(&imap, "email_address@gmail.com", "Good - You look OK!", None).await;
    wait("unique_email_check_job_name", 2).await;
    *last_run.lock().unwrap() = batchy_time(1);
    wait("unique_latency_check_name", 3).await;
    // Three more checks of each: what they must not tell (a second page) has no event to wait on.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Triggers carry the tier as PagerDuty's severity; a resolve carries none.
    let seen = |key: &str| -> Vec<String> {
        events(key).into_iter().map(|(a, s)| if a == "trigger" { format!("{a}:{s}") } else { a }).collect()
    };
    assert_eq!(
        seen("unique_email_check_job_name"),
        ["trigger:critical", "resolve"],
        "one page when the email is missing, one resolve when it arrives"
    );
    assert_eq!(
        seen("unique_latency_check_name"),
        ["trigger:warning", "trigger:critical", "resolve"],
        "a warning at 80 %, critical at the limit, once each, then resolved"
    );
}

/// XOAUTH2 against a real Dovecot whose oauth2 passdb asks a local introspection endpoint: with
/// the right token `vigil check` logs in and finds the email (exit 0); with a wrong one it says
/// the login failed, and neither token appears in what it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_logs_in_with_a_bearer_token() {
    rustls::crypto::ring::default_provider().install_default().ok();
    const TOKEN: &str = "ya29.test-access-token";
    let introspection = Recorder::start(|r| {
        if r.headers.get("authorization").map(String::as_str) == Some(&format!("Bearer {TOKEN}")) {
            Reply::json(json!({"username": USER, "active": "true"}))
        } else {
            Reply { status: 401, body: json!({"error": "invalid_token"}), delay: Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let userinfo = format!("{}/userinfo", introspection.url);
    let Some(imap) = start_dovecot(dir.path(), Some(&userinfo)).await else { return };
    append(&imap, "reports@example.com", "Great - You look awesome!", None).await;

    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    // The window opened an hour ago and its check time has just passed, in UTC.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let (delivery, check) = (
        (now.clone() - jiff::SignedDuration::from_mins(60)).strftime("%H:%M").to_string(),
        now.strftime("%H:%M").to_string(),
    );
    let monitor = |token_secret: &str| {
        format!(
            "name: oauth-report\nevery: 1m\nzone: UTC\nsource:\n  email:\n    host: localhost\n    port: {port}\n    caFile: {ca}\n    user: {USER}\n    token: ${{workflow.secrets.{token_secret}}}\n    senders: [reports@example.com]\n    subjects: ['Great - You look awesome!']\n    delivery_time: '{delivery}'\n    check_time: '{check}'\nnotify: []\n",
            port = imap.port,
            ca = imap.ca.display(),
        )
    };
    set_secret(&db, "imap_token", TOKEN);
    set_secret(&db, "stale_token", "ya29.expired");

    std::fs::write(config.join("monitors/oauth-report.yaml"), monitor("imap_token")).unwrap();
    let (code, out) = check_async(&db, &config, "oauth-report").await;
    assert_eq!(code, 0, "the right token logs in and the email is there: {out}");
    let asked = introspection.to("/userinfo");
    assert!(!asked.is_empty(), "Dovecot asked the introspection endpoint");

    std::fs::write(config.join("monitors/oauth-report.yaml"), monitor("stale_token")).unwrap();
    let (code, out) = check_async(&db, &config, "oauth-report").await;
    assert_ne!(code, 0, "a rejected token is not ok: {out}");
    assert!(out.contains("XOAUTH2 login as `robot` failed"), "the error says what failed: {out}");
    assert!(!out.contains(TOKEN) && !out.contains("ya29.expired"), "tokens never printed: {out}");
}
