//! `grpc`: is a gRPC server serving? Asks the standard health service
//! (`grpc.health.v1.Health/Check`) over HTTP/2, in the clear (`grpc://host:port`) or over TLS
//! (`grpcs://`, or `tls: true`; verified against the system's roots or a pinned `caFile`), for
//! `service` (the server as a whole by default). As Gatus judges a gRPC endpoint, `[BODY]` is
//! `{"status": "SERVING"}` (`NOT_SERVING`, `UNKNOWN`, `SERVICE_UNKNOWN`), and by default
//! `[BODY].status == SERVING` must hold; `[CONNECTED]` is whether the server answered.

mod message;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::conditions::{Judge, Observed};
use super::{Ask, SourceConfig, SourceProblem};

/// What a monitor writes under `source: {grpc: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcConfig {
    /// `grpc://host:port` (HTTP/2 in the clear), `grpcs://host:port` (over TLS), or `host:port`.
    pub url: String,
    /// The service whose health is asked (default: the server as a whole, `""`).
    #[serde(default)]
    pub service: Option<String>,
    /// Over TLS (as `grpcs://`).
    #[serde(default)]
    pub tls: bool,
    /// A PEM file of the CA (or the certificate) the server's chain must verify against, alone.
    /// Implies `tls`.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// The name the server's certificate must carry, when it is not the url's host. Implies `tls`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Time the call may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Conditions that must all hold; by default `[BODY].status == SERVING`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The tier of a check whose conditions fail (default critical).
    #[serde(default)]
    pub failing: Option<String>,
}

/// A gRPC source as it runs.
#[derive(Clone)]
pub struct GrpcSource {
    /// `host:port`, or why not while the url still holds a `${...}` reference.
    address: Result<String, String>,
    service: String,
    /// TLS: whom to trust (with ALPN `h2`) and the name to verify.
    tls: Option<(Arc<rustls::ClientConfig>, Option<String>)>,
    ca_file: Option<String>,
    timeout: Duration,
    judge: Judge,
}

impl PartialEq for GrpcSource {
    fn eq(&self, other: &Self) -> bool {
        (&self.address, &self.service, self.tls.as_ref().map(|t| &t.1), &self.ca_file, self.timeout, &self.judge)
            == (
                &other.address,
                &other.service,
                other.tls.as_ref().map(|t| &t.1),
                &other.ca_file,
                other.timeout,
                &other.judge,
            )
    }
}

impl std::fmt::Debug for GrpcSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcSource")
            .field("address", &self.address)
            .field("service", &self.service)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl SourceConfig for GrpcConfig {
    type Built = GrpcSource;

    fn build(self) -> Result<GrpcSource, SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        let scheme = if self.url.starts_with("grpcs://") { "grpcs://" } else { "grpc://" };
        let address = super::address::read(&self.url, scheme)?;
        let tls = self.tls || scheme == "grpcs://" || self.ca_file.is_some() || self.server_name.is_some();
        let tls = match tls {
            false => None,
            true => {
                let base =
                    super::tls::client_config(self.ca_file.as_deref(), true).map_err(|e| problem("caFile", e))?;
                let mut config = (*base).clone();
                config.alpn_protocols = vec![b"h2".to_vec()];
                Some((Arc::new(config), self.server_name.clone()))
            }
        };
        if let Some(i) = self.conditions.iter().position(|c| c.contains("[STATUS]")) {
            return Err(problem(
                &format!("conditions[{i}]"),
                "a gRPC check has no [STATUS]: use [BODY].status or [CONNECTED]".into(),
            ));
        }
        if tls.is_none()
            && let Some(i) = self.conditions.iter().position(|c| c.contains("[CERTIFICATE_EXPIRATION]"))
        {
            return Err(problem(
                &format!("conditions[{i}]"),
                "[CERTIFICATE_EXPIRATION] needs TLS: write grpcs://".into(),
            ));
        }
        let judge = Judge::new(&self.conditions, "[BODY].status == SERVING", self.failing.as_deref(), false)?;
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        Ok(GrpcSource {
            address,
            service: self.service.unwrap_or_default(),
            tls,
            ca_file: self.ca_file,
            timeout,
            judge,
        })
    }
}

/// What a call came to: the status name, or whether the server answered and why not.
type Called = super::conversation::Ended<String>;

/// One health check over an HTTP/2 connection on `io`.
async fn check<T>(io: T, scheme: &str, authority: &str, service: &str) -> Called
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) =
        h2::client::handshake(io).await.map_err(|e| (false, format!("HTTP/2 handshake failed: {e}")))?;
    let driver = tokio::spawn(connection);
    let outcome = async {
        let mut client = client.ready().await.map_err(|e| (false, format!("HTTP/2: {e}")))?;
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{scheme}://{authority}/grpc.health.v1.Health/Check"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("user-agent", "vigil")
            .body(())
            .map_err(|e| (false, e.to_string()))?;
        let (response, mut send) = client.send_request(request, false).map_err(|e| (false, format!("HTTP/2: {e}")))?;
        send.send_data(bytes::Bytes::from(message::request(service)), true)
            .map_err(|e| (false, format!("HTTP/2: {e}")))?;
        let response = response.await.map_err(|e| (false, format!("no answer: {e}")))?;
        let (head, mut body) = response.into_parts();
        if head.status != http::StatusCode::OK {
            return Err((true, format!("HTTP {} instead of a gRPC answer", head.status.as_u16())));
        }
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| (true, format!("reading the answer failed: {e}")))?;
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await.map_err(|e| (true, format!("reading the trailers failed: {e}")))?;
        // A call that fails at once answers with its status in the headers ("trailers only").
        let field = |name: &str| {
            trailers
                .as_ref()
                .and_then(|t| t.get(name))
                .or_else(|| head.headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match field("grpc-status").as_deref() {
            Some("0") => message::response_status(&data).map(message::status_name).map_err(|e| (true, e)),
            // NOT_FOUND: the health service does not know the service asked about.
            Some("5") => Ok("SERVICE_UNKNOWN".into()),
            Some(code) => Err((true, format!("gRPC status {code}: {}", field("grpc-message").unwrap_or_default()))),
            None => Err((true, "the answer carries no grpc-status".into())),
        }
    };
    let result = outcome.await;
    driver.abort();
    result
}

impl GrpcSource {
    async fn observe(&self, address: &str, now: Millis) -> (Observed, Option<String>) {
        let started = Instant::now();
        let mut expires = None;
        let call = async {
            let tcp = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| (false, format!("could not connect to {address}: {e}")))?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => check(tcp, "http", address, &self.service).await,
                Some((config, name)) => {
                    let host = name.as_deref().unwrap_or_else(|| super::address::host_of(address));
                    let tls = super::tls::handshake(config.clone(), host, tcp).await.map_err(|e| (false, e))?;
                    expires = super::tls::peer_not_after(&tls);
                    check(tls, "https", address, &self.service).await
                }
            }
        };
        let outcome = tokio::time::timeout(self.timeout, call).await;
        super::conversation::observed(
            outcome,
            address,
            (started, self.timeout),
            expires.map(|at| at - now),
            |status| json!({"status": status}),
        )
    }
}

impl Ask for GrpcSource {
    async fn ask(&self, _client: &reqwest::Client, now: Millis) -> Answer {
        let address = match &self.address {
            Ok(a) => a,
            Err(why) => return Answer::Failed(why.clone()),
        };
        let (seen, note) = Box::pin(self.observe(address, now)).await;
        self.judge.judge(seen, note)
    }

    fn judge(&self) -> Option<&Judge> {
        Some(&self.judge)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn source(v: Value) -> Result<GrpcSource, SourceProblem> {
        serde_json::from_value::<GrpcConfig>(v).unwrap().build()
    }

    #[test]
    fn settings_are_read_and_mistakes_named() {
        let plain = source(json!({"url": "grpc://api:50051"})).unwrap();
        assert_eq!((plain.address.as_deref(), plain.tls.is_none()), (Ok("api:50051"), true));
        let secure = source(json!({"url": "grpcs://api:443", "service": "orders.v1.Orders"})).unwrap();
        assert_eq!(secure.tls.as_ref().unwrap().0.alpn_protocols, [b"h2".to_vec()]);
        assert_eq!(secure.service, "orders.v1.Orders");
        let path = |v: Value| source(v).unwrap_err().path;
        assert_eq!(path(json!({"url": "grpc://api"})), "url");
        assert_eq!(path(json!({"url": "grpc://api:1", "conditions": ["[STATUS] == 0"]})), "conditions[0]");
        assert_eq!(
            path(json!({"url": "grpc://api:1", "conditions": ["[CERTIFICATE_EXPIRATION] > 7d"]})),
            "conditions[0]"
        );
        assert_eq!(path(json!({"url": "grpcs://api:1", "caFile": "/nonexistent.pem"})), "caFile");
    }
}
