//! Issue 32: three nodes on PostgreSQL where only one has `--config`. After that node is
//! SIGKILLed, the other two run everything it loaded: an HTTP, an SQL and a heartbeat monitor (the last in a team's folder), a
//! schedule, an event handler, a status page and a notifier; a secret rotated afterwards reaches both nodes' notifiers; and a
//! worker polling one node completes a task another node's instance scheduled.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use serde_json::{Value, json};
use support::*;
use vigil_store::{InstanceFilter, Store};

const FIRST_TOKEN: &str = "hook-token-first";
const ROTATED_TOKEN: &str = "hook-token-rotated";
/// Series of the SQL monitor: enough keys that both surviving nodes own some.
const HOSTS: usize = 12;

async fn get(base: &str, path: &str) -> Value {
    let res = vigil_connectors::http_client().get(format!("{base}{path}")).send().await.unwrap();
    res.json().await.unwrap_or(Value::Null)
}

/// The names in a listing (`[{name: ...}]`, or `{items: [...]}`).
fn names(listing: &Value) -> Vec<String> {
    let items = listing.get("items").unwrap_or(listing);
    items.as_array().into_iter().flatten().filter_map(|m| m["name"].as_str().map(str::to_string)).collect()
}

fn config(dir: &std::path::Path, hooks: &str, data_url: &str) -> std::path::PathBuf {
    let config = dir.join("config");
    for sub in ["workflows", "schedules", "monitors/payments", "notifiers", "event_handlers", "status-pages", "teams"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    std::fs::write(
        config.join("notifiers/wh.yaml"),
        format!("name: wh\ntype: webhook\nurl: {hooks}/hook\nheaders:\n  X-Token: \"${{workflow.secrets.whtoken}}\"\n"),
    )
    .unwrap();
    let monitors = format!(
        "- name: web\n  every: 1s\n  source:\n    http:\n      url: {hooks}/status\n      conditions: [\"[STATUS] == 200\"]\n  notify: [wh]\n  repeatInterval: never\n\
         - name: db\n  every: 1s\n  source:\n    sql:\n      url: '{data_url}'\n      query: SELECT host, used FROM disks ORDER BY host\n  value: used\n  critical: \"> 95\"\n  notify: [wh]\n  repeatInterval: never\n"
    );
    std::fs::write(config.join("monitors/checks.yaml"), monitors).unwrap();
    // In a folder its team owns: the folder reaches the other nodes too.
    let beat = "- name: beat\n  every: 6s\n  heartbeat:\n    grace: 2s\n  notify: [wh]\n  repeatInterval: never\n";
    std::fs::write(config.join("monitors/payments/beat.yaml"), beat).unwrap();
    std::fs::write(config.join("teams/pay.yaml"), "name: pay\ndescription: Payments\nowns:\n  folders: [payments]\n")
        .unwrap();
    let tick = json!({"name": "tick", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]});
    std::fs::write(config.join("workflows/tick.json"), tick.to_string()).unwrap();
    let work = json!({"name": "work", "tasks": [{"name": "crunch", "taskReferenceName": "crunch", "type": "SIMPLE",
            "taskDefinition": {"responseTimeoutSeconds": 2, "retryCount": 1, "retryDelaySeconds": 0}}],
        "outputParameters": {"by": "${crunch.output.by}"}});
    std::fs::write(config.join("workflows/work.json"), work.to_string()).unwrap();
    let schedule = json!({"name": "tick-every-second", "cronExpression": "* * * * * *", "zoneId": "UTC",
        "startWorkflowRequest": {"name": "tick"}});
    std::fs::write(config.join("schedules/tick.json"), schedule.to_string()).unwrap();
    // An EVENT task on vigil's own queue, completed by a handler of that queue (Conductor's
    // pattern): run after the config node died, it needs the handler on the nodes without it.
    let ship = json!({"name": "ship", "tasks": [{"name": "ask", "taskReferenceName": "ask", "type": "EVENT",
        "sink": "conductor", "asyncComplete": true}]});
    std::fs::write(config.join("workflows/ship.json"), ship.to_string()).unwrap();
    let handler = json!({"name": "on_ship", "event": "conductor:ship:ask", "active": true,
        "actions": [{"action": "complete_task", "complete_task": {"workflowId": "${workflowInstanceId}",
            "taskRefName": "ask", "output": {"by": "on_ship"}}}]});
    std::fs::write(config.join("event_handlers/on_ship.json"), handler.to_string()).unwrap();
    let page = "slug: public\ntitle: Public\ncomponents:\n  - name: Website\n    monitor: web\n";
    std::fs::write(config.join("status-pages/public.yaml"), page).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_without_config_run_everything_after_the_config_node_dies() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_one_config").await else { return };
    let Some(data) = vigil_store::testing::fresh_postgres("vigil_one_config_data").await else { return };
    let Some(psql) = service_binary(&["/usr/bin/psql"], "the PostgreSQL client (psql)") else { return };
    let psql_run = |sql: String| {
        let out =
            std::process::Command::new(&psql).arg(&data.url).args(["-v", "ON_ERROR_STOP=1", "-c"]).arg(sql).output();
        let out = out.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let disks = |used: u32| {
        let rows: Vec<String> = (0..HOSTS).map(|h| format!("('host-{h:02}', {used})")).collect();
        format!("BEGIN; DELETE FROM disks; INSERT INTO disks VALUES {}; COMMIT", rows.join(", "))
    };
    psql_run("CREATE TABLE disks (host text PRIMARY KEY, used double precision)".into());
    psql_run(disks(10));
    let web_down = Arc::new(AtomicBool::new(false));
    let hooks = Recorder::start({
        let web_down = web_down.clone();
        move |r| {
            let down = r.path == "/status" && web_down.load(Ordering::SeqCst);
            Reply { status: if down { 500 } else { 200 }, body: json!({}), delay: Duration::ZERO }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &hooks.url, &data.url);
    let db = std::path::PathBuf::from(&pg.url);
    set_secret(&db, "whtoken", FIRST_TOKEN);
    let (a, _) = serve_api(&db, &config, free_port(), &["--lease-ttl", "4"]).await;
    let a = KillOnDrop(a);
    let (_b, b) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    let (_c, c) = serve_without_config(&db, &["--lease-ttl", "4"]).await;
    let store = vigil_store::PostgresStore::open(&pg.url).await.unwrap();
    wait_for_lease_owners(&store, 3).await;
    for node in [&b, &c] {
        wait_until(15, "a node without --config lists the published monitors", async || {
            let mut listed = names(&get(node, "/api/v1/monitors").await);
            listed.sort();
            listed == ["beat", "db", "web"]
        })
        .await;
        wait_until(15, "a node without --config lists the published event handler", async || {
            names(&get(node, "/api/event").await) == ["on_ship"]
        })
        .await;
    }
    // The heartbeat is pinged once through a node without --config just before the config node
    // dies, so it is late 8 s later, when only the other two nodes run: whichever ran it before
    // must page then (a node that gained it must judge it without a new ping).
    let beat = get(&b, "/api/v1/monitors/beat").await;
    let ping_path = beat["pingUrl"].as_str().expect("a ping URL").to_string();
    let pinged = Instant::now();
    let ping = vigil_connectors::http_client().get(format!("{b}{ping_path}")).send().await.unwrap();
    assert_eq!(ping.status().as_u16(), 200, "a ping through a node without --config");

    // The node with --config dies; the other two take its partitions.
    drop(a);
    wait_for_lease_owners(&store, 2).await;
    web_down.store(true, Ordering::SeqCst);
    psql_run(disks(99));
    let notices = |token: &'static str, since: Instant| {
        let hooks = hooks.clone();
        move || -> Vec<Value> {
            hooks
                .received()
                .into_iter()
                .filter(|r| r.path == "/hook" && r.at >= since)
                .inspect(|r| assert_eq!(r.headers.get("x-token").map(String::as_str), Some(token), "{:?}", r.body))
                .map(|r| r.body)
                .collect()
        }
    };
    let before_rotation = notices(FIRST_TOKEN, pinged);
    let mentions = |bodies: &[Value], name: &str| bodies.iter().filter(|b| b.to_string().contains(name)).count();
    wait_until(30, "the HTTP, SQL and heartbeat monitors page after the config node died", async || {
        let got = before_rotation();
        let counts = (mentions(&got, "\"web\""), mentions(&got, "host-"), mentions(&got, "\"beat\""));
        eprintln!("pages since the kill: web {}, db series {}, beat {}", counts.0, counts.1, counts.2);
        mentions(&got, "\"web\"") >= 1 && mentions(&got, "host-") >= HOSTS && mentions(&got, "\"beat\"") >= 1
    })
    .await;

    // The schedule goes on.
    let ticks = async || {
        let filter = InstanceFilter { workflow_name: Some("tick".into()), limit: 10_000, ..Default::default() };
        store.list_instances(&filter).await.unwrap().len()
    };
    let seen = ticks().await;
    wait_until(10, "the schedule keeps firing on the surviving nodes", async || ticks().await >= seen + 2).await;

    // A secret rotated now reaches both nodes' notifiers within a second.
    set_secret(&db, "whtoken", ROTATED_TOKEN);
    // The bound itself is what is tested: after a second, every node sends the new token.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rotated = Instant::now();
    for node in [&b, &c] {
        assert_eq!(names(&get(node, "/api/v1/notifiers").await), ["wh"], "{node} keeps its notifier");
        assert_eq!(names(&get(node, "/api/event").await), ["on_ship"], "{node} keeps its event handler");
    }
    let http = vigil_connectors::http_client();
    for node in [&b, &c] {
        let page = http.get(format!("{node}/ui/monitors/beat")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("payments/") && page.contains("<b>pay</b>"), "{node}: the folder and its team: {page}");
        let page = http.get(format!("{node}/status/public")).send().await.unwrap();
        assert_eq!(page.status(), 200, "{node} serves the published status page");
        let html = page.text().await.unwrap();
        assert!(html.contains(">Website<") && html.contains("Major outage"), "{node}: the web monitor is down: {html}");
    }
    let shipped = http.post(format!("{b}/api/workflow/ship")).json(&json!({})).send().await.unwrap();
    let shipped = shipped.text().await.unwrap().trim_matches('"').to_string();
    wait_until(20, "the published event handler completes the EVENT task", async || {
        let wf = get(&b, &format!("/api/workflow/{shipped}")).await;
        wf["status"] == "COMPLETED" && wf["tasks"][0]["outputData"]["by"] == "on_ship"
    })
    .await;
    psql_run(disks(10));
    let after_rotation = notices(ROTATED_TOKEN, rotated);
    wait_until(30, "every resolve after the rotation carries the new token", async || {
        mentions(&after_rotation(), "host-") >= HOSTS
    })
    .await;

    // A worker polling node C completes a task that an instance started on node B scheduled.
    let start = async || -> String {
        let started: Value = http
            .post(format!("{b}/api/v1/workflows/work/instances"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        started["id"].as_str().expect("an instance id").to_string()
    };
    let poll = async |node: &str, worker: &str| -> Value {
        let url = format!("{node}/api/tasks/poll/batch/crunch?workerid={worker}&count=1&timeout=15000");
        let polled: Value = http.get(url).send().await.unwrap().json().await.unwrap();
        polled.as_array().and_then(|t| t.first()).cloned().unwrap_or(Value::Null)
    };
    let complete = async |node: &str, task: &Value, worker: &str| {
        let result = json!({"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"],
            "status": "COMPLETED", "outputData": {"by": worker}});
        let done = http.post(format!("{node}/api/tasks")).json(&result).send().await.unwrap();
        assert_eq!(done.status().as_u16(), 200, "{}", done.text().await.unwrap_or_default());
    };
    let completed_by = async |id: &str, worker: &str| {
        wait_until(20, "the instance completes with the worker's output", async || {
            let s = get(&b, &format!("/api/v1/instances/{id}")).await;
            s["runtimeStatus"] == "Completed" && s["output"]["by"] == worker
        })
        .await;
    };
    let first = start().await;
    let task = poll(&c, "w1").await;
    assert_eq!(task["workflowInstanceId"], first.as_str(), "node C hands out node B's task: {task}");
    complete(&c, &task, "w1").await;
    completed_by(&first, "w1").await;

    // The node that handed a task out dies with its lease: the instance's owner (B, which lives
    // on) still times the quiet worker out (responseTimeoutSeconds: 2), and the task goes to
    // another worker.
    let b_port = b.rsplit(':').next().unwrap().to_string();
    let owners: std::collections::HashMap<u32, String> =
        store.leases().await.unwrap().into_iter().filter_map(|l| Some((l.part, l.owner?))).collect();
    let mut second = start().await;
    while !owners.get(&vigil_store::partition_of(&second)).is_some_and(|o| o.ends_with(&format!(":{b_port}"))) {
        // Another node's instance: ended, so its task is not offered.
        let url = format!("{b}/api/v1/instances/{second}/terminate?reason=not-on-b");
        assert!(http.post(url).send().await.unwrap().status().is_success());
        second = start().await;
    }
    let lost = poll(&c, "w-lost").await;
    assert_eq!(lost["workflowInstanceId"], second.as_str());
    drop(_c);
    let again = poll(&b, "w2").await;
    assert_eq!(again["workflowInstanceId"], second.as_str(), "the task is handed out again: {again}");
    complete(&b, &again, "w2").await;
    completed_by(&second, "w2").await;

    store.close().await;
    drop(_b);
    pg.drop_now().await;
    data.drop_now().await;
}
