//! Alertmanager's own parser tests (`matcher/parse/parse_test.go`, `TestMatchers` and
//! `TestMatcher`), restated as data: every input gives the same matchers or the same error.

use std::collections::BTreeMap;

use super::*;

/// An input, and the matchers (name, type, value) or the error it gives.
type Case = (&'static str, Result<&'static [(&'static str, MatchType, &'static str)], &'static str>);

/// `TestMatchers` in `matcher/parse/parse_test.go`: input, then the matchers or the error.
const MATCHERS: &[Case] = &[
    ("", Ok(&[])),
    ("{}", Ok(&[])),
    ("{foo=bar}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{foo=bar,}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{foo!=bar}", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("{foo=~[a-z]+}", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("{foo!~[a-z]+}", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{foo=🙂}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{foo=🙂bar}", Ok(&[("foo", MatchType::Equal, "🙂bar")])),
    ("foo=bar", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("foo=bar,", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("foo!=bar", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("foo=~[a-z]+", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("foo!~[a-z]+", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{\"foo\"=\"bar\"}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{\"foo\"=\"bar\",}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{\"foo\"!=\"bar\"}", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("{\"foo\"=~\"[a-z]+\"}", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("{\"foo\"=~\"\\\\d+\"}", Ok(&[("foo", MatchType::Regexp, "\\d+")])),
    ("{\"foo\"!~\"[a-z]+\"}", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{\"foo\"=\"🙂\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"\\U0001f642\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"🙂bar\"}", Ok(&[("foo", MatchType::Equal, "🙂bar")])),
    ("{\"foo\"=\"bar\\n\"}", Ok(&[("foo", MatchType::Equal, "bar\n")])),
    ("{\"foo\"=\"bar\\t\"}", Ok(&[("foo", MatchType::Equal, "bar\t")])),
    ("{\"foo\"=\"\\\"bar\\\"\"}", Ok(&[("foo", MatchType::Equal, "\"bar\"")])),
    ("{\"foo\"=\"bar\\\\\"}", Ok(&[("foo", MatchType::Equal, "bar\\")])),
    ("\"foo\"=\"bar\"", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("\"foo\"=\"bar\",", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{foo=bar,bar!=baz}", Ok(&[("foo", MatchType::Equal, "bar"), ("bar", MatchType::NotEqual, "baz")])),
    ("{foo=\"bar\",bar!=\"baz\"}", Ok(&[("foo", MatchType::Equal, "bar"), ("bar", MatchType::NotEqual, "baz")])),
    ("foo=bar,bar!=baz", Ok(&[("foo", MatchType::Equal, "bar"), ("bar", MatchType::NotEqual, "baz")])),
    ("foo=\"bar\",bar!=\"baz\"", Ok(&[("foo", MatchType::Equal, "bar"), ("bar", MatchType::NotEqual, "baz")])),
    (",", Err("0:1: unexpected ,: expected label name")),
    ("{,}", Err("1:2: unexpected ,: expected label name")),
    ("{", Err("0:1: end of input: expected close brace")),
    ("}", Err("0:1: }: expected opening brace")),
    ("foo=bar}", Err("0:8: }: expected opening brace")),
    ("{foo=bar", Err("0:8: end of input: expected close brace")),
    ("{foo=:\"bar\"}", Err("6:11: unexpected \"bar\": expected a comma or close brace")),
    ("{foo=\"bar\\w\"}", Err("5:12: \"bar\\w\": invalid input")),
    ("{\"foo\"=~\"\\d+\"}", Err("8:13: \"\\d+\": invalid input")),
    ("{foo=bar\\n}", Err("8:9: \\: invalid input: expected a comma or close brace")),
    ("{\"foo\"=\"\\xf0\\x9f\"}", Err("7:17: \"\\xf0\\x9f\": invalid input")),
];
/// `TestMatcher` in `matcher/parse/parse_test.go`: input, then the matchers or the error.
const MATCHER: &[Case] = &[
    ("{foo=bar}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{foo=bar,}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{foo!=bar}", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("{foo=~[a-z]+}", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("{foo!~[a-z]+}", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{foo=🙂}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"\\xf0\\x9f\\x99\\x82\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"\\U0001f642\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{foo=🙂bar}", Ok(&[("foo", MatchType::Equal, "🙂bar")])),
    ("foo=bar", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("foo=bar,", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("foo!=bar", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("foo=~[a-z]+", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("foo!~[a-z]+", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{\"foo\"=\"bar\"}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{\"foo\"=\"bar\",}", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{\"foo\"!=\"bar\"}", Ok(&[("foo", MatchType::NotEqual, "bar")])),
    ("{\"foo\"=~\"[a-z]+\"}", Ok(&[("foo", MatchType::Regexp, "[a-z]+")])),
    ("{\"foo\"!~\"[a-z]+\"}", Ok(&[("foo", MatchType::NotRegexp, "[a-z]+")])),
    ("{\"foo\"=\"🙂\"}", Ok(&[("foo", MatchType::Equal, "🙂")])),
    ("{\"foo\"=\"🙂bar\"}", Ok(&[("foo", MatchType::Equal, "🙂bar")])),
    ("{\"foo\"=\"bar\\n\"}", Ok(&[("foo", MatchType::Equal, "bar\n")])),
    ("{\"foo\"=\"bar\\t\"}", Ok(&[("foo", MatchType::Equal, "bar\t")])),
    ("{\"foo\"=\"\\\"bar\\\"\"}", Ok(&[("foo", MatchType::Equal, "\"bar\"")])),
    ("{\"foo\"=\"bar\\\\\"}", Ok(&[("foo", MatchType::Equal, "bar\\")])),
    ("\"foo\"=\"bar\"", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("\"foo\"=\"bar\",", Ok(&[("foo", MatchType::Equal, "bar")])),
    ("{}", Err("no matchers")),
    ("foo=bar,bar=baz", Err("expected 1 matcher, found 2")),
    ("foo=\"\\xf0\\x9f\"", Err("4:14: \"\\xf0\\x9f\": invalid input")),
];

fn check(input: &str, got: Result<Vec<Matcher>, String>, want: &Result<&[(&str, MatchType, &str)], &str>) {
    match (got, want) {
        (Ok(got), Ok(want)) => {
            let got: Vec<(&str, MatchType, &str)> =
                got.iter().map(|m| (m.name.as_str(), m.kind, m.value.as_str())).collect();
            assert_eq!(&got[..], *want, "{input}");
        }
        (Err(got), Err(want)) => assert_eq!(got, *want, "{input}"),
        (got, want) => panic!("{input}: got {got:?}, expected {want:?}"),
    }
}

#[test]
fn alertmanagers_parser_tests_give_the_same_matchers_and_errors() {
    assert!(MATCHERS.len() >= 40 && MATCHER.len() >= 25);
    for (input, want) in MATCHERS {
        check(input, parse_matchers(input), want);
    }
    for (input, want) in MATCHER {
        check(input, parse_matcher(input).map(|m| vec![m]), want);
    }
}

#[test]
fn a_missing_label_is_the_empty_value_and_a_regex_matches_the_whole_value() {
    let labels: BTreeMap<String, String> =
        [("job", "node"), ("severity", "critical")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let all = |s: &str| all_match(&parse_matchers(s).unwrap(), &labels);
    assert!(all(r#"{job="node", severity=~"crit.*"}"#));
    assert!(!all(r#"severity=~"crit""#), "anchored at both ends");
    assert!(all(r#"team="""#) && all(r#"team!~".+""#), "a missing label is empty");
    assert!(!all(r#"job!="node""#));
    assert!(all(r#"{"service name"!="x"}"#), "UTF-8 names, quoted");
    assert!(parse_matcher("foo=~(").unwrap_err().starts_with("failed to create matcher"));
    assert_eq!(parse_matcher(r#"{"a b"=~"x"}"#).unwrap().to_string(), r#""a b"=~"x""#);
    assert_eq!(parse_matcher("job=node").unwrap().to_string(), r#"job="node""#);
}
