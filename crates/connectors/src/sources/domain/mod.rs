//! `domain`: when does a domain's registration expire? Asks the registry over RDAP: the one IANA's
//! bootstrap file names for the domain's suffix (shipped in the binary; `bootstrap`, or
//! `VIGIL_RDAP_BOOTSTRAP` for every check, points at a newer file), or `server`. `[DOMAIN_EXPIRATION]` is the time left (`[DOMAIN_EXPIRATION] > 30d`,
//! the default condition being `> 14d`); the sample's body holds the domain, its expiry and its
//! registrar. A host is asked for as itself, then its parents, until the registry knows one
//! (`www.example.co.uk` finds `example.co.uk`). Answers are kept for 6 hours (failures for 5
//! minutes): registries limit how often they are asked, and an expiry moves rarely.
//!
//! The `http` source reads `[DOMAIN_EXPIRATION]` of its URL's host the same way, as Gatus does.

pub mod rdap;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

/// How long an answer is kept, and a failure.
const KEEP: Duration = Duration::from_secs(6 * 3600);
const KEEP_FAILURE: Duration = Duration::from_secs(300);

/// What a monitor writes under `source: {domain: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DomainConfig {
    /// The domain, or a host or URL whose domain it is (`example.org`, `https://www.example.org/`).
    pub url: String,
    /// An RDAP base URL to ask instead of the registry the bootstrap file names (a registry of
    /// one's own), ending with `/`.
    #[serde(default)]
    pub server: Option<String>,
    /// A newer IANA bootstrap file (`https://data.iana.org/rdap/dns.json`, saved) to use instead of
    /// the one shipped.
    #[serde(default)]
    pub bootstrap: Option<String>,
    /// Time the registry may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[DOMAIN_EXPIRATION] > 14d`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A domain source as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainSource {
    host: Result<String, String>,
    registry: Registry,
    timeout: Duration,
    judge: Judge,
}

/// Where the answer comes from.
#[derive(Debug, Clone, PartialEq)]
enum Registry {
    /// The registry a bootstrap file names.
    Bootstrap(Arc<rdap::Bootstrap>),
    /// This RDAP server.
    Server(String),
}

/// The bootstrap file every check uses unless it names its own, read once: the file
/// `VIGIL_RDAP_BOOTSTRAP` names (a newer copy of IANA's), else the one shipped.
fn shipped() -> Result<Arc<rdap::Bootstrap>, String> {
    static SHIPPED: OnceLock<Result<Arc<rdap::Bootstrap>, String>> = OnceLock::new();
    SHIPPED
        .get_or_init(|| match std::env::var("VIGIL_RDAP_BOOTSTRAP") {
            Ok(path) => std::fs::read_to_string(&path)
                .map_err(|e| format!("VIGIL_RDAP_BOOTSTRAP: could not read `{path}`: {e}"))
                .and_then(|text| {
                    rdap::Bootstrap::parse(&text).map_err(|e| format!("VIGIL_RDAP_BOOTSTRAP `{path}`: {e}"))
                })
                .map(Arc::new),
            Err(_) => Ok(Arc::new(rdap::Bootstrap::parse(rdap::IANA_DNS).expect("the shipped bootstrap reads"))),
        })
        .clone()
}

/// The host of `name`: a bare name, or a URL's host without port or path.
pub fn host_of(name: &str) -> &str {
    let rest = name.split_once("://").map_or(name, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if rest.starts_with('[') {
        return rest;
    }
    rest.split(':').next().unwrap_or_default()
}

impl SourceConfig for DomainConfig {
    type Built = DomainSource;

    fn build(self) -> Result<DomainSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let host = host_of(&self.url).to_string();
        let host = if self.url.contains("${") {
            Err(format!("domain: `url` still holds a reference: {}", self.url))
        } else if !host.contains('.') || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
            return Err(problem("url", format!("`{}` is not a domain name", self.url)));
        } else {
            Ok(host)
        };
        let registry = match (self.server, self.bootstrap) {
            (Some(_), Some(_)) => return Err(problem("bootstrap", "write `server` or `bootstrap`, not both".into())),
            (Some(server), None) => Registry::Server(if server.ends_with('/') { server } else { format!("{server}/") }),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| problem("bootstrap", format!("could not read `{path}`: {e}")))?;
                Registry::Bootstrap(Arc::new(
                    rdap::Bootstrap::parse(&text).map_err(|e| problem("bootstrap", format!("`{path}`: {e}")))?,
                ))
            }
            (None, None) => Registry::Bootstrap(shipped().map_err(|e| problem("bootstrap", e))?),
        };
        if let (Ok(h), Registry::Bootstrap(b)) = (&host, &registry)
            && b.registry(h).is_none()
        {
            return Err(problem(
                "url",
                format!("no RDAP registry is known for `{h}` (IANA's bootstrap file of {})", b.publication),
            ));
        }
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]") || c.contains("[CERTIFICATE")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a domain check reads [DOMAIN_EXPIRATION], [BODY] and [CONNECTED]".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[DOMAIN_EXPIRATION] > 14d", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(DomainSource { host, registry, timeout, judge })
    }
}

/// A domain's registration as the registry tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The name the registry knew (the host, or a parent of it).
    pub domain: String,
    /// When it expires (epoch ms).
    pub expires_at: Millis,
    /// Its registrar, when named.
    pub registrar: Option<String>,
}

type Kept = (Instant, Result<Registration, String>);

fn kept() -> &'static Mutex<HashMap<(String, String), Kept>> {
    static KEPT: OnceLock<Mutex<HashMap<(String, String), Kept>>> = OnceLock::new();
    KEPT.get_or_init(Mutex::default)
}

/// Asks `base` about `host`, then its parents down to under `suffix`.
async fn ask_registry(
    client: &reqwest::Client,
    base: &str,
    host: &str,
    suffix: &str,
    timeout: Duration,
) -> Result<Registration, String> {
    let mut names = rdap::candidates(host, suffix);
    if names.is_empty() {
        names.push(host.to_string());
    }
    for name in &names {
        let url = format!("{base}domain/{name}");
        let answer = client
            .get(&url)
            .header("accept", "application/rdap+json")
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("the registry at {base} did not answer: {}", super::root_cause(&e)))?;
        match answer.status().as_u16() {
            404 => continue,
            429 => return Err(format!("the registry at {base} asks to slow down (429)")),
            s if !(200..300).contains(&s) => {
                return Err(format!("the registry at {base} answered HTTP {s} for {name}"));
            }
            _ => {}
        }
        let body: Value =
            answer.json().await.map_err(|e| format!("the registry's answer for {name} is not JSON: {e}"))?;
        let (expires_at, registrar) = rdap::expiry(&body).map_err(|e| format!("{name}: {e}"))?;
        return Ok(Registration { domain: name.clone(), expires_at, registrar });
    }
    Err(format!("the registry at {base} knows none of {}", names.join(", ")))
}

/// `host`'s registration: kept from an earlier answer, or asked for.
async fn registration(
    client: &reqwest::Client,
    registry: &Registry,
    host: &str,
    timeout: Duration,
) -> Result<Registration, String> {
    let (base, suffix) = match registry {
        Registry::Server(base) => (base.clone(), host.rsplit('.').next().unwrap_or_default().to_string()),
        Registry::Bootstrap(b) => {
            let (base, suffix) = b.registry(host).ok_or_else(|| format!("no RDAP registry is known for `{host}`"))?;
            let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
            (base, suffix.to_string())
        }
    };
    let key = (base.clone(), host.to_ascii_lowercase());
    if let Some((at, answer)) = kept().lock().expect("not poisoned").get(&key) {
        let keep = if answer.is_ok() { KEEP } else { KEEP_FAILURE };
        if at.elapsed() < keep {
            return answer.clone();
        }
    }
    let answer = ask_registry(client, &base, host, &suffix, timeout).await;
    kept().lock().expect("not poisoned").insert(key, (Instant::now(), answer.clone()));
    answer
}

/// The time left on `host`'s registration at `now` (ms), through the shipped bootstrap file: for
/// `[DOMAIN_EXPIRATION]` in other sources' conditions.
pub async fn expires_in(client: &reqwest::Client, host: &str, now: Millis, timeout: Duration) -> Result<i64, String> {
    registration(client, &Registry::Bootstrap(shipped()?), host, timeout).await.map(|r| r.expires_at - now)
}

impl Ask for DomainSource {
    async fn ask(&self, client: &reqwest::Client, now: Millis) -> Answer {
        let host = match &self.host {
            Ok(h) => h,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let started = Instant::now();
        let answer = Box::pin(registration(client, &self.registry, host, self.timeout)).await;
        let response_time_ms = started.elapsed().as_millis() as i64;
        match answer {
            Ok(r) => {
                let seen = Observed {
                    connected: true,
                    response_time_ms,
                    body: json!({"domain": r.domain, "expires": vigil_core::time::format_millis(r.expires_at), "registrar": r.registrar}),
                    domain_expires_in_ms: Some(r.expires_at - now),
                    ..Observed::default()
                };
                self.judge.judge(seen, None)
            }
            Err(why) => self.judge.judge(Observed { response_time_ms, ..Observed::default() }, Some(why)),
        }
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests;
