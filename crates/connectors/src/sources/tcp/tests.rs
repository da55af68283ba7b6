//! The TCP source against listeners on loopback.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::Answer;

use super::*;

fn source(v: Value) -> Result<TcpSource, SourceProblem> {
    serde_json::from_value::<TcpConfig>(v).unwrap().build()
}

/// The one sample's tier, note and fields.
fn verdict(answer: Answer) -> (Tier, Option<String>, serde_json::Map<String, Value>) {
    match answer {
        Answer::Samples(mut s) => {
            let s = s.remove(0);
            (s.tier.unwrap(), s.note, s.fields)
        }
        Answer::Failed(e) => panic!("failed: {e}"),
    }
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
    let client = reqwest::Client::new();
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
    let client = reqwest::Client::new();
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
    let (tier, note, _) = verdict(silent.ask(&reqwest::Client::new(), 0).await);
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
