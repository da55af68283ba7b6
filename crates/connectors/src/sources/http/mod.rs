//! HTTP checks, in Gatus' style: a request, then conditions over what came back (`[STATUS]`,
//! `[BODY]...`, `[RESPONSE_TIME]`, `[CERTIFICATE_EXPIRATION]`, `[CONNECTED]`). The answer is
//! one sample whose fields are `status`, `response_time` (ms), `body` and
//! `certificate_expiration` (ms left), so a monitor's `value` can also be a threshold on any of
//! them (`value: response_time`, `value: body.queue.depth`).
//!
//! A server that cannot be reached is not a source error here: it is what the check is for.
//! The sample then has `[CONNECTED] == false` and status 0, and fails its conditions.

pub(crate) mod certificate;
mod plain;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use vigil_core::monitor::evaluate::Answer;

pub use super::conditions::{Condition, Judge, Observed};

use super::{SourceProblem, SourceRequest};

/// What a monitor writes under `source: {http: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpConfig {
    /// The endpoint.
    pub url: String,
    /// Method (default GET).
    #[serde(default)]
    pub method: Option<Box<str>>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body: a text, or JSON (sent as `application/json`).
    // Boxed: a JSON value is 72 bytes inline, in every HTTP monitor, where most send none.
    #[serde(default)]
    pub body: Option<Box<Value>>,
    /// Time the whole call may take (default 10s).
    #[serde(default)]
    pub timeout: Option<Box<str>>,
    /// Follow redirects (default true, up to 10).
    #[serde(default)]
    pub follow_redirects: Option<bool>,
    /// Skip TLS certificate verification (default false). `[CERTIFICATE_EXPIRATION]` still reads
    /// the certificate.
    #[serde(default)]
    pub insecure: bool,
    /// Conditions that must all hold; by default `[STATUS] < 400`. A server that cannot be
    /// reached fails the check unless a condition reads `[CONNECTED]` itself.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<Box<str>>,
}

/// A checked HTTP source.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSource {
    /// As written.
    pub config: HttpConfig,
    judge: Judge,
    /// The URL, parsed once (not on every check) where the general path is the usual one;
    /// `None` while it still holds a `${...}`, and where the plain path is taken (its rare
    /// redirect parses the URL then). Boxed: 88 bytes inline, for checks that mostly have none.
    url: Option<Box<reqwest::Url>>,
    /// The whole call, when it is plain HTTP that [`plain`] handles (most checks).
    plain: Option<plain::Prepared>,
    /// The time the whole call may take, in ms (a `Duration` took 16 bytes; with the texts boxed,
    /// a source and its `Arc` fit mimalloc's 224-byte class instead of 320).
    timeout_ms: u32,
    /// Its address was written with less than an admin's authority: redirects are followed only
    /// where such a call may go ([`crate::egress::redirect_policy`]).
    guarded: bool,
}

impl HttpConfig {
    /// Parses the conditions and settings.
    pub fn check(self) -> Result<HttpSource, SourceProblem> {
        let problem = |path: String, message: String| SourceProblem { path, message };
        let url = match reqwest::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ if self.url.contains("${") => None,
            _ => return Err(problem("url".into(), format!("`{}` is not an http(s) URL", self.url))),
        };
        if let Some(m) = &self.method
            && reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).is_err()
        {
            return Err(problem("method".into(), format!("`{m}` is not an HTTP method")));
        }
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let judge = Judge::new(&self.conditions, "[STATUS] < 400", self.failing.as_deref(), true)?;
        let mut source = HttpSource { config: self, judge, url: None, plain: None, timeout_ms, guarded: false };
        if let Some(url) = url {
            let req = source.request();
            source.plain = plain::Prepared::new(&url, req.method, &req.headers, req.body.as_deref());
            if source.plain.is_none() {
                source.url = Some(Box::new(url));
            }
        }
        Ok(source)
    }
}

impl HttpSource {
    /// The call (without the client settings: redirects and TLS verification).
    pub fn request(&self) -> SourceRequest {
        let c = &self.config;
        let mut headers: Vec<(String, String)> = c.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let body = match c.body.as_deref() {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(json) => {
                if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Some(json.to_string())
            }
        };
        let method = match c.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("POST") => "POST",
            Some("PUT") => "PUT",
            Some("HEAD") => "HEAD",
            Some("DELETE") => "DELETE",
            Some("PATCH") => "PATCH",
            Some("OPTIONS") => "OPTIONS",
            _ => "GET",
        };
        SourceRequest { method, url: c.url.clone(), headers, body, timeout: self.timeout() }
    }

    /// The time the whole call may take.
    fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.timeout_ms))
    }

    /// Judges what a check saw: one sample, at the failing tier when a condition does not hold.
    pub fn judge(&self, seen: Observed, note: Option<String>) -> Answer {
        self.judge.judge(seen, note)
    }

    /// Makes the call and judges it.
    pub async fn ask(&self) -> Answer {
        self.ask_knowing(None).await
    }

    /// Makes the call and judges it, the domain's registration expiring in `domain` ms when a
    /// condition reads `[DOMAIN_EXPIRATION]`.
    async fn ask_knowing(&self, domain: Option<i64>) -> Answer {
        if let Some(plain) = &self.plain
            && let Some(answer) = self.ask_plain(plain, domain).await
        {
            return answer;
        }
        // Boxed: reqwest's call is many times the size of the plain path's.
        Box::pin(self.ask_general(domain)).await
    }

    fn judge_knowing(&self, domain: Option<i64>, mut seen: Observed, note: Option<String>) -> Answer {
        seen.domain_expires_in_ms = domain;
        self.judge.judge(seen, note)
    }

    /// The call on the plain path; `None` for a redirect it is to follow (the general client
    /// follows it).
    async fn ask_plain(&self, plain: &plain::Prepared, domain: Option<i64>) -> Option<Answer> {
        let timeout = self.timeout();
        let started = Instant::now();
        let mut seen = Observed::default();
        let answered = tokio::time::timeout(timeout, plain.call()).await;
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        let answered = match answered {
            Ok(Ok(answered)) => answered,
            Ok(Err(plain::Failure::Unanswered(why))) => {
                return Some(self.judge_knowing(domain, seen, Some(format!("could not connect: {why}"))));
            }
            Ok(Err(plain::Failure::Body(status, why))) => {
                (seen.connected, seen.status) = (true, status);
                return Some(self.judge_knowing(domain, seen, Some(why)));
            }
            Err(_) => return Some(self.judge_knowing(domain, seen, Some(format!("no answer within {timeout:?}")))),
        };
        if (300..400).contains(&answered.status) && self.config.follow_redirects.unwrap_or(true) {
            return None;
        }
        (seen.connected, seen.status) = (true, answered.status);
        seen.ip = answered.peer.map(|ip| ip.to_string());
        seen.body = body_value(&answered.body);
        Some(self.judge_knowing(domain, seen, None))
    }

    /// The call through reqwest: HTTPS, redirects, proxies.
    async fn ask_general(&self, domain: Option<i64>) -> Answer {
        let req = self.request();
        let client = client(self.config.insecure, self.config.follow_redirects.unwrap_or(true), self.guarded);
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let call = match &self.url {
            Some(url) => client.request(method, (**url).clone()),
            None => client.request(method, &req.url),
        };
        let mut call = call.timeout(req.timeout);
        for (k, v) in &req.headers {
            call = call.header(k, v);
        }
        if let Some(body) = req.body {
            call = call.body(body);
        }
        let started = Instant::now();
        let mut seen = Observed::default();
        let response = match call.send().await {
            Ok(r) => r,
            Err(e) => {
                seen.response_time_ms = started.elapsed().as_millis() as i64;
                let why = if e.is_timeout() {
                    format!("no answer within {:?}", req.timeout)
                } else {
                    format!("could not connect: {}", super::root_cause(&e))
                };
                return self.judge_knowing(domain, seen, Some(why));
            }
        };
        seen.connected = true;
        seen.status = response.status().as_u16();
        seen.ip = response.remote_addr().map(|a| a.ip().to_string());
        seen.certificate_expires_in_ms = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(certificate::not_after)
            .map(|at| at - jiff::Timestamp::now().as_millisecond());
        let bytes = match super::read_capped(response).await {
            Ok(bytes) => bytes,
            Err(why) => return self.judge_knowing(domain, seen, Some(why)),
        };
        seen.response_time_ms = started.elapsed().as_millis() as i64;
        seen.body = body_value(&bytes);
        self.judge_knowing(domain, seen, None)
    }
}

/// A body as JSON when it is JSON, as text otherwise.
fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

impl HttpSource {
    /// Bounds where its redirects may go, by the authority that gave its address.
    pub fn set_reach(&mut self, reach: vigil_core::principal::Reach) {
        self.guarded = reach == vigil_core::principal::Reach::Guarded;
    }
}

/// One client per (insecure, follow redirects, guarded): they are client settings in reqwest.
/// Each is made when first used (a client holds its own TLS roots: about a megabyte).
fn client(insecure: bool, redirects: bool, guarded: bool) -> reqwest::Client {
    use vigil_core::principal::Reach;
    static CLIENTS: [OnceLock<reqwest::Client>; 6] = [const { OnceLock::new() }; 6];
    let follow = match (redirects, guarded) {
        (false, _) => None,
        (true, false) => Some(Reach::Anywhere),
        (true, true) => Some(Reach::Guarded),
    };
    let slot = usize::from(insecure) * 3 + follow.map_or(0, |r| if r == Reach::Anywhere { 1 } else { 2 });
    CLIENTS[slot]
        .get_or_init(|| {
            let policy = match follow {
                Some(reach) => crate::egress::redirect_policy(reach),
                None => reqwest::redirect::Policy::none(),
            };
            crate::http_client_builder()
                .tls_info(true)
                .danger_accept_invalid_certs(insecure)
                .redirect(policy)
                .pool_idle_timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client")
        })
        .clone()
}

impl super::SourceConfig for HttpConfig {
    type Built = HttpSource;

    fn build(self) -> Result<HttpSource, SourceProblem> {
        self.check()
    }
}

impl super::Ask for HttpSource {
    /// Timed, with its own client settings (redirects, TLS) and the certificate read.
    async fn ask(&self, client: &reqwest::Client, now: vigil_core::time::Millis) -> Answer {
        if !self.judge.reads_domain_expiration() {
            return HttpSource::ask(self).await;
        }
        // `[DOMAIN_EXPIRATION]`: the URL's host asked of its registry over RDAP (answers kept).
        let host = super::domain::host_of(&self.config.url).to_string();
        match super::domain::expires_in(client, &host, now, self.timeout()).await {
            Ok(ms) => self.ask_knowing(Some(ms)).await,
            Err(why) => {
                let answer = self.ask_knowing(None).await;
                match answer {
                    Answer::Samples(mut samples) => {
                        let note = samples[0].note.take().map_or_else(|| why.clone(), |n| format!("{n}; {why}"));
                        samples[0].note = Some(format!("domain expiry unknown: {note}"));
                        Answer::Samples(samples)
                    }
                    failed => failed,
                }
            }
        }
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_core::alert::Tier;

    use super::*;

    fn source(v: Value) -> HttpSource {
        serde_json::from_value::<HttpConfig>(v).unwrap().check().unwrap()
    }

    /// Every HTTP monitor holds one source in an `Arc` (16 bytes of counts); mimalloc rounds an
    /// allocation up to its size class (…, 192, 224, 256, 320). This keeps it in 224.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_source_and_its_arc_fit_in_224_bytes() {
        assert!(std::mem::size_of::<HttpSource>() + 16 <= 224, "{} bytes", std::mem::size_of::<HttpSource>());
    }

    #[test]
    fn a_timeout_is_kept_to_the_millisecond() {
        let s = source(json!({"url": "http://x/", "timeout": "1500ms"}));
        assert_eq!(s.request().timeout, Duration::from_millis(1500));
        assert_eq!(source(json!({"url": "http://x/"})).request().timeout, super::super::DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_json_body_is_sent_as_json_and_the_method_is_normalised() {
        let s = source(
            json!({"url": "https://api.example/health", "method": "post", "body": {"ping": 1}, "headers": {"X-Key": "k"}}),
        );
        let req = s.request();
        assert_eq!((req.method, req.body.as_deref()), ("POST", Some(r#"{"ping":1}"#)));
        assert!(req.headers.contains(&("Content-Type".into(), "application/json".into())));
    }

    #[test]
    fn conditions_judge_the_check_and_name_what_failed() {
        let s = source(
            json!({"url": "http://x/health", "conditions": ["[STATUS] == 200", "[BODY].status == UP"], "failing": "warning"}),
        );
        let up = Observed { connected: true, status: 200, body: json!({"status": "UP"}), ..Observed::default() };
        let Answer::Samples(ok) = s.judge(up.clone(), None) else { panic!() };
        assert_eq!((ok[0].tier, ok[0].note.as_deref()), (Some(Tier::Ok), None));
        let degraded = Observed { body: json!({"status": "DEGRADED"}), ..up };
        let Answer::Samples(bad) = s.judge(degraded, None) else { panic!() };
        assert_eq!(bad[0].tier, Some(Tier::Warning));
        assert_eq!(bad[0].note.as_deref(), Some("failed: [BODY].status == UP (found DEGRADED)"));
        // The default condition fails a server that cannot be reached.
        let plain = source(json!({"url": "http://x/"}));
        let Answer::Samples(down) = plain.judge(Observed::default(), Some("could not connect: refused".into())) else {
            panic!()
        };
        assert_eq!(down[0].tier, Some(Tier::Critical));
        assert_eq!(down[0].fields["connected"], json!(false));
    }

    /// `[DOMAIN_EXPIRATION]` asks the URL host's registry first; a host no registry serves (an
    /// address here) still gets its check, judged with the expiry unknown (0) and the reason.
    #[tokio::test]
    async fn domain_expiry_unknown_is_named_and_fails_its_condition() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
            }
        });
        let s = source(
            json!({"url": format!("http://{addr}/"), "conditions": ["[STATUS] == 200", "[DOMAIN_EXPIRATION] > 720h"]}),
        );
        assert!(s.judge.reads_domain_expiration());
        let Answer::Samples(samples) = super::super::Ask::ask(&s, &crate::http_client(), 0).await else { panic!() };
        assert_eq!(samples[0].tier, Some(Tier::Critical));
        let note = samples[0].note.as_deref().unwrap();
        assert!(
            note.contains("domain expiry unknown") && note.contains("no RDAP registry is known for `127.0.0.1`"),
            "{note}"
        );
        assert!(note.contains("[DOMAIN_EXPIRATION] > 720h (found 0h 0m)"), "{note}");
        assert_eq!(samples[0].fields["status"], json!(200), "the check itself ran");
    }

    #[test]
    fn broken_settings_are_named() {
        let problem = |v: Value| serde_json::from_value::<HttpConfig>(v).unwrap().check().unwrap_err().path;
        assert_eq!(problem(json!({"url": "ftp://x"})), "url");
        assert_eq!(
            problem(json!({"url": "http://x", "conditions": ["[STATUS] == 200", "[STAT] == 1"]})),
            "conditions[1]"
        );
        assert_eq!(problem(json!({"url": "http://x", "failing": "major"})), "failing");
        assert_eq!(problem(json!({"url": "http://x", "method": "GE T"})), "method");
    }

    #[tokio::test]
    async fn a_live_check_reads_status_body_and_time_and_a_dead_port_fails() {
        let app = axum::Router::new()
            .route("/health", axum::routing::get(|| async { axum::Json(json!({"status": "UP"})) }))
            .route("/old", axum::routing::get(|| async { axum::response::Redirect::permanent("/health") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let s = source(
            json!({"url": format!("http://{addr}/health"), "conditions": ["[STATUS] == 200", "[BODY].status == UP", "[RESPONSE_TIME] < 5000"]}),
        );
        let Answer::Samples(got) = s.ask().await else { panic!() };
        assert_eq!(got[0].tier, Some(Tier::Ok), "{:?}", got[0]);
        // A redirect is followed (by the general client) unless the monitor says not to.
        let moved = source(
            json!({"url": format!("http://{addr}/old"), "conditions": ["[STATUS] == 200", "[BODY].status == UP"]}),
        );
        let Answer::Samples(got) = moved.ask().await else { panic!() };
        assert_eq!(got[0].tier, Some(Tier::Ok), "{:?}", got[0]);
        let stay = source(
            json!({"url": format!("http://{addr}/old"), "followRedirects": false, "conditions": ["[STATUS] == 308"]}),
        );
        let Answer::Samples(got) = stay.ask().await else { panic!() };
        assert_eq!(got[0].tier, Some(Tier::Ok), "{:?}", got[0]);
        let dead = source(json!({"url": "http://127.0.0.1:9/", "timeout": "2s"}));
        let Answer::Samples(got) = dead.ask().await else { panic!() };
        assert_eq!(got[0].tier, Some(Tier::Critical));
        assert!(got[0].note.as_deref().unwrap().starts_with("could not connect"), "{:?}", got[0].note);
    }
}
