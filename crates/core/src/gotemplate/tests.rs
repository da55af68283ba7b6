//! Alertmanager's own template tests (`template/template_test.go`, `TestTemplateExpansion`), the
//! cases this subset supports, restated; then its `default.tmpl`, run unchanged.

use serde_json::{Value, json};

use super::Templates;

fn run(text: &str, data: Value, html: bool) -> Result<String, super::TemplateError> {
    Templates::default().render(text, &data, html)
}

#[test]
fn alertmanagers_expansion_cases() {
    let kv = json!({"GroupLabels": {"key1": "key1", "key2": "key2", "key3": "key3", "key4": "key4"}});
    let cases: Vec<(&str, Value, bool, &str)> = vec![
        ("abc", Value::Null, false, "abc"),
        (r#"{{ "abc" }}"#, Value::Null, false, "abc"),
        (r#"{{ "abc" | toUpper }}"#, Value::Null, false, "ABC"),
        (r#"{{ "ABC" | toLower }}"#, Value::Null, false, "abc"),
        (r#"{{ "abc" | title }}"#, Value::Null, false, "Abc"),
        (r#"{{ " a b c " | trimSpace }}"#, Value::Null, false, "a b c"),
        (r#"{{ if match "^a" "abc"}}abc{{ end }}"#, Value::Null, false, "abc"),
        (r#"{{ if match "abcd" "abc" }}abc{{ end }}"#, Value::Null, false, ""),
        (r#"{{ . | join "," }}"#, json!(["a", "b", "c"]), false, "a,b,c"),
        (r#"{{ "<b>" }}"#, Value::Null, false, "<b>"),
        (r#"{{ "<b>" }}"#, Value::Null, true, "&lt;b&gt;"),
        (r#"{{ "<b>" | safeHtml }}"#, Value::Null, true, "<b>"),
        (r#"{{ reReplaceAll "ab" "AB" "abcdabcda"}}"#, Value::Null, false, "ABcdABcda"),
        (r#"{{ "search?q=test%20foo" | urlUnescape }}"#, Value::Null, false, "search?q=test foo"),
        (
            r#"{{ with .GroupLabels }}{{ with .Remove (stringSlice "key1" "key3") }}{{ .SortedPairs.Values }}{{ end }}{{ end }}"#,
            kv,
            false,
            "[key2 key4]",
        ),
        (r#"{{ "test" | toJson }}"#, Value::Null, false, r#""test""#),
        (r#"{{ 42 | toJson }}"#, Value::Null, false, "42"),
        (r#"{{ true | toJson }}"#, Value::Null, false, "true"),
        (r#"{{ . | toJson }}"#, json!({"key": "value", "number": 123}), false, r#"{"key":"value","number":123}"#),
        (r#"{{ . | toJson }}"#, json!(["a", "b", "c"]), false, r#"["a","b","c"]"#),
        // Alertmanager's template data under its JSON tags, as Go marshals it; labels as they are.
        (
            r#"{{ .Alerts | toJson }}"#,
            json!({"Receiver": "team", "Alerts": [{"Status": "firing", "Labels": {"Status": "x"}, "GeneratorURL": "u", "Fingerprint": "f"}]}),
            false,
            r#"[{"status":"firing","labels":{"Status":"x"},"generatorURL":"u","fingerprint":"f"}]"#,
        ),
        (
            r#"{{ toJson . }}"#,
            json!({"Receiver": "team", "ExternalURL": "e", "Alerts": [{"Labels": {}, "Fingerprint": "f"}]}),
            false,
            r#"{"receiver":"team","externalURL":"e","alerts":[{"labels":{},"fingerprint":"f"}]}"#,
        ),
        (r#"{{ "test" | base64encode }}"#, Value::Null, false, "dGVzdA=="),
        (r#"{{ "flush>>" | base64encode }}"#, Value::Null, false, "Zmx1c2g-Pg=="),
        (r#"{{ "dGVzdA==" | base64decode }}"#, Value::Null, false, "test"),
        (r#"{{- $test := dict -}}{{ $test }}"#, Value::Null, false, "map[]"),
        (r#"{{- $test := dict "a" 1 "b" 2 "c" 3 -}}{{ $test }}"#, Value::Null, false, "map[a:1 b:2 c:3]"),
        (r#"{{- $test := list -}}{{ $test }}"#, Value::Null, false, "[]"),
        (r#"{{- $test := list "a" "b" "c" -}}{{ $test }}"#, Value::Null, false, "[a b c]"),
        (
            r#"{{- $test := list "a" "b" -}}{{ $test = append $test "c" "d" -}}{{ $test }}"#,
            Value::Null,
            false,
            "[a b c d]",
        ),
    ];
    for (text, data, html, want) in cases {
        assert_eq!(run(text, data, html).unwrap_or_else(|e| panic!("{text}: {e}")), want, "{text}");
    }
    for bad in [
        "{{ ",
        r#"{{ "not-valid-base64!" | base64decode }}"#,
        r#"{{ dict "a" }}"#,
        r#"{{ dict 1 "value" }}"#,
        "{{ nope }}",
        "{{ if . }}x",
    ] {
        assert!(run(bad, Value::Null, false).is_err(), "{bad} should fail");
    }
}

#[test]
fn control_structures_variables_and_trimming() {
    let data =
        json!({"Alerts": [{"Status": "firing", "Labels": {"a": "1"}}, {"Status": "resolved", "Labels": {"a": "2"}}]});
    let cases = [
        ("{{ range $i, $a := .Alerts }}{{ $i }}={{ $a.Labels.a }};{{ end }}", "0=1;1=2;"),
        ("{{ range .Alerts.Firing }}{{ .Labels.a }}{{ else }}none{{ end }}", "1"),
        ("{{ range .Missing }}x{{ else }}none{{ end }}", "none"),
        ("{{ if eq (len .Alerts) 3 }}3{{ else if gt (len .Alerts) 1 }}many{{ else }}one{{ end }}", "many"),
        ("{{ with .Alerts.Resolved }}{{ len . }} resolved{{ end }}", "1 resolved"),
        ("a  {{- /* comment */ -}}  b", "ab"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ range .Alerts }}{{ $.Alerts | len }}{{ end }}", "22"),
        (
            "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" \"x\" }}{{ block \"b\" 1 }}<{{ . }}>{{ end }}",
            "[x]<1>",
        ),
        ("{{ printf \"%s has %d (%.1f%%)\" \"db\" 3 12.34 }}", "db has 3 (12.3%)"),
        ("{{ .Nope.Deeper | print }}", ""),
        ("{{ and 1 0 }} {{ or 0 \"\" \"z\" }} {{ not 0 }}", "0 z true"),
        ("{{ index .Alerts 1 \"Status\" }}", "resolved"),
        ("{{ \"2026-03-29T01:30:00Z\" | date \"2006-01-02 15:04 MST\" }}", "2026-03-29 01:30 UTC"),
        (
            "{{ (\"2026-03-29T01:30:00Z\" | tz \"Europe/Berlin\").Format \"Mon Jan _2 15:04 -07:00\" }}",
            "Sun Mar 29 03:30 +02:00",
        ),
        ("{{ humanizeDuration 3725 }}", "1h 2m 5s"),
    ];
    for (text, want) in cases {
        let got = run(text, data.clone(), false);
        if text.contains(".Nope.Deeper") {
            assert!(got.is_err(), "a field of nothing is an error, as in Go: {got:?}");
            continue;
        }
        assert_eq!(got.unwrap_or_else(|e| panic!("{text}: {e}")), want, "{text}");
    }
}

#[test]
fn a_template_that_calls_itself_forever_stops_with_an_error() {
    let e = run(r#"{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}"#, Value::Null, false);
    assert!(e.unwrap_err().to_string().contains("too deeply"));
}

#[test]
fn parse_errors_name_their_line() {
    let e = Templates::default().check("line one\n{{ if . }}\n{{ nope . }}\n{{ end }}").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("nope"));
}
