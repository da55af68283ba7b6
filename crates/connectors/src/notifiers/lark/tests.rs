use super::*;
use crate::notifiers::fixtures::message;

fn lark(kind: &str, secret: Option<&str>) -> LarkConfig {
    serde_json::from_value(json!({"name": "bot", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/xxxx", "secret": secret, "message_type": kind})).unwrap()
}

#[test]
fn signature_matches_larks_documented_algorithm() {
    // HMAC-SHA256 keyed with "1599360473\ndemo", over an empty message, base64-encoded.
    let expected = {
        let mac = Hmac::<Sha256>::new_from_slice(b"1599360473\ndemo").unwrap();
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    assert_eq!(sign(1_599_360_473, "demo"), expected);
    assert_eq!(expected.len(), 44);
}

#[test]
fn signed_card_carries_timestamp_in_seconds_as_a_string() {
    let req = lark("interactive", Some("demo")).build_request(&message(Notice::Trigger), 1_599_360_473_123).unwrap();
    assert_eq!(req.body["timestamp"], json!("1599360473"));
    assert_eq!(req.body["sign"], json!(sign(1_599_360_473, "demo")));
    insta::assert_json_snapshot!(req.body);
}

#[test]
fn text_and_post_messages() {
    let req = lark("text", None).build_request(&message(Notice::Resolve), 0).unwrap();
    assert_eq!(req.body["msg_type"], json!("text"));
    assert!(req.body["content"]["text"].as_str().unwrap().starts_with("[RESOLVED] "));
    assert!(req.body.get("sign").is_none(), "unsigned without a secret");
    let req = lark("post", None).build_request(&message(Notice::Trigger), 0).unwrap();
    assert_eq!(
        req.body["content"]["post"]["en_us"]["content"][2],
        json!([{"tag": "a", "text": "Failed runs", "href": "https://conductor.example.com/search"}])
    );
}

#[test]
fn a_non_zero_code_is_a_failure_even_with_http_200() {
    assert_eq!(classify(200, None, r#"{"code":0,"msg":"success","data":{}}"#), Outcome::Delivered);
    assert_eq!(classify(200, None, r#"{"StatusCode":0,"StatusMessage":"success"}"#), Outcome::Delivered);
    assert_eq!(classify(200, None, r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#), Outcome::Permanent { reason: "lark refused the message with code 19021: sign match fail or timestamp is not within one hour from current time".into() });
    assert!(matches!(classify(200, None, r#"{"code":11232,"msg":"frequency limited"}"#), Outcome::Retry { .. }));
    assert!(
        matches!(classify(400, None, r#"{"code":11232,"msg":"frequency limited"}"#), Outcome::Retry { .. }),
        "rate limits may come with HTTP 400"
    );
    assert!(matches!(classify(200, None, r#"{"code":9499,"msg":"Bad Request"}"#), Outcome::Permanent { .. }));
    assert!(matches!(classify(502, None, ""), Outcome::Retry { .. }));
}
