//! InfluxDB requests and recorded answers.

use serde_json::json;
use vigil_core::monitor::evaluate::Answer;

use super::*;

fn config(v: serde_json::Value) -> Influx {
    let c: InfluxConfig = serde_json::from_value(v).unwrap();
    c.build().unwrap()
}

/// A sample as (labels, fields).
type Row = (Vec<(String, String)>, serde_json::Map<String, serde_json::Value>);

fn samples(answer: Answer) -> Vec<Row> {
    match answer {
        Answer::Samples(s) => s.into_iter().map(|s| (s.labels.into_iter().collect(), s.fields)).collect(),
        Answer::Failed(e) => panic!("failed: {e}"),
    }
}

#[test]
fn influxql_is_a_get_with_the_query_encoded() {
    let c = config(
        json!({"url": "http://influx:8086/", "database": "telegraf", "query": "SELECT last(\"used\") FROM disk WHERE time > now() - 5m GROUP BY host", "username": "reader", "password": "s3cret"}),
    );
    let req = c.request().unwrap();
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.url,
        "http://influx:8086/query?q=SELECT+last%28%22used%22%29+FROM+disk+WHERE+time+%3E+now%28%29+-+5m+GROUP+BY+host&epoch=ms&db=telegraf&u=reader&p=s3cret"
    );
    assert!(req.body.is_none());
}

#[test]
fn flux_posts_json_asking_for_annotated_csv_with_the_token() {
    let c = config(
        json!({"url": "https://eu.influx.example", "org": "acme", "token": "T0KEN", "query": "from(bucket: \"b\") |> range(start: -5m)"}),
    );
    let req = c.request().unwrap();
    assert_eq!((req.method, req.url.as_str()), ("POST", "https://eu.influx.example/api/v2/query?org=acme"));
    assert!(req.headers.contains(&("Authorization".into(), "Token T0KEN".into())));
    assert!(req.headers.contains(&("Accept".into(), "application/csv".into())));
    let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["type"], "flux");
    assert_eq!(body["dialect"]["annotations"], json!(["datatype", "group", "default"]));
}

#[test]
fn configs_that_cannot_work_are_named() {
    let problem = |v: serde_json::Value| {
        let c: InfluxConfig = serde_json::from_value(v).unwrap();
        c.build().unwrap_err().path
    };
    assert_eq!(problem(json!({"url": "http://i:8086", "query": "SELECT 1"})), "database");
    assert_eq!(problem(json!({"url": "http://i:8086", "query": "x", "language": "flux"})), "org");
    assert_eq!(problem(json!({"url": "influx:8086", "query": "x", "database": "d"})), "url");
    assert_eq!(problem(json!({"url": "http://i", "query": "x", "database": "d", "username": "u"})), "password");
    assert!(serde_json::from_value::<InfluxConfig>(json!({"url": "http://i", "query": "x", "databse": "d"})).is_err());
}

/// Recorded from InfluxDB 1.8 (`SELECT last(used_percent) FROM disk WHERE time > now() - 5m
/// GROUP BY host`, epoch=ms).
const INFLUXQL_GROUPED: &str = r#"{"results":[{"statement_id":0,"series":[{"name":"disk","tags":{"host":"db1"},"columns":["time","last"],"values":[[1763888390000,97.2]]},{"name":"disk","tags":{"host":"web1"},"columns":["time","last"],"values":[[1763888390000,41]]}]}]}"#;

#[test]
fn influxql_series_become_samples_with_their_tags_and_last_row() {
    let c = config(json!({"url": "http://i:8086", "database": "telegraf", "query": "q"}));
    let got = samples(c.parse(200, INFLUXQL_GROUPED.as_bytes()));
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, [("host".to_string(), "db1".to_string())]);
    assert_eq!(got[0].1["last"], json!(97.2));
    assert_eq!(got[1].1["time"], json!(1763888390000i64));
    // Several rows: the newest (last) one.
    let rows =
        r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],"values":[[1,1],[2,5]]}]}]}"#;
    assert_eq!(samples(c.parse(200, rows.as_bytes()))[0].1["v"], json!(5));
    // No data: a statement without series.
    assert!(samples(c.parse(200, br#"{"results":[{"statement_id":0}]}"#)).is_empty());
}

#[test]
fn influxql_errors_inside_a_200_are_failures() {
    let c = config(json!({"url": "http://i:8086", "database": "telegraf", "query": "q"}));
    let cases: [(u16, &str, &str); 4] = [
        (
            200,
            r#"{"results":[{"statement_id":0,"error":"database not found: telegraf"}]}"#,
            "database not found: telegraf",
        ),
        (400, r#"{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}"#, "error parsing query"),
        (401, r#"{"error":"authorization failed"}"#, "authorization failed"),
        (502, "<html>Bad Gateway</html>", "influxdb answered 502: <html>Bad Gateway</html>"),
    ];
    for (status, body, says) in cases {
        match c.parse(status, body.as_bytes()) {
            Answer::Failed(e) => assert!(e.contains(says), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

/// Annotated CSV as InfluxDB 2.x documents it: two tables (one per host).
const FLUX_TWO_TABLES: &str =
    "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\r
#group,false,false,true,true,false,false,true,true,true\r
#default,_result,,,,,,,,\r
,result,table,_start,_stop,_time,_value,_field,_measurement,host\r
,,0,2026-11-23T09:00:00Z,2026-11-23T10:00:00Z,2026-11-23T09:59:40Z,80.1,usage_user,cpu,web1\r
,,0,2026-11-23T09:00:00Z,2026-11-23T10:00:00Z,2026-11-23T09:59:50Z,85.5,usage_user,cpu,web1\r
,,1,2026-11-23T09:00:00Z,2026-11-23T10:00:00Z,2026-11-23T09:59:50Z,97.1,usage_user,cpu,\"web,2\"\r
\r
";

#[test]
fn flux_tables_become_samples_labelled_by_their_group_key() {
    let c = config(json!({"url": "http://i:8086", "org": "o", "query": "q"}));
    let got = samples(c.parse(200, FLUX_TWO_TABLES.as_bytes()));
    assert_eq!(got.len(), 2);
    let labels: Vec<(String, String)> = [("_field", "usage_user"), ("_measurement", "cpu"), ("host", "web1")]
        .map(|(k, v)| (k.into(), v.into()))
        .to_vec();
    assert_eq!(got[0].0, labels);
    assert_eq!(got[0].1["_value"], json!(85.5), "the table's last row");
    assert_eq!(got[1].0[2], ("host".to_string(), "web,2".to_string()), "quoted cells");
    assert_eq!(got[1].1["table"], json!(1));
}

#[test]
fn flux_errors_are_failures() {
    let c = config(json!({"url": "http://i:8086", "org": "o", "query": "q"}));
    let error_table = "#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n,\"failed to create physical plan: bounds contain zero time\",897\n";
    let bad_request =
        r#"{"code":"invalid","message":"compilation failed: error at @1:1-1:4: undefined identifier fro"}"#;
    for (status, body, says) in
        [(200, error_table, "bounds contain zero time"), (400, bad_request, "undefined identifier fro")]
    {
        match c.parse(status, body.as_bytes()) {
            Answer::Failed(e) => assert!(e.contains(says), "{e}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(samples(c.parse(200, b"\r\n")).is_empty(), "an empty answer is no data");
}
