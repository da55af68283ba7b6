//! Engine tests: the runtime around the interpreter, on a real SQLite file.

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_store::InstanceStore;

use serde_json::{Value, json};
use vigil_core::def::WorkflowSet;
use vigil_core::def::build::build_workflow;
use vigil_core::instance::{TaskStatus, WorkflowStatus};
use vigil_core::script::ScriptLimits;
use vigil_runtime::{Engine, EngineConfig, SecretValues, StartRequest, SystemClock};
use vigil_store::SqliteStore;

/// Counted as in the `vigil` binary, so jq's memory limit holds here too.
#[global_allocator]
static ALLOCATOR: vigil_core::memory::CountingAllocator = vigil_core::memory::COUNTING_SYSTEM;

fn set(docs: &[Value]) -> WorkflowSet {
    let mut set = WorkflowSet::default();
    for doc in docs {
        let (def, problems) = build_workflow(doc);
        set.insert(def.unwrap_or_else(|| panic!("{problems:?}")));
    }
    set
}

async fn engine(workflows: WorkflowSet, dir: &tempfile::TempDir) -> Engine {
    let store = Arc::new(SqliteStore::open(&dir.path().join("e.db")).await.unwrap());
    let config = EngineConfig {
        shards: 2,
        script_limits: ScriptLimits { time: Duration::from_millis(500), memory_bytes: 32 << 20 },
        ..EngineConfig::default()
    };
    Engine::start(store, Arc::new(SystemClock), config, workflows, SecretValues::default()).await.unwrap()
}

fn inline(name: &str, expression: &str) -> Value {
    json!({"name": name, "taskReferenceName": name, "type": "INLINE", "inputParameters": {"evaluatorType": "javascript", "i": "${workflow.input.i}", "expression": expression}})
}

fn start(engine: &Engine, name: &str, input: Value) -> String {
    engine.start_instance(StartRequest { name: name.into(), input, ..StartRequest::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_script_fails_its_task_while_other_instances_complete() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "spin", "tasks": [inline("loop", "while(true){}")]}),
        json!({"name": "quick", "tasks": [inline("add", "$.i + 1")]}),
    ]);
    let engine = engine(workflows, &dir).await;
    let started = Instant::now();
    let spinner = start(&engine, "spin", json!({}));
    let quick: Vec<String> = (0..50).map(|i| start(&engine, "quick", json!({"i": i}))).collect();
    for (i, id) in quick.iter().enumerate() {
        let done = engine.wait(id).await.unwrap();
        assert_eq!(done.status, WorkflowStatus::Completed);
        assert_eq!(done.output, json!({"result": i + 1}));
    }
    let spun = engine.wait(&spinner).await.unwrap();
    assert_eq!(spun.status, WorkflowStatus::Failed);
    assert!(spun.tasks[0].reason_for_incompletion.as_deref().unwrap().contains("longer than"));
    assert!(started.elapsed() < Duration::from_secs(20));
    engine.shutdown().await;
}

/// Issue 10 item 9: eight `while (true)` scripts on two shards held every other instance until
/// they were stopped (a trivial start waited 7.7 s). Now a script past the step's budget finishes
/// on an evaluation thread: the trivial instance is durable and done while the scripts still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_scripts_do_not_hold_up_starts_or_other_instances() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "spin", "tasks": [inline("loop", "while(true){}")]}),
        json!({"name": "jqspin", "tasks": [jq("loop", "def f: f; f")]}),
        json!({"name": "quick", "tasks": [inline("add", "$.i + 1"), jq("copy", ".")]}),
    ]);
    let engine = engine(workflows, &dir).await;
    let mut spinners: Vec<String> = Vec::new();
    for n in 0..8 {
        let name = if n % 2 == 0 { "spin" } else { "jqspin" };
        spinners
            .push(engine.start_durable(StartRequest { name: name.into(), ..StartRequest::default() }).await.unwrap());
    }
    let quick = engine
        .start_durable(StartRequest { name: "quick".into(), input: json!({"i": 1}), ..StartRequest::default() })
        .await
        .unwrap();
    let done = engine.wait(&quick).await.unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    // Each spinner needs the full 500 ms limit on one of the two evaluation threads: at most two
    // can have ended by now (before, all eight had, since the quick start queued behind them).
    let mut ended = 0;
    for id in &spinners {
        let state = engine.store().instance(id).await.unwrap().unwrap();
        ended += usize::from(state.status.is_terminal());
    }
    assert!(ended <= 2, "{ended} of 8 long scripts ended before a trivial instance did");
    for id in &spinners {
        let spun = engine.wait(id).await.unwrap();
        assert_eq!(spun.status, WorkflowStatus::Failed);
        assert!(spun.tasks[0].reason_for_incompletion.as_deref().unwrap().contains("500ms"), "{:?}", spun.tasks[0]);
    }
    engine.shutdown().await;
}

/// A script handed to an evaluation thread when vigil stops is evaluated again after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_off_script_runs_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let slow = "var t = Date.now(); while (Date.now() - t < 100) {} $.i * 2";
    let workflows = || set(&[json!({"name": "slow", "tasks": [inline("work", slow)]})]);
    let engine1 = engine(workflows(), &dir).await;
    let id = engine1
        .start_durable(StartRequest { name: "slow".into(), input: json!({"i": 21}), ..StartRequest::default() })
        .await
        .unwrap();
    engine1.shutdown().await;
    let stored = engine1.store().instance(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, WorkflowStatus::Running, "the script was still on its evaluation thread");
    assert_eq!(stored.tasks[0].status, TaskStatus::InProgress);
    drop(engine1);
    let engine2 = engine(workflows(), &dir).await;
    let done = engine2.wait(&id).await.unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed, "{done:?} (stored before: {:?})", stored.status);
    assert_eq!(done.output, json!({"result": 42}));
    engine2.shutdown().await;
}

fn jq(name: &str, query: &str) -> Value {
    json!({"name": name, "taskReferenceName": name, "type": "JSON_JQ_TRANSFORM", "inputParameters": {"queryExpression": query}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_jq_programs_fail_their_tasks_and_the_engine_survives_them() {
    let dir = tempfile::tempdir().unwrap();
    let bombs = [
        ("recurse", "def f: f; f", "longer than"),
        // Memory or time, whichever runs out first on this machine.
        ("range", "[range(1000000000)] | length", "memory|longer than"),
        ("repeat", "[limit(100000000; repeat(1))] | length", "memory|longer than"),
        ("repeat_string", r#""x" * 100000000000"#, "string repetition"),
        ("halt", "halt", "halt"),
        ("deep", "def f: 1 + f; f", "recursed too deeply"),
    ];
    let mut docs: Vec<Value> = bombs.iter().map(|(name, q, _)| json!({"name": name, "tasks": [jq("j", q)]})).collect();
    docs.push(json!({"name": "quick", "tasks": [inline("add", "$.i + 1")]}));
    let engine = engine(set(&docs), &dir).await;
    let ids: Vec<String> = bombs.iter().map(|(name, ..)| start(&engine, name, json!({}))).collect();
    let quick: Vec<String> = (0..20).map(|i| start(&engine, "quick", json!({"i": i}))).collect();
    for id in &quick {
        assert_eq!(engine.wait(id).await.unwrap().status, WorkflowStatus::Completed);
    }
    for ((name, _, reason), id) in bombs.iter().zip(&ids) {
        let done = engine.wait(id).await.unwrap();
        assert_eq!(done.status, WorkflowStatus::Failed, "{name}");
        let why = done.tasks[0].reason_for_incompletion.clone().unwrap_or_default();
        assert!(reason.split('|').any(|r| why.contains(r)), "{name}: {why}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_workflow_cycle_stops_at_the_depth_limit() {
    // Definitions that skipped validation (the loader refuses static cycles): `again` starts itself.
    let dir = tempfile::tempdir().unwrap();
    let doc = json!({"name": "again", "tasks": [{"name": "s", "taskReferenceName": "s", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "again"}}]});
    let engine = engine(set(&[doc]), &dir).await;
    let id = start(&engine, "again", json!({}));
    let done = engine.wait(&id).await.unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    let store = engine.store();
    let filter = vigil_store::InstanceFilter { limit: 1000, ..Default::default() };
    let all = store.list_instances(&filter).await.unwrap();
    assert_eq!(all.len(), 1 + vigil_core::def::cycles::MAX_SUB_WORKFLOW_DEPTH as usize, "one per level, then it stops");
    let (mut at, mut levels) = (id.clone(), 0);
    loop {
        let inst = store.instance(&at).await.unwrap().unwrap();
        match inst.tasks[0].sub_workflow_id.clone() {
            Some(child) => (at, levels) = (child, levels + 1),
            None => {
                let why = inst.tasks[0].reason_for_incompletion.clone().unwrap_or_default();
                assert!(why.contains("deeper than 32 levels"), "{why}");
                break;
            }
        }
    }
    assert_eq!(levels, 32);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_workflow_runs_as_a_child_instance() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "child", "tasks": [inline("double", "$.i * 2")], "outputParameters": {"doubled": "${double.output.result}"}}),
        json!({"name": "parent", "tasks": [
            {"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "child"}, "inputParameters": {"i": "${workflow.input.i}"}}
        ], "outputParameters": {"got": "${c.output.doubled}", "child": "${c.output.subWorkflowId}"}}),
    ]);
    let engine = engine(workflows, &dir).await;
    let id = start(&engine, "parent", json!({"i": 21}));
    let done = engine.wait(&id).await.unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed, "{:?}", done.reason_for_incompletion);
    assert_eq!(done.output["got"], json!(42));
    let child_id = done.output["child"].as_str().unwrap().to_string();
    let child = engine.store().instance(&child_id).await.unwrap().unwrap();
    assert_eq!(child.parent.unwrap().workflow_id, id);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_workflow_starts_with_the_failed_instance_details() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "on_failure", "tasks": [inline("note", "'noted'")]}),
        json!({"name": "fragile", "failureWorkflow": "on_failure", "tasks": [inline("boom", "throw new Error('bad data')")]}),
    ]);
    let engine = engine(workflows, &dir).await;
    let id = start(&engine, "fragile", json!({"i": 1}));
    let failed = engine.wait(&id).await.unwrap();
    assert_eq!(failed.status, WorkflowStatus::Failed);
    let handler = engine.wait(&format!("{id}.failure")).await.unwrap();
    assert_eq!(handler.input["workflowId"], json!(id));
    assert_eq!(handler.input["failureStatus"], json!("FAILED"));
    assert!(handler.input["reason"].as_str().unwrap().contains("bad data"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_or_huge_http_body_fails_the_task_at_the_cap() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await.unwrap_or(0);
                if String::from_utf8_lossy(&buf[..n]).contains("/declared") {
                    let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 20000000000\r\n\r\n").await;
                    return;
                }
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
                let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, "x".repeat(1 << 20));
                while sock.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let call = |name: &str, path: &str| {
        json!({"name": name, "tasks": [{"name": "h", "taskReferenceName": "h", "type": "HTTP",
        "inputParameters": {"http_request": {"uri": format!("http://{addr}/{path}"), "readTimeOut": 60000}}}]})
    };
    let engine = engine(set(&[call("endless", "endless"), call("declared", "declared")]), &dir).await;
    for name in ["endless", "declared"] {
        let done = engine.wait(&start(&engine, name, json!({}))).await.unwrap();
        assert_eq!(done.status, WorkflowStatus::Failed, "{name}");
        let reason = done.tasks[0].reason_for_incompletion.clone().unwrap_or_default();
        assert!(reason.contains("larger than 10485760 bytes"), "{name}: {reason}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_task_timeout_retries_then_fails_and_unreachable_endpoint_is_named() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(sock);
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "hang", "tasks": [{"name": "h", "taskReferenceName": "h", "type": "HTTP", "retryCount": 1,
            "inputParameters": {"http_request": {"uri": format!("http://{addr}/slow"), "readTimeOut": 300}}}]}),
        json!({"name": "refused", "tasks": [{"name": "r", "taskReferenceName": "r", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": "http://127.0.0.1:9/nothing"}}}]}),
    ]);
    let engine = engine(workflows, &dir).await;
    let hang = engine.wait(&start(&engine, "hang", json!({}))).await.unwrap();
    assert_eq!(hang.status, WorkflowStatus::Failed);
    assert_eq!(hang.tasks.len(), 2, "one retry");
    assert!(hang.tasks.iter().all(|t| t.status == TaskStatus::Failed));
    assert!(hang.tasks[1].reason_for_incompletion.as_deref().unwrap().contains("timed out"));
    let refused = engine.wait(&start(&engine, "refused", json!({}))).await.unwrap();
    assert_eq!(refused.status, WorkflowStatus::Failed);
    let reason = refused.reason_for_incompletion.unwrap();
    assert!(reason.contains("http://127.0.0.1:9/nothing") && reason.contains("failed"), "{reason}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_instances_commit_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(set(&[json!({"name": "quick", "tasks": [inline("add", "$.i + 1")]})]), &dir).await;
    let ids: Vec<String> = (0..2_000).map(|i| start(&engine, "quick", json!({"i": i}))).collect();
    let last = engine.wait(ids.last().unwrap()).await.unwrap();
    assert_eq!(last.output, json!({"result": 2000}));
    while engine.finished_count() < 2_000 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    engine.shutdown().await;
    let store = SqliteStore::open(&dir.path().join("e.db")).await.unwrap();
    let done = store.instance(&ids[1234]).await.unwrap().unwrap();
    assert_eq!(done.output, json!({"result": 1235}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_started_and_cancelled_in_one_step_ends_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[
        json!({"name": "sleeper", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 hour"}}]}),
        json!({"name": "racer", "tasks": [{"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "sleeper"}}],
            [{"name": "t", "taskReferenceName": "t", "type": "TERMINATE", "inputParameters": {"terminationStatus": "TERMINATED"}}]
        ]}]}),
    ]);
    let engine = engine(workflows, &dir).await;
    let id = start(&engine, "racer", json!({}));
    assert_eq!(engine.wait(&id).await.unwrap().status, WorkflowStatus::Terminated);
    let child = engine.wait(&format!("{id}.2")).await.unwrap();
    assert_eq!(child.status, WorkflowStatus::Terminated, "the child does not outlive its parent");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_workflow_of_an_undefined_workflow_fails_the_task_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[json!({"name": "orphan", "tasks": [
        {"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "nowhere"}}
    ]})]);
    let engine = engine(workflows, &dir).await;
    let done = engine.wait(&start(&engine, "orphan", json!({}))).await.unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    let reason = done.reason_for_incompletion.unwrap();
    assert!(
        reason.starts_with("Task ")
            && reason.ends_with("failed with status: FAILED and reason: 'workflow `nowhere` is not defined'"),
        "Conductor's form, naming the task and its reason: {reason}"
    );
    engine.shutdown().await;
}

fn every_second(name: &str, workflow: &str, extra: Value) -> vigil_core::schedule::ScheduleDef {
    let mut doc = json!({"name": name, "cronExpression": "* * * * * *", "zoneId": "UTC", "startWorkflowRequest": {"name": workflow}});
    doc.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (def, problems) = vigil_core::schedule::ScheduleDef::build(&doc);
    def.unwrap_or_else(|| panic!("{problems:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_skip_never_runs_two_instances_and_paused_schedules_never_fire() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[json!({"name": "slow", "tasks": [
        {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "2500ms"}}
    ]})]);
    let engine = engine(workflows, &dir).await;
    let skip = every_second("skipper", "slow", json!({"overlapPolicy": "SKIP"}));
    let paused = every_second("sleeping", "slow", json!({"paused": true}));
    engine.run_schedules(vec![skip, paused]).await.unwrap();
    // The schedules run for 4.5 s of real time: what fired, ran or was skipped in it is counted.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let store = engine.store();
    let fires = store.fires("skipper", 100).await.unwrap();
    let started: Vec<_> = fires.iter().filter(|f| f.status == vigil_store::FireStatus::Started).collect();
    let skipped = fires.iter().filter(|f| f.status == vigil_store::FireStatus::Skipped).count();
    assert!(!started.is_empty() && skipped >= 2, "fires: {fires:?}");
    let mut spans = Vec::new();
    for f in &started {
        let i = store.instance(&f.instance_id).await.unwrap().unwrap();
        spans.push((i.create_time, i.end_time.unwrap_or(i64::MAX)));
    }
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "instances overlapped: {spans:?}");
    }
    assert!(store.fires("sleeping", 10).await.unwrap().is_empty(), "a paused schedule does not fire");
    engine.shutdown().await;
}

/// Issue 10 item 14: under overload the scheduler claims only what may run (`max_running_fires`);
/// due fires wait in its heap instead of queueing as instances in memory, and it catches up by
/// itself when load drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_runs_at_most_the_limit_and_recovers_when_load_drops() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = set(&[json!({"name": "slow", "tasks": [
        {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1500ms"}}
    ]})]);
    let store = Arc::new(SqliteStore::open(&dir.path().join("e.db")).await.unwrap());
    let config = EngineConfig { shards: 2, max_running_fires: 3, ..EngineConfig::default() };
    let engine = Engine::start(store, Arc::new(SystemClock), config, workflows, SecretValues::default()).await.unwrap();
    let names: Vec<String> = (0..8).map(|n| format!("s{n}")).collect();
    engine.run_schedules(names.iter().map(|n| every_second(n, "slow", json!({}))).collect()).await.unwrap();
    let mut most = 0;
    for _ in 0..40 {
        most = most.max(engine.running_fires());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Load drops: one schedule is left.
    for n in &names[1..] {
        assert!(engine.schedule_command(vigil_runtime::scheduler::SchedulerCmd::Pause(n.clone(), true)));
    }
    let dropped_at = engine.now();
    let started = Instant::now();
    while engine.running_fires() > 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "the backlog never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = engine.store();
    let mut later = 0;
    while later == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "s0 stopped firing");
        tokio::time::sleep(Duration::from_millis(200)).await;
        later = store.fires("s0", 200).await.unwrap().iter().filter(|f| f.scheduled_at > dropped_at).count();
    }
    engine.shutdown().await;

    // Every started instance's lifetime: never more than 3 at once.
    let mut edges = Vec::new();
    for name in &names {
        for fire in store.fires(name, 200).await.unwrap() {
            if let Some(i) = store.instance(&fire.instance_id).await.unwrap() {
                edges.push((i.create_time, 1));
                edges.push((i.end_time.unwrap_or(i64::MAX), -1));
            }
        }
    }
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, d) in &edges {
        now += d;
        peak = peak.max(now);
    }
    assert!(peak <= 3 && most <= 3, "{peak} instances ran at once (sampled {most}); the limit is 3");
    assert!(edges.len() / 2 >= 6, "some fires ran: {}", edges.len() / 2);
}

/// Monitors are split over as many shards (threads) as their load needs, by name; the handle
/// answers for all of them as one: one sorted listing, ping ids of every shard, a check now where
/// the monitor lives, and a reload that drops monitors from every shard. When a reload changes
/// the number of shards in use, the monitors move with what they remember (here a probe's last
/// check, which a monitor made anew would not have for an hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_split_over_shards_answer_as_one_and_move_as_the_load_changes() {
    use vigil_core::monitor::MonitorDef;
    use vigil_core::monitor::expect::PingKind;
    use vigil_runtime::pings::Ping;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("e.db")).await.unwrap());
    // Three threads; each shard takes one check a second.
    let config = EngineConfig { monitor_threads: 3, monitor_checks_per_shard: 1, ..EngineConfig::default() };
    let engine = Engine::start(store, Arc::new(SystemClock), config, WorkflowSet::default(), SecretValues::default())
        .await
        .unwrap();
    let build = |doc: Value| {
        let (def, problems) = MonitorDef::build(&doc);
        def.unwrap_or_else(|| panic!("{problems:?}"))
    };
    // A probe that moves when three shards are in use (it is on the first when one is).
    let probe = (0..).map(|i| format!("probe{i}")).find(|n| vigil_store::partition_of(n) % 3 == 2).unwrap();
    // `heartbeats` heartbeats (no checks), the hourly probe, and `load` monitors a second (a port
    // nobody listens on: each check fails at once).
    let defs = |heartbeats: usize, load: usize| -> Vec<MonitorDef> {
        let beats =
            (0..heartbeats).map(|i| json!({"name": format!("hb{i:02}"), "every": "1h", "heartbeat": {"grace": "1h"}}));
        let source = json!({"http": {"url": "http://127.0.0.1:9/"}});
        let busy = (0..load).map(|i| json!({"name": format!("load{i}"), "every": "1s", "source": source}));
        let probe = json!({"name": probe, "every": "1h", "source": source});
        beats.chain(busy).chain([probe]).map(build).collect()
    };
    let listed_when = |want: usize| {
        let engine = engine.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let listed = engine.monitors().await;
                if listed.len() == want
                    && listed.iter().filter(|m| m.name.starts_with("hb")).all(|m| m.ping_id.is_some())
                {
                    return listed;
                }
                assert!(Instant::now() < deadline, "{} of {want} monitors listed with ping ids", listed.len());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    engine.set_monitors(defs(12, 1));
    let listed = listed_when(14).await;
    let names: Vec<&str> = listed.iter().filter(|m| m.name.starts_with("hb")).map(|m| m.name.as_str()).collect();
    let sorted: Vec<String> = (0..12).map(|i| format!("hb{i:02}")).collect();
    assert_eq!(names, sorted.iter().map(String::as_str).collect::<Vec<_>>());
    let ping = || Ping { kind: PingKind::Success, exit_code: None, rid: None, body: None, origin: Default::default() };
    let pings_reach_their_monitors = |listed: Vec<vigil_runtime::monitors::MonitorStatus>| {
        let engine = engine.clone();
        async move {
            for m in listed.iter().filter(|m| m.name.starts_with("hb")) {
                let id = m.ping_id.as_deref().unwrap();
                assert_eq!(engine.ping(id, ping()).await.ok().as_deref(), Some(m.name.as_str()), "{id}");
            }
        }
    };
    pings_reach_their_monitors(listed.clone()).await;
    let checked = engine.check_monitor(&probe).await.expect("the probe runs");
    let probed = checked.last_check.expect("checked now");

    // Three checks a second: three shards. The probe moves to the third and keeps its last check.
    engine.set_monitors(defs(12, 3));
    let spread = listed_when(16).await;
    let moved = spread.iter().find(|m| m.name == probe).unwrap();
    assert_eq!(moved.last_check, Some(probed), "the probe moved without its memory: {moved:?}");
    for (before, after) in listed.iter().zip(spread.iter().filter(|m| m.name.starts_with("hb"))) {
        assert_eq!((&before.name, &before.ping_id), (&after.name, &after.ping_id));
    }
    pings_reach_their_monitors(spread).await;
    assert_eq!(engine.check_monitor("hb07").await.expect("hb07 runs").name, "hb07");
    assert!(engine.check_monitor("nope").await.is_none());

    // Back to one shard, with fewer monitors: the probe moves back, dropped monitors are gone.
    engine.set_monitors(defs(4, 0));
    let listed_after = listed_when(5).await;
    assert_eq!(listed_after.iter().find(|m| m.name == probe).unwrap().last_check, Some(probed));
    let gone = listed[7].ping_id.as_deref().unwrap();
    assert!(engine.ping(gone, ping()).await.is_err(), "a dropped heartbeat's ping id is refused");
    assert!(engine.monitor("hb09").await.is_none());
    assert!(engine.monitor("load0").await.is_none());
    pings_reach_their_monitors(listed_after).await;
}

/// Conductor's contract: a task a worker has polled reads IN_PROGRESS at once (the SDKs read it
/// right after the poll), so the poll answers only once the instance has committed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_task_reads_in_progress_as_soon_as_the_poll_answers() {
    let dir = tempfile::tempdir().unwrap();
    let simple = json!({"name": "work", "taskReferenceName": "work", "type": "SIMPLE"});
    let engine = engine(set(&[json!({"name": "polled", "tasks": [simple]})]), &dir).await;
    for round in 0..20 {
        let id = start(&engine, "polled", json!({"round": round}));
        let leased = engine.work_queue().poll("work", 1, Duration::from_secs(10), "w1").await;
        assert_eq!(leased.len(), 1, "round {round}: the task was offered");
        let stored = engine.store().instance(&id).await.unwrap().unwrap();
        let task = stored.tasks.iter().find(|t| t.task_type == "SIMPLE").expect("the SIMPLE task");
        assert_eq!(task.status, TaskStatus::InProgress, "round {round}: read right after the poll");
    }
    engine.shutdown().await;
}

/// An event's instance (`start_once`) runs once: a second start of its id, whether at the same
/// moment or after the first run ended and left memory, only waits for it. (A start that came
/// after a look-up had found nothing, while the first run ended meanwhile, used to run it again.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_once_is_not_started_again_after_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(set(&[json!({"name": "quick", "tasks": [inline("add", "1 + 1")]})]), &dir).await;
    let req = |id: &str| StartRequest {
        name: "quick".into(),
        input: json!({}),
        id: Some(id.into()),
        ..StartRequest::default()
    };
    let ids: Vec<String> = (0..20).map(|n| format!("event-{n}")).collect();
    for id in &ids {
        let (x, y) = tokio::join!(engine.start_once(req(id)), engine.start_once(req(id)));
        assert_eq!((x.unwrap(), y.unwrap()), (id.clone(), id.clone()));
    }
    let mut first = Vec::new();
    for id in &ids {
        let done = engine.wait(id).await.unwrap();
        assert_eq!(done.status, WorkflowStatus::Completed);
        first.push(done.create_time);
    }
    // Every run ended and left memory: a start now would be a new run, with a later start time
    // (the clock must move on by a few milliseconds for that to show).
    tokio::time::sleep(Duration::from_millis(20)).await;
    for id in &ids {
        engine.start_once(req(id)).await.unwrap();
    }
    let store = engine.store();
    for (id, started) in ids.iter().zip(first) {
        let now = store.instance(id).await.unwrap().unwrap();
        assert_eq!((now.status, now.create_time), (WorkflowStatus::Completed, started), "{id} ran again");
    }
    engine.shutdown().await;
}
