//! Talking to an OpenID Connect provider: its discovery document and keys (cached, the keys
//! fetched again when a token names a key not seen yet: the provider rotated them), the code
//! exchange and the userinfo endpoint. Errors never carry a code, a token or the client secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use vigil_core::identity::OidcDef;

use super::id_token::{self, Expected, JwkSet, TokenError};

/// How long a discovery document and its keys are used before they are fetched again.
const FRESH_FOR: Duration = Duration::from_secs(3600);
/// How long one request to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider.
const MAX_BODY: usize = 1 << 20;

/// Why talking to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// It could not be reached, or answered with an error.
    #[error("{what}: {why}")]
    Http {
        /// What was asked.
        what: &'static str,
        /// What went wrong.
        why: String,
    },
    /// Its discovery document names another issuer.
    #[error("the discovery document's issuer `{0}` is not the configured issuer")]
    Issuer(String),
    /// The ID token was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token endpoint answered without an ID token.
    #[error("the token endpoint answered without an ID token")]
    NoIdToken,
    /// Userinfo was about someone else.
    #[error("the userinfo endpoint described another subject")]
    UserinfoSubject,
}

/// A provider's discovery document (OpenID Connect Discovery 1.0), as much as vigil uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Its issuer.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// Its keys.
    pub jwks_uri: String,
    /// Where the person's claims are read, if the ID token lacks some.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Where signing out is sent (RP-initiated logout).
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// A provider as last read.
struct Known {
    discovery: Arc<Discovery>,
    keys: Arc<JwkSet>,
    read_at: Instant,
}

/// The providers' documents and keys, per issuer, for this process.
pub struct Providers {
    client: reqwest::Client,
    known: Mutex<HashMap<String, Known>>,
}

impl Default for Providers {
    fn default() -> Self {
        Self { client: vigil_runtime::http_client(), known: Mutex::default() }
    }
}

/// What the token endpoint gave.
#[derive(Deserialize)]
struct Tokens {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl Providers {
    /// `def`'s discovery document, fetched if not read within [`FRESH_FOR`].
    pub async fn discovery(&self, def: &OidcDef) -> Result<Arc<Discovery>, ProviderError> {
        if let Some(known) = self.known.lock().await.get(&def.issuer).filter(|k| k.read_at.elapsed() < FRESH_FOR) {
            return Ok(known.discovery.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", def.issuer.trim_end_matches('/'));
        let discovery: Discovery = self.get_json("the discovery document", &url, None).await?;
        if discovery.issuer != def.issuer {
            return Err(ProviderError::Issuer(discovery.issuer));
        }
        let keys: JwkSet = self.get_json("the provider's keys", &discovery.jwks_uri, None).await?;
        let discovery = Arc::new(discovery);
        let known = Known { discovery: discovery.clone(), keys: Arc::new(keys), read_at: Instant::now() };
        self.known.lock().await.insert(def.issuer.clone(), known);
        Ok(discovery)
    }

    /// Exchanges `code` (with its PKCE `verifier`) for the person's verified claims: the ID
    /// token's, completed from the userinfo endpoint when it lacks `wanted` ones.
    pub async fn claims(
        &self,
        def: &OidcDef,
        (code, verifier, redirect_uri): (&str, &str, &str),
        client_secret: Option<&str>,
        (nonce, now, wanted): (&str, i64, &[&str]),
    ) -> Result<Map<String, Value>, ProviderError> {
        let discovery = self.discovery(def).await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &def.client_id),
        ];
        let body = serde_urlencoded::to_string(form).unwrap_or_default();
        let mut request = self
            .client
            .post(&discovery.token_endpoint)
            .timeout(TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(secret) = client_secret {
            // client_secret_basic (RFC 6749, 2.3.1): both parts form-encoded first.
            let pair = format!("{}:{}", form_encode(&def.client_id), form_encode(secret));
            let basic = base64::engine::general_purpose::STANDARD.encode(pair);
            request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let tokens: Tokens = read_json("the code exchange", request).await?;
        let id_token = tokens.id_token.ok_or(ProviderError::NoIdToken)?;
        let expected = Expected { issuer: &def.issuer, client_id: &def.client_id, nonce, now };
        let mut claims = self.verify(def, &id_token, expected).await?;
        let lacking = wanted.iter().any(|c| !claims.contains_key(*c));
        if let (true, Some(url), Some(access)) = (lacking, &discovery.userinfo_endpoint, &tokens.access_token) {
            let info: Map<String, Value> = self.get_json("the userinfo endpoint", url, Some(access)).await?;
            if info.get("sub") != claims.get("sub") {
                return Err(ProviderError::UserinfoSubject);
            }
            for (k, v) in info {
                claims.entry(k).or_insert(v);
            }
        }
        Ok(claims)
    }

    /// Verifies `token` with the keys as read; once more with the keys fetched again when it
    /// names a key not among them (the provider rotated its keys).
    async fn verify(
        &self,
        def: &OidcDef,
        token: &str,
        expected: Expected<'_>,
    ) -> Result<Map<String, Value>, ProviderError> {
        let keys = self.keys(def).await?;
        match id_token::verify(token, &keys.keys, expected) {
            Err(TokenError::UnknownKey(_)) => {
                let discovery = self.discovery(def).await?;
                let fresh: JwkSet = self.get_json("the provider's keys", &discovery.jwks_uri, None).await?;
                let fresh = Arc::new(fresh);
                if let Some(known) = self.known.lock().await.get_mut(&def.issuer) {
                    known.keys = fresh.clone();
                }
                Ok(id_token::verify(token, &fresh.keys, expected)?)
            }
            other => Ok(other?),
        }
    }

    async fn keys(&self, def: &OidcDef) -> Result<Arc<JwkSet>, ProviderError> {
        self.discovery(def).await?;
        let known = self.known.lock().await;
        Ok(known.get(&def.issuer).map(|k| k.keys.clone()).unwrap_or_default())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, ProviderError> {
        let mut request = self.client.get(url).timeout(TIMEOUT).header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        read_json(what, request).await
    }
}

/// Sends `request` and reads its JSON answer (at most [`MAX_BODY`] bytes).
async fn read_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<T, ProviderError> {
    let failed = |why: String| ProviderError::Http { what, why };
    let mut response = request.send().await.map_err(|e| failed(e.without_url().to_string()))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.without_url().to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(failed("the answer is too large".into()));
        }
    }
    if !status.is_success() {
        // Only the OAuth error code is told (`invalid_grant`): a description may echo the request.
        let code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e.chars().take(64).collect::<String>()));
        return Err(failed(format!("HTTP {}{}", status.as_u16(), code.map(|c| format!(" ({c})")).unwrap_or_default())));
    }
    serde_json::from_slice(&body).map_err(|e| failed(format!("not the JSON expected: {e}")))
}

/// `text` form-encoded (`application/x-www-form-urlencoded`).
fn form_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).map(|s| s[1..].to_string()).unwrap_or_default()
}
