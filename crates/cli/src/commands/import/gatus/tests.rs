use super::*;

fn doc(yaml: &str) -> Value {
    serde_saphyr::from_str(&environment(yaml)).unwrap()
}

const CONFIG: &str = r#"
alerting:
  slack:
    webhook-url: https://hooks.slack.com/services/T0/B0/XYZ
    default-alert:
      failure-threshold: 5
      send-on-resolved: true
    overrides:
      - group: core
        webhook-url: https://hooks.slack.com/services/T0/B0/CORE
  pagerduty:
    integration-key: 0123456789abcdef0123456789abcdef
  github:
    repository-url: https://github.com/o/r
    token: t
endpoints:
  - name: front-end
    group: core
    url: https://example.org/health
    interval: 30s
    client: {timeout: 5s, ignore-redirect: true}
    headers: {Authorization: "Bearer ${API_TOKEN}"}
    conditions: ["[status] == 200", "[BODY].status == UP"]
    alerts:
      - type: slack
        description: front-end down
      - type: pagerduty
        failure-threshold: 5
        send-on-resolved: true
  - name: db
    url: tcp://db:5432
    conditions: ["[CONNECTED] == true"]
    alerts: [{type: github}, {type: slack, enabled: false}]
  - name: feed
    url: wss://example.org/feed
    body: hello
    conditions: ["[CONNECTED] == true"]
  - name: health
    url: grpc://example.org:50051
    conditions: ["[BODY].status == SERVING"]
  - name: association
    url: sctp://example.org:9899
    conditions: ["[CONNECTED] == true"]
  - name: mail
    url: starttls://smtp.example.org:587
    conditions: ["[CERTIFICATE_EXPIRATION] > 48h"]
  - name: bastion
    url: ssh://bastion.example.org
    ssh: {username: u, password: p}
    conditions: ["[CONNECTED] == true"]
  - name: deploy-host
    url: ssh://deploy.example.org:2222
    ssh:
      username: probe
      private-key: "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYTEXT\n-----END OPENSSH PRIVATE KEY-----"
    body: '{"command": "systemctl is-active app"}'
    conditions: ["[CONNECTED] == true", "[STATUS] == 0"]
"#;

#[test]
fn endpoints_become_monitors_with_their_alerts() {
    let out = import(&doc(CONFIG)).unwrap();
    let files: Vec<&str> = out.files.keys().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            "monitors/bastion.yaml",
            "monitors/core_front-end.yaml",
            "monitors/db.yaml",
            "monitors/deploy-host.yaml",
            "monitors/feed.yaml",
            "monitors/health.yaml",
            "monitors/mail.yaml",
            "notifiers/pagerduty.yaml",
            "notifiers/slack-core.yaml",
            "notifiers/slack.yaml"
        ]
    );
    let front: Value = serde_saphyr::from_str(&out.files["monitors/core_front-end.yaml"]).unwrap();
    let http = &front["source"]["http"];
    assert_eq!(http["conditions"], json!(["[STATUS] == 200", "[BODY].status == UP"]), "placeholders in any case");
    assert_eq!((http["timeout"].as_str(), http["followRedirects"].as_bool()), (Some("5s"), Some(false)));
    assert_eq!(http["headers"]["Authorization"], "Bearer ${env.API_TOKEN}");
    assert_eq!((front["every"].as_str(), front["labels"]["group"].as_str()), (Some("30s"), Some("core")));
    // The group's override, and the default alert merged in (5 failures, resolves sent).
    assert_eq!(front["notify"], json!(["slack-core", "pagerduty"]));
    assert_eq!((front["fireAfter"].as_i64(), front["resolveAfter"].as_i64()), (Some(5), Some(2)));
    assert_eq!((front["sendResolved"].as_bool(), front["summary"].as_str()), (Some(true), Some("front-end down")));
    let db: Value = serde_saphyr::from_str(&out.files["monitors/db.yaml"]).unwrap();
    assert!(db.get("notify").is_none(), "github has no notifier and slack is disabled there");
    let mail: Value = serde_saphyr::from_str(&out.files["monitors/mail.yaml"]).unwrap();
    assert_eq!(mail["source"]["tcp"]["url"], "starttls://smtp.example.org:587");
    let bastion: Value = serde_saphyr::from_str(&out.files["monitors/bastion.yaml"]).unwrap();
    assert_eq!(
        bastion["source"]["tcp"],
        json!({"url": "tcp://bastion.example.org:22", "protocol": "ssh", "conditions": ["[CONNECTED] == true"]})
    );
    // With a key, a login: the key moved to a secret, the body's command run.
    let deploy: Value = serde_saphyr::from_str(&out.files["monitors/deploy-host.yaml"]).unwrap();
    assert_eq!(
        deploy["source"]["ssh"],
        json!({"url": "ssh://deploy.example.org:2222", "user": "probe",
               "privateKey": "${workflow.secrets.deploy_host_ssh_key}", "command": "systemctl is-active app",
               "conditions": ["[CONNECTED] == true", "[STATUS] == 0"]})
    );
    assert!(out.secrets["deploy_host_ssh_key"].contains("SECRETKEYTEXT"));
    // Another endpoint whose name reads the same as a file name gets a secret of its own.
    let twice = doc(r#"
endpoints:
  - {name: deploy-host, url: "ssh://a.example.org", ssh: {username: u, private-key: KEYA}, conditions: ["[STATUS] == 0"]}
  - {name: Deploy_Host, url: "ssh://b.example.org", ssh: {username: u, private-key: KEYB}, conditions: ["[STATUS] == 0"]}
"#);
    let both = import(&twice).unwrap();
    let keys: Vec<&String> = both.secrets.values().collect();
    assert_eq!(keys.len(), 2, "{:?}", both.secrets.keys());
    assert!(keys.contains(&&"KEYA".to_string()) && keys.contains(&&"KEYB".to_string()));
    assert!(!out.files.values().any(|f| f.contains("SECRETKEYTEXT")), "the key left in a file");
    let notes = out.notes.join("\n");
    for expected in ["alerting.github", "`sctp` endpoints", "password login is not tried", "differ in thresholds"] {
        assert!(notes.contains(expected), "no note on {expected}: {notes}");
    }
}

#[test]
fn credentials_become_secrets() {
    let out = import(&doc(CONFIG)).unwrap();
    let all: String = out.files.values().cloned().collect();
    for secret in ["XYZ", "CORE", "0123456789abcdef"] {
        assert!(!all.contains(secret), "`{secret}` left in the files");
    }
    assert_eq!(out.secrets["slack_core_url"], "https://hooks.slack.com/services/T0/B0/CORE");
    assert_eq!(out.secrets["pagerduty_routing_key"], "0123456789abcdef0123456789abcdef");
    assert!(out.files["notifiers/slack.yaml"].contains("${workflow.secrets.slack_url}"));
}

#[test]
fn environment_merging_and_keys_read_as_gatus_reads_them() {
    assert_eq!(environment("a ${X} $Y $$ $ {z}"), "a ${env.X} ${env.Y} $ $ {z}");
    let mut a = json!({"endpoints": [1], "alerting": {"slack": {"webhook-url": "u"}}});
    merge(&mut a, json!({"endpoints": [2], "alerting": {"ntfy": {"topic": "t"}}}), "").unwrap();
    assert_eq!(a, json!({"endpoints": [1, 2], "alerting": {"slack": {"webhook-url": "u"}, "ntfy": {"topic": "t"}}}));
    assert!(
        merge(&mut a, json!({"alerting": {"slack": {"webhook-url": "v"}}}), "")
            .unwrap_err()
            .contains("alerting.slack.webhook-url")
    );
    assert_eq!(sanitize(" Core Services/A.B "), "core-services-a-b");
    assert_eq!(condition("[status] == 200 && [Body].x == [y]"), "[STATUS] == 200 && [BODY].x == [y]");
    assert!(import(&json!({"endpoints": []})).is_err());
}

#[test]
fn a_signal_provider_becomes_a_signal_notifier() {
    let out = import(&doc(
        "alerting:\n  signal:\n    api-url: http://signal-api:8080\n    number: +4915100000000\n    recipients: [+4915111111111, \"+4915122222222\"]\n\
         endpoints:\n  - name: web\n    url: https://example.org\n    conditions: [\"[STATUS] == 200\"]\n    alerts: [{type: signal}]\n",
    ))
    .unwrap();
    let notifier = &out.files["notifiers/signal.yaml"];
    for expected in
        ["type: \"signal\"", "url: \"http://signal-api:8080\"", "number: \"+4915100000000\"", "+4915122222222"]
    {
        assert!(notifier.contains(expected), "{expected} missing: {notifier}");
    }
    let missing = import(&doc(
        "alerting:\n  signal: {api-url: http://s, number: \"+1\"}\nendpoints:\n  - name: web\n    url: https://example.org\n    conditions: [\"[STATUS] == 200\"]\n    alerts: [{type: signal}]\n",
    ))
    .unwrap();
    assert!(missing.notes.join("\n").contains("alerting.signal: `recipients` is missing"), "{:?}", missing.notes);
}
