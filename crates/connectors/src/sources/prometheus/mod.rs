//! Prometheus instant queries over `GET /api/v1/query`: a vector's elements become samples
//! labelled by their metric labels (less `__name__`), with the field `value`; a scalar is one
//! sample without labels. `{"status": "error"}` is a failure. With `firing`, every series the
//! query returns is at that tier, as every series of a Prometheus alerting rule's expression is an
//! alert (`vigil import prometheus-rules` writes such monitors).

use serde::Deserialize;
use serde_json::{Map, Value};
use vigil_core::monitor::evaluate::{Answer, Sample};

use vigil_core::time::Millis;

use super::{Ask, SourceConfig, SourceProblem, SourceRequest, snippet};

/// What a monitor writes under `source: {prometheus: ...}`.
#[derive(Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusConfig {
    /// Server, e.g. `http://prometheus:9090`.
    pub url: String,
    /// PromQL.
    pub query: String,
    /// A bearer token, if the server wants one.
    #[serde(default)]
    pub token: Option<String>,
    /// Time the call may take (default 10s); also sent as the query's own `timeout`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// `warning` or `critical`: every series returned is at that tier, whatever its value (an
    /// alerting rule's expression); without it, thresholds judge the values.
    #[serde(default)]
    pub firing: Option<Firing>,
}

super::debug_without_secrets!(PrometheusConfig, url, query, timeout, firing);

/// The tier of every series of an alerting expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Firing {
    /// A warning.
    Warning,
    /// Critical.
    Critical,
}

/// A Prometheus source as it runs: its call built once, when the monitor loads.
#[derive(Debug, Clone, PartialEq)]
pub struct Prometheus {
    /// The call; why not, while the address still holds a `${...}` reference.
    call: Result<SourceRequest, String>,
    /// The tier of every series, for an alerting expression.
    firing: Option<vigil_core::alert::Tier>,
}

impl SourceConfig for PrometheusConfig {
    type Built = Prometheus;

    fn build(self) -> Result<Prometheus, SourceProblem> {
        let url = reqwest::Url::parse(&self.url);
        if !url.as_ref().is_ok_and(|u| matches!(u.scheme(), "http" | "https")) && !self.url.contains("${") {
            return Err(SourceProblem {
                path: "url".into(),
                message: "`url` is the server's http(s) address, e.g. http://prometheus:9090".into(),
            });
        }
        if self.query.trim().is_empty() {
            return Err(SourceProblem { path: "query".into(), message: "`query` is empty".into() });
        }
        let timeout = super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT)?;
        let call = match url {
            Ok(url) => Ok(self.call(url, timeout)),
            Err(_) => Err(format!("prometheus: `url` still holds a reference: {}", self.url)),
        };
        let firing = self.firing.map(|f| match f {
            Firing::Warning => vigil_core::alert::Tier::Warning,
            Firing::Critical => vigil_core::alert::Tier::Critical,
        });
        Ok(Prometheus { call, firing })
    }
}

impl PrometheusConfig {
    /// The call to the server at `url` (parsed once, in `build`).
    fn call(&self, mut url: reqwest::Url, timeout: std::time::Duration) -> SourceRequest {
        let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
        url.set_path(&path);
        let seconds = format!("{}s", timeout.as_secs().max(1));
        url.query_pairs_mut().clear().append_pair("query", &self.query).append_pair("timeout", &seconds);
        let url = url.into();
        let headers = self.token.iter().map(|t| ("Authorization".to_string(), format!("Bearer {t}"))).collect();
        SourceRequest { method: "GET", url, headers, body: None, timeout }
    }
}

impl Prometheus {
    /// The call.
    pub fn request(&self) -> Result<SourceRequest, String> {
        self.call.clone()
    }
}

impl Ask for Prometheus {
    async fn ask(&self, client: &reqwest::Client, _now: Millis) -> Answer {
        match &self.call {
            Ok(call) => {
                let answer = Box::pin(super::ask_over_http(client, call, parse)).await;
                match (answer, self.firing) {
                    (Answer::Samples(mut samples), Some(tier)) => {
                        samples.iter_mut().for_each(|s| s.tier = Some(tier));
                        Answer::Samples(samples)
                    }
                    (answer, _) => answer,
                }
            }
            Err(why) => Answer::Failed(why.clone()),
        }
    }
}

/// Reads an answer.
pub fn parse(status: u16, body: &[u8]) -> Answer {
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Answer::Failed(format!("prometheus answered {status}: {}", snippet(body))),
    };
    if doc.get("status").and_then(Value::as_str) != Some("success") {
        let kind = doc.get("errorType").and_then(Value::as_str).unwrap_or("error");
        let error = doc.get("error").and_then(Value::as_str).unwrap_or("no error given");
        return Answer::Failed(format!("prometheus ({kind}): {error}"));
    }
    let data = &doc["data"];
    let value_of = |pair: &Value| -> Value {
        // `[unix time, "1.5"]`; NaN and ±Inf are not numbers a threshold can compare.
        pair.get(1)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok())
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    };
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => Answer::Samples(
            data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|element| {
                    let labels = element["metric"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| *k != "__name__")
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect();
                    let fields: Map<String, Value> =
                        [("value".to_string(), value_of(&element["value"]))].into_iter().collect();
                    Sample { labels, fields, ..Sample::default() }
                })
                .collect(),
        ),
        Some("scalar") => {
            let fields: Map<String, Value> = [("value".to_string(), value_of(&data["result"]))].into_iter().collect();
            Answer::Samples(vec![Sample { fields, ..Sample::default() }])
        }
        Some(other) => {
            Answer::Failed(format!("prometheus answered a {other}; a monitor reads an instant vector or a scalar"))
        }
        None => Answer::Failed("prometheus answered without a resultType".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn prom() -> PrometheusConfig {
        serde_json::from_value(json!({"url": "http://prom:9090", "query": "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) > 0"})).unwrap()
    }

    #[test]
    fn the_query_is_encoded_with_a_server_side_timeout() {
        let req = prom().build().unwrap().request().unwrap();
        assert_eq!(req.method, "GET");
        assert!(req.url.starts_with("http://prom:9090/api/v1/query?query=sum+by+%28job%29+%28rate%28http_requests_total%7Bcode%3D%7E%225..%22%7D%5B5m%5D%29%29+%3E+0&timeout=10s"), "{}", req.url);
    }

    /// As Prometheus 2.x documents and answers it.
    const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},"value":[1435781451.781,"1"]},{"metric":{"__name__":"up","job":"node","instance":"localhost:9100"},"value":[1435781451.781,"0"]},{"metric":{"job":"odd"},"value":[1435781451.781,"NaN"]}]}}"#;

    #[test]
    fn vector_elements_become_samples_by_their_labels() {
        let Answer::Samples(got) = parse(200, VECTOR.as_bytes()) else { panic!() };
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].labels.get("job").map(String::as_str), Some("node"));
        assert!(!got[0].labels.contains_key("__name__"));
        assert_eq!(got[1].fields["value"], json!(0.0));
        assert_eq!(got[2].fields["value"], Value::Null, "NaN is no value");
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"42"]}}"#;
        let Answer::Samples(one) = parse(200, scalar.as_bytes()) else { panic!() };
        assert_eq!(one[0].fields["value"], json!(42.0));
    }

    #[test]
    fn errors_are_failures_with_their_type() {
        let bad = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \")\""}"#;
        match parse(400, bad.as_bytes()) {
            Answer::Failed(e) => assert!(e.starts_with("prometheus (bad_data): invalid parameter"), "{e}"),
            other => panic!("{other:?}"),
        }
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(parse(200, matrix.as_bytes()), Answer::Failed(e) if e.contains("matrix")));
        assert!(matches!(parse(502, b"bad gateway"), Answer::Failed(e) if e.contains("502")));
    }
}
