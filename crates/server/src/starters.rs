//! HTTP starters: `<method> /api/<route>` starts the workflow whose `http` block names that route
//! (an Azure Functions HTTP-triggered starter). The input is the workflow's `inputTemplate`, then
//! the route parameters, then the query parameters, then the JSON body's fields, each over the
//! one before. The answer is Durable Functions' check-status 202, or with `respond: output` the
//! output once the instance ends. Starting is a change, so it needs a `write` token when auth is
//! on, whatever the method.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Map, Value};
use vigil_core::def::WorkflowDef;
use vigil_core::def::trigger::{HttpTrigger, Respond};
use vigil_runtime::StartRequest;

use crate::AppState;
use crate::durable::{Hub, check_status_response, wait_or_check_status};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::operations::instances::base_url;

/// Answers `/api/{*route}` requests that no other route took.
pub async fn handle(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    method: Method,
    Path(route): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let workflows = app.engine.workflows();
    let Some((def, trigger, params)) = find(workflows.latest().map(|d| d.as_ref()), method.as_str(), &route) else {
        // A route a starter takes with other methods is a 405 naming them, not a 404.
        let allowed = methods_for(workflows.latest().map(|d| d.as_ref()), &route);
        if allowed.is_empty() {
            return Err(ApiError::not_found("no such route"));
        }
        let err = ApiError::new(
            crate::error::ErrorCode::MethodNotAllowed,
            format!("`{method} /api/{route}` is not a starter; this route takes {}", allowed.join(", ")),
        );
        let mut res = axum::response::IntoResponse::into_response(err);
        if let Ok(v) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
            res.headers_mut().insert(axum::http::header::ALLOW, v);
        }
        return Ok(res);
    };
    let mut input: Map<String, Value> = params;
    for (k, v) in &query {
        input.insert(k.clone(), Value::String(v.clone()));
    }
    match body {
        Value::Object(fields) => input.extend(fields),
        Value::Null => {}
        _ => return Err(ApiError::invalid("body", "the input must be a JSON object (or empty)")),
    }
    let req = StartRequest {
        name: def.name.clone(),
        version: Some(def.version),
        input: Value::Object(input),
        id: None,
        correlation_id: None,
        definition: None,
        started_by: crate::auth::principal(caller.as_ref()),
    };
    let id = app.engine.start_durable(req).await?;
    let base = base_url(&app, &headers);
    let hub = Hub::default();
    match trigger.respond {
        Respond::Status => Ok(check_status_response(&base, &id, &hub)),
        Respond::Output { wait_ms } => {
            wait_or_check_status(&app, &base, &id, &hub, Duration::from_millis(wait_ms as u64)).await
        }
    }
}

/// The methods the starters of `route` take (upper case, sorted, each once).
fn methods_for<'a>(latest: impl Iterator<Item = &'a WorkflowDef>, route: &str) -> Vec<String> {
    let mut out: Vec<String> = latest
        .filter_map(|d| d.http.as_ref())
        .flat_map(|t| t.methods.iter().filter(|m| t.matches(m, route).is_some()).map(|m| m.to_ascii_uppercase()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The workflow whose starter takes `method` and `route` (of `latest`, one version per name), its
/// starter and the route parameters: of several, the one with the most literal segments, then the
/// first by name.
fn find<'a>(
    latest: impl Iterator<Item = &'a WorkflowDef>,
    method: &str,
    route: &str,
) -> Option<(&'a WorkflowDef, &'a HttpTrigger, Map<String, Value>)> {
    latest
        .filter_map(|d| {
            let t = d.http.as_ref()?;
            Some((d, t, t.matches(method, route)?))
        })
        .min_by(|a, b| b.1.literal_count().cmp(&a.1.literal_count()).then_with(|| a.0.name.cmp(&b.0.name)))
}
