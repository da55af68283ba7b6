//! Verifying an OpenID Connect ID token (a JWS in compact form): its signature by a key of the
//! provider's JWKS, then its claims (OpenID Connect Core 1.0, 3.1.3.7). Pure: the keys and the
//! time come in.
//!
//! Only asymmetric algorithms are taken (RS256/384/512, PS256/384/512, ES256/384, EdDSA), each
//! with a key of its own type: `none` and the HMAC algorithms are refused, so a token cannot
//! choose to be checked with the client secret or with nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How far apart vigil's clock and the provider's may be.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("the ID token is not a signed JWT")]
    Malformed,
    /// An algorithm vigil does not accept.
    #[error("the ID token is signed with `{0}`, which vigil does not accept")]
    Algorithm(String),
    /// No key of the provider's has the token's `kid` (or fits its algorithm).
    #[error("no key of the provider's is `{0}`")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("the ID token's signature does not verify")]
    Signature,
    /// `iss` is not the provider's issuer.
    #[error("the ID token was issued by `{0}`, not the configured issuer")]
    Issuer(String),
    /// `aud` does not name vigil's client (or `azp` names another).
    #[error("the ID token is not for this client")]
    Audience,
    /// `exp` has passed.
    #[error("the ID token expired")]
    Expired,
    /// `iat` is in the future.
    #[error("the ID token was issued in the future")]
    IssuedLater,
    /// `nonce` is not the one this sign-in sent.
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
}

/// One key of a JWKS (RFC 7517), as much as verifying needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    /// Its id.
    #[serde(default)]
    pub kid: Option<String>,
    /// `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// The algorithm it is for, if the set says.
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig` or `enc`, if the set says.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus.
    #[serde(default)]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default)]
    pub e: Option<String>,
    /// EC or OKP curve.
    #[serde(default)]
    pub crv: Option<String>,
    /// EC x coordinate, or the OKP public key.
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default)]
    pub y: Option<String>,
}

/// A JWKS document.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct JwkSet {
    /// Its keys.
    pub keys: Vec<Jwk>,
}

/// A token's JOSE header, as much as choosing a key needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// The algorithm.
    pub alg: String,
    /// The key's id.
    #[serde(default)]
    pub kid: Option<String>,
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuer, exactly.
    pub issuer: &'a str,
    /// vigil's client id.
    pub client_id: &'a str,
    /// The nonce this sign-in sent.
    pub nonce: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// A compact JWS taken apart.
struct Parts<'t> {
    header: Header,
    /// What the signature covers: `HEADER.PAYLOAD` as sent.
    signed: &'t str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// The parts of a compact JWS.
fn parts(token: &str) -> Result<Parts<'_>, TokenError> {
    let mut split = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (split.next(), split.next(), split.next(), split.next()) else {
        return Err(TokenError::Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| TokenError::Malformed)?;
    let signed = &token[..h.len() + 1 + p.len()];
    Ok(Parts { header, signed, payload: decode(p)?, signature: decode(s)? })
}

/// The token's header, to choose its key.
pub fn header(token: &str) -> Result<Header, TokenError> {
    parts(token).map(|p| p.header)
}

/// The key of `keys` that can check a token with `header`, if any.
pub fn key_for<'k>(header: &Header, keys: &'k [Jwk]) -> Option<&'k Jwk> {
    let kty = kty_of(&header.alg)?;
    let fits = |k: &&Jwk| {
        k.kty == kty && k.use_.as_deref().is_none_or(|u| u == "sig") && k.alg.as_deref().is_none_or(|a| a == header.alg)
    };
    match &header.kid {
        Some(kid) => keys.iter().filter(fits).find(|k| k.kid.as_deref() == Some(kid)),
        // Without a `kid`, only a set with one key that fits says which.
        None => {
            let mut fitting = keys.iter().filter(fits);
            let only = fitting.next()?;
            fitting.next().is_none().then_some(only)
        }
    }
}

/// The key type an accepted algorithm needs.
fn kty_of(alg: &str) -> Option<&'static str> {
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => Some("RSA"),
        "ES256" | "ES384" => Some("EC"),
        "EdDSA" => Some("OKP"),
        _ => None,
    }
}

/// Checks `token`'s signature with `keys` and its claims against `expected`; gives its claims.
pub fn verify(token: &str, keys: &[Jwk], expected: Expected<'_>) -> Result<Map<String, Value>, TokenError> {
    let Parts { header, signed, payload, signature } = parts(token)?;
    if kty_of(&header.alg).is_none() {
        return Err(TokenError::Algorithm(header.alg));
    }
    let key = key_for(&header, keys).ok_or_else(|| TokenError::UnknownKey(header.kid.clone().unwrap_or_default()))?;
    check_signature(&header.alg, key, signed.as_bytes(), &signature)?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn b64(field: &Option<String>) -> Result<Vec<u8>, TokenError> {
    let text = field.as_deref().ok_or(TokenError::Signature)?;
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| TokenError::Signature)
}

fn check_signature(alg: &str, key: &Jwk, signed: &[u8], sig: &[u8]) -> Result<(), TokenError> {
    let rsa: Option<&'static signature::RsaParameters> = match alg {
        "RS256" => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Some(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => Some(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => Some(&signature::RSA_PSS_2048_8192_SHA512),
        _ => None,
    };
    let verified = if let Some(params) = rsa {
        let (n, e) = (b64(&key.n)?, b64(&key.e)?);
        RsaPublicKeyComponents { n: &n, e: &e }.verify(params, signed, sig)
    } else {
        let (curve, verify_alg): (&str, &'static dyn signature::VerificationAlgorithm) = match alg {
            "ES256" => ("P-256", &signature::ECDSA_P256_SHA256_FIXED),
            "ES384" => ("P-384", &signature::ECDSA_P384_SHA384_FIXED),
            _ => ("Ed25519", &signature::ED25519),
        };
        if key.crv.as_deref() != Some(curve) {
            return Err(TokenError::Signature);
        }
        let public = if alg == "EdDSA" {
            b64(&key.x)?
        } else {
            let mut point = vec![4u8];
            point.extend(b64(&key.x)?);
            point.extend(b64(&key.y)?);
            point
        };
        UnparsedPublicKey::new(verify_alg, public).verify(signed, sig)
    };
    verified.map_err(|_| TokenError::Signature)
}

fn check_claims(claims: &Map<String, Value>, expected: Expected<'_>) -> Result<(), TokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    let issuer = text("iss").unwrap_or_default();
    if issuer != expected.issuer {
        return Err(TokenError::Issuer(issuer.to_string()));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let azp_ok = match text("azp") {
        Some(azp) => azp == expected.client_id,
        None => audiences.len() == 1,
    };
    if !audiences.contains(&expected.client_id) || !azp_ok {
        return Err(TokenError::Audience);
    }
    match number("exp") {
        Some(exp) if exp + LEEWAY_SECONDS > expected.now => {}
        _ => return Err(TokenError::Expired),
    }
    if number("iat").is_some_and(|iat| iat > expected.now + LEEWAY_SECONDS) {
        return Err(TokenError::IssuedLater);
    }
    let nonce_ok: bool = match text("nonce") {
        Some(n) => subtle::ConstantTimeEq::ct_eq(n.as_bytes(), expected.nonce.as_bytes()).into(),
        None => false,
    };
    if !nonce_ok {
        return Err(TokenError::Nonce);
    }
    Ok(())
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
