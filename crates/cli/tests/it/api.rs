//! The seed 002 flow through `vigil serve`'s HTTP API with plain HTTP calls, exactly as the
//! Durable Functions monitor sample's README shows: start with {job_id, polling_interval_seconds,
//! timeout_seconds}, poll the status and see customStatus, get the final output.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

/// Starts the job-monitor example against a job-status endpoint that says Running `running` times,
/// then Completed; returns the final status and every customStatus seen while it ran.
async fn monitor(running: usize, timeout_seconds: u64) -> (Value, Vec<Value>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let jobs = Recorder::start(move |r| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let status = if n < running { "Running" } else { "Completed" };
        let job = r.path.rsplit('/').next().unwrap_or_default().to_string();
        Reply::json(json!({"job_id": job, "status": status, "progress_percent": 25 * n}))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (child, base) =
        serve_api(&dir.path().join("v.db"), &root().join("examples/job-monitor"), free_port(), &[]).await;
    let http = vigil_connectors::http_client();
    let input = json!({
        "job_id": "job-uuid-12345", "polling_interval_seconds": 1, "timeout_seconds": timeout_seconds,
        "status_url": format!("{}/api/job_status", jobs.url),
    });
    let res = http.post(format!("{base}/api/v1/workflows/monitor_job/instances")).json(&input).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let uris: Value = res.json().await.unwrap();
    let status_uri = uris["statusQueryGetUri"].as_str().unwrap().to_string();
    assert!(status_uri.starts_with(&base), "{status_uri}");

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        let res = http.get(&status_uri).send().await.unwrap();
        let code = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if code == 200 {
            break body;
        }
        assert_eq!((code, body["runtimeStatus"].clone()), (202, json!("Running")), "{body}");
        assert_eq!(body["input"]["job_id"], json!("job-uuid-12345"));
        if !body["customStatus"].is_null() && seen.last() != Some(&body["customStatus"]) {
            seen.push(body["customStatus"].clone());
        }
        assert!(Instant::now() < deadline, "still running: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop(child);
    (last, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_job_completes_with_custom_status_along_the_way() {
    let (last, seen) = monitor(2, 30).await;
    assert_eq!(last["runtimeStatus"], json!("Completed"), "{last}");
    let out = &last["output"];
    assert_eq!(
        (out["job_id"].clone(), out["final_status"].clone(), out["checks_performed"].clone()),
        (json!("job-uuid-12345"), json!("Completed"), json!(3))
    );
    let duration = out["monitoring_duration_seconds"].as_f64().unwrap();
    assert!((1.5..30.0).contains(&duration), "two 1 s waits: {duration}");
    assert!(!seen.is_empty(), "customStatus was visible while the job ran");
    for status in &seen {
        assert_eq!(status["job_id"], json!("job-uuid-12345"));
        assert!(status["check_count"].as_u64().is_some_and(|n| n >= 1), "{status}");
        let at = status["last_check_time"].as_str().unwrap();
        assert!(at.parse::<jiff::Timestamp>().is_ok(), "RFC 3339: {at}");
    }
    assert_eq!(last["customStatus"]["status"], json!("Completed"));
    assert!(last["createdTime"].as_str().unwrap() <= last["lastUpdatedTime"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_job_times_out() {
    let (last, _) = monitor(usize::MAX, 2).await;
    assert_eq!(last["runtimeStatus"], json!("Completed"), "{last}");
    assert_eq!(last["output"]["final_status"], json!("Timeout"));
    assert!(last["output"]["checks_performed"].as_u64().unwrap() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_the_cli_guard_the_api_and_revoking_one_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let bad = run(&db, &["token", "create", "--role", "root"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("read, respond, write or admin"));
    let out = run(&db, &["token", "create", "--role", "read", "--name", "grafana"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("vgl_"), "{token}");
    let listed = String::from_utf8(run(&db, &["token", "list"]).stdout).unwrap();
    let id = token.split('_').nth(1).unwrap();
    assert!(listed.contains(id) && listed.contains("grafana") && listed.contains("read"), "{listed}");
    assert!(!listed.contains(token.split('_').nth(2).unwrap()), "the secret is never listed");

    let (child, base) = serve_api(&db, &root().join("examples/job-monitor"), free_port(), &["--auth", "on"]).await;
    let http = vigil_connectors::http_client();
    let get = |t: Option<String>| {
        let mut req = http.get(format!("{base}/api/v1/instances"));
        if let Some(t) = t {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 401);
    assert_eq!(get(Some(token.clone())).await, 200);
    let start =
        http.post(format!("{base}/api/v1/workflows/monitor_job/instances")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(start.status().as_u16(), 403, "a read token cannot start");
    assert!(run(&db, &["token", "revoke", id]).status.success());
    assert!(!run(&db, &["token", "revoke", id]).status.success(), "revoking twice is an error");
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(Some(token.clone())).await != 401 {
        assert!(Instant::now() < deadline, "the revoked token still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_and_status_read_a_remote_server_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let token = token(&db, "write");
    let (child, base) = serve_api(&db, &root().join("examples/job-monitor"), free_port(), &["--auth", "on"]).await;
    let http = vigil_connectors::http_client();
    let input = json!({"job_id": "remote-1", "polling_interval_seconds": 1, "timeout_seconds": 1, "status_url": "http://127.0.0.1:9/none"});
    let res = http
        .post(format!("{base}/api/v1/workflows/monitor_job/instances?instanceId=remote-1"))
        .bearer_auth(&token)
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    // Another database path: the commands must not read it, only the server.
    let elsewhere = dir.path().join("elsewhere.db");
    let listed = run_async(
        elsewhere.clone(),
        vec!["instances".into(), "--server".into(), base.clone(), "--token".into(), token.clone()],
    )
    .await;
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success() && listed_text.contains("remote-1") && listed_text.contains("monitor_job v1"),
        "{listed_text}"
    );
    let status = run_async(
        elsewhere.clone(),
        vec!["status".into(), "remote-1".into(), "--server".into(), base.clone(), "--token".into(), token.clone()],
    )
    .await;
    let status_text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && status_text.contains("remote-1 (monitor_job v1)") && status_text.contains("started"),
        "{status_text}"
    );
    let refused = run_async(elsewhere, vec!["status".into(), "remote-1".into(), "--server".into(), base.clone()]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unauthorized"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    stop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (child, base) =
        serve_api(&dir.path().join("v.db"), &root().join("examples/quickstart"), free_port(), &[]).await;
    let _child = KillOnDrop(child);
    let addr = base.strip_prefix("http://").unwrap().to_string();
    // Slowloris: half a request line, then nothing.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = std::time::Instant::now();
    // The server answers others meanwhile, on a keep-alive connection.
    let mut kept = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    kept.write_all(healthz).await.unwrap();
    assert!(read_answer(&mut kept).await.starts_with("HTTP/1.1 200"));
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 30 s");
    let answer = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "cut off only after the header timeout");
    // The kept connection idled as long as the trickler, and is still served: the header timeout
    // counts from a request's first byte, not from the last answer.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    kept.write_all(healthz).await.unwrap();
    assert!(read_answer(&mut kept).await.starts_with("HTTP/1.1 200"), "an idle keep-alive connection was closed");
}

/// Reads one HTTP/1.1 answer with a `content-length` from `stream`.
async fn read_answer(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed after {:?}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8_lossy(&body)
}
