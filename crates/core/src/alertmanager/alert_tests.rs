use serde_json::json;

use super::*;

const MIN: Millis = 60_000;
const NOW: Millis = 1_700_000_000_000;

fn alert(start: Millis, end: Millis, updated: Millis, timeout: bool) -> Alert {
    Alert {
        labels: BTreeMap::from([("alertname".into(), "Down".into())]),
        annotations: BTreeMap::new(),
        starts_at: NOW + start * MIN,
        ends_at: NOW + end * MIN,
        generator_url: String::new(),
        updated_at: NOW + updated * MIN,
        timeout,
        row: 0,
    }
}

/// `TestAlertMerge` in Alertmanager's `alert/alert_test.go`: (A, B, the merge) with A the older,
/// in minutes from now; the merge is the same either way round.
#[test]
fn alertmanagers_merge_cases() {
    let cases = [
        // Both timeouts: the earliest start, the younger end.
        (alert(-2, 2, 0, true), alert(-1, 3, 1, true), alert(-2, 3, 1, true)),
        // A timed out, B did not: B's end.
        (alert(-1, 3, 0, true), alert(0, 2, 1, false), alert(-1, 2, 1, false)),
        // A's real end outlasts B's guess.
        (alert(-1, 3, 0, false), alert(0, 2, 1, true), alert(-1, 3, 1, true)),
        // Neither timed out nor resolved: the later end.
        (alert(-1, 3, 0, false), alert(0, 2, 1, false), alert(-1, 3, 1, false)),
        (alert(-1, 3, 0, false), alert(-1, 4, 1, false), alert(-1, 4, 1, false)),
        // A resolved, B firing: B's end.
        (alert(-3, -1, 0, false), alert(-2, 1, 1, false), alert(-3, 1, 1, false)),
        // B resolved, A firing: B's end.
        (alert(-2, 3, 0, false), alert(-2, 0, 1, false), alert(-2, 0, 1, false)),
        // Both resolved: the latest explicit end, the earliest start.
        (alert(-3, -1, -1, false), alert(-4, -2, 1, false), alert(-4, -1, 1, false)),
    ];
    for (i, (a, b, want)) in cases.iter().enumerate() {
        assert_eq!(&a.merge(b, NOW), want, "case {i}");
        assert_eq!(&b.merge(a, NOW), want, "case {i}, the other way round");
    }
}

#[test]
fn posted_alerts_get_alertmanagers_defaults_and_checks() {
    let body = json!([
        {"labels": {"alertname": "Down", "instance": "a:9100", "empty": ""}, "annotations": {"summary": "gone"},
         "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:18:20Z", "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "NoTimes"}},
        {"labels": {"alertname": "OnlyEnd"}, "endsAt": "2023-11-14T22:00:00Z"},
        {"labels": {}},
        {"labels": {"only": ""}},
        {"annotations": {"x": "y"}},
        {"labels": {"alertname": "Backwards"}, "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:00:00Z"},
        {"labels": {"alertname": 3}},
        {"labels": {"alertname": "BadTime"}, "startsAt": "yesterday"},
        {"labels": {"alertname": "Zero"}, "startsAt": "0001-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
    ]);
    let (alerts, errors) = read_posted(&body, NOW, 5 * MIN).unwrap();
    let names: Vec<&str> = alerts.iter().map(|a| a.labels["alertname"].as_str()).collect();
    assert_eq!(names, ["Down", "NoTimes", "OnlyEnd", "Zero"]);
    assert!(!alerts[0].labels.contains_key("empty"), "empty labels are dropped");
    assert_eq!((alerts[0].starts_at, alerts[0].ends_at, alerts[0].timeout), (NOW, NOW + 5 * MIN, false));
    assert_eq!((alerts[1].starts_at, alerts[1].ends_at, alerts[1].timeout), (NOW, NOW + 5 * MIN, true));
    assert_eq!(alerts[2].starts_at, alerts[2].ends_at, "a start taken from the end");
    assert!(alerts[2].resolved_at(NOW) && !alerts[1].resolved_at(NOW));
    assert_eq!(alerts[3].starts_at, NOW, "Go's zero time is no time");
    let expected = [
        "alerts[3]: at least one label pair required",
        "alerts[4]: at least one label pair required",
        "alerts[5]: labels in body is required",
        "alerts[6]: start time must be before end time",
        "alerts[7]: labels.alertname in body must be of type string: 3",
    ];
    assert_eq!(&errors[..5], expected);
    assert!(errors[5].starts_with("alerts[8]: startsAt in body must be of type date-time"), "{}", errors[5]);
    assert_eq!(read_posted(&json!({}), NOW, MIN).unwrap_err(), "the body is a list of alerts");
    // One identity per label set, whatever the order of the labels.
    let same = json!([{"labels": {"b": "2", "a": "1"}}, {"labels": {"a": "1", "b": "2"}}]);
    let (two, _) = read_posted(&same, NOW, MIN).unwrap();
    assert_eq!(two[0].fingerprint(), two[1].fingerprint());
}

/// Read from bytes, a body reads as it does through a JSON value: well-typed alerts straight
/// (with the same defaults and the same errors for bad times or label sets), any other body
/// through the value, so each bad alert is still named.
#[test]
fn posted_bytes_read_as_the_json_value_does() {
    let typed = json!([
        {"labels": {"alertname": "Down", "empty": ""}, "annotations": {"summary": "gone"},
         "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:18:20Z", "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "NoTimes"}, "annotations": null, "startsAt": null, "extra": 1},
        {"labels": {}},
        {"labels": {"alertname": "Backwards"}, "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T22:00:00Z"},
        {"labels": {"alertname": "BadTime"}, "startsAt": "yesterday"},
        {"labels": {"alertname": "Zero"}, "startsAt": "0001-01-01T00:00:00Z", "endsAt": ""}
    ]);
    let mistyped = json!([{"labels": {"alertname": "Fine"}}, {"labels": {"alertname": 3}}, {"annotations": {}}]);
    for body in [typed, mistyped] {
        let bytes = serde_json::to_vec(&body).unwrap();
        let (alerts, errors) = read_posted_bytes(&bytes, NOW, 5 * MIN).unwrap();
        assert_eq!((alerts, errors), read_posted(&body, NOW, 5 * MIN).unwrap(), "{body}");
    }
    let (alerts, errors) = read_posted_bytes(br#"[{"labels": {"alertname": "A"}}]"#, NOW, MIN).unwrap();
    assert_eq!((alerts.len(), errors.len()), (1, 0));
    assert!(read_posted_bytes(b"[{", NOW, MIN).unwrap_err().starts_with("invalid JSON body"));
    assert_eq!(read_posted_bytes(b"{}", NOW, MIN).unwrap_err(), "the body is a list of alerts");
}
