//! The plain client against scripted servers that answer with exact bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A server that answers every request on a connection with `answer(request number)`, closing
/// the connection after it when `close` says so; counts connections.
async fn scripted(
    answer: impl Fn(usize) -> (Vec<u8>, bool) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (connections, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let (c, r, answer) = (connections.clone(), requests.clone(), Arc::new(answer));
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let (r, answer) = (r.clone(), answer.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let text = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    let whole = String::from_utf8_lossy(&buf[..end + 4 + length]).into_owned();
                    buf.drain(..end + 4 + length);
                    let number = {
                        let mut seen = r.lock().unwrap();
                        seen.push(whole);
                        seen.len()
                    };
                    let (bytes, close) = answer(number);
                    if socket.write_all(&bytes).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), connections, requests)
}

fn prepared(url: &str, method: &str, headers: &[(&str, &str)], body: Option<&str>) -> Prepared {
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Prepared::new(&reqwest::Url::parse(url).unwrap(), method, &headers, body).unwrap()
}

#[tokio::test]
async fn a_kept_alive_connection_carries_the_next_check() {
    let (base, connections, requests) =
        scripted(|_| (b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"value\":1}".to_vec(), false)).await;
    let call = prepared(&format!("{base}/m/1?x=2"), "GET", &[("X-Key", "k")], None);
    for _ in 0..3 {
        let got = call.call().await.unwrap();
        assert_eq!((got.status, got.body.as_slice()), (200, &b"{\"value\":1}"[..]));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    let first = requests.lock().unwrap()[0].clone();
    let port = base.rsplit(':').next().unwrap();
    assert!(first.starts_with(&format!("GET /m/1?x=2 HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n")), "{first}");
    assert!(first.contains("\r\nX-Key: k\r\n") && first.contains("\r\naccept: */*\r\n"), "{first}");
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_without_failing_the_check() {
    // Answers, then closes each connection without saying so.
    let (base, connections, _) = scripted(|_| (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(), true)).await;
    let call = prepared(&format!("{base}/"), "GET", &[], None);
    for _ in 0..3 {
        assert_eq!(call.call().await.unwrap().body, b"ok");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn chunked_answers_are_joined_and_the_connection_kept() {
    let chunked = b"HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\nx-trailer: t\r\n\r\n";
    let (base, connections, _) = scripted(|_| (chunked.to_vec(), false)).await;
    let call = prepared(&format!("{base}/"), "GET", &[], None);
    for _ in 0..2 {
        let got = call.call().await.unwrap();
        assert_eq!((got.status, got.body.as_slice()), (503, &b"{\"a\": 1}"[..]));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_answer_without_length_is_read_to_the_close_and_http_1_0_is_not_kept() {
    let (base, connections, _) = scripted(|_| (b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec(), true)).await;
    let call = prepared(&format!("{base}/"), "GET", &[], None);
    for _ in 0..2 {
        assert_eq!(call.call().await.unwrap().body, b"until the end");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_post_sends_its_body_with_its_length_and_continue_is_skipped() {
    let (base, _, requests) = scripted(|_| {
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n".to_vec(), false)
    })
    .await;
    let call = prepared(&format!("{base}/in"), "POST", &[("content-type", "application/json")], Some("{\"p\":1}"));
    assert_eq!(call.call().await.unwrap().status, 201);
    let sent = requests.lock().unwrap()[0].clone();
    assert!(sent.starts_with("POST /in HTTP/1.1\r\n"), "{sent}");
    assert!(sent.ends_with("content-length: 7\r\n\r\n{\"p\":1}"), "{sent}");
}

#[tokio::test]
async fn a_head_answer_has_no_body_whatever_its_length_says() {
    let (base, connections, _) =
        scripted(|_| (b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n".to_vec(), false)).await;
    let call = prepared(&format!("{base}/"), "HEAD", &[], None);
    for _ in 0..2 {
        let got = call.call().await.unwrap();
        assert_eq!((got.status, got.body.len()), (200, 0));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn broken_answers_and_dead_ports_are_failures_that_say_why() {
    let (base, _, _) = scripted(|n| match n {
        1 => (b"SMTP ready\r\n\r\n".to_vec(), true),
        _ => (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort".to_vec(), true),
    })
    .await;
    let call = prepared(&format!("{base}/"), "GET", &[], None);
    let Err(Failure::Unanswered(why)) = call.call().await else { panic!() };
    assert!(why.starts_with("not an HTTP answer"), "{why}");
    let Err(Failure::Body(200, why)) = call.call().await else { panic!() };
    assert!(why.contains("closed before the whole body"), "{why}");
    let dead = prepared("http://127.0.0.1:9/", "GET", &[], None);
    let Err(Failure::Unanswered(why)) = dead.call().await else { panic!() };
    assert!(why.to_lowercase().contains("refused"), "{why}");
}

#[test]
fn only_what_this_path_handles_fully_takes_it() {
    let url = |u: &str| reqwest::Url::parse(u).unwrap();
    let none: &[(String, String)] = &[];
    assert!(Prepared::new(&url("https://x/"), "GET", none, None).is_none());
    assert!(Prepared::new(&url("http://user:pw@x/"), "GET", none, None).is_none());
    let chunked = [("Transfer-Encoding".to_string(), "chunked".to_string())];
    assert!(Prepared::new(&url("http://x/"), "POST", &chunked, Some("a")).is_none());
    let split = [("X-A".to_string(), "a\r\nX-B: b".to_string())];
    assert!(Prepared::new(&url("http://x/"), "GET", &split, None).is_none());
    let own_host = [("Host".to_string(), "y".to_string())];
    let p = Prepared::new(&url("http://x/"), "GET", &own_host, None).unwrap();
    let text = String::from_utf8(p.bytes.into_vec()).unwrap();
    assert!(text.contains("Host: y\r\n") && !text.contains("host: x"), "{text}");
    assert_eq!(&*p.authority, "x:80");
}

#[test]
fn chunks_are_read_as_they_complete() {
    let mut body = Vec::new();
    assert!(matches!(dechunk(b"4\r\nab", &mut body), Ok(None)));
    assert!(matches!(dechunk(b"4\r\nabcd\r\n", &mut body), Ok(Some(Step::Read(9)))));
    assert!(matches!(dechunk(b"0\r\n", &mut body), Ok(None)));
    assert!(matches!(dechunk(b"0\r\n\r\n", &mut body), Ok(Some(Step::End))));
    assert!(dechunk(b"zz\r\n", &mut body).is_err());
    assert!(dechunk(b"2\r\nabXX", &mut body).is_err());
    assert_eq!(body, b"abcd");
}
