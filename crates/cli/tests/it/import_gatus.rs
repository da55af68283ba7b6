//! `vigil import gatus` on Gatus' own configurations (the repository's `config.yaml` and every
//! configuration under its `.examples/`, in `tests/gatus/`): each imports, and what it writes
//! validates. Then an imported HTTP check runs against a local server through `vigil check`.

use crate::support;

use std::path::Path;

use serde_json::json;
use support::*;

fn import(config: &Path, out: &Path) -> (bool, String) {
    let db = out.with_extension("db");
    let done = run(&db, &["import", "gatus", config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let text = format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
    (done.status.success(), text)
}

#[test]
fn gatus_own_configurations_import_and_validate() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gatus");
    let mut imported = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("config");
        let (ok, text) = import(&path, &out);
        assert!(ok, "{}: {text}", path.display());
        let checked = run(&dir.path().join("v.db"), &["validate", out.to_str().unwrap()]);
        assert!(checked.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&checked.stdout));
        imported += 1;
    }
    assert_eq!(imported, 9, "config.yaml and the 8 example configurations");
}

#[test]
fn the_root_configuration_keeps_its_dns_icmp_and_domain_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("config");
    let (ok, text) = import(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gatus/config.yaml"), &out);
    assert!(ok, "{text}");
    let dns = std::fs::read_to_string(out.join("monitors/example-dns-query.yaml")).unwrap();
    assert!(dns.contains("queryName: \"example.com\"") && dns.contains("[DNS_RCODE] == NOERROR"), "{dns}");
    let icmp = std::fs::read_to_string(out.join("monitors/icmp-ping.yaml")).unwrap();
    assert!(icmp.contains("icmp://example.org"), "{icmp}");
    let domain = std::fs::read_to_string(out.join("monitors/check-domain-expiration.yaml")).unwrap();
    assert!(domain.contains("[DOMAIN_EXPIRATION] > 720h") && domain.contains("every: \"1h\""), "{domain}");
}

/// `examples/gatus/config.yaml` imports unchanged: every endpoint becomes a monitor on its source,
/// the credentials become secrets, and the result validates.
#[test]
fn the_shipped_gatus_example_imports_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("config");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gatus/config.yaml");
    let (ok, text) = import(&example, &out);
    assert!(ok, "{text}");
    let monitors = std::fs::read_dir(out.join("monitors")).unwrap().count();
    assert_eq!(monitors, 10, "every endpoint: {text}");
    for (file, source) in [
        ("core_website", "http:"),
        ("core_redis", "tcp:"),
        ("mail", "starttls://"),
        ("api-tls", "tls://"),
        ("gateway", "icmp:"),
        ("www-record", "dns:"),
        ("orders", "grpc:"),
        ("feed", "websocket:"),
        ("domain", "[DOMAIN_EXPIRATION]"),
    ] {
        let monitor = std::fs::read_to_string(out.join(format!("monitors/{file}.yaml"))).unwrap();
        assert!(monitor.contains(source), "{file}: {monitor}");
    }
    let all: String =
        ["notifiers/slack.yaml", "notifiers/slack-payments.yaml", "notifiers/pagerduty.yaml", "notifiers/discord.yaml"]
            .iter()
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
            .collect();
    assert!(!all.contains("hooks.slack.com") && !all.contains("0123456789abcdef"), "credentials are secrets: {all}");
    assert!(text.contains("vigil secret set slack_payments_url"), "{text}");
    let checkout = std::fs::read_to_string(out.join("monitors/payments_checkout.yaml")).unwrap();
    assert!(checkout.contains("${env.PAYMENTS_TOKEN}") && checkout.contains("slack-payments"), "{checkout}");
    let checked = run(&dir.path().join("v.db"), &["validate", out.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));
}

/// An imported endpoint checks a real server as Gatus would: a JSON body judged by its
/// conditions, through `vigil check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_endpoint_checks_like_gatus() {
    let server = Recorder::start(|_| Reply::json(json!({"status": "UP", "items": [1, 2, 3]}))).await;
    let dir = tempfile::tempdir().unwrap();
    let gatus = dir.path().join("gatus.yaml");
    std::fs::write(
        &gatus,
        format!(
            "endpoints:\n  - name: api\n    url: {}/health\n    conditions:\n      - \"[STATUS] == 200\"\n      - \"[BODY].status == UP\"\n      - \"len([BODY].items) == 3\"\n      - \"[IP] == 127.0.0.1\"\n",
            server.url
        ),
    )
    .unwrap();
    let out = dir.path().join("config");
    let (ok, text) = import(&gatus, &out);
    assert!(ok, "{text}");
    let db = dir.path().join("v.db");
    let checked = run(&db, &["check", "api", "--config", out.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}{}", String::from_utf8_lossy(&checked.stderr));
    assert_eq!(server.to("/health").len(), 1);
}
