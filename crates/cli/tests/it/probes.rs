//! The `websocket` and `domain` sources through `vigil run`: a WebSocket echo server from PyPI
//! (`websockets`), plain and over TLS, and a local RDAP registry named by a bootstrap file of the
//! test's (`VIGIL_RDAP_BOOTSTRAP`, as an operator refreshes IANA's). A missing server is skipped
//! with a message, unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::*;

fn skip(why: &str) {
    assert!(!std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1"), "VIGIL_REQUIRE_SERVICES=1 but {why}");
    eprintln!("SKIPPED: {why}");
}

/// Runs one task of `kind` with `input` (and `env`), returning its sample.
async fn probe(dir: &Path, kind: &str, input: Value, env: &[(&str, String)]) -> Value {
    let workflow = dir.join(format!(
        "{kind}-{}.json",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    std::fs::write(
        &workflow,
        json!({"name": "probe", "tasks": [{"name": "probe", "taskReferenceName": "probe", "type": kind, "inputParameters": input}],
               "outputParameters": {"series": "${probe.output.series}"}})
        .to_string(),
    )
    .unwrap();
    let db = dir.join("v.db");
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = vigil(&db);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.args(["run", workflow.to_str().unwrap()]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stdout_json(&out)["series"][0].clone()
}

/// An echo server that greets nothing and answers each message with `echo: <message>`; with a
/// certificate and key, over TLS.
const ECHO: &str = r#"
import asyncio, ssl, sys
from websockets.asyncio.server import serve
port = int(sys.argv[1])
context = None
if len(sys.argv) > 3:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
async def echo(ws):
    async for message in ws:
        await ws.send("echo: " + message)
async def main():
    async with serve(echo, "127.0.0.1", port, ssl=context):
        await asyncio.get_running_loop().create_future()
asyncio.run(main())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_endpoint_answers_plain_and_over_tls() {
    if !Command::new("python3").args(["-c", "import websockets"]).output().is_ok_and(|o| o.status.success()) {
        return skip("python3's websockets is needed (pip install websockets)");
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((key, cert)) = tls::self_signed_certificate(dir.path(), 30) else { return };
    let (_tls_server, tls_port) = tls::python_server(ECHO, &cert, &key).await;
    // The plain server: the same script without a certificate.
    let port = free_port();
    let _plain = KillOnDrop(Command::new("python3").args(["-c", ECHO, &port.to_string()]).spawn().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the echo server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let plain = probe(
        dir.path(),
        "WEBSOCKET_CHECK",
        json!({"url": format!("ws://127.0.0.1:{port}/feed"), "body": "ping",
        "conditions": ["[CONNECTED] == true", "[BODY] == echo: ping"]}),
        &[],
    )
    .await;
    assert_eq!(plain["tier"], "ok", "{plain}");
    let secure = probe(
        dir.path(),
        "WEBSOCKET_CHECK",
        json!({"url": format!("wss://localhost:{tls_port}/"), "body": "héllo",
        "caFile": cert.to_str().unwrap(), "conditions": ["[BODY] == echo: héllo", "[CERTIFICATE_EXPIRATION] > 29d"]}),
        &[],
    )
    .await;
    assert_eq!(secure["tier"], "ok", "{secure}");
    // An HTTP server that does not upgrade: not connected, and why.
    let server = Recorder::start(|_| Reply::json(json!({"not": "a websocket"}))).await;
    let refused =
        probe(dir.path(), "WEBSOCKET_CHECK", json!({"url": server.url.replace("http://", "ws://"), "body": "x"}), &[])
            .await;
    assert_eq!(refused["tier"], "critical");
    assert!(refused["note"].as_str().unwrap().contains("did not upgrade: `HTTP/1.1 200 OK`"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domains_expiry_comes_from_the_registry_the_bootstrap_names() {
    let registry = Recorder::start(|r| match r.path.as_str() {
        "/rdap/domain/example.test" => Reply::json(json!({"objectClassName": "domain", "ldhName": "example.test",
            "events": [{"eventAction": "expiration", "eventDate": "2099-01-01T00:00:00Z"}]})),
        _ => Reply { status: 404, body: json!({"errorCode": 404}), delay: std::time::Duration::ZERO },
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("dns.json");
    std::fs::write(
        &bootstrap,
        json!({"version": "1.0", "publication": "2026-11-27T00:00:00Z",
        "services": [[["test"], [format!("{}/rdap/", registry.url)]]]})
        .to_string(),
    )
    .unwrap();
    let env = [("VIGIL_RDAP_BOOTSTRAP", bootstrap.display().to_string())];
    let sample = probe(
        dir.path(),
        "DOMAIN_CHECK",
        json!({"url": "https://www.example.test/login", "conditions": ["[DOMAIN_EXPIRATION] > 365d"]}),
        &env,
    )
    .await;
    assert_eq!(sample["tier"], "ok", "{sample}");
    assert_eq!(sample["fields"]["body"]["domain"], "example.test");
    let asked: Vec<String> = registry.to("/rdap/").iter().map(|r| r.path.clone()).collect();
    assert_eq!(asked, ["/rdap/domain/www.example.test", "/rdap/domain/example.test"], "the host, then its parent");
    // A bootstrap file that does not read is named where it is set.
    std::fs::write(&bootstrap, "{}").unwrap();
    let workflow = dir.path().join("bad.json");
    std::fs::write(&workflow, json!({"name": "bad", "tasks": [{"name": "d", "taskReferenceName": "d", "type": "DOMAIN_CHECK", "inputParameters": {"url": "example.test"}}]}).to_string()).unwrap();
    let out = vigil(&dir.path().join("v.db"))
        .env("VIGIL_RDAP_BOOTSTRAP", &bootstrap)
        .args(["run", workflow.to_str().unwrap()])
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("VIGIL_RDAP_BOOTSTRAP"), "{said}");
}

/// A gRPC server with the standard health service (`grpcio-health-checking`): the server
/// serving, one service not, with a certificate and key over TLS.
const GRPC: &str = r#"
import sys, time
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
port = int(sys.argv[1])
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
servicer = health.HealthServicer()
servicer.set("", health_pb2.HealthCheckResponse.SERVING)
servicer.set("vigil.Orders", health_pb2.HealthCheckResponse.NOT_SERVING)
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
if len(sys.argv) > 3:
    key, cert = open(sys.argv[3], "rb").read(), open(sys.argv[2], "rb").read()
    server.add_secure_port(f"127.0.0.1:{port}", grpc.ssl_server_credentials([(key, cert)]))
else:
    server.add_insecure_port(f"127.0.0.1:{port}")
server.start()
while True:
    time.sleep(3600)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_server_reports_its_health() {
    if !Command::new("python3").args(["-c", "import grpc_health.v1.health"]).output().is_ok_and(|o| o.status.success())
    {
        return skip("python3's grpcio-health-checking is needed (pip install grpcio-health-checking)");
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((key, cert)) = tls::self_signed_certificate(dir.path(), 30) else { return };
    let (_secure, tls_port) = tls::python_server(GRPC, &cert, &key).await;
    let port = free_port();
    let _plain = KillOnDrop(Command::new("python3").args(["-c", GRPC, &port.to_string()]).spawn().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the gRPC server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let serving = probe(dir.path(), "GRPC_CHECK", json!({"url": format!("grpc://127.0.0.1:{port}")}), &[]).await;
    assert_eq!(
        (serving["tier"].as_str(), &serving["fields"]["body"]),
        (Some("ok"), &json!({"status": "SERVING"})),
        "{serving}"
    );
    let orders = probe(
        dir.path(),
        "GRPC_CHECK",
        json!({"url": format!("grpc://127.0.0.1:{port}"), "service": "vigil.Orders"}),
        &[],
    )
    .await;
    assert_eq!(orders["tier"], "critical");
    assert!(orders["note"].as_str().unwrap().contains("[BODY].status == SERVING (found NOT_SERVING)"), "{orders}");
    let unknown = probe(
        dir.path(),
        "GRPC_CHECK",
        json!({"url": format!("grpc://127.0.0.1:{port}"), "service": "nope",
        "conditions": ["[BODY].status == SERVICE_UNKNOWN", "[CONNECTED] == true"]}),
        &[],
    )
    .await;
    assert_eq!(unknown["tier"], "ok", "{unknown}");
    let secure = probe(
        dir.path(),
        "GRPC_CHECK",
        json!({"url": format!("grpcs://localhost:{tls_port}"), "caFile": cert.to_str().unwrap(),
        "conditions": ["[BODY].status == SERVING", "[CERTIFICATE_EXPIRATION] > 29d"]}),
        &[],
    )
    .await;
    assert_eq!(secure["tier"], "ok", "{secure}");
    // Not a gRPC server: an HTTP/1 one; the handshake fails, named.
    let server = Recorder::start(|_| Reply::json(json!({}))).await;
    let http1 =
        probe(dir.path(), "GRPC_CHECK", json!({"url": server.url.replace("http://", "grpc://"), "timeout": "3s"}), &[])
            .await;
    assert_eq!((http1["tier"].as_str(), &http1["fields"]["connected"]), (Some("critical"), &json!(false)), "{http1}");
}
