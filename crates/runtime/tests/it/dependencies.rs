//! `dependsOn` on a manual clock: two heartbeat monitors, `app` depending on `gateway`. The
//! gateway's heartbeat is late first and pages; the app's is late while the gateway fails and is
//! held, however long that lasts; when the gateway's heartbeat comes back, the app, still
//! failing, pages then; it resolves when its own heartbeat comes back.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::OutboxStore;

use serde_json::{Value, json};
use vigil_connectors::notifiers::NotifierConfig;
use vigil_core::def::WorkflowSet;
use vigil_core::monitor::MonitorDef;
use vigil_core::monitor::expect::PingKind;
use vigil_core::time::ManualClock;
use vigil_runtime::pings::Ping;
use vigil_runtime::{Engine, EngineConfig, SecretValues};
use vigil_store::{OutboxStatus, SqliteStore};

const MIN: i64 = 60_000;

fn monitors() -> Vec<MonitorDef> {
    let beat = |name: &str, grace: &str, parents: &[&str]| {
        json!({"name": name, "every": "1m", "heartbeat": {"grace": grace}, "notify": ["pager"],
            "repeatInterval": "never", "dependsOn": parents})
    };
    [beat("gateway", "1m", &[]), beat("app", "4m", &["gateway"])]
        .into_iter()
        .map(|doc| {
            let (def, problems) = MonitorDef::build(&doc);
            def.unwrap_or_else(|| panic!("{problems:?}"))
        })
        .collect()
}

/// Every notification so far as (monitor, notice), oldest first.
async fn told(store: &SqliteStore) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    for status in [OutboxStatus::Pending, OutboxStatus::Delivered, OutboxStatus::Failed] {
        entries.extend(store.outbox(status, 1000).await.unwrap());
    }
    entries.sort_by_key(|e| e.id);
    entries
        .iter()
        .map(|e| {
            let msg: Value = serde_json::from_str(&e.message).unwrap();
            (msg["name"].as_str().unwrap_or_default().to_string(), e.notice.clone())
        })
        .collect()
}

/// Moves the clock by `by` in steps of a second at most, letting the monitors look at each step
/// (a command wakes a shard, which then runs what is due by the clock).
async fn advance(engine: &Engine, clock: &ManualClock, by: i64) {
    let mut left = by;
    while left > 0 {
        let step = left.min(1_000);
        clock.advance(step);
        left -= step;
        engine.monitors().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The notices told about monitor `name`, in order.
fn of(told: &[(String, String)], name: &str) -> Vec<String> {
    told.iter().filter(|(m, _)| m == name).map(|(_, n)| n.clone()).collect()
}

/// Waits (advancing the clock `step` milliseconds at a time) until the notices about `name` are `want`;
/// fails as soon as there are more, or after 20 s. Returns every notification so far.
async fn until_told(
    engine: &Engine,
    clock: &ManualClock,
    store: &SqliteStore,
    name: &str,
    want: &[&str],
    step: i64,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = told(store).await;
        let got = of(&all, name);
        if got == want {
            return all;
        }
        assert!(
            got.len() <= want.len() && Instant::now() < deadline,
            "{name}: told {got:?}, want {want:?}; all: {all:?}"
        );
        advance(engine, clock, step).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn beat(engine: &Engine, monitor: &str) {
    let id = engine.ping_id_of(monitor).expect("a heartbeat has a ping id");
    let ping = Ping { kind: PingKind::Success, exit_code: None, rid: None, body: None, origin: Default::default() };
    assert_eq!(engine.ping(&id, ping).await.unwrap(), monitor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_parent_holds_its_dependent_on_the_clock_and_lets_it_page_when_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("vigil.db")).await.unwrap());
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let engine = Engine::start(
        store.clone(),
        clock.clone(),
        EngineConfig::default(),
        WorkflowSet::default(),
        SecretValues::default(),
    )
    .await
    .unwrap();
    let pager = json!({"name": "pager", "type": "webhook", "url": "http://127.0.0.1:9/hook"});
    engine.set_notifiers(vec![serde_json::from_value::<NotifierConfig>(pager).unwrap()]);
    engine.set_monitors(monitors());
    let deadline = Instant::now() + Duration::from_secs(20);
    while engine.ping_id_of("gateway").is_none() || engine.ping_id_of("app").is_none() {
        assert!(Instant::now() < deadline, "the heartbeats got no ping ids");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    beat(&engine, "gateway").await;
    beat(&engine, "app").await;

    // The gateway is late after its period and grace: it pages.
    until_told(&engine, &clock, &store, "gateway", &["trigger"], 1_000).await;
    // The app is late too, later, and stays so for an hour: held while its parent fails.
    advance(&engine, &clock, 10 * MIN).await;
    crate::stays(Duration::from_millis(500), "the app is held", async || of(&told(&store).await, "app").is_empty())
        .await;
    advance(&engine, &clock, 50 * MIN).await;
    crate::stays(Duration::from_millis(500), "still held an hour on", async || {
        of(&told(&store).await, "app").is_empty()
    })
    .await;

    // The gateway's heartbeat comes back: it resolves, and then the app, still failing, pages.
    beat(&engine, "gateway").await;
    let all = until_told(&engine, &clock, &store, "app", &["trigger"], 100).await;
    let resolved = all.iter().position(|(m, n)| m == "gateway" && n == "resolve").expect("the gateway resolved");
    let paged = all.iter().position(|(m, _)| m == "app").unwrap();
    assert!(resolved < paged, "the app pages after its parent recovered: {all:?}");
    beat(&engine, "app").await;
    until_told(&engine, &clock, &store, "app", &["trigger", "resolve"], 100).await;
}
