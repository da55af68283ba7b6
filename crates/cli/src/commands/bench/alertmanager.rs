//! `vigil bench alertmanager`: vigil beside Prometheus' Alertmanager (Debian's
//! `prometheus-alertmanager`, 0.25), each a process of its own with the same `alertmanager.yml`,
//! driven over HTTP by the same client in interleaved rounds:
//!
//! - alerts accepted per second through `POST /api/v2/alerts`, in batches of 64 as Prometheus
//!   sends them (vigil answers once every alert is committed; Alertmanager holds them in memory);
//! - resident memory with every alert active, and what it grew by per 100,000 alerts;
//! - the time from a push to its webhook notification with `group_wait: 0`, p50 and p99;
//! - the whole cost of loading: the server's CPU time per 1,000 alerts and the bytes it wrote
//!   to storage per alert (vigil on PostgreSQL writes through the database server: its bytes
//!   are not counted, its processes' CPU is, on a line of its own when PostgreSQL is local).
//!
//! vigil runs on SQLite, and on PostgreSQL too with `--postgres`.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The HTTP client.
type Http = vigil_connectors::reqwest::Client;

/// What to run.
#[derive(clap::Args)]
pub struct Plan {
    /// Active alerts loaded into each (in rounds), for throughput and memory.
    #[arg(long, default_value_t = 100_000)]
    pub alerts: usize,
    /// Rounds the loading is split into, taking turns.
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
    /// Concurrent senders during loading.
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Alerts pushed one by one for the latency, per system.
    #[arg(long, default_value_t = 300)]
    pub latency_alerts: usize,
    /// Alertmanager's binary.
    #[arg(long, default_value = "/usr/bin/prometheus-alertmanager")]
    pub alertmanager: String,
    /// A PostgreSQL server to run vigil on too (a database there to connect to).
    #[arg(long)]
    pub postgres: Option<String>,
}

/// One system under test.
struct Contender {
    name: String,
    base: String,
    child: Child,
    /// Where its webhook notifications arrive (the receiver's path).
    hook: String,
    baseline_mb: f64,
    accepted: usize,
    pushing: Duration,
    latencies: Vec<f64>,
    /// The server's CPU seconds and bytes written while loading.
    cpu: f64,
    written: u64,
    /// The database server's CPU seconds while loading (PostgreSQL's processes).
    server_cpu: f64,
}

impl Drop for Contender {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// When each alert (by its `id` label) reached each hook.
type Seen = Arc<Mutex<HashMap<(String, String), Instant>>>;

async fn receiver(seen: Seen) -> Result<String> {
    use axum::extract::{Path, State};
    let app = axum::Router::new()
        .route(
            "/{hook}",
            axum::routing::post(
                |State(seen): State<Seen>, Path(hook): Path<String>, axum::Json(body): axum::Json<Value>| async move {
                    let now = Instant::now();
                    let mut seen = seen.lock().expect("lock");
                    for a in body["alerts"].as_array().into_iter().flatten() {
                        if let Some(id) = a["labels"]["id"].as_str() {
                            seen.entry((hook.clone(), id.to_string())).or_insert(now);
                        }
                    }
                    "ok"
                },
            ),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

fn config(hooks: &str, hook: &str) -> String {
    // Loading: grouped by alertname (1,000 names), told once a minute at most. Latency: each
    // `Latency` alert its own group, told at once.
    format!(
        "global:\n  resolve_timeout: 1h\nroute:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1m\n  group_interval: 1m\n  repeat_interval: 4h\n  \
         routes:\n  - matchers: [kind=\"latency\"]\n    group_by: ['...']\n    group_wait: 0s\n    group_interval: 1m\n\
         receivers:\n- name: hook\n  webhook_configs:\n  - url: '{hooks}/{hook}'\n"
    )
}

fn rss_mb(pid: u32) -> f64 {
    super::measure::rss_mb_of(&pid.to_string())
}

async fn until_ready(http: &Http, url: &str, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{url}: the process ended ({status})");
        }
        if Instant::now() > deadline {
            bail!("{url} did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_alertmanager(plan: &Plan, dir: &std::path::Path, hooks: &str, http: &Http) -> Result<Contender> {
    let port = free_port()?;
    std::fs::write(dir.join("am.yml"), config(hooks, "alertmanager"))?;
    let mut command = Command::new(&plan.alertmanager);
    crate::allocator::huge_pages_as_the_system_says(&mut command);
    let mut child = command
        .arg(format!("--config.file={}", dir.join("am.yml").display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", plan.alertmanager))?;
    let base = format!("http://127.0.0.1:{port}");
    until_ready(http, &format!("{base}/-/ready"), &mut child).await?;
    let version = Command::new(&plan.alertmanager).arg("--version").output()?;
    let version = String::from_utf8_lossy(&version.stdout).lines().next().unwrap_or_default().to_string();
    let name = version.split_whitespace().nth(2).map_or("Alertmanager".into(), |v| format!("Alertmanager {v}"));
    Ok(contender(name, base, child, "alertmanager"))
}

async fn start_vigil(name: &str, db: &str, dir: &std::path::Path, hooks: &str, http: &Http) -> Result<Contender> {
    let port = free_port()?;
    let hook = name.replace(' ', "-").to_lowercase();
    let config = dir.join(format!("config-{hook}"));
    std::fs::create_dir_all(&config)?;
    std::fs::write(config.join("alertmanager.yml"), self::config(hooks, &hook))?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["serve", "--config", config.to_str().unwrap_or_default(), "--listen", &format!("127.0.0.1:{port}")])
        .env("VIGIL_DB", db)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    until_ready(http, &format!("{base}/readyz"), &mut child).await?;
    Ok(contender(name.to_string(), base, child, &hook))
}

fn contender(name: String, base: String, child: Child, hook: &str) -> Contender {
    let baseline_mb = rss_mb(child.id());
    Contender {
        name,
        base,
        child,
        hook: hook.to_string(),
        baseline_mb,
        accepted: 0,
        pushing: Duration::ZERO,
        latencies: Vec::new(),
        cpu: 0.0,
        written: 0,
        server_cpu: 0.0,
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Alerts `from..to` as Prometheus posts them.
fn batch(from: usize, to: usize) -> Value {
    let alerts: Vec<Value> = (from..to)
        .map(|i| {
            json!({"labels": {"alertname": format!("Load{}", i % 1_000), "instance": format!("host-{i}:9100"),
                "job": "node", "severity": "warning", "id": format!("load-{i}")},
                "annotations": {"summary": format!("host-{i} is loaded"), "runbook": "https://runbooks.example/load"},
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up"})
        })
        .collect();
    Value::Array(alerts)
}

/// Pushes alerts `from..to` to `c` in batches of 64 from `senders` tasks; how long that took.
async fn load(http: &Http, c: &mut Contender, from: usize, to: usize, senders: usize) -> Result<Duration> {
    let url = format!("{}/api/v2/alerts", c.base);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(from));
    let pid = c.child.id();
    let (cpu, written) = (super::measure::cpu_seconds_of(pid), super::measure::write_bytes_of(&pid.to_string()));
    let on_postgres = c.name.contains("PostgreSQL");
    let server_cpu = if on_postgres { super::measure::processes_cpu_seconds("postgres") } else { 0.0 };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..senders.max(1) {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let start = next.fetch_add(64, std::sync::atomic::Ordering::Relaxed);
                if start >= to {
                    return Ok::<(), anyhow::Error>(());
                }
                let answer = http.post(&url).json(&batch(start, (start + 64).min(to))).send().await?;
                if !answer.status().is_success() {
                    bail!("{url}: {}", answer.status());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed();
    c.pushing += took;
    c.accepted += to - from;
    // Settled writes (a WAL checkpoint, the page cache) count where they land: a moment later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.cpu += super::measure::cpu_seconds_of(pid) - cpu;
    c.written += super::measure::write_bytes_of(&pid.to_string()).saturating_sub(written);
    if on_postgres {
        c.server_cpu += super::measure::processes_cpu_seconds("postgres") - server_cpu;
    }
    Ok(took)
}

/// Runs the benchmark and prints its figures.
pub async fn run(plan: Plan) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let seen: Seen = Arc::default();
    let hooks = receiver(seen.clone()).await?;
    let http = vigil_connectors::http_client();
    let mut contenders = vec![start_alertmanager(&plan, dir.path(), &hooks, &http).await?];
    let sqlite = dir.path().join("vigil.db");
    contenders.push(start_vigil("vigil SQLite", sqlite.to_str().unwrap_or_default(), dir.path(), &hooks, &http).await?);
    let pg = match &plan.postgres {
        Some(server) => {
            let db = vigil_store::postgres::scratch::create_database(server, "vigil_bench_am")
                .await
                .map_err(anyhow::Error::msg)?;
            contenders.push(start_vigil("vigil PostgreSQL", &db.url, dir.path(), &hooks, &http).await?);
            Some(db)
        }
        None => None,
    };
    crate::output::outln!(
        "{} active alerts each, in {} rounds of batches of 64 from {} senders; {} alerts one by one for the latency",
        plan.alerts,
        plan.rounds,
        plan.senders,
        plan.latency_alerts
    );
    // Loading, taking turns round by round (the order turns too).
    let per_round = plan.alerts.div_ceil(plan.rounds.max(1));
    for round in 0..plan.rounds.max(1) {
        let (from, to) = (round * per_round, ((round + 1) * per_round).min(plan.alerts));
        let n = contenders.len();
        for k in 0..n {
            let c = &mut contenders[(round + k) % n];
            let took = load(&http, c, from, to, plan.senders).await?;
            crate::output::outln!(
                "round {}: {:<18} {:>8.0} alerts/s",
                round + 1,
                c.name,
                (to - from) as f64 / took.as_secs_f64()
            );
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let memory: Vec<f64> = contenders.iter().map(|c| rss_mb(c.child.id())).collect();
    // Latency: one alert at a time to each in turn, 20 a second each.
    for i in 0..plan.latency_alerts {
        for c in contenders.iter_mut() {
            let id = format!("lat-{i}");
            let alert = json!([{"labels": {"alertname": format!("Latency{i}"), "kind": "latency", "id": id}}]);
            let sent = Instant::now();
            let answer = http.post(format!("{}/api/v2/alerts", c.base)).json(&alert).send().await?;
            if !answer.status().is_success() {
                bail!("{}: {}", c.name, answer.status());
            }
            let deadline = sent + Duration::from_secs(30);
            loop {
                if let Some(at) = seen.lock().expect("lock").get(&(c.hook.clone(), id.clone())) {
                    c.latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
                    break;
                }
                if Instant::now() > deadline {
                    bail!("{}: alert {id} was not notified within 30 s", c.name);
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    crate::output::outln!(
        "\n{:<20} {:>12} {:>10} {:>14} {:>10} {:>10} {:>12} {:>14}",
        "system",
        "alerts/s",
        "RSS MB",
        "MB/100k alerts",
        "p50 ms",
        "p99 ms",
        "CPU ms/1k",
        "bytes/alert"
    );
    for (c, rss) in contenders.iter_mut().zip(memory) {
        if c.latencies.is_empty() {
            c.latencies.push(f64::NAN);
        }
        c.latencies.sort_by(f64::total_cmp);
        let at = |p: f64| c.latencies[((c.latencies.len() as f64 * p) as usize).min(c.latencies.len() - 1)];
        let written = if c.name.contains("PostgreSQL") {
            "(server)".to_string()
        } else {
            format!("{:.0}", c.written as f64 / c.accepted.max(1) as f64)
        };
        crate::output::outln!(
            "{:<20} {:>12.0} {:>10.0} {:>14.0} {:>10.1} {:>10.1} {:>12.0} {:>14}",
            c.name,
            c.accepted as f64 / c.pushing.as_secs_f64(),
            rss,
            (rss - c.baseline_mb) * 100_000.0 / plan.alerts.max(1) as f64,
            at(0.5),
            at(0.99),
            c.cpu * 1000.0 * 1000.0 / c.accepted.max(1) as f64,
            written
        );
    }
    for c in contenders.iter().filter(|c| c.server_cpu > 0.0) {
        crate::output::outln!(
            "{}: the database server's processes (`postgres` here) took {:.0} CPU ms per 1k alerts more",
            c.name,
            c.server_cpu * 1000.0 * 1000.0 / c.accepted.max(1) as f64
        );
    }
    drop(contenders);
    if let Some(db) = pg {
        db.drop_now().await;
    }
    Ok(())
}
