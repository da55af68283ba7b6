//! Completes the generated OpenAPI document with what holds for every operation: the error
//! responses any request can get, the bearer-token scheme, and links from a start to the
//! operations on the started instance (so clients and fuzzers can follow them).

use serde_json::{Map, Value, json};

/// Errors every operation can answer, besides its own.
const COMMON: &[(&str, &str)] = &[
    ("400", "Invalid request: a malformed body, path or query parameter"),
    ("401", "No token, or an unknown or revoked one (when auth is on)"),
    ("403", "The token's role does not allow this"),
    ("413", "The body is larger than 1 MiB"),
    ("415", "The body is not JSON"),
    ("500", "Internal error; see vigil's log"),
    ("503", "vigil is shutting down"),
];

/// Operations on a started instance, by operation id, reachable from the start's answer.
const ON_INSTANCE: &[&str] = &["status", "purge", "raise_event", "terminate", "suspend", "resume", "restart", "retry"];

/// The same on a Durable Functions alias, whose path names the instance `instanceId`.
const ON_DURABLE_INSTANCE: &[&str] = &[
    "durable_get_status",
    "durable_purge",
    "durable_raise_event",
    "durable_terminate",
    "durable_suspend",
    "durable_resume",
    "durable_rewind",
    "durable_restart",
];

/// Adds the common parts to `doc`.
pub fn complete(mut doc: Value) -> Value {
    let error = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}});
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for (method, op) in item.as_object_mut().into_iter().flatten() {
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
                let links = match id.as_str() {
                    "start" => Some((ON_INSTANCE, "id")),
                    "durable_start" | "durable_start_with_id" => Some((ON_DURABLE_INSTANCE, "instanceId")),
                    _ => None,
                };
                // These take an optional body: no body means no input (or payload).
                let optional_body = [
                    "start",
                    "start_by_name",
                    "raise_event",
                    "durable_start",
                    "durable_start_with_id",
                    "durable_raise_event",
                ]
                .contains(&id.as_str());
                if optional_body && let Some(body) = op.get_mut("requestBody") {
                    body["required"] = json!(false);
                }
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
                for (code, description) in COMMON {
                    if method == "get" && matches!(*code, "413" | "415") {
                        continue;
                    }
                    responses.entry(code.to_string()).or_insert_with(|| {
                        let mut r = error.clone();
                        r["description"] = json!(description);
                        r
                    });
                }
                if let (Some((targets, param)), Some(accepted)) = (links, responses.get_mut("202")) {
                    let links: Map<String, Value> = targets
                        .iter()
                        .map(|id| {
                            let link = json!({"operationId": id, "parameters": {param: "$response.body#/id"}});
                            (id.to_string(), link)
                        })
                        .collect();
                    accepted["links"] = Value::Object(links);
                }
            }
        }
    }
    doc["components"]["securitySchemes"] = json!({"token": {"type": "http", "scheme": "bearer", "description": "`vigil token create`; required when auth is on"}});
    doc["security"] = json!([{"token": []}, {}]);
    doc
}
