//! `--server URL`: `vigil instances` and `vigil status` read from a running `vigil serve` through
//! its HTTP API instead of opening the database.

use anyhow::{Context, Result};
use serde_json::Value;

/// Where a running server is.
#[derive(clap::Args, Clone, Debug)]
pub struct RemoteArgs {
    /// Read from this `vigil serve` (e.g. http://127.0.0.1:7700) instead of the database.
    #[arg(long, env = "VIGIL_SERVER")]
    pub server: Option<String>,
    /// API token for `--server` (when its auth is on).
    #[arg(long, env = "VIGIL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl RemoteArgs {
    /// GETs `path` from the server; API errors become messages with their code.
    pub async fn get(&self, server: &str, path: &str) -> Result<Value> {
        self.call(server, path, None).await
    }

    /// POSTs `body` to `path` on the server; API errors become messages with their code.
    pub async fn post(&self, server: &str, path: &str, body: &Value) -> Result<Value> {
        self.call(server, path, Some(body)).await
    }

    async fn call(&self, server: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", server.trim_end_matches('/'));
        let client = vigil_connectors::http_client();
        let mut req = match body {
            Some(body) => client.post(&url).json(body),
            None => client.get(&url),
        };
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.with_context(|| format!("cannot reach {server}"))?;
        let status = res.status();
        let body: Value = res.json().await.with_context(|| format!("{url} did not answer JSON"))?;
        if !status.is_success() {
            let code = body["code"].as_str().unwrap_or("error");
            let message = body["message"].as_str().unwrap_or("");
            anyhow::bail!("{server} answered {} ({code}): {message}", status.as_u16());
        }
        Ok(body)
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
