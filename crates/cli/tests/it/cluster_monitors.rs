//! Monitors in a cluster: two `vigil serve` nodes on one PostgreSQL database share 40 HTTP
//! monitors (every second) by partition. Each check runs on one node only; when one node is
//! SIGKILLed the other takes its monitors over; every failing monitor pages PagerDuty exactly once
//! and resolves exactly once, whichever node saw what. Either node's UI shows every monitor's
//! last checks, relayed by the node running it.

use crate::support;

use std::collections::HashMap;
use std::time::{Duration, Instant};
use vigil_store::MonitorResultStore;

use serde_json::json;
use support::*;

const MONITORS: usize = 40;
const FAILING: usize = 10;
const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Writes `monitors` and a PagerDuty notifier (`oncall`, to `receiver`) under `dir/config`, starts
/// two `vigil serve` nodes on the PostgreSQL database `url`, and waits until both hold leases.
async fn two_nodes(
    url: &str,
    dir: &std::path::Path,
    monitors: Vec<serde_json::Value>,
    receiver: &str,
) -> (Vec<(KillOnDrop, String)>, vigil_store::PostgresStore) {
    let config = dir.join("config");
    for sub in ["monitors", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(config.join("monitors/all.json"), serde_json::Value::Array(monitors).to_string()).unwrap();
    std::fs::write(
        config.join("notifiers/oncall.yaml"),
        format!("name: oncall\ntype: pagerduty\nrouting_key: {ROUTING_KEY}\nurl: {receiver}/v2/enqueue\n"),
    )
    .unwrap();
    let db = std::path::PathBuf::from(url);
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let (child, base) = serve_api(&db, &config, free_port(), &["--lease-ttl", "4"]).await;
        nodes.push((KillOnDrop(child), base));
    }
    let store = vigil_store::PostgresStore::open(url).await.unwrap();
    wait_for_lease_owners(&store, 2).await;
    (nodes, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_monitors_check_each_once_and_page_once_through_a_kill() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_monitors").await else { return };
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server = Recorder::start({
        let failing = failing.clone();
        move |r| {
            if r.path == "/v2/enqueue" {
                return Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO };
            }
            let n: usize = r.path.trim_start_matches("/check/").parse().unwrap_or(0);
            let down = n < FAILING && failing.load(std::sync::atomic::Ordering::SeqCst);
            Reply { status: if down { 500 } else { 200 }, body: json!({"ok": !down}), delay: Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let monitors: Vec<serde_json::Value> = (0..MONITORS)
        .map(|n| {
            json!({"name": format!("site-{n:02}"), "every": "1s",
                "source": {"http": {"url": format!("{}/check/{n}", server.url), "conditions": ["[STATUS] == 200"]}},
                "notify": ["oncall"], "repeatInterval": "never"})
        })
        .collect();
    let (mut nodes, store) = two_nodes(&pg.url, dir.path(), monitors, &server.url).await;

    // Checks over a measured window: one per monitor per second, not one per node.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (from, window) = (Instant::now(), Duration::from_secs(6));
    // The window is what is measured: checks in it are counted afterwards.
    tokio::time::sleep(window).await;
    let mut per_monitor: HashMap<String, usize> = HashMap::new();
    for r in server.received().iter().filter(|r| r.path.starts_with("/check/") && r.at >= from && r.at < from + window)
    {
        *per_monitor.entry(r.path.clone()).or_default() += 1;
    }
    assert_eq!(per_monitor.len(), MONITORS, "every monitor ran: {per_monitor:?}");
    for (path, count) in &per_monitor {
        assert!((4..=7).contains(count), "{path} was checked {count} times in 6 s (a node each would be ~12)");
    }

    // Either node's page of a monitor shows its last checks and a chart of the history not
    // written yet (the store gets it every ten minutes), whichever node runs it: the other node
    // relays them through the store once a page asks.
    let http = vigil_connectors::http_client();
    let page = |base: &str, n: usize| http.get(format!("{base}/ui/monitors/site-{n:02}")).send();
    for (_, base) in &nodes {
        for n in 0..MONITORS {
            assert_eq!(page(base, n).await.unwrap().status().as_u16(), 200);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for (_, base) in &nodes {
        for n in 0..MONITORS {
            loop {
                let html = page(base, n).await.unwrap().text().await.unwrap();
                let bars =
                    html.matches(r#"class="beat ok""#).count() + html.matches(r#"class="beat critical""#).count();
                if bars >= 2 && html.contains(r#"class="chart""#) {
                    break;
                }
                assert!(Instant::now() < deadline, "{base} shows no checks of site-{n:02}: {bars} bars");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }

    // One node dies; the other takes its monitors (and their alerts) over, then the sites recover.
    let (mut killed, _) = nodes.remove(0);
    killed.0.kill().unwrap();
    let _ = killed.0.wait();
    // The sites stay down past the dead node's lease (4 s), so the survivor checks them failing.
    tokio::time::sleep(Duration::from_secs(7)).await;
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let recovered = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = |action: &str| -> Vec<String> {
        server
            .to("/v2/enqueue")
            .iter()
            .filter(|r| r.body["event_action"] == json!(action))
            .map(|r| r.body["dedup_key"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    while events("resolve").len() < FAILING {
        assert!(Instant::now() < deadline, "not every site resolved: {:?}", events("resolve"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stays(Duration::from_secs(2), "each site resolves once", async || events("resolve").len() == FAILING).await;
    let (mut triggers, mut resolves) = (events("trigger"), events("resolve"));
    triggers.sort();
    resolves.sort();
    let expected: Vec<String> = (0..FAILING).map(|n| format!("monitor/site-{n:02}")).collect();
    assert_eq!(triggers, expected, "each failing site paged exactly once");
    assert_eq!(resolves, expected, "and resolved exactly once");

    // The survivor checks every monitor now, and records their results.
    let late: std::collections::HashSet<String> = server
        .received()
        .iter()
        .filter(|r| r.path.starts_with("/check/") && r.at > recovered)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(late.len(), MONITORS, "the survivor runs every monitor");
    let results = store.monitor_results("").await.unwrap();
    assert_eq!(results.len(), MONITORS, "one latest reading per monitor");
    pg.drop_now().await;
}

/// Heartbeats in a cluster: any node takes a ping (durable before its `OK`), and the node that
/// runs the heartbeat's monitor acts on it. Pings for six heartbeats go to both nodes in turn; each
/// `/fail` pages exactly once and each later success resolves exactly once, whichever node took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_node_takes_a_ping_and_the_owner_pages_once() {
    const BEATS: usize = 6;
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_pings").await else { return };
    let server =
        Recorder::start(|_| Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO }).await;
    let dir = tempfile::tempdir().unwrap();
    let id = |n: usize| format!("backup-job-ping-id-{n:04}");
    let monitors: Vec<serde_json::Value> = (0..BEATS)
        .map(|n| {
            json!({"name": format!("backup-{n}"), "every": "1h", "heartbeat": {"id": id(n), "grace": "1h"},
                "notify": ["oncall"], "repeatInterval": "never"})
        })
        .collect();
    let (nodes, _store) = two_nodes(&pg.url, dir.path(), monitors, &server.url).await;
    let http = vigil_connectors::http_client();
    let ping = |node: usize, n: usize, action: &str| {
        let url = format!("{}/ping/{}{action}", nodes[node].1, id(n));
        let http = http.clone();
        async move {
            let answer = http.post(url).body("exit 1").send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 200);
        }
    };
    let events = |action: &str| -> Vec<String> {
        let mut keys: Vec<String> = server
            .to("/v2/enqueue")
            .iter()
            .filter(|r| r.body["event_action"] == json!(action))
            .map(|r| r.body["dedup_key"].as_str().unwrap_or_default().to_string())
            .collect();
        keys.sort();
        keys
    };
    let expected: Vec<String> = (0..BEATS).map(|n| format!("monitor/backup-{n}")).collect();
    for n in 0..BEATS {
        ping(n % 2, n, "/fail").await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while events("trigger").len() < BEATS {
        assert!(Instant::now() < deadline, "not every failure paged: {:?}", events("trigger"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for n in 0..BEATS {
        ping((n + 1) % 2, n, "").await;
    }
    while events("resolve").len() < BEATS {
        assert!(Instant::now() < deadline, "not every success resolved: {:?}", events("resolve"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stays(Duration::from_secs(3), "each failure pages and resolves once", async || {
        events("trigger").len() == BEATS && events("resolve").len() == BEATS
    })
    .await;
    assert_eq!(events("trigger"), expected, "each failure paged exactly once");
    assert_eq!(events("resolve"), expected, "and resolved exactly once");
    pg.drop_now().await;
}
