//! The shipped examples, run end to end by the real binary against local servers.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

/// `vigil run WORKFLOW --config examples/EXAMPLE --input INPUT`, off the async runtime.
async fn run_example(db: &std::path::Path, workflow: &str, example_dir: &str, input: &Value) -> std::process::Output {
    let args = vec![
        "run".into(),
        workflow.into(),
        "--config".into(),
        example(example_dir),
        "--input".into(),
        input.to_string(),
    ];
    run_async(db.to_path_buf(), args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_alert_pages_only_when_the_search_finds_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    set_secret(&db, "conductor_token", "tok-s3cret");
    let server = Recorder::start(|r| match r.path.as_str() {
        "/api/workflow/search" if r.query.get("query").is_some_and(|q| q.contains("sample_tracker_workflow")) => {
            Reply::json(json!({"totalHits": 2, "results": [{"workflowId": "w1"}, {"workflowId": "w2"}]}))
        }
        "/quiet/search" => Reply::json(json!({"totalHits": 0, "results": []})),
        "/v2/enqueue" => {
            Reply { status: 202, body: json!({"status": "success", "dedup_key": "x"}), delay: Duration::ZERO }
        }
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let slot: i64 = 1_767_225_600_000;
    let input = json!({"search_url": format!("{}/api/workflow/search", server.url), "alert_url": format!("{}/v2/enqueue", server.url), "_scheduledTime": slot});
    let out = run_example(&db, "failure_alert", "failure-alert", &input).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let output = stdout_json(&out);
    assert_eq!(output["hits"], json!(2));
    assert_eq!(output["decision"], json!("alert"));
    assert_eq!(output["window"], json!({"startTime": slot - 600_000, "endTime": slot}));

    let searches = server.to("/api/workflow/search");
    assert_eq!(searches.len(), 1);
    let query = &searches[0].query["query"];
    assert!(
        query.contains(&format!("startTime%3E{}", slot - 600_000)) && query.contains(&format!("startTime%3C{slot}")),
        "{query}"
    );
    assert_eq!(searches[0].headers["x-authorization"], "tok-s3cret", "the secret reaches the endpoint");
    let pages = server.to("/v2/enqueue");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].body["event_action"], json!("trigger"));
    assert_eq!(pages[0].body["dedup_key"], json!("failure_alert/sample_tracker_workflow"));
    assert_eq!(pages[0].body["payload"]["severity"], json!("critical"));
    assert_eq!(
        pages[0].body["payload"]["summary"],
        json!("2 failed runs of sample_tracker_workflow in the last 10 minutes")
    );

    let quiet = json!({"search_url": format!("{}/quiet/search", server.url), "alert_url": format!("{}/v2/enqueue", server.url), "_scheduledTime": slot});
    let out = run_example(&db, "failure_alert", "failure-alert", &quiet).await;
    assert!(out.status.success());
    assert_eq!(stdout_json(&out)["decision"], json!("quiet"));
    assert_eq!(server.to("/v2/enqueue").len(), 1, "no page when nothing failed");

    let listed = String::from_utf8(run(&db, &["instances"]).stdout).unwrap();
    let id = listed.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let state = String::from_utf8(run(&db, &["status", &id, "--json"]).stdout).unwrap();
    assert!(!state.contains("tok-s3cret"), "the secret never reaches instance history");
    assert!(state.contains("\"X-Authorization\": \"***\""));
}

fn stargazers(page: usize, per_page: usize, total: usize) -> Value {
    let start = (page - 1) * per_page;
    let n = total.saturating_sub(start).min(per_page);
    Value::Array(
        (start..start + n)
            .map(|i| {
                let at = if i % 2 == 0 { "2030-01-01T00:00:00Z" } else { "2000-01-01T00:00:00Z" };
                json!({"starred_at": at, "user": {"login": format!("user{i}"), "html_url": format!("https://github.com/user{i}"), "id": i}})
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_etl_pages_until_a_short_page_and_uploads_each_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    set_secret(&db, "gh_token", "ghp_example");
    set_secret(&db, "orbit_apikey", "orbit_example");
    let server = Recorder::start(|r| {
        if r.path == "/repos/netflix/conductor/stargazers" {
            let page: usize = r.query["page"].parse().unwrap();
            let per_page: usize = r.query["per_page"].parse().unwrap();
            Reply::json(stargazers(page, per_page, 237))
        } else {
            Reply::json(json!({"ok": true}))
        }
    })
    .await;
    let input = json!({"gh_api": server.url, "orbit_api": server.url});
    let out = run_example(&db, "github_stars_to_orbit", "github-etl", &input).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout_json(&out)["pages"], json!(3));

    let gets = server.to("/repos/");
    let pages: Vec<&str> = gets.iter().map(|r| r.query["page"].as_str()).collect();
    assert_eq!(pages, ["1", "2", "3"]);
    assert!(gets.iter().all(|r| r.query["per_page"] == "100" && r.headers["authorization"] == "token ghp_example"));
    assert_eq!(gets[0].headers["accept"], "application/vnd.github.star+json");

    let uploads = server.to("/oss-stats/activities/bulk");
    assert_eq!(uploads.len(), 3);
    let sizes: Vec<usize> = uploads.iter().map(|u| u.body["activities"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [50, 50, 19], "only stars newer than the cutoff are uploaded");
    assert_eq!(uploads[0].headers["authorization"], "Bearer orbit_example");
    assert_eq!(
        uploads[0].body["activities"][0],
        json!({"activity": {"activity_type_key": "starredConductor", "title": "Starred the repository", "occurred_at": "2030-01-01T00:00:00Z", "member": {"github": "user0"}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_monitor_polls_until_completed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let server = Recorder::start(move |r| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let status = if n >= 3 { "Completed" } else { "Running" };
        Reply::json(json!({"job_id": r.path.rsplit('/').next(), "status": status, "progress_percent": n * 33}))
    })
    .await;
    let input = json!({"job_id": "job-42", "polling_interval_seconds": 1, "timeout_seconds": 30, "status_url": format!("{}/api/job_status", server.url)});
    let out = run_example(&db, "monitor_job", "job-monitor", &input).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let output = stdout_json(&out);
    assert_eq!(output["job_id"], json!("job-42"));
    assert_eq!(output["final_status"], json!("Completed"));
    assert_eq!(output["checks_performed"], json!(3));
    let secs = output["monitoring_duration_seconds"].as_f64().unwrap();
    assert!((1.5..30.0).contains(&secs), "two 1 s waits happened: {secs}");
    let paths: Vec<String> = server.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/api/job_status/job-42"; 3]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pause__1") && stderr.contains("WAIT"), "progress lines name each task: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_monitor_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let server = Recorder::start(|_| Reply::json(json!({"status": "Running"}))).await;
    let input = json!({"job_id": "slow", "polling_interval_seconds": 1, "timeout_seconds": 2, "status_url": format!("{}/api/job_status", server.url)});
    let out = run_example(&db, "monitor_job", "job-monitor", &input).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let output = stdout_json(&out);
    assert_eq!(output["final_status"], json!("Timeout"));
    assert!(output["checks_performed"].as_u64().unwrap() >= 2);
}

/// Every shipped example with monitors passes its own `tests:` blocks (`vigil test`), offline.
#[test]
fn example_monitor_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let mut tested = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if !path.join("monitors").is_dir() {
            continue;
        }
        let out = run(&db, &["test", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {text}", path.display());
        assert!(text.contains(" passed, 0 failed") && !text.contains("without tests"), "{text}");
        tested += 1;
    }
    assert!(tested >= 1, "no example has monitors");
}

/// `examples/rotating-token`: the schedule refreshes the API token twice while the alert workflow
/// keeps paging with it. Each check uses a token the API still accepts, the incident stays one,
/// and no token is ever stored or logged in the clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_token_rotates_twice_while_alerts_flow() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    const CLIENT_SECRET: &str = "client-s3cret-77";
    let issued = Arc::new(Mutex::new(vec!["tok0-5d1e9c3a7b".to_string()]));
    let rejected = Arc::new(AtomicUsize::new(0));
    let (tokens, refused) = (issued.clone(), rejected.clone());
    let server = Recorder::start(move |r| match r.path.as_str() {
        "/oauth/token" if r.text.contains(&format!("client_secret={CLIENT_SECRET}")) => {
            let mut tokens = tokens.lock().unwrap();
            let token = format!("tok{}-5d1e9c3a7b", tokens.len());
            tokens.push(token.clone());
            Reply::json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
        }
        "/oauth/token" => Reply { status: 401, body: json!({"error": "invalid_client"}), delay: Duration::ZERO },
        "/api/jobs/failed" => {
            // The newest token, or the one before it: a rotated token stays valid until it expires.
            let tokens = tokens.lock().unwrap();
            let auth = r.headers.get("authorization").cloned().unwrap_or_default();
            if tokens.iter().rev().take(2).any(|t| auth == format!("Bearer {t}")) {
                Reply::json(json!({"count": 2}))
            } else {
                refused.fetch_add(1, Ordering::SeqCst);
                Reply { status: 401, body: json!({"error": "invalid_token"}), delay: Duration::ZERO }
            }
        }
        "/v2/enqueue" => Reply { status: 202, body: json!({"status": "success"}), delay: Duration::ZERO },
        _ => Reply { status: 404, body: json!({}), delay: Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = dir.path().join("config");
    // The shipped example, pointed at the local servers and run faster: a refresh every 3 s, a
    // check every second.
    for sub in ["workflows", "schedules", "notifiers"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
        for entry in std::fs::read_dir(root().join("examples/rotating-token").join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("http://127.0.0.1:8089", &server.url)
                .replace("\"0 0/30 * * * *\"", "\"*/3 * * * * *\"")
                .replace("\"0 * * * * *\"", "\"* * * * * *\"");
            std::fs::write(config.join(sub).join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let notifier = config.join("notifiers/oncall.yaml");
    let text = std::fs::read_to_string(&notifier).unwrap() + &format!("url: {}/v2/enqueue\n", server.url);
    std::fs::write(&notifier, text).unwrap();
    set_secret(&db, "auth_client_secret", CLIENT_SECRET);
    set_secret(&db, "pd_routing_key", "0123456789abcdef0123456789abcdef");
    set_secret(&db, "api_token", "tok0-5d1e9c3a7b");

    let port = free_port();
    let log = dir.path().join("serve.log");
    let child = KillOnDrop(
        vigil(&db)
            .args(["serve", "--config", config.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "debug")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("serve.err")).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let used = |token: &str| {
        let auth = format!("Bearer {token}");
        server.to("/api/jobs/failed").iter().position(|r| r.headers.get("authorization") == Some(&auth))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while used("tok2-5d1e9c3a7b").is_none() {
        assert!(std::time::Instant::now() < deadline, "the second rotation never reached the checks");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let api = vigil_connectors::http_client();
    let listed: Value =
        api.get(format!("{base}/api/v1/instances?name=refresh_token")).send().await.unwrap().json().await.unwrap();
    let done = listed["instances"].as_array().unwrap().iter().find(|i| i["runtimeStatus"] == json!("Completed"));
    let done = done.unwrap_or_else(|| panic!("no completed refresh in {listed}"))["instanceId"].as_str().unwrap();
    let url = format!("{base}/api/v1/instances/{done}?showHistory=true");
    let refresh: Value = api.get(url).send().await.unwrap().json().await.unwrap();
    drop(child);

    let firsts: Vec<usize> = (0..3).map(|n| used(&format!("tok{n}-5d1e9c3a7b")).unwrap()).collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "the checks moved to each new token in turn: {firsts:?}");
    assert_eq!(rejected.load(Ordering::SeqCst), 0, "no check used an expired token");
    let pages: Vec<Value> = server.to("/v2/enqueue").into_iter().map(|r| r.body).collect();
    assert!(!pages.is_empty(), "the failing jobs paged");
    assert!(pages.iter().all(|p| p["dedup_key"] == pages[0]["dedup_key"]), "one incident across the rotations");
    assert_eq!(pages.iter().filter(|p| p["event_action"] == json!("trigger")).count(), 1, "paged once: {pages:?}");

    let shown = refresh.to_string();
    assert!(shown.contains("***"), "{shown}");
    let mut stored = std::fs::read(&db).unwrap();
    stored.extend(std::fs::read(dir.path().join("vigil.db-wal")).unwrap_or_default());
    stored.extend(std::fs::read(&log).unwrap());
    stored.extend(std::fs::read(dir.path().join("serve.err")).unwrap());
    for token in issued.lock().unwrap().iter().chain([&CLIENT_SECRET.to_string()]) {
        assert!(!shown.contains(token.as_str()), "{token} in the API's answer: {shown}");
        assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()), "{token} stored or logged");
    }
}
