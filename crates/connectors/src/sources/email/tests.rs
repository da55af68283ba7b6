use serde_json::json;

use super::*;

fn config(v: serde_json::Value) -> EmailConfig {
    let mut base = json!({
        "host": "imap.example.com", "user": "robot@example.com", "password": "p",
        "senders": ["reports@example.com", "backup@example.com"],
        "subjects": ["Great - You look awesome!", "Good - You look OK!"],
        "delivery_time": "03:00", "check_time": "03:15", "zone": "America/New_York"
    });
    for (k, val) in v.as_object().unwrap() {
        base[k] = val.clone();
    }
    serde_json::from_value(base).unwrap()
}

#[test]
fn the_server_search_narrows_by_date_senders_and_exact_subjects() {
    let c = config(json!({}));
    let window = c.window(None).unwrap().on(jiff::civil::date(2026, 11, 24)).unwrap();
    assert_eq!(
        c.search_query(&window),
        r#"SINCE 23-Nov-2026 OR FROM "reports@example.com" (FROM "backup@example.com") OR SUBJECT "Great - You look awesome!" (SUBJECT "Good - You look OK!")"#
    );
    // A regular expression cannot be searched on the server: subjects are left to the client.
    let c = config(json!({"subjects": ["/^Daily report \\d+$/"], "senders": ["a\"b@example.com"]}));
    assert_eq!(c.search_query(&window), r#"SINCE 23-Nov-2026 FROM "a\"b@example.com""#);
}

#[test]
fn matching_is_exact_on_subjects_case_blind_on_addresses_and_regexes_are_regexes() {
    let c = config(json!({})).matcher().unwrap();
    assert!(c.matches(&["Reports@Example.com".into()], "Great - You look awesome!"));
    assert!(!c.matches(&["reports@example.com".into()], "Great - You look awesome!!"), "exact, as Robopager");
    assert!(!c.matches(&["someone@example.com".into()], "Good - You look OK!"));
    let c = config(json!({"subjects": ["/^Daily report \\d+$/"]})).matcher().unwrap();
    assert!(c.matches(&["backup@example.com".into()], "Daily report 42"));
    assert!(!c.matches(&["backup@example.com".into()], "Daily report"));
}

#[test]
fn bad_blocks_name_their_field() {
    let problem = |v: serde_json::Value| config(v).check().unwrap_err();
    assert_eq!(problem(json!({"check_time": "3pm"})).path, "check_time");
    assert_eq!(problem(json!({"zone": "Mars/Olympus"})).path, "zone");
    assert_eq!(problem(json!({"days": ["funday"]})).path, "days");
    assert_eq!(problem(json!({"subjects": ["/(/"]})).path, "subjects[0]");
    assert_eq!(problem(json!({"tls": "sometimes"})).path, "tls");
    assert_eq!(problem(json!({"password": null})).path, "password");
    assert!(config(json!({"tls": "starttls"})).check().is_ok());
    assert_eq!(config(json!({"tls": "starttls"})).port(), 143);
    assert_eq!(config(json!({})).port(), 993);
}
