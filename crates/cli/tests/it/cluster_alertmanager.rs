//! Three nodes on PostgreSQL where only one was started with `--alertmanager-config`: the others
//! route by the configuration it published. Alerts pushed to any node join one group (members of
//! groups another node owns go through its inbox), the group tells its receiver in
//! Alertmanager's format, and after the node with the file is SIGKILLed the survivors take its
//! groups and go on: new alerts join, everything resolves in one notification, and no
//! notification repeats another (but for the redelivery of one the dead node sent and had not
//! recorded: at least once, back to back).

use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vigil_store::AlertStore;

use serde_json::{Value, json};
use support::*;
use vigil_store::Store;

const HOSTS: usize = 12;

fn am_config(hooks: &str) -> String {
    format!(
        "route:\n  receiver: team\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
         \x20 routes:\n  - matchers: [alertname=\"DiskFull\"]\n    receiver: disks\n    group_by: ['...']\n\
         receivers:\n- name: team\n  webhook_configs: [{{url: '{hooks}/team'}}]\n- name: disks\n  webhook_configs: [{{url: '{hooks}/disks'}}]\n"
    )
}

fn hosts(range: std::ops::Range<usize>, resolved: bool) -> Value {
    alerts("HostDown", range, resolved)
}

fn alerts(name: &str, range: std::ops::Range<usize>, resolved: bool) -> Value {
    let alerts: Vec<Value> = range
        .map(|i| {
            let mut a = json!({"labels": {"alertname": name, "instance": format!("host-{i:02}")}});
            if resolved {
                a["endsAt"] = json!("2020-01-01T00:00:00Z");
            }
            a
        })
        .collect();
    Value::Array(alerts)
}

async fn push(base: &str, alerts: Value) {
    let answer =
        vigil_connectors::http_client().post(format!("{base}/api/v2/alerts")).json(&alerts).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{}", answer.text().await.unwrap());
}

/// Each notification to `/team` as its `(status, instance)` pairs.
fn told(hooks: &Recorder) -> Vec<BTreeSet<(String, String)>> {
    told_to(hooks, "/team")
}

fn told_to(hooks: &Recorder, path: &str) -> Vec<BTreeSet<(String, String)>> {
    hooks
        .to(path)
        .into_iter()
        .map(|r| {
            r.body["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (a["status"].as_str().unwrap().to_string(), a["labels"]["instance"].as_str().unwrap().to_string())
                })
                .collect()
        })
        .collect()
}

async fn until_told(hooks: &Recorder, what: &str, want: impl Fn(&BTreeSet<(String, String)>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !told(hooks).iter().any(&want) {
        assert!(Instant::now() < deadline, "{what}: {:#?}", told(hooks));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn firing(n: usize) -> impl Fn(&BTreeSet<(String, String)>) -> bool {
    move |s| s.len() == n && s.iter().all(|(status, _)| status == "firing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_survive_the_death_of_the_node_that_had_the_configuration() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_am").await else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let am = dir.path().join("alertmanager.yml");
    std::fs::write(&am, am_config(&hooks.url)).unwrap();
    let db = std::path::PathBuf::from(&pg.url);
    let args = ["--lease-ttl", "4", "--alertmanager-config", am.to_str().unwrap()];
    let (a, _) = serve_api(&db, &config, free_port(), &args).await;
    let a = KillOnDrop(a);
    let (_b, b) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    let (_c, c) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 3).await;

    // Through a node that never had the file: one group, told of every host; and a group per
    // full disk, spread over the partitions, so the node about to die owns some of them.
    push(&b, hosts(0..HOSTS, false)).await;
    push(&c, alerts("DiskFull", 0..HOSTS, false)).await;
    until_told(&hooks, "the group tells of every host", firing(HOSTS)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while told_to(&hooks, "/disks").len() < HOSTS {
        assert!(Instant::now() < deadline, "a notification per disk: {:#?}", told_to(&hooks, "/disks"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The node with the file dies; the survivors take its partitions, its groups among them.
    drop(a);
    wait_for_lease_owners(&store, 2).await;
    push(&c, hosts(HOSTS..2 * HOSTS, false)).await;
    until_told(&hooks, "the group goes on after the node died", firing(2 * HOSTS)).await;
    push(&b, hosts(0..2 * HOSTS, true)).await;
    until_told(&hooks, "everything resolves in one notification", |s| {
        s.len() == 2 * HOSTS && s.iter().all(|(status, _)| status == "resolved")
    })
    .await;
    // A notification sent by the node that died but not yet recorded as sent is sent again by
    // the new owner: the same one twice in a row is that redelivery (at least once), not news.
    let all = told(&hooks);
    let mut distinct: Vec<&BTreeSet<(String, String)>> = Vec::new();
    for n in &all {
        if distinct.last() != Some(&n) {
            distinct.push(n);
        }
    }
    for (i, n) in distinct.iter().enumerate() {
        assert!(!distinct[..i].contains(n), "notification {i} repeats an earlier one: {all:#?}");
    }
    // Every disk group resolves, whichever node owned it when the first one died: each told
    // exactly twice, firing then resolved.
    push(&c, alerts("DiskFull", 0..HOSTS, true)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while told_to(&hooks, "/disks").len() < 2 * HOSTS {
        assert!(Instant::now() < deadline, "every disk resolves: {:#?}", told_to(&hooks, "/disks"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stays(Duration::from_secs(3), "each disk is told twice, no more", async || {
        told_to(&hooks, "/disks").len() == 2 * HOSTS
    })
    .await;
    let disks = told_to(&hooks, "/disks");
    for i in 0..HOSTS {
        let host = format!("host-{i:02}");
        let mut of: Vec<&str> = disks
            .iter()
            .filter(|s| s.iter().any(|(_, h)| *h == host))
            .map(|s| s.iter().next().unwrap().0.as_str())
            .collect();
        of.dedup(); // a redelivery across the kill
        assert_eq!(of, ["firing", "resolved"], "{host}: {disks:#?}");
    }
}

/// Inhibition across nodes: a gateway's alert, owned by whichever node owns its key, holds the
/// host alerts of its site in groups that another node may own. Checked to be so for some site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_owned_by_one_node_inhibits_groups_another_node_owns() {
    const SITES: usize = 12;
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_cluster_inhibit").await else { return };
    let hooks = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: team\n  group_by: [alertname, site]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
             inhibit_rules:\n- source_matchers: [alertname=\"GatewayDown\"]\n  target_matchers: [alertname=\"HostDown\"]\n  equal: [site]\n\
             receivers:\n- name: team\n  webhook_configs: [{{url: '{}/team'}}]\n",
            hooks.url
        ),
    )
    .unwrap();
    let db = std::path::PathBuf::from(&pg.url);
    let (a, base_a) = serve_api(&db, &config, free_port(), &["--lease-ttl", "4"]).await;
    let _a = KillOnDrop(a);
    let (_b, base_b) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 2).await;
    let site =
        |name: &str, i: usize| json!({"labels": {"alertname": name, "site": format!("s{i:02}"), "instance": "h1"}});
    push(&base_a, Value::Array((0..SITES).map(|i| site("GatewayDown", i)).collect())).await;
    // Every node hears of the others' firing alerts with its silences (every 2 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    push(&base_b, Value::Array((0..=SITES).map(|i| site("HostDown", i)).collect())).await;
    // The host of the site without a gateway alert is told: the groups flushed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let host_groups = |hooks: &Recorder| -> Vec<Value> {
        hooks.to("/team").into_iter().map(|r| r.body).filter(|b| b["groupLabels"]["alertname"] == "HostDown").collect()
    };
    while host_groups(&hooks).is_empty() {
        assert!(Instant::now() < deadline, "the uninhibited host was never told");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stays(Duration::from_secs(3), "only the site without a gateway alert is told", async || {
        host_groups(&hooks).len() == 1
    })
    .await;
    let told = host_groups(&hooks);
    assert_eq!(told[0]["groupLabels"]["site"], format!("s{SITES:02}"));
    // Not vacuous: for some site the gateway's alert and the hosts' group had different owners.
    // (Pushed alerts are stored in their groups: the gateway's is its own group's.)
    let owner: std::collections::HashMap<u32, String> =
        store.leases().await.unwrap().into_iter().filter_map(|l| Some((l.part, l.owner?))).collect();
    let groups = store.groups_in(&(0..vigil_store::PARTITIONS).collect::<Vec<_>>()).await.unwrap();
    let group_of = |name: &str, i: usize| {
        groups.iter().find(|g| g.state.contains(name) && g.state.contains(&format!("\"s{i:02}\"")))
    };
    let crossed = (0..SITES).any(|i| match (group_of("GatewayDown", i), group_of("HostDown", i)) {
        (Some(gateway), Some(hosts)) => {
            owner.get(&vigil_store::partition_of(&gateway.group_key))
                != owner.get(&vigil_store::partition_of(&hosts.group_key))
        }
        _ => false,
    });
    assert!(crossed, "no site had its gateway alert and its hosts' group on different nodes");
}
