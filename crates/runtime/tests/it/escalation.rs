//! Escalation on the alert manager's clock (a manual one): an alert pages the first step of its
//! policy, the next step after its wait, the first again in a repeat round, and nothing more once
//! someone acknowledges through the signed link a page carried. The policy's progress is stored
//! with the alert: an engine started again on the same database resumes at the step reached,
//! without telling anyone twice, also for a step that fell due while no engine ran. A route whose receiver is named after a policy escalates its
//! groups the same way, and a group's link acknowledges the group.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::OutboxStore;

use serde_json::{Value, json};
use vigil_connectors::notifiers::NotifierConfig;
use vigil_core::def::WorkflowSet;
use vigil_core::time::{Clock, ManualClock};
use vigil_runtime::{Engine, EngineConfig, SecretValues};
use vigil_store::{OutboxEntry, SecretBox, SqliteStore};

const MIN: i64 = 60_000;
const KEY: &str = "alertmanager/DiskFull{instance=db1}";

fn notifiers() -> Vec<NotifierConfig> {
    let hook = |name: &str| json!({"name": name, "type": "webhook", "url": "http://127.0.0.1:9/hook"});
    [
        hook("primary"),
        hook("secondary"),
        hook("chat"),
        json!({"name": "oncall", "type": "escalation", "repeat": 1, "steps": [
            {"notify": ["primary"], "after": "10m"},
            {"notify": ["secondary", "chat"], "after": "10m"},
        ]}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).unwrap())
    .collect()
}

async fn engine(db: &std::path::Path, clock: Arc<ManualClock>) -> (Engine, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open(db).await.unwrap());
    let config = EngineConfig {
        secret_box: Some(Arc::new(SecretBox::new([9; 32]))),
        public_url: Some("https://vigil.example".into()),
        alert_receivers: vec!["oncall".into()],
        notifiers: Some(notifiers()),
        ..EngineConfig::default()
    };
    let engine =
        Engine::start(store.clone(), clock, config, WorkflowSet::default(), SecretValues::default()).await.unwrap();
    (engine, store)
}

/// The outbox of the alert as (notifier, notice), oldest first, once it holds `want`.
async fn until_told(store: &SqliteStore, want: &[(&str, &str)]) -> Vec<OutboxEntry> {
    until(store, Some(KEY), want).await
}

/// Every notification of every key, oldest first, once they are `want`.
async fn until_all(store: &SqliteStore, want: &[(&str, &str)]) -> Vec<OutboxEntry> {
    until(store, None, want).await
}

/// The notifications of `key` (of every key: `None`) as (notifier, notice), oldest first, once
/// they are `want`; fails as soon as they are more, or after 20 s.
async fn until(store: &SqliteStore, key: Option<&str>, want: &[(&str, &str)]) -> Vec<OutboxEntry> {
    use vigil_store::OutboxStatus::{Delivered, Failed, Pending};
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut entries = Vec::new();
        match key {
            Some(key) => entries = store.alert_outbox(key, 100).await.unwrap(),
            None => {
                for status in [Pending, Delivered, Failed] {
                    entries.extend(store.outbox(status, 1000).await.unwrap());
                }
            }
        }
        entries.sort_by_key(|e| e.id);
        let told: Vec<(&str, &str)> = entries.iter().map(|e| (e.notifier.as_str(), e.notice.as_str())).collect();
        if told == want {
            return entries;
        }
        assert!(told.len() <= want.len() && Instant::now() < deadline, "told {told:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ack_token(entry: &OutboxEntry) -> String {
    let msg: Value = serde_json::from_str(&entry.message).unwrap();
    let link = msg["links"].as_array().unwrap().iter().find(|l| l["text"] == "Acknowledge").expect("an ack link");
    let href = link["href"].as_str().unwrap();
    assert!(href.starts_with("https://vigil.example/ack/"), "{href}");
    href.rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_escalate_on_the_clock_resume_after_a_restart_and_stop_at_an_ack() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let (a, store) = engine(&db, clock.clone()).await;
    let ends = jiff::Timestamp::from_millisecond(clock.now() + 24 * 60 * MIN).unwrap().to_string();
    let body = json!([{"labels": {"alertname": "DiskFull", "instance": "db1"}, "endsAt": ends}]);
    let (alerts, errors) = vigil_core::alertmanager::read_posted(&body, clock.now(), 5 * MIN).unwrap();
    assert!(errors.is_empty());
    a.push_alerts(&alerts).await.unwrap();
    let first = until_told(&store, &[("primary", "trigger")]).await;

    // Nobody acknowledged within 10 minutes: the second step.
    clock.advance(9 * MIN);
    // The engine looks at the advanced clock in its own time, and nothing tells when it looked and
    // found nothing due: real time is what is waited on before checking that nothing more went out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    until_told(&store, &[("primary", "trigger")]).await;
    clock.advance(MIN);
    until_told(&store, &[("primary", "trigger"), ("secondary", "trigger"), ("chat", "trigger")]).await;

    // The engine stops, and the next step falls due meanwhile; a new one on the same database
    // goes on from the step reached, from its first step on (its notifiers known from the start,
    // so the policy is expanded, not sent to as a notifier).
    a.shutdown().await;
    drop(a);
    clock.advance(10 * MIN);
    let (b, store) = engine(&db, clock.clone()).await;
    let told = [("primary", "trigger"), ("secondary", "trigger"), ("chat", "trigger"), ("primary", "remind")];
    let entries = until_told(&store, &told).await;

    // A link from the first page acknowledges the incident; a forged one does nothing.
    let token = ack_token(&first[0]);
    assert_eq!(ack_token(&entries[3]).split('.').next(), token.split('.').next(), "the same alert");
    let forged = format!("{}x", token);
    assert!(b.acknowledge_by_link(&forged).await.is_err());
    assert!(b.acknowledge_by_link(&token).await.unwrap(), "acknowledged by its link");
    let acked =
        [&told[..], &[("primary", "acknowledge"), ("secondary", "acknowledge"), ("chat", "acknowledge")]].concat();
    until_told(&store, &acked).await;
    assert!(!b.acknowledge_by_link(&token).await.unwrap(), "nothing left to acknowledge");

    // Acknowledged: no further step, however long it fires.
    clock.advance(60 * MIN);
    // The engine looks at the advanced clock in its own time, and nothing tells when it looked and
    // found nothing due: real time is what is waited on before checking that nothing more went out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    until_told(&store, &acked).await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_to_a_policy_escalates_its_group_until_the_group_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let store = Arc::new(SqliteStore::open(&dir.path().join("vigil.db")).await.unwrap());
    let routes = "route:\n  receiver: oncall\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1m\n  \
                  repeat_interval: 4h\nreceivers:\n- name: oncall\n";
    let config = EngineConfig {
        secret_box: Some(Arc::new(SecretBox::new([9; 32]))),
        public_url: Some("https://vigil.example".into()),
        alertmanager_config: Some(routes.into()),
        ..EngineConfig::default()
    };
    let engine = Engine::start(store.clone(), clock.clone(), config, WorkflowSet::default(), SecretValues::default())
        .await
        .unwrap();
    engine.set_notifiers(notifiers());
    let ends = jiff::Timestamp::from_millisecond(clock.now() + 24 * 60 * MIN).unwrap().to_string();
    let body = json!([
        {"labels": {"alertname": "DiskFull", "instance": "db1"}, "endsAt": ends},
        {"labels": {"alertname": "DiskFull", "instance": "db2"}, "endsAt": ends},
    ]);
    let (alerts, _) = vigil_core::alertmanager::read_posted(&body, clock.now(), 5 * MIN).unwrap();
    engine.push_alerts(&alerts).await.unwrap();
    let first = until_all(&store, &[("primary", "trigger")]).await;
    let page: Value = serde_json::from_str(&first[0].message).unwrap();
    assert_eq!(page["details"]["alerts"].as_array().unwrap().len(), 2, "one notification for the group");

    // The group's interval passes with nothing new: no news, no step.
    clock.advance(5 * MIN);
    // The engine looks at the advanced clock in its own time, and nothing tells when it looked and
    // found nothing due: real time is what is waited on before checking that nothing more went out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    until_all(&store, &[("primary", "trigger")]).await;
    clock.advance(5 * MIN);
    let told = [("primary", "trigger"), ("secondary", "trigger"), ("chat", "trigger")];
    until_all(&store, &told).await;

    // The group's link acknowledges the group: everyone told hears of it, and no round follows.
    let token = ack_token(&first[0]);
    assert!(first[0].dedup_key.starts_with("group/"), "{}", first[0].dedup_key);
    assert!(engine.acknowledge_by_link(&token).await.unwrap());
    let acked =
        [&told[..], &[("chat", "acknowledge"), ("primary", "acknowledge"), ("secondary", "acknowledge")]].concat();
    until_all(&store, &acked).await;
    clock.advance(30 * MIN);
    // The engine looks at the advanced clock in its own time, and nothing tells when it looked and
    // found nothing due: real time is what is waited on before checking that nothing more went out.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    until_all(&store, &acked).await;
    engine.shutdown().await;
}
