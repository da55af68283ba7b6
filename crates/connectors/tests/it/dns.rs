//! The DNS source against a real resolver: dnsmasq on loopback (Debian's `dnsmasq-base`), serving
//! a zone of every record type vigil reads, over UDP and TCP, with a truncated answer that makes
//! UDP fall back to TCP; DNS over HTTPS and over TLS through small proxies in front of it. Without
//! dnsmasq the tests are skipped with a message, unless `VIGIL_REQUIRE_SERVICES=1` (CI).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_connectors::sources::dns::DnsConfig;
use vigil_connectors::sources::{Ask, SourceConfig};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::Answer;

fn skip(msg: &str) {
    assert!(
        std::env::var("VIGIL_REQUIRE_SERVICES").map(|v| v != "1").unwrap_or(true),
        "VIGIL_REQUIRE_SERVICES=1 but {msg}"
    );
    eprintln!("SKIPPED: {msg}");
}

/// dnsmasq serving `vigil.test` on a free port, UDP and TCP; killed when dropped.
struct Resolver {
    child: Child,
    port: u16,
}

impl Drop for Resolver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn resolver() -> Option<Resolver> {
    let Some(binary) = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].into_iter().find(|p| std::path::Path::new(p).exists())
    else {
        skip("dnsmasq is not installed (Debian's dnsmasq-base)");
        return None;
    };
    let port = free_port();
    let mut args: Vec<String> = [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--pid-file=",
        "--local=/vigil.test/",
        "--host-record=vigil.test,192.0.2.10,2001:db8::10",
        "--cname=www.vigil.test,vigil.test",
        "--mx-host=vigil.test,mail.vigil.test,10",
        "--txt-record=vigil.test,v=spf1 -all",
        "--srv-host=_https._tcp.vigil.test,web.vigil.test,443,1,5",
        "--caa-record=vigil.test,0,issue,letsencrypt.org",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--port={port}"));
    // Enough text under one name that its answer cannot travel in one UDP datagram of 1232 bytes.
    for i in 0..20 {
        args.push(format!("--txt-record=big.vigil.test,{i:02}{}", "x".repeat(98)));
    }
    if nix_is_root() {
        args.extend(["--user=root".to_string(), "--group=root".to_string()]);
    }
    let child = Command::new(binary).args(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().ok()?;
    let resolver = Resolver { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(resolver);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    skip("dnsmasq did not start listening");
    None
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

async fn ask(config: Value) -> (Tier, Option<String>, serde_json::Map<String, Value>) {
    let source = serde_json::from_value::<DnsConfig>(config).unwrap().build().unwrap();
    match source.ask(&vigil_connectors::http_client(), 0).await {
        Answer::Samples(mut s) => {
            let s = s.remove(0);
            (s.tier.unwrap(), s.note, s.fields)
        }
        Answer::Failed(e) => panic!("failed: {e}"),
    }
}

#[tokio::test]
async fn every_record_type_is_read_from_a_real_resolver() {
    let Some(dns) = resolver().await else { return };
    let url = format!("127.0.0.1:{}", dns.port);
    let cases = [
        ("vigil.test", "A", "192.0.2.10"),
        ("vigil.test", "AAAA", "2001:db8::10"),
        ("vigil.test", "MX", "10 mail.vigil.test."),
        ("vigil.test", "TXT", "v=spf1 -all"),
        ("_https._tcp.vigil.test", "SRV", "1 5 443 web.vigil.test."),
        ("vigil.test", "CAA", "0 issue \"letsencrypt.org\""),
        ("192.0.2.10", "PTR", "vigil.test."),
    ];
    for (name, kind, value) in cases {
        let (tier, note, fields) = ask(json!({"url": url, "queryName": name, "queryType": kind,
            "conditions": ["[DNS_RCODE] == NOERROR", format!("[BODY] == {value}"), "[CONNECTED] == true"]}))
        .await;
        assert_eq!((tier, note), (Tier::Ok, None), "{kind} {name}: {fields:?}");
        assert_eq!(fields["answers"][0]["type"], json!(kind), "{fields:?}");
    }
    // A CNAME's answer holds the alias and its target's address.
    let (tier, _, fields) =
        ask(json!({"url": url, "queryName": "www.vigil.test", "conditions": ["[BODY] == pat(*192.0.2.10*)"]})).await;
    assert_eq!(tier, Tier::Ok, "{fields:?}");
    assert_eq!(fields["answers"][0]["value"], "vigil.test.");
}

#[tokio::test]
async fn codes_tcp_and_a_truncated_answer() {
    let Some(dns) = resolver().await else { return };
    let url = format!("127.0.0.1:{}", dns.port);
    let (tier, note, fields) = ask(json!({"url": url, "queryName": "nope.vigil.test", "failing": "warning"})).await;
    assert_eq!((tier, fields["dns_rcode"].as_str()), (Tier::Warning, Some("NXDOMAIN")));
    assert!(note.unwrap().contains("[DNS_RCODE] == NOERROR (found NXDOMAIN)"));
    let (tier, _, _) =
        ask(json!({"url": url, "queryName": "nope.vigil.test", "conditions": ["[DNS_RCODE] == NXDOMAIN"]})).await;
    assert_eq!(tier, Tier::Ok);
    let (_, _, fields) = ask(json!({"url": url, "queryName": "example.org"})).await;
    assert_eq!(fields["dns_rcode"], "REFUSED", "no upstream: not vigil.test's to answer");
    let (tier, note, _) = ask(json!({"url": format!("tcp://{url}"), "queryName": "vigil.test", "queryType": "MX", "conditions": ["[BODY] == 10 mail.vigil.test."]})).await;
    assert_eq!((tier, note), (Tier::Ok, None));
    // 20 TXT strings of 100 bytes: truncated over UDP, asked again over TCP.
    let (tier, note, fields) = ask(
        json!({"url": url, "queryName": "big.vigil.test", "queryType": "TXT", "conditions": ["len([BODY]) > 2000"]}),
    )
    .await;
    assert_eq!((tier, note), (Tier::Ok, None));
    assert_eq!(fields["answers"].as_array().unwrap().len(), 20);
    // Nothing listening: no answer, and the note says so.
    let closed = free_port();
    let (tier, note, fields) =
        ask(json!({"url": format!("tcp://127.0.0.1:{closed}"), "queryName": "vigil.test", "timeout": "2s"})).await;
    assert_eq!((tier, &fields["connected"]), (Tier::Critical, &json!(false)));
    assert!(note.unwrap().contains("could not connect"));
}

/// DNS over HTTPS (RFC 8484): a POST of the message as `application/dns-message`, with id 0,
/// answered by a small proxy in front of dnsmasq.
#[tokio::test]
async fn dns_over_https_posts_the_message() {
    let Some(dns) = resolver().await else { return };
    let upstream = format!("127.0.0.1:{}", dns.port);
    let app = axum::Router::new().route(
        "/dns-query",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let upstream = upstream.clone();
            async move {
                let typed =
                    headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/dns-message");
                if !typed || body.len() < 12 || body[..2] != [0, 0] {
                    return (axum::http::StatusCode::BAD_REQUEST, Vec::new());
                }
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                socket.send_to(&body, &upstream).await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = socket.recv(&mut buf).await.unwrap();
                (axum::http::StatusCode::OK, buf[..n].to_vec())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (tier, note, fields) =
        ask(json!({"url": format!("http://{addr}/dns-query"), "queryName": "vigil.test", "queryType": "AAAA",
        "conditions": ["[BODY] == 2001:db8::10"]}))
        .await;
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
}

/// DNS over TLS (RFC 7858): the resolver's certificate verified against a pinned CA file and its
/// name, then the length-prefixed message; a certificate for another name is refused.
#[tokio::test]
async fn dns_over_tls_verifies_the_resolver() {
    let Some(dns) = resolver().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=resolver.test",
        ])
        .args([
            "-addext",
            "subjectAltName=DNS:resolver.test",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ])
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        return skip("openssl could not make a certificate");
    }
    use rustls::pki_types::pem::PemObject;
    let chain =
        rustls::pki_types::CertificateDer::pem_file_iter(&cert).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let private = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, private).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = format!("127.0.0.1:{}", dns.port);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let len = tls.read_u16().await.unwrap();
                let mut query = vec![0u8; usize::from(len)];
                tls.read_exact(&mut query).await.unwrap();
                let mut back = tokio::net::TcpStream::connect(upstream).await.unwrap();
                back.write_all(&[&len.to_be_bytes()[..], &query].concat()).await.unwrap();
                let n = back.read_u16().await.unwrap();
                let mut answer = vec![0u8; usize::from(n)];
                back.read_exact(&mut answer).await.unwrap();
                tls.write_all(&[&n.to_be_bytes()[..], &answer].concat()).await.unwrap();
            });
        }
    });
    let config = |name: &str| {
        json!({"url": format!("tls://{addr}"), "queryName": "vigil.test", "caFile": cert.to_str().unwrap(), "serverName": name,
               "conditions": ["[BODY] == 192.0.2.10"]})
    };
    let (tier, note, fields) = ask(config("resolver.test")).await;
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
    let (tier, note, _) = ask(config("other.test")).await;
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("TLS handshake failed"));
}
