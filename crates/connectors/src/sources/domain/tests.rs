//! The domain source against a local RDAP server answering as Verisign does.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use vigil_core::alert::Tier;

use super::*;
use crate::sources::testing::verdict;

fn source(v: Value) -> Result<DomainSource, SourceProblem> {
    serde_json::from_value::<DomainConfig>(v).unwrap().build()
}

/// An RDAP server that knows `example.com` (expiring at `expires`) and nothing else; counts asks.
async fn registry(expires: &'static str) -> (String, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = axum::Router::new().route(
        "/rdap/domain/{name}",
        axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if name != "example.com" {
                    return (axum::http::StatusCode::NOT_FOUND, axum::Json(json!({"errorCode": 404, "title": "Not Found"})));
                }
                (axum::http::StatusCode::OK, axum::Json(json!({"objectClassName": "domain", "ldhName": "EXAMPLE.COM",
                    "events": [{"eventAction": "registration", "eventDate": "1995-08-14T04:00:00Z"}, {"eventAction": "expiration", "eventDate": expires}],
                    "entities": [{"objectClassName": "entity", "roles": ["registrar"], "vcardArray": ["vcard", [["fn", {}, "text", "Example Registrar"]]]}]})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/rdap/"), asked)
}

#[tokio::test]
async fn the_expiry_is_read_judged_and_kept() {
    let (server, asked) = registry("2026-12-27T00:00:00Z").await;
    let client = crate::http_client();
    let now = "2026-11-27T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let check = |name: &str, conditions: Value| {
        source(json!({"url": name, "server": server, "conditions": conditions})).unwrap()
    };
    // A host finds its registered domain through its parents.
    let (tier, note, fields) = verdict(
        check("https://www.shop.example.com:8443/x", json!(["[DOMAIN_EXPIRATION] > 29d"])).ask(&client, now).await,
    );
    assert_eq!((tier, note), (Tier::Ok, None), "{fields:?}");
    assert_eq!(
        fields["body"],
        json!({"domain": "example.com", "expires": "2026-12-27T00:00:00Z", "registrar": "Example Registrar"})
    );
    assert_eq!(fields["domain_expiration"], json!(30 * 86_400_000i64));
    assert_eq!(asked.load(Ordering::SeqCst), 3, "www.shop.example.com, shop.example.com, example.com");
    let (tier, note, _) =
        verdict(check("www.shop.example.com", json!(["[DOMAIN_EXPIRATION] > 31d"])).ask(&client, now).await);
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("[DOMAIN_EXPIRATION] > 31d (found 30d 0h)"));
    assert_eq!(asked.load(Ordering::SeqCst), 3, "the answer was kept");
    let (tier, note, _) = verdict(check("nowhere.com", json!([])).ask(&client, now).await);
    assert_eq!(tier, Tier::Critical);
    assert!(note.unwrap().contains("knows none of nowhere.com"));
}

#[test]
fn settings_that_cannot_work_are_named_by_field() {
    let path = |v: Value| source(v).unwrap_err().path;
    assert_eq!(path(json!({"url": "localhost"})), "url");
    assert_eq!(path(json!({"url": "10.0.0.1"})), "url");
    assert_eq!(path(json!({"url": "example.invalid"})), "url");
    assert_eq!(path(json!({"url": "example.com", "server": "http://r/", "bootstrap": "/x.json"})), "bootstrap");
    assert_eq!(path(json!({"url": "example.com", "bootstrap": "/nonexistent.json"})), "bootstrap");
    assert_eq!(path(json!({"url": "example.com", "conditions": ["[STATUS] == 200"]})), "conditions[0]");
    assert_eq!(host_of("https://user@www.example.com:8443/x?y"), "www.example.com");
    assert!(source(json!({"url": "${env.DOMAIN}"})).unwrap().host.is_err());
}
