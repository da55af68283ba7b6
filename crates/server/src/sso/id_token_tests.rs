use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::*;

/// A provider's P-256 key, signing ES256 tokens as a provider would.
struct Signer {
    pair: EcdsaKeyPair,
    kid: &'static str,
}

impl Signer {
    fn new(kid: &'static str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Self { pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap(), kid }
    }

    fn jwk(&self) -> Jwk {
        let point = self.pair.public_key().as_ref();
        serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        }))
        .unwrap()
    }

    fn sign_with(&self, header: Value, claims: &Value) -> String {
        let text =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.pair.sign(&SystemRandom::new(), text.as_bytes()).unwrap();
        format!("{text}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(json!({"alg": "ES256", "kid": self.kid, "typ": "JWT"}), claims)
    }
}

const NOW: i64 = 1_800_000_000;

fn claims() -> Value {
    json!({"iss": "https://idp.test", "aud": "vigil", "sub": "0a1b", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
           "preferred_username": "ana", "groups": ["pay"]})
}

fn expected() -> Expected<'static> {
    Expected { issuer: "https://idp.test", client_id: "vigil", nonce: "n-1", now: NOW }
}

fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut c = claims();
    change(c.as_object_mut().unwrap());
    c
}

#[test]
fn a_good_token_gives_its_claims() {
    let key = Signer::new("k1");
    let got = verify(&key.sign(&claims()), &[Signer::new("k0").jwk(), key.jwk()], expected()).unwrap();
    assert_eq!(got["preferred_username"], "ana");
    let many = with(|c| {
        c.insert("aud".into(), json!(["vigil", "other"]));
        c.insert("azp".into(), json!("vigil"));
    });
    assert!(verify(&key.sign(&many), &[key.jwk()], expected()).is_ok(), "several audiences with azp");
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let (real, forger) = (Signer::new("k1"), Signer::new("k1"));
    assert_eq!(verify(&forger.sign(&claims()), &[real.jwk()], expected()), Err(TokenError::Signature));
    let good = real.sign(&claims());
    let (head, rest) = good.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let changed = format!("{head}.{}.{sig}", URL_SAFE_NO_PAD.encode(with(|c| c["sub"] = json!("admin")).to_string()));
    assert_eq!(verify(&changed, &[real.jwk()], expected()), Err(TokenError::Signature), "claims changed after signing");
}

#[test]
fn an_unknown_kid_finds_no_key() {
    let key = Signer::new("k2");
    assert_eq!(
        verify(&key.sign(&claims()), &[Signer::new("k1").jwk()], expected()),
        Err(TokenError::UnknownKey("k2".into()))
    );
}

#[test]
fn none_and_hmac_are_refused_whatever_the_keys() {
    let key = Signer::new("k1");
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
    assert_eq!(verify(&none, &[key.jwk()], expected()), Err(TokenError::Algorithm("none".into())));
    let hs = key.sign_with(json!({"alg": "HS256", "kid": "k1"}), &claims());
    assert_eq!(verify(&hs, &[key.jwk()], expected()), Err(TokenError::Algorithm("HS256".into())));
    let rs = key.sign_with(json!({"alg": "RS256", "kid": "k1"}), &claims());
    assert_eq!(verify(&rs, &[key.jwk()], expected()), Err(TokenError::UnknownKey("k1".into())), "an EC key is not RSA");
    assert_eq!(verify("a.b", &[key.jwk()], expected()), Err(TokenError::Malformed));
}

#[test]
fn every_claim_is_checked() {
    let key = Signer::new("k1");
    let refused = |c: Value| verify(&key.sign(&c), &[key.jwk()], expected()).unwrap_err();
    assert_eq!(
        refused(with(|c| c["iss"] = json!("https://evil.test"))),
        TokenError::Issuer("https://evil.test".into())
    );
    assert_eq!(refused(with(|c| c["aud"] = json!("other"))), TokenError::Audience);
    assert_eq!(refused(with(|c| c["aud"] = json!(["vigil", "other"]))), TokenError::Audience, "several: azp needed");
    assert_eq!(
        refused(with(|c| {
            c.insert("azp".into(), json!("other"));
        })),
        TokenError::Audience
    );
    assert_eq!(refused(with(|c| c["exp"] = json!(NOW - LEEWAY_SECONDS - 1))), TokenError::Expired);
    assert_eq!(
        refused(with(|c| {
            c.remove("exp");
        })),
        TokenError::Expired,
        "no expiry"
    );
    assert_eq!(refused(with(|c| c["iat"] = json!(NOW + 3600))), TokenError::IssuedLater);
    assert_eq!(refused(with(|c| c["nonce"] = json!("n-2"))), TokenError::Nonce);
    assert_eq!(
        refused(with(|c| {
            c.remove("nonce");
        })),
        TokenError::Nonce
    );
    let skewed = with(|c| c["exp"] = json!(NOW - 10));
    assert!(verify(&key.sign(&skewed), &[key.jwk()], expected()).is_ok(), "within the leeway");
}

#[test]
fn without_a_kid_only_a_single_fitting_key_is_used() {
    let key = Signer::new("k1");
    let token = key.sign_with(json!({"alg": "ES256"}), &claims());
    assert!(verify(&token, &[key.jwk()], expected()).is_ok());
    let two = [key.jwk(), Signer::new("k2").jwk()];
    assert_eq!(verify(&token, &two, expected()), Err(TokenError::UnknownKey(String::new())));
}
