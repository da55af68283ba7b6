//! Signing in through OpenID Connect, against a provider played by the test: it serves its
//! discovery document and keys, and answers the code exchange only for the code it issued, the
//! PKCE verifier of the challenge it was sent, vigil's redirect address and its client secret
//! (sent with HTTP Basic). The test is the browser. Every attack the issue names is tried: a
//! forged or replayed `state`, a callback in another browser, a wrong `nonce`, an expired or
//! wrongly signed ID token, an unknown `kid` (and a rotated key, which is taken), a redirect to
//! another host, a planted session id, an account of the same name that the provider did not
//! make; and signing out ends the session and goes on to the provider's sign-out.

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use vigil_store::AuditStore;
use vigil_store::UserStore;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil_core::identity::build_identity_provider;
use vigil_core::team::build_team;
use vigil_store::UserRow;

const SECRET: &str = "s3cret:with+odd&chars";

/// A P-256 key the provider signs with.
struct Key {
    pair: EcdsaKeyPair,
    kid: String,
}

impl Key {
    fn new(kid: &str) -> Arc<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        Arc::new(Self { pair, kid: kid.into() })
    }

    fn jwk(&self) -> Value {
        let p = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..])})
    }

    fn sign(&self, claims: &Value) -> String {
        let head = json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"});
        let text =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(head.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.pair.sign(&SystemRandom::new(), text.as_bytes()).unwrap();
        format!("{text}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// A code the provider issued: what its exchange must match, and the token it gives.
struct Issued {
    challenge: String,
    redirect_uri: String,
    id_token: String,
}

#[derive(Default)]
struct Provider {
    base: String,
    published: Vec<Value>,
    codes: HashMap<String, Issued>,
    jwks_reads: usize,
}

type Shared = Arc<Mutex<Provider>>;

async fn discovery(State(p): State<Shared>) -> Json<Value> {
    let base = p.lock().unwrap().base.clone();
    Json(json!({
        "issuer": base, "authorization_endpoint": format!("{base}/auth"), "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"), "end_session_endpoint": format!("{base}/session/end"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(p): State<Shared>) -> Json<Value> {
    let mut p = p.lock().unwrap();
    p.jwks_reads += 1;
    Json(json!({"keys": p.published}))
}

async fn token(
    State(p): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let refuse =
        |why: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": why})));
    let basic = format!("Basic {}", STANDARD.encode(format!("vigil:{}", "s3cret%3Awith%2Bodd%26chars")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
    }
    let Some(issued) = p.lock().unwrap().codes.remove(form.get("code").map_or("", String::as_str)) else {
        return refuse("unknown code");
    };
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("grant type");
    }
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != issued.challenge {
        return refuse("PKCE verifier");
    }
    if form.get("redirect_uri") != Some(&issued.redirect_uri) {
        return refuse("redirect_uri");
    }
    (StatusCode::OK, Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": issued.id_token})))
}

async fn start_provider() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shared: Shared = Arc::new(Mutex::new(Provider {
        base: format!("http://{}", listener.local_addr().unwrap()),
        ..Provider::default()
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    shared
}

/// Makes the ID token a sign-in gets.
type MakeToken<'a> = Box<dyn Fn(&Begun) -> String + 'a>;

/// A sign-in begun by a browser: its state, nonce, challenge and binding cookie.
struct Begun {
    state: String,
    nonce: String,
    challenge: String,
    redirect_uri: String,
    binding: String,
}

/// The cookies a response sets, by name.
fn set_cookies(res: &reqwest::Response) -> HashMap<String, String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    async fn begin(&self, next: &str) -> Begun {
        let res = self.http.get(format!("{}/ui/sso/corp?next={next}", self.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        let q: HashMap<String, String> = to.query_pairs().into_owned().collect();
        assert_eq!((q["response_type"].as_str(), q["client_id"].as_str()), ("code", "vigil"));
        assert_eq!((q["code_challenge_method"].as_str(), q["scope"].as_str()), ("S256", "openid profile email groups"));
        assert!(to.as_str().starts_with(&format!("{}/auth?", to.origin().ascii_serialization())));
        Begun {
            state: q["state"].clone(),
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
            binding: set_cookies(&res)["vigil_sso"].clone(),
        }
    }

    async fn back(&self, state: &str, code: &str, cookies: &str) -> reqwest::Response {
        let url = format!("{}/ui/sso/corp/callback?code={code}&state={state}", self.base);
        self.http.get(url).header("cookie", cookies).send().await.unwrap()
    }
}

fn claims(issuer: &str, nonce: &str, user: &str, groups: &[&str]) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({"iss": issuer, "aud": "vigil", "sub": format!("sub-{user}"), "iat": now, "exp": now + 300, "nonce": nonce,
           "preferred_username": user, "name": format!("{user} example"), "groups": groups})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_connect_sign_in_refuses_every_forgery() {
    let provider = start_provider().await;
    let (k1, k2, stranger) = (Key::new("k1"), Key::new("k2"), Key::new("k1"));
    provider.lock().unwrap().published = vec![k1.jwk()];
    let issuer = provider.lock().unwrap().base.clone();

    let server = support::serve(support::Options { auth: true, ..Default::default() }).await;
    let doc = json!({"name": "corp", "title": "Corp SSO", "oidc": {"issuer": issuer, "clientId": "vigil",
        "clientSecret": "${workflow.secrets.corp_oidc}", "scopes": ["openid", "profile", "email", "groups"]}});
    server.engine.accounts().set_identity_providers(vec![build_identity_provider(&doc).0.unwrap()]);
    let team = json!({"name": "pay", "groups": {"pay-eng": "editor"}, "members": {"dee": "viewer", "cy": "viewer"},
        "owns": {"monitors": ["pay-*"]}});
    server.engine.set_teams(vec![build_team(&team).0.unwrap()]);
    server.engine.set_secrets(vigil_runtime::SecretValues::default().with_secret("corp_oidc", SECRET));
    let http = vigil_connectors::http_client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let browser = Browser { http: http.clone(), base: server.base.clone() };

    // The sign-in page offers the provider.
    let page =
        http.get(format!("{}/ui/signin?next=/ui/alerts", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Corp SSO") && page.contains("/ui/sso/corp?next=%2Fui%2Falerts"), "{page}");

    // The provider issues a code for a sign-in, with the token `sign` makes from its claims.
    let issue = |b: &Begun, code: &str, id_token: String| {
        let issued = Issued { challenge: b.challenge.clone(), redirect_uri: b.redirect_uri.clone(), id_token };
        provider.lock().unwrap().codes.insert(code.to_string(), issued);
    };

    // A first sign-in creates the account, in the team its group maps to; a planted session id
    // is not the one given.
    let b = browser.begin("https://evil.example/").await;
    assert_eq!(b.redirect_uri, format!("{}/ui/sso/corp/callback", server.base));
    issue(&b, "c1", k1.sign(&claims(&issuer, &b.nonce, "Ana", &["pay-eng", "staff"])));
    let res = browser.back(&b.state, "c1", &format!("vigil_session=planted; vigil_sso={}", b.binding)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let session = set_cookies(&res)["vigil_session"].clone();
    assert_ne!(session, "planted");
    assert_eq!(set_cookies(&res)["vigil_sso"], "", "the binding is cleared");
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"content="0;url=/""#), "another host is never where a sign-in goes: {body}");
    let ana = server.store.user("ana").await.unwrap().unwrap();
    assert_eq!(
        (ana.source.as_str(), ana.external_id.as_deref(), ana.role.as_deref()),
        ("oidc", Some("corp:sub-Ana"), None)
    );
    assert_eq!(ana.groups, ["pay-eng", "staff"]);
    let account = http
        .get(format!("{}/ui/account", server.base))
        .header("cookie", format!("vigil_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), StatusCode::OK);
    let text = account.text().await.unwrap();
    assert!(text.contains("ana") && text.contains("pay"), "{text}");
    let planted =
        http.get(format!("{}/ui/account", server.base)).header("cookie", "vigil_session=planted").send().await.unwrap();
    assert_eq!(planted.status(), StatusCode::SEE_OTHER, "the planted id signs no one in");

    // The same callback again: the state was taken.
    issue(&b, "c1", k1.sign(&claims(&issuer, &b.nonce, "ana", &[])));
    let again = browser.back(&b.state, "c1", &format!("vigil_sso={}", b.binding)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a replayed state");
    // A state vigil never sent.
    let forged = browser.back("forged-state", "c1", &format!("vigil_sso={}", b.binding)).await;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST, "a forged state");

    // A callback opened in a browser that did not begin the sign-in (login CSRF).
    let b = browser.begin("/ui/alerts").await;
    issue(&b, "c2", k1.sign(&claims(&issuer, &b.nonce, "mallory", &[])));
    assert_eq!(browser.back(&b.state, "c2", "").await.status(), StatusCode::BAD_REQUEST, "no binding cookie");
    let b = browser.begin("/ui/alerts").await;
    issue(&b, "c3", k1.sign(&claims(&issuer, &b.nonce, "mallory", &[])));
    let other = format!("vigil_sso={}", "A".repeat(43));
    assert_eq!(browser.back(&b.state, "c3", &other).await.status(), StatusCode::BAD_REQUEST, "another binding");

    // Tokens that must be refused, each on a fresh sign-in.
    let now = claims(&issuer, "", "x", &[])["iat"].as_i64().unwrap();
    let bad: Vec<(&str, MakeToken)> = vec![
        ("a wrong nonce", Box::new(|b: &Begun| k1.sign(&claims(&issuer, &format!("{}x", b.nonce), "eve", &[])))),
        (
            "an expired token",
            Box::new(|b: &Begun| {
                let mut c = claims(&issuer, &b.nonce, "eve", &[]);
                c["exp"] = json!(now - 3600);
                k1.sign(&c)
            }),
        ),
        ("another key with the same kid", Box::new(|b: &Begun| stranger.sign(&claims(&issuer, &b.nonce, "eve", &[])))),
        ("an unknown kid", Box::new(|b: &Begun| Key::new("k9").sign(&claims(&issuer, &b.nonce, "eve", &[])))),
        ("another issuer", Box::new(|b: &Begun| k1.sign(&claims("https://evil.example", &b.nonce, "eve", &[])))),
    ];
    for (i, (what, make)) in bad.iter().enumerate() {
        let b = browser.begin("/").await;
        let code = format!("bad{i}");
        issue(&b, &code, make(&b));
        let res = browser.back(&b.state, &code, &format!("vigil_sso={}", b.binding)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(!set_cookies(&res).contains_key("vigil_session"), "{what}: no session");
    }
    assert!(server.store.user("eve").await.unwrap().is_none());
    let reads = provider.lock().unwrap().jwks_reads;

    // The provider rotates its key: a token signed with the new one is taken, its keys read again.
    provider.lock().unwrap().published = vec![k2.jwk()];
    let b = browser.begin("/ui/monitors").await;
    issue(&b, "c4", k2.sign(&claims(&issuer, &b.nonce, "Ana", &["pay-eng"])));
    let res = browser.back(&b.state, "c4", &format!("vigil_sso={}", b.binding)).await;
    assert_eq!(res.status(), StatusCode::OK, "a rotated key");
    assert!(provider.lock().unwrap().jwks_reads > reads);
    let session = set_cookies(&res)["vigil_session"].clone();

    // An account of the same name that the provider did not make is not taken over.
    server
        .store
        .put_user(
            &UserRow {
                id: "bob".into(),
                kind: "person".into(),
                source: "local".into(),
                role: Some("admin".into()),
                created_at: 1,
                ..UserRow::default()
            },
            false,
        )
        .await
        .unwrap();
    let b = browser.begin("/").await;
    issue(&b, "c5", k2.sign(&claims(&issuer, &b.nonce, "bob", &[])));
    let res = browser.back(&b.state, "c5", &format!("vigil_sso={}", b.binding)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a local account of the same name");

    // A name a team lists is not taken by whoever signs in first; an account an admin made for
    // this provider is the first such person's.
    let b = browser.begin("/").await;
    issue(&b, "c6", k2.sign(&claims(&issuer, &b.nonce, "dee", &["pay-eng"])));
    let res = browser.back(&b.state, "c6", &format!("vigil_sso={}", b.binding)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a team's member by name");
    assert!(res.text().await.unwrap().contains("vigil user add dee --provider"));
    let made = UserRow {
        id: "cy".into(),
        kind: "person".into(),
        source: "sso".into(),
        external_id: Some("corp:".into()),
        created_at: 1,
        ..UserRow::default()
    };
    server.store.put_user(&made, false).await.unwrap();
    let b = browser.begin("/").await;
    issue(&b, "c7", k2.sign(&claims(&issuer, &b.nonce, "cy", &[])));
    assert_eq!(browser.back(&b.state, "c7", &format!("vigil_sso={}", b.binding)).await.status(), StatusCode::OK);
    let cy = server.store.user("cy").await.unwrap().unwrap();
    assert_eq!((cy.external_id.as_deref(), cy.source.as_str()), (Some("corp:sub-cy"), "oidc"), "claimed");

    // What sign-ins did to accounts is in the audit log.
    let rows = server
        .store
        .audit_log(&vigil_store::AuditQuery { kind: Some("user".into()), limit: 50, ..Default::default() })
        .await
        .unwrap();
    let seen: Vec<(&str, &str, &str)> =
        rows.iter().map(|r| (r.actor.as_str(), r.action.as_str(), r.name.as_str())).collect();
    assert!(seen.contains(&("sso:corp", "created at first sign-in", "ana")), "{seen:?}");
    assert!(seen.contains(&("sso:corp", "signed in", "cy")), "the claim: {seen:?}");

    // Sign-ins begun and never finished: a source that begins many waits.
    let mut throttled = false;
    for _ in 0..25 {
        let res = http.get(format!("{}/ui/sso/corp?next=/", server.base)).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "unfinished sign-ins are paced");

    // Signing out ends the session (on every node: it is the store's) and goes on to the
    // provider's sign-out, which sends the browser back to vigil's sign-in page.
    let cookie = format!("vigil_session={session}");
    let csrf = vigil_server::ui::session::csrf_for(Some(&session));
    let out = http
        .post(format!("{}/ui/signout", server.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let page = out.text().await.unwrap();
    let back = format!("{}/ui/signin", server.base);
    let expected = format!(
        "{issuer}/session/end?client_id=vigil&amp;post_logout_redirect_uri={}",
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    assert!(page.contains(&expected), "{page}");
    let after = http.get(format!("{}/ui/account", server.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session ended");
}
