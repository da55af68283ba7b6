//! InfluxDB: 1.x InfluxQL over `GET /query` (JSON), 2.x Flux over `POST /api/v2/query`
//! (annotated CSV).
//!
//! Each series of the answer (an InfluxQL `GROUP BY` tag set, a Flux table) is one
//! [`Sample`](vigil_core::monitor::evaluate::Sample): its tags (Flux: its group key, less
//! `_start`, `_stop`, `result` and `table`) are its labels, and its last row gives the fields.

mod flux;
mod influxql;

use std::time::Duration;

use serde::Deserialize;
use vigil_core::monitor::evaluate::Answer;

use vigil_core::time::Millis;

use super::{Ask, SourceConfig, SourceProblem, SourceRequest};

/// The query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// InfluxDB 1.x (and 2.x's 1.x compatibility API).
    Influxql,
    /// InfluxDB 2.x.
    Flux,
}

/// What a monitor writes under `source: {influxdb: ...}`.
#[derive(Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InfluxConfig {
    /// Server, e.g. `http://influx:8086`.
    pub url: String,
    /// The query.
    pub query: String,
    /// InfluxQL: the database.
    #[serde(default)]
    pub database: Option<String>,
    /// InfluxQL: the retention policy.
    #[serde(default)]
    pub retention_policy: Option<String>,
    /// InfluxQL: user name (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// InfluxQL: password.
    #[serde(default)]
    pub password: Option<String>,
    /// An API token (2.x, or 1.x behind token auth): `Authorization: Token ...`.
    #[serde(default)]
    pub token: Option<String>,
    /// Flux: the organization.
    #[serde(default)]
    pub org: Option<String>,
    /// `influxql` or `flux`; by default Flux when `org` is given, else InfluxQL.
    #[serde(default)]
    pub language: Option<Language>,
    /// Time the call may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

super::debug_without_secrets!(InfluxConfig, url, query, database, retention_policy, username, org, language, timeout);

/// An InfluxDB source as it runs: its call built once, when the monitor loads.
#[derive(Debug, Clone, PartialEq)]
pub struct Influx {
    language: Language,
    /// The call; why not, while the address still holds a `${...}` reference.
    call: Result<SourceRequest, String>,
}

impl SourceConfig for InfluxConfig {
    type Built = Influx;

    fn build(self) -> Result<Influx, SourceProblem> {
        let problem = |path: &str, message: &str| Err(SourceProblem { path: path.into(), message: message.into() });
        let base = reqwest::Url::parse(&self.url);
        if !base.as_ref().is_ok_and(|u| matches!(u.scheme(), "http" | "https")) && !self.url.contains("${") {
            return problem("url", "`url` is the server's http(s) address, e.g. http://influx:8086");
        }
        if self.query.trim().is_empty() {
            return problem("query", "`query` is empty");
        }
        let language = self.language();
        match language {
            Language::Influxql if self.database.is_none() => {
                return problem("database", "an InfluxQL query needs `database` (or give `org` for Flux)");
            }
            Language::Flux if self.org.is_none() => return problem("org", "a Flux query needs `org`"),
            _ if self.username.is_some() != self.password.is_some() => {
                return problem("password", "`username` and `password` go together");
            }
            _ => {}
        }
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        let call = match base {
            Ok(_) => self.call(timeout),
            Err(_) => Err(format!("influxdb: `url` still holds a reference: {}", self.url)),
        };
        Ok(Influx { language, call })
    }
}

impl InfluxConfig {
    /// The language in use.
    pub fn language(&self) -> Language {
        self.language.unwrap_or(if self.org.is_some() { Language::Flux } else { Language::Influxql })
    }

    /// The call: `GET /query?db=&q=&epoch=ms` for InfluxQL, `POST /api/v2/query?org=` with a JSON
    /// body asking for annotated CSV for Flux.
    fn call(&self, timeout: Duration) -> Result<SourceRequest, String> {
        let base = self.url.trim_end_matches('/');
        let mut headers = Vec::new();
        if let Some(token) = &self.token {
            headers.push(("Authorization".to_string(), format!("Token {token}")));
        }
        match self.language() {
            Language::Influxql => {
                let mut params = vec![("q", self.query.as_str()), ("epoch", "ms")];
                params.extend(self.database.as_deref().map(|d| ("db", d)));
                params.extend(self.retention_policy.as_deref().map(|rp| ("rp", rp)));
                params.extend(self.username.as_deref().map(|u| ("u", u)));
                params.extend(self.password.as_deref().map(|p| ("p", p)));
                let url = reqwest::Url::parse_with_params(&format!("{base}/query"), &params)
                    .map_err(|e| format!("influxdb: bad url `{base}`: {e}"))?;
                Ok(SourceRequest { method: "GET", url: url.into(), headers, body: None, timeout })
            }
            Language::Flux => {
                let org = self.org.as_deref().unwrap_or_default();
                let url = reqwest::Url::parse_with_params(&format!("{base}/api/v2/query"), &[("org", org)])
                    .map_err(|e| format!("influxdb: bad url `{base}`: {e}"))?;
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                headers.push(("Accept".to_string(), "application/csv".to_string()));
                let body = serde_json::json!({
                    "query": self.query, "type": "flux",
                    "dialect": {"header": true, "annotations": ["datatype", "group", "default"]}
                });
                Ok(SourceRequest { method: "POST", url: url.into(), headers, body: Some(body.to_string()), timeout })
            }
        }
    }
}

impl Influx {
    /// The call.
    pub fn request(&self) -> Result<SourceRequest, String> {
        self.call.clone()
    }

    /// Reads an answer.
    pub fn parse(&self, status: u16, body: &[u8]) -> Answer {
        match self.language {
            Language::Influxql => influxql::parse(status, body),
            Language::Flux => flux::parse(status, body),
        }
    }
}

impl Ask for Influx {
    async fn ask(&self, client: &reqwest::Client, _now: Millis) -> Answer {
        match &self.call {
            Ok(call) => Box::pin(super::ask_over_http(client, call, |status, body| self.parse(status, body))).await,
            Err(why) => Answer::Failed(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
