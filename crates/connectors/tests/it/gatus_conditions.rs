//! Gatus' own condition tests (`config/endpoint/condition_test.go`), restated as data in
//! `tests/gatus/condition_cases.json`, run through vigil's conditions: each case's condition is
//! judged against the result the Go test builds, and must hold exactly when Gatus' test expects
//! it to. Where vigil differs on purpose, the case is listed in `DIFFERENCES` with why (and
//! docs/compatibility.md says the same); a listed case that starts to agree fails the test too,
//! so the list stays true.

use std::collections::BTreeMap;

use serde_json::Value;
use vigil_connectors::sources::conditions::{Condition, Observed};

/// Cases where vigil's answer differs from Gatus', by the case's name, and why.
const DIFFERENCES: [(&str, &str); 2] = [
    // Gatus measures an object by the length of its JSON text (minified, keys sorted: 23 for
    // `{"adult":true,"age":18}`), or the whole body by its raw bytes; vigil counts an object's keys.
    ("len-body-object-inside-array", "len() of an object is its number of keys"),
    ("len-body-object", "len() of an object is its number of keys"),
];

/// Conditions Gatus accepts and vigil refuses, and why.
const REFUSED: [(&str, &str); 0] = [];

/// What Gatus' test hands the condition, as vigil's checks observe it: the body parsed as JSON
/// when it is JSON (as the `http` source reads it), else text.
fn observed(result: &Value) -> Observed {
    let body = result
        .get("Body")
        .and_then(Value::as_str)
        .map_or(Value::Null, |b| serde_json::from_str::<Value>(b).unwrap_or_else(|_| Value::String(b.to_string())));
    Observed {
        connected: result.get("Connected").and_then(Value::as_bool).unwrap_or(false),
        status: result.get("HTTPStatus").and_then(Value::as_u64).unwrap_or(0) as u16,
        response_time_ms: result.get("Duration_ms").and_then(Value::as_i64).unwrap_or(0),
        body,
        certificate_expires_in_ms: result.get("CertificateExpiration_ms").and_then(Value::as_i64),
        dns_rcode: result.get("DNSRCode").and_then(Value::as_str).map(str::to_string),
        ip: result.get("IP").and_then(Value::as_str).map(str::to_string),
        domain_expires_in_ms: result.get("DomainExpiration_ms").and_then(Value::as_i64),
    }
}

#[test]
fn gatus_condition_tests_hold_in_vigil() {
    let cases: Value = serde_json::from_str(include_str!("../gatus/condition_cases.json")).unwrap();
    let evaluate = cases["evaluate"].as_array().unwrap();
    assert_eq!(evaluate.len(), 98, "every case of condition_test.go's TestCondition_evaluate");
    let mut disagree: BTreeMap<String, String> = BTreeMap::new();
    for case in evaluate {
        let (name, text) = (case["name"].as_str().unwrap(), case["condition"].as_str().unwrap());
        let expected = case["expected_success"].as_bool().unwrap();
        let got = match Condition::parse(text) {
            Ok(condition) => condition.check(&observed(&case["result"])).is_ok(),
            Err(e) => {
                disagree.insert(format!("{name}: `{text}`"), format!("refused: {e}"));
                continue;
            }
        };
        if got != expected {
            disagree.insert(format!("{name}: `{text}`"), format!("vigil says {got}, Gatus {expected}"));
        }
    }
    let known: BTreeMap<String, String> = DIFFERENCES
        .iter()
        .filter_map(|(name, why)| {
            let case = evaluate.iter().find(|c| c["name"] == *name)?;
            Some((format!("{name}: `{}`", case["condition"].as_str().unwrap()), why.to_string()))
        })
        .collect();
    let unexplained: Vec<_> = disagree.iter().filter(|(k, _)| !known.contains_key(*k)).collect();
    let agreeing: Vec<_> = known.keys().filter(|k| !disagree.contains_key(*k)).collect();
    assert!(unexplained.is_empty(), "cases vigil answers unlike Gatus: {unexplained:#?}");
    assert!(agreeing.is_empty(), "listed as different but agreeing now: {agreeing:#?}");
}

/// Every condition Gatus' `TestCondition_Validate` accepts, vigil reads too, but those in
/// `REFUSED`; the one it refuses (no spaced operator), vigil refuses.
#[test]
fn gatus_condition_validation_agrees() {
    let cases: Value = serde_json::from_str(include_str!("../gatus/condition_cases.json")).unwrap();
    for case in cases["validate"].as_array().unwrap() {
        let text = case["condition"].as_str().unwrap();
        let gatus_accepts = case["expected_err"].is_null();
        let vigil_accepts = gatus_accepts && !REFUSED.iter().any(|(c, _)| *c == text);
        assert_eq!(Condition::parse(text).is_ok(), vigil_accepts, "`{text}`: {:?}", Condition::parse(text).err());
    }
}
