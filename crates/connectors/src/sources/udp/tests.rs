//! The UDP source against sockets on loopback.

use serde_json::{Value, json};
use vigil_core::alert::Tier;

use super::*;
use crate::sources::testing::verdict;

fn source(v: Value) -> Result<UdpSource, SourceProblem> {
    serde_json::from_value::<UdpConfig>(v).unwrap().build()
}

/// A socket that answers each datagram with `reply` followed by what it got.
async fn answering(reply: &'static [u8]) -> String {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let answer = [reply, &buf[..n]].concat();
            let _ = socket.send_to(&answer, from).await;
        }
    });
    address
}

#[tokio::test]
async fn an_answer_is_connected_and_judged_by_its_body() {
    let server = answering(b"+PONG ").await;
    let client = crate::http_client();
    let check = |conditions: Value| {
        source(json!({"url": format!("udp://{server}"), "body": "PING", "conditions": conditions})).unwrap()
    };
    let (tier, note, fields) = verdict(
        check(json!(["[CONNECTED] == true", "[BODY] == +PONG PING", "[RESPONSE_TIME] < 5000"])).ask(&client, 0).await,
    );
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
    assert_eq!((&fields["connected"], &fields["body"]), (&json!(true), &json!("+PONG PING")));
    let (tier, note, _) = verdict(check(json!(["[BODY] == pat(*READY*)"])).ask(&client, 0).await);
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("[BODY] == pat(*READY*)"));
    // Bytes, for binary protocols.
    let hex = source(json!({"url": server, "bodyHex": "41 42", "conditions": ["[BODY] == +PONG AB"]})).unwrap();
    assert_eq!(verdict(hex.ask(&client, 0).await).0, Tier::Ok);
}

#[tokio::test]
async fn silence_and_refusal_are_no_answer_and_can_be_what_is_wanted() {
    let client = crate::http_client();
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let quiet = silent.local_addr().unwrap().to_string();
    let check = |address: &str, conditions: Value| {
        source(json!({"url": address, "body": "x", "timeout": "300ms", "failing": "warning", "conditions": conditions}))
            .unwrap()
    };
    let (tier, note, fields) = verdict(check(&quiet, json!([])).ask(&client, 0).await);
    assert_eq!((tier, fields["connected"].clone()), (Tier::Warning, json!(false)));
    assert_eq!(note.unwrap(), format!("{quiet}: no answer within 300ms"));
    assert_eq!(verdict(check(&quiet, json!(["[CONNECTED] == false"])).ask(&client, 0).await).0, Tier::Ok);
    // Nothing bound: the kernel's ICMP "port unreachable" ends the wait at once.
    drop(silent);
    let (tier, note, _) = verdict(check(&quiet, json!([])).ask(&client, 0).await);
    assert_eq!(tier, Tier::Warning);
    let note = note.unwrap();
    assert!(note.contains("did not answer") && note.contains("refused"), "{note}");
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "udp://ntp.internal:123"})), "body");
    assert_eq!(path(json!({"url": "udp://ntp:123", "body": "x", "bodyHex": "00"})), "bodyHex");
    assert_eq!(path(json!({"url": "udp://ntp:123", "bodyHex": "0g"})), "bodyHex");
    assert_eq!(path(json!({"url": "udp://ntp:123", "bodyHex": "abc"})), "bodyHex");
    assert_eq!(path(json!({"url": "ntp.internal", "body": "x"})), "url");
    assert_eq!(path(json!({"url": "udp://ntp:123", "body": "x", "conditions": ["[STATUS] == 200"]})), "conditions[0]");
    assert_eq!(path(json!({"url": "udp://ntp:123", "body": "x", "timeout": "soon"})), "timeout");
    assert_eq!(hex_bytes("1b 00 ff"), Some(vec![0x1b, 0, 0xff]));
    let later = source(json!({"url": "udp://${env.NTP}:123", "body": "x"})).unwrap();
    assert!(later.address.is_err());
}
