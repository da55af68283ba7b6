//! The DNS source's settings; answers from a real resolver are in `tests/dns.rs` (dnsmasq).

use serde_json::{Value, json};

use super::*;

fn source(v: Value) -> Result<DnsSource, SourceProblem> {
    serde_json::from_value::<DnsConfig>(v).unwrap().build()
}

#[test]
fn resolvers_are_read_with_their_transport_and_default_port() {
    let transport = |url: &str| source(json!({"url": url, "queryName": "example.org"})).unwrap().transport.unwrap();
    assert_eq!(transport("8.8.8.8"), Transport::Udp("8.8.8.8:53".into()));
    assert_eq!(transport("udp://127.0.0.1:5353"), Transport::Udp("127.0.0.1:5353".into()));
    assert_eq!(transport("2001:db8::53"), Transport::Udp("[2001:db8::53]:53".into()));
    assert_eq!(transport("tcp://[::1]:5353"), Transport::Tcp("[::1]:5353".into()));
    assert!(
        matches!(transport("tls://dns.quad9.net"), Transport::Tls { address, name, .. } if address == "dns.quad9.net:853" && name == "dns.quad9.net")
    );
    assert_eq!(transport("https://dns.google/dns-query"), Transport::Https("https://dns.google/dns-query".into()));
    let ptr = source(json!({"url": "1.1.1.1", "queryName": "192.0.2.10", "queryType": "ptr"})).unwrap();
    assert_eq!((ptr.name.as_str(), ptr.qtype), ("10.2.0.192.in-addr.arpa.", 12));
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "ftp://x", "queryName": "a.org"})), "url");
    assert_eq!(path(json!({"url": "1.1.1.1:dns", "queryName": "a.org"})), "url");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a.org", "queryType": "BOGUS"})), "queryType");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a..org"})), "queryName");
    assert_eq!(path(json!({"url": "1.1.1.1", "queryName": "a.org", "caFile": "/x.pem"})), "caFile");
    assert_eq!(
        path(json!({"url": "1.1.1.1", "queryName": "a.org", "conditions": ["[STATUS] == 200"]})),
        "conditions[0]"
    );
    assert_eq!(
        path(json!({"url": "1.1.1.1", "queryName": "a.org", "conditions": ["[DNS_CODE] == NOERROR"]})),
        "conditions[0]"
    );
    assert!(source(json!({"url": "${env.RESOLVER}", "queryName": "a.org"})).unwrap().transport.is_err());
}

/// A resolver on loopback that answers each question twice: first a forged NXDOMAIN with the
/// question's id but another name, then the real, empty NOERROR answer. Its address.
async fn forging_resolver() -> String {
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = server.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = server.recv_from(&mut buf).await {
            let mut answer = buf[..n].to_vec();
            answer[2] |= 0x80;
            let mut forged = answer.clone();
            forged[3] |= 3;
            forged[13] ^= 0x20;
            let _ = server.send_to(&forged, from).await;
            let _ = server.send_to(&answer, from).await;
        }
    });
    address
}

fn tier_of(answer: Answer) -> vigil_core::alert::Tier {
    match answer {
        Answer::Samples(s) => s[0].tier.unwrap(),
        Answer::Failed(why) => panic!("failed: {why}"),
    }
}

#[tokio::test]
async fn an_answer_to_another_question_is_not_taken_for_this_one() {
    let url = forging_resolver().await;
    let check = source(json!({"url": url, "queryName": "vigil.test", "timeout": "2s"})).unwrap();
    assert_eq!(tier_of(check.ask(&crate::http_client(), 0).await), vigil_core::alert::Tier::Ok);
}

#[tokio::test]
async fn checks_on_a_sharing_thread_ask_through_one_socket_per_resolver() {
    let url = forging_resolver().await;
    crate::sources::shared_socket::share_on_this_thread();
    let client = crate::http_client();
    let checks: Vec<DnsSource> = (0..40)
        .map(|n| source(json!({"url": url, "queryName": format!("m{n}.vigil.test"), "timeout": "2s"})).unwrap())
        .collect();
    let answers = futures_util::future::join_all(checks.iter().map(|c| c.ask(&client, 0))).await;
    assert!(answers.into_iter().all(|a| tier_of(a) == vigil_core::alert::Tier::Ok));
    KEPT.with(|kept| {
        let kept = kept.borrow();
        let [(resolver, _)] = kept.values().collect::<Vec<_>>()[..] else { panic!("one socket kept: {}", kept.len()) };
        assert_eq!((resolver.claimed(), Arc::strong_count(resolver)), (0, 1), "every id given back, no check holds it");
    });
}

#[tokio::test]
async fn a_resolver_port_nobody_listens_on_is_named_as_refused_on_a_sharing_thread_too() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    for sharing in [false, true] {
        if sharing {
            crate::sources::shared_socket::share_on_this_thread();
        }
        let check = source(json!({"url": closed, "queryName": "vigil.test", "timeout": "3s"})).unwrap();
        let Answer::Samples(samples) = check.ask(&crate::http_client(), 0).await else { panic!("a failed check") };
        let note = samples[0].note.clone().unwrap_or_default();
        assert!(note.contains("did not answer") && note.contains("refused"), "sharing {sharing}: {note}");
    }
}
