//! Monitor sources against real servers: InfluxDB 1.x (Debian `influxdb`), Prometheus (Debian
//! `prometheus`), and the machine's PostgreSQL and MariaDB, asked by `vigil check`, and seed 003's
//! scenario through `vigil serve` on InfluxDB, Prometheus and PostgreSQL. Skipped with a message
//! when a server is not installed, unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

async fn wait_ready(url: &str, what: &str) {
    let client = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(url).send().await.map(|r| !r.status().is_success()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "{what} did not become ready at {url}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn write_monitor(config: &std::path::Path, name: &str, text: &str) {
    std::fs::create_dir_all(config.join("monitors")).unwrap();
    std::fs::write(config.join(format!("monitors/{name}.yaml")), text).unwrap();
}

/// Starts InfluxDB 1.x in `dir` on a free port with database `telegraf`; its base URL.
async fn start_influx(dir: &std::path::Path) -> Option<(KillOnDrop, String)> {
    let influxd = service_binary(&["/usr/bin/influxd"], "InfluxDB 1.x (Debian `influxdb`)")?;
    let (port, rpc) = (free_port(), free_port());
    let conf = dir.join("influxdb.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n[meta]\n  dir = \"{d}/meta\"\n[data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n[http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n"
        ),
    )
    .unwrap();
    let child = KillOnDrop(
        Command::new(influxd).arg("-config").arg(&conf).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/ping"), "InfluxDB").await;
    let created = vigil_connectors::http_client()
        .post(format!("{base}/query?q=CREATE%20DATABASE%20telegraf"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    Some((child, base))
}

/// Writes `usage_user` points for `hosts` now.
async fn write_cpu(base: &str, hosts: &[(&str, f64)]) {
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let lines =
        hosts.iter().map(|(host, v)| format!("cpu,host={host} usage_user={v} {now_ns}")).collect::<Vec<_>>().join("\n");
    let wrote =
        vigil_connectors::http_client().post(format!("{base}/write?db=telegraf")).body(lines).send().await.unwrap();
    assert_eq!(wrote.status().as_u16(), 204, "{:?}", wrote.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxdb_1x_series_become_tiers_per_host() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_influx, base)) = start_influx(dir.path()).await else { return };
    write_cpu(&base, &[("web1", 40.0), ("web2", 85.5), ("db1", 97.25)]).await;

    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_monitor(
        &config,
        "cpu",
        &format!(
            "name: cpu-load\nevery: 10s\nsource:\n  influxdb:\n    url: {base}\n    database: telegraf\n    query: 'SELECT last(\"usage_user\") AS \"usage\" FROM \"cpu\" WHERE time > now() - 5m GROUP BY \"host\"'\nvalue: usage\nwarning: \"> 80\"\ncritical: \"> 95\"\nnotify: []\n"
        ),
    );
    let (code, out) = check_async(&db, &config, "cpu-load").await;
    assert_eq!(code, 2, "{out}");
    for line in ["{host=web1}  value 40  ok", "{host=web2}  value 85.5  warning", "{host=db1}  value 97.25  critical"] {
        assert!(out.contains(line), "{line} in {out}");
    }

    // A statement error inside a 200 answer is a source error: "unknown", not a tier.
    write_monitor(
        &config,
        "cpu",
        &format!(
            "name: cpu-load\nevery: 10s\nsource:\n  influxdb:\n    url: {base}\n    database: nosuchdb\n    query: SELECT 1 FROM cpu\ncritical: \"> 95\"\nnotify: []\n"
        ),
    );
    let (code, out) = check_async(&db, &config, "cpu-load").await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("source error: influxdb: database not found: nosuchdb"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_vector_elements_become_tiers_per_label_set() {
    // A scrape target the test serves.
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            "# TYPE queue_depth gauge\nqueue_depth{queue=\"mail\"} 3\nqueue_depth{queue=\"billing\"} 120\nqueue_depth{queue=\"search\"} 900\n"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let Some((_prom, base)) = start_prometheus(dir.path(), target).await else { return };
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    write_monitor(
        &config,
        "queues",
        &format!(
            "name: queues\nevery: 30s\nsource:\n  prometheus:\n    url: {base}\n    query: queue_depth\nwarning: \"> 100\"\ncritical: \"> 500\"\nnotify: []\n"
        ),
    );
    // Until the first scrape lands the answer is empty (no data).
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let (code, out) = check_async(&db, &config, "queues").await;
        if out.contains("queue=search") {
            assert_eq!(code, 2, "{out}");
            break out;
        }
        assert!(Instant::now() < deadline, "Prometheus never had the series: {out}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for line in ["queue=mail}  value 3  ok", "queue=billing}  value 120  warning", "queue=search}  value 900  critical"]
    {
        assert!(out.contains(line), "{line} in {out}");
    }
    assert!(out.contains("instance="), "Prometheus' own labels become alert labels: {out}");
}

/// The hosts' CPU values in each phase of the seed-003 scenario: web2 crosses warning, then
/// critical, then clears; db1 is critical, then drops out of the results; web1 stays ok.
fn hosts_in(phase: usize) -> &'static [(&'static str, f64)] {
    match phase {
        0 => &[("web1", 40.0), ("web2", 85.0), ("db1", 99.0)],
        1 => &[("web1", 40.0), ("web2", 97.0)],
        _ => &[("web1", 40.0), ("web2", 10.0)],
    }
}

/// Seed 003 through `vigil serve`: a monitor on `source` (YAML under `source:`) every second,
/// alerting to a Lark receiver that checks every signature. `set_phase` makes the source answer
/// [`hosts_in`] for a phase. The receiver must get exactly one message per change per host:
/// web2 firing, now critical, resolved; db1 firing, resolved (no longer in the answer).
async fn seed_003_scenario<F, Fut>(dir: &std::path::Path, source: &str, value: &str, mut set_phase: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    const SECRET: &str = "lark-signing-secret";
    let lark = Recorder::start(|r| {
        let ts: i64 = r.body["timestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
        if r.body["sign"].as_str() != Some(vigil_connectors::notifiers::lark::sign(ts, SECRET).as_str()) {
            return Reply::json(serde_json::json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}));
        }
        Reply::json(serde_json::json!({"code": 0, "msg": "success"}))
    })
    .await;
    let db = dir.join("vigil.db");
    set_secret(&db, "lark_secret", SECRET);
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("notifiers")).unwrap();
    std::fs::write(
        config.join("notifiers/lark.yaml"),
        format!("name: lark\ntype: lark\nurl: {}/open-apis/bot/v2/hook/x\nsecret: ${{workflow.secrets.lark_secret}}\nmessage_type: text\n", lark.url),
    )
    .unwrap();
    write_monitor(
        &config,
        "cpu",
        &format!(
            "name: cpu-load\nevery: 1s\nsource:\n{source}\nvalue: {value}\nwarning: \"> 80\"\ncritical: \"> 95\"\nnotify: [lark]\nsummary: \"CPU on ${{labels.host}} at ${{value}}%\"\ndedupKey: cpu/${{labels.host}}\nrepeatInterval: never\n"
        ),
    );
    let check = run(&db, &["validate", config.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    set_phase(0).await;
    let _vigil = KillOnDrop(serve(&db, &config, &[]));

    let texts = |lark: &Recorder| -> Vec<String> {
        lark.to("/open-apis")
            .iter()
            .map(|r| r.body["content"]["text"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let wait_for = |lark: &Recorder, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let want = want.to_string();
        let lark = lark.clone();
        async move {
            while !texts(&lark).iter().any(|t| t.contains(&want)) {
                assert!(Instant::now() < deadline, "no `{want}` message: {:?}", texts(&lark));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(&lark, "[FIRING] CPU on web2 at 85%").await;
    wait_for(&lark, "[FIRING] CPU on db1 at 99%").await;
    set_phase(1).await;
    wait_for(&lark, "[NOW CRITICAL] CPU on web2 at 97%").await;
    wait_for(&lark, "[RESOLVED] CPU on db1 at 99% (no longer in the answer)").await;
    set_phase(2).await;
    wait_for(&lark, "[RESOLVED] CPU on web2 at 10%").await;
    // Quiet for a few more checks: nothing else arrives.
    let told = texts(&lark).len();
    stays(Duration::from_secs(3), "nothing else arrives", async || texts(&lark).len() == told).await;
    let all = texts(&lark);
    let count = |host: &str| all.iter().filter(|t| t.contains(&format!("CPU on {host} "))).count();
    assert_eq!((count("web2"), count("db1"), count("web1")), (3, 2, 0), "{all:#?}");
    assert!(lark.to("/open-apis").iter().all(|r| r.body["sign"].is_string()), "every message is signed");
}

/// Seed 003 on a real InfluxDB 1.x: a writer keeps fresh points coming for the phase's hosts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_influx_to_lark_one_message_per_change_per_host() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_influx, base)) = start_influx(dir.path()).await else { return };
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (phase, base) = (phase.clone(), base.clone());
        tokio::spawn(async move {
            loop {
                write_cpu(&base, hosts_in(phase.load(std::sync::atomic::Ordering::SeqCst))).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let source = format!(
        "  influxdb:\n    url: {base}\n    database: telegraf\n    query: 'SELECT last(\"usage_user\") AS \"usage\" FROM \"cpu\" WHERE time > now() - 3s GROUP BY \"host\"'"
    );
    seed_003_scenario(dir.path(), &source, "usage", |p| {
        phase.store(p, std::sync::atomic::Ordering::SeqCst);
        async {}
    })
    .await;
    writer.abort();
}

/// Starts Prometheus scraping `target` every second; its base URL.
async fn start_prometheus(dir: &std::path::Path, target: std::net::SocketAddr) -> Option<(KillOnDrop, String)> {
    let prometheus = service_binary(&["/usr/bin/prometheus"], "Prometheus (Debian `prometheus`)")?;
    let port = free_port();
    let conf = dir.join("prometheus.yml");
    std::fs::write(
        &conf,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .unwrap();
    let child = KillOnDrop(
        Command::new(prometheus)
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/-/ready"), "Prometheus").await;
    Some((child, base))
}

/// Seed 003 on a real Prometheus scraping a target the test serves; a host that leaves the
/// scrape goes stale and drops out of the instant query's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_on_prometheus_one_message_per_change_per_host() {
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get({
            let phase = phase.clone();
            move || async move {
                let mut text = String::from("# TYPE cpu_usage gauge\n");
                for (host, v) in hosts_in(phase.load(std::sync::atomic::Ordering::SeqCst)) {
                    text.push_str(&format!("cpu_usage{{host=\"{host}\"}} {v}\n"));
                }
                text
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let Some((_prom, base)) = start_prometheus(dir.path(), target).await else { return };
    // Wait for the first scrape, so the monitor's first answers are not empty.
    let client = vigil_connectors::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer: serde_json::Value =
            client.get(format!("{base}/api/v1/query?query=cpu_usage")).send().await.unwrap().json().await.unwrap();
        if answer["data"]["result"].as_array().is_some_and(|r| r.len() == 3) {
            break;
        }
        assert!(Instant::now() < deadline, "Prometheus never scraped the target: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let source = format!("  prometheus:\n    url: {base}\n    query: cpu_usage");
    // An instant vector's sample is its one field, `value`.
    seed_003_scenario(dir.path(), &source, "value", |p| {
        phase.store(p, std::sync::atomic::Ordering::SeqCst);
        async {}
    })
    .await;
}

/// Seed 003 on the machine's PostgreSQL: each phase rewrites the table the SQL monitor reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_on_postgresql_one_message_per_change_per_host() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_seed003_sql").await else { return };
    let Some(psql) = service_binary(&["/usr/bin/psql"], "the PostgreSQL client (psql)") else { return };
    let psql_run = |sql: String| {
        let out = Command::new(&psql).arg(&pg.url).args(["-v", "ON_ERROR_STOP=1", "-c"]).arg(sql).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    psql_run("CREATE TABLE cpu (host text PRIMARY KEY, usage double precision)".into());
    let dir = tempfile::tempdir().unwrap();
    let source = format!("  sql:\n    url: '{}'\n    query: SELECT host, usage FROM cpu ORDER BY host", pg.url);
    seed_003_scenario(dir.path(), &source, "usage", |p| {
        let rows: Vec<String> = hosts_in(p).iter().map(|(h, v)| format!("('{h}', {v})")).collect();
        psql_run(format!("BEGIN; DELETE FROM cpu; INSERT INTO cpu VALUES {}; COMMIT", rows.join(", ")));
        async {}
    })
    .await;
    pg.drop_now().await;
}

fn sql_monitor(config: &std::path::Path, url: &str, query: &str) {
    write_monitor(
        config,
        "db",
        &format!(
            "name: db-check\nevery: 1m\nsource:\n  sql:\n    url: '{url}'\n    query: '{query}'\nvalue: used\nwarning: \"> 80\"\ncritical: \"> 95\"\nnotify: []\n"
        ),
    );
}

/// The SQL source on the machine's PostgreSQL: `avg()` answers `numeric` and still reads; the
/// session is read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_on_postgresql_reads_numeric_rows_as_series_and_cannot_write() {
    let Some(pg) = vigil_store::testing::fresh_postgres("vigil_sql_source").await else { return };
    let Some(psql) = service_binary(&["/usr/bin/psql"], "the PostgreSQL client (psql)") else { return };
    let made = Command::new(psql)
        .arg(&pg.url)
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg("CREATE TABLE disk (host text, used numeric(5,2)); INSERT INTO disk VALUES ('web1', 40), ('web2', 85.5), ('db1', 97), ('db1', 99)")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), dir.path().join("config"));
    sql_monitor(&config, &pg.url, "SELECT host, avg(used) AS used FROM disk GROUP BY host ORDER BY host");
    let (code, out) = check_async(&db, &config, "db-check").await;
    assert_eq!(code, 2, "{out}");
    for line in ["{host=web1}  value 40  ok", "{host=web2}  value 85.5  warning", "{host=db1}  value 98  critical"] {
        assert!(out.contains(line), "{line} in {out}");
    }
    // A data-changing CTE is one reading statement to the text check: the read-only transaction
    // the query runs in refuses it.
    sql_monitor(&config, &pg.url, "WITH d AS (DELETE FROM disk RETURNING 1) SELECT count(*) AS used FROM d");
    let (code, out) = check_async(&db, &config, "db-check").await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("read-only transaction"), "{out}");
    // Issue 31, item 2: what lifted read-only before, each in the same pooled session.
    for attack in [
        "SET TRANSACTION READ WRITE; DELETE FROM disk",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "SELECT set_config(''default_transaction_read_only'', ''off'', false) AS used",
        "SELECT set_config(''transaction_read_only'', ''off'', true) AS used",
        "COMMIT",
        "WITH d AS (DELETE FROM disk RETURNING 1) SELECT count(*) AS used FROM d",
        "SELECT 1 AS used; DELETE FROM disk",
    ] {
        sql_monitor(&config, &pg.url, attack);
        let (_, out) = check_async(&db, &config, "db-check").await;
        sql_monitor(&config, &pg.url, "SELECT count(*) AS used FROM disk");
        let (_, count) = check_async(&db, &config, "db-check").await;
        assert!(count.contains("value 4 "), "after `{attack}` ({out}): {count}");
    }
    pg.drop_now().await;
}

/// The SQL source on the machine's MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_on_mariadb_reads_rows_as_series() {
    let Some(client) = service_binary(&["/usr/bin/mariadb", "/usr/bin/mysql"], "the MariaDB client") else { return };
    let table = format!("vigil_disk_{}", std::process::id());
    let made = Command::new(&client)
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-e"])
        .arg(format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (host VARCHAR(20), used DECIMAL(5,2)); INSERT INTO {table} VALUES ('web1', 40), ('web2', 85.5), ('db1', 97.25)"
        ))
        .output()
        .unwrap();
    if !mariadb_reached(&made) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), dir.path().join("config"));
    sql_monitor(&config, "mysql://root@127.0.0.1:3306/test", &format!("SELECT host, used FROM {table} ORDER BY host"));
    let (code, out) = check_async(&db, &config, "db-check").await;
    let _ = Command::new(&client)
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-e"])
        .arg(format!("DROP TABLE {table}"))
        .output();
    assert_eq!(code, 2, "{out}");
    for line in ["{host=web1}  value 40  ok", "{host=web2}  value 85.5  warning", "{host=db1}  value 97.25  critical"] {
        assert!(out.contains(line), "{line} in {out}");
    }
}

/// Issue 31, item 2 on MariaDB: nothing a query says lifts read-only, in the same pooled session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_on_mariadb_cannot_write_whatever_the_query_says() {
    let Some(client) = service_binary(&["/usr/bin/mariadb", "/usr/bin/mysql"], "the MariaDB client") else { return };
    let table = format!("vigil_ro_{}", std::process::id());
    let made = Command::new(&client)
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-e"])
        .arg(format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (used INT); INSERT INTO {table} VALUES (1), (2)"
        ))
        .output()
        .unwrap();
    if !mariadb_reached(&made) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("vigil.db"), dir.path().join("config"));
    let url = "mysql://root@127.0.0.1:3306/test";
    let mut outcomes = Vec::new();
    for attack in [
        format!("SET TRANSACTION READ WRITE; DELETE FROM {table}"),
        "SET SESSION TRANSACTION READ WRITE".to_string(),
        format!("DELETE FROM {table}"),
        format!("SELECT 1 AS used; DELETE FROM {table}"),
        "COMMIT".to_string(),
    ] {
        sql_monitor(&config, url, &attack);
        let (_, out) = check_async(&db, &config, "db-check").await;
        sql_monitor(&config, url, &format!("SELECT count(*) AS used FROM {table}"));
        let (_, count) = check_async(&db, &config, "db-check").await;
        outcomes.push((attack, out, count));
    }
    let _ = Command::new(&client)
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-e"])
        .arg(format!("DROP TABLE {table}"))
        .output();
    for (attack, out, count) in outcomes {
        assert!(count.contains("value 2 "), "after `{attack}` ({out}): {count}");
    }
}
