//! The TCP source against listeners on loopback.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_core::alert::Tier;

use super::*;
use crate::sources::testing::verdict;

fn source(v: Value) -> Result<TcpSource, SourceProblem> {
    serde_json::from_value::<TcpConfig>(v).unwrap().build()
}

/// A listener that answers each connection's first read with `reply` (prefixed by what it read).
async fn echo_server(reply: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let answer = format!("{reply} {}", String::from_utf8_lossy(&buf[..n]).trim());
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    address
}

/// A port nothing listens on: bound, then closed.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

#[tokio::test]
async fn an_open_port_is_ok_and_a_closed_one_critical() {
    let open = echo_server("hi").await;
    let client = crate::http_client();
    let (tier, note, fields) = verdict(source(json!({"url": format!("tcp://{open}")})).unwrap().ask(&client, 0).await);
    assert_eq!((tier, note), (Tier::Ok, None));
    assert_eq!(fields["connected"], json!(true));
    let closed = closed_port().await;
    let (tier, note, fields) = verdict(source(json!({"url": closed})).unwrap().ask(&client, 0).await);
    assert_eq!(tier, Tier::Critical);
    assert_eq!(fields["connected"], json!(false));
    let note = note.unwrap();
    assert!(note.contains("could not connect to 127.0.0.1:") && note.contains("refused"), "{note}");
}

#[tokio::test]
async fn what_is_sent_is_answered_and_judged_by_the_body_conditions() {
    let open = echo_server("+PONG").await;
    let client = crate::http_client();
    let check = |conditions: Value| {
        source(json!({"url": format!("tcp://{open}"), "body": "PING\r\n", "conditions": conditions})).unwrap()
    };
    let ok = check(json!(["[CONNECTED] == true", "[BODY] == pat(+PONG PING*)", "[RESPONSE_TIME] < 5000"]));
    let (tier, note, fields) = verdict(ok.ask(&client, 0).await);
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
    assert_eq!(fields["body"], json!("+PONG PING"));
    let wrong = check(json!(["[BODY] == pat(*READY*)"]));
    let (tier, note, _) = verdict(wrong.ask(&client, 0).await);
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("[BODY] == pat(*READY*)"));
    // A condition on [CONNECTED] itself decides: a closed port that should be closed is ok.
    let closed = closed_port().await;
    let must_be_closed = source(json!({"url": closed, "conditions": ["[CONNECTED] == false"]})).unwrap();
    assert_eq!(verdict(must_be_closed.ask(&client, 0).await).0, Tier::Ok);
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_named_with_its_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let silent = source(json!({"url": address, "body": "hello", "timeout": "200ms", "failing": "warning"})).unwrap();
    let (tier, note, _) = verdict(silent.ask(&crate::http_client(), 0).await);
    assert_eq!(tier, Tier::Warning);
    assert_eq!(note.unwrap(), format!("{address}: no answer within 200ms"));
    drop(listener);
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "db.internal"})), "url");
    assert_eq!(path(json!({"url": "tcp://db.internal:http"})), "url");
    assert_eq!(path(json!({"url": "tcp://db.internal:0"})), "url");
    assert_eq!(path(json!({"url": "tcp://db:5432", "conditions": ["[STATUS] == 200"]})), "conditions[0]");
    assert_eq!(path(json!({"url": "tcp://db:5432", "conditions": ["[CONNECTED] is true"]})), "conditions[0]");
    assert_eq!(path(json!({"url": "tcp://db:5432", "timeout": "soon"})), "timeout");
    assert_eq!(path(json!({"url": "tcp://db:5432", "failing": "bad"})), "failing");
    assert!(serde_json::from_value::<TcpConfig>(json!({"url": "tcp://db:5432", "send": "x"})).is_err());
    // IPv6 in brackets, and a reference left for the runtime to substitute.
    assert!(source(json!({"url": "tcp://[::1]:5432"})).is_ok());
    let later = source(json!({"url": "tcp://${env.DB_HOST}:5432"})).unwrap();
    assert!(later.address.is_err());
}

#[test]
fn tls_settings_are_checked_when_read() {
    let path = |v: Value| source(v).unwrap_err().path;
    let expiry = json!(["[CERTIFICATE_EXPIRATION] > 7d"]);
    assert_eq!(path(json!({"url": "tcp://db:5432", "conditions": expiry})), "conditions[0]", "no TLS, no certificate");
    assert_eq!(path(json!({"url": "tls://db:5432", "caFile": "/nonexistent/ca.pem"})), "caFile");
    let tls = source(json!({"url": "tls://db:5432", "conditions": expiry})).unwrap();
    assert!(tls.tls.is_some());
    assert_eq!(tls.address.as_deref(), Ok("db:5432"));
    assert!(source(json!({"url": "tcp://db:5432", "tls": true, "serverName": "db.example"})).unwrap().tls.is_some());
    assert!(source(json!({"url": "tcp://db:5432"})).unwrap().tls.is_none());
    assert_eq!((super::super::address::host_of("[::1]:443"), super::super::address::host_of("db:443")), ("::1", "db"));
}

/// A handshake with a server that speaks no TLS fails as a connection that could not be made.
#[tokio::test]
async fn a_server_without_tls_fails_the_handshake() {
    let plain = echo_server("hi").await;
    let tls = source(json!({"url": format!("tls://{plain}"), "timeout": "2s"})).unwrap();
    let (tier, note, fields) = verdict(tls.ask(&crate::http_client(), 0).await);
    assert_eq!(tier, Tier::Critical);
    assert_eq!(fields["connected"], json!(false));
    assert!(note.as_deref().is_some_and(|n| n.contains("TLS handshake failed")), "{note:?}");
}

/// A listener that greets each connection with `greeting` (lines), then answers each line it reads
/// with the next of `replies`.
async fn greeting_server(greeting: &'static str, replies: &'static [&'static str]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = conn.write_all(greeting.as_bytes()).await;
                let mut buf = [0u8; 256];
                for reply in replies {
                    if conn.read(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let _ = conn.write_all(reply.as_bytes()).await;
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn a_protocols_greeting_is_read_and_must_be_that_protocols() {
    let client = crate::http_client();
    let smtp = greeting_server("220-mail.test ESMTP\r\n220 ready\r\n", &[]).await;
    let check = |address: &str, protocol: &str| {
        source(json!({"url": address, "protocol": protocol, "timeout": "2s", "conditions": ["[CONNECTED] == true", "[BODY] == pat(220*)"]})).unwrap()
    };
    let (tier, note, fields) = verdict(check(&smtp, "smtp").ask(&client, 0).await);
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
    assert_eq!(fields["body"], json!("220 ready"), "the greeting's last line");
    let (tier, note, fields) = verdict(check(&smtp, "imap").ask(&client, 0).await);
    assert_eq!((tier, &fields["connected"]), (Tier::Critical, &json!(false)));
    assert!(note.unwrap().contains("no imap greeting"));
    // SSH may say other things before its version line.
    let ssh = greeting_server("Welcome\r\nSSH-2.0-OpenSSH_9.2\r\n", &[]).await;
    let banner = source(json!({"url": ssh, "protocol": "ssh", "conditions": ["[BODY] == pat(SSH-2.0-*)"]})).unwrap();
    assert_eq!(verdict(banner.ask(&client, 0).await).0, Tier::Ok);
    // A server that refuses STARTTLS: not connected, in its own words.
    let refusing = greeting_server("* OK ready\r\n", &["a1 NO STARTTLS is off\r\n"]).await;
    let starttls = source(json!({"url": refusing, "protocol": "imap", "starttls": true, "timeout": "2s"})).unwrap();
    let (tier, note, _) = verdict(starttls.ask(&client, 0).await);
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("imap refused `a1 STARTTLS`: `a1 NO STARTTLS is off`"));
}

#[test]
fn protocol_settings_that_cannot_work_are_named() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "tcp://ssh:22", "protocol": "ssh", "starttls": true})), "starttls");
    assert_eq!(path(json!({"url": "tcp://mail:25", "starttls": true})), "starttls");
    assert_eq!(path(json!({"url": "tls://mail:465", "protocol": "smtp", "starttls": true})), "starttls");
    assert_eq!(path(json!({"url": "tls://ssh:22", "protocol": "ssh"})), "protocol");
    let gatus = source(json!({"url": "starttls://smtp.example.org:587"})).unwrap();
    assert_eq!(gatus.protocol, Some((Protocol::Smtp, true)));
    assert!(gatus.tls.is_some());
    assert!(source(json!({"url": "tcp://mail:25", "protocol": "smtp", "starttls": true, "conditions": ["[CERTIFICATE_EXPIRATION] > 7d"]})).is_ok());
}

#[tokio::test]
async fn a_check_ends_its_connection_with_a_reset_and_leaves_no_time_wait() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let n = conn.read(&mut buf).await.unwrap();
        conn.write_all(&buf[..n]).await.unwrap();
        // What the server reads after answering: the check's way of ending.
        conn.read(&mut buf).await.map(|_| ()).map_err(|e| e.kind())
    });
    let check = source(json!({"url": format!("tcp://{address}"), "body": "PING"})).unwrap();
    assert_eq!(verdict(check.ask(&crate::http_client(), 0).await).0, Tier::Ok);
    assert_eq!(server.await.unwrap(), Err(std::io::ErrorKind::ConnectionReset), "a FIN, not a reset");
}

#[tokio::test]
async fn a_protocol_session_ends_the_servers_way_before_the_reset() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"220 mail.test ESMTP\r\n").await.unwrap();
        let mut said = Vec::new();
        let mut buf = [0u8; 64];
        while !said.ends_with(b"\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before QUIT");
            said.extend_from_slice(&buf[..n]);
        }
        // A mail server answers QUIT, then closes: both must reach a client still there.
        let answered = conn.write_all(b"221 bye\r\n").await.map_err(|e| e.kind());
        (String::from_utf8_lossy(&said).into_owned(), answered)
    });
    let check = source(json!({"url": address, "protocol": "smtp", "timeout": "2s"})).unwrap();
    assert_eq!(verdict(check.ask(&crate::http_client(), 0).await).0, Tier::Ok);
    assert_eq!(server.await.unwrap(), ("QUIT\r\n".to_string(), Ok(())));
}

#[tokio::test]
async fn an_answer_larger_than_the_first_read_is_kept_whole_up_to_64_kib() {
    for size in [20_000usize, 100_000] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 16];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(&vec![b'x'; size]).await;
            let _ = conn.read(&mut buf).await;
        });
        let check = source(json!({"url": format!("tcp://{address}"), "body": "GET"})).unwrap();
        // Loopback hands the whole write over at once: more than the first read's room arrives.
        let (_, _, fields) = verdict(check.ask(&crate::http_client(), 0).await);
        let body = fields["body"].as_str().unwrap().len();
        assert!(body > 4096 && body <= 64 * 1024, "{size} bytes sent, {body} kept");
    }
}
