//! Workflow documents and secrets.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use vigil_runtime::SecretValues;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Workflow `name` (the latest version when `version` is `None`) as written, with its name and
/// version set (a YAML file may omit the version).
pub(crate) fn workflow_document(app: &AppState, name: &str, version: Option<u32>) -> ApiResult<Value> {
    let def = app
        .engine
        .workflows()
        .get(name, version)
        .ok_or_else(|| ApiError::not_found(format!("workflow `{name}` is not defined")))?;
    Ok(with_identity(&def))
}

/// A definition's document with its name and version.
pub(crate) fn with_identity(def: &vigil_core::def::WorkflowDef) -> Value {
    let mut doc = if def.source.is_object() { def.source.clone() } else { json!({}) };
    doc["name"] = json!(def.name);
    doc["version"] = json!(def.version);
    // Conductor's defaults for what the writer left out.
    for (key, default) in [("schemaVersion", json!(2)), ("restartable", json!(true))] {
        if doc.get(key).is_none_or(Value::is_null) {
            doc[key] = default;
        }
    }
    doc
}

/// Every stored secret's name, sorted (never a value).
pub(crate) async fn secret_names(app: &AppState) -> ApiResult<Vec<String>> {
    Ok(app.engine.stored_secrets().names().await?)
}

/// Checks, seals and stores secret `name`, then reloads the engine's secrets.
pub(crate) async fn store_secret(app: &AppState, name: &str, value: &str) -> ApiResult<()> {
    if !vigil_core::params::is_secret_name(name) {
        return Err(ApiError::invalid("name", "letters, digits, `_` and `-` only"));
    }
    if value.is_empty() {
        return Err(ApiError::invalid("value", "is empty"));
    }
    let sealer =
        app.secret_box.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Conflict, "this server has no secret key"))?;
    app.engine.stored_secrets().put(name, &sealer.seal(value.as_bytes())).await?;
    reload_secrets(app).await
}

/// Deletes secret `name` (404 when unknown), then reloads the engine's secrets.
pub(crate) async fn remove_secret(app: &AppState, name: &str) -> ApiResult<()> {
    if !app.engine.stored_secrets().delete(name).await? {
        return Err(ApiError::not_found(format!("secret `{name}` does not exist")));
    }
    reload_secrets(app).await
}

/// Opens the stored secrets and hands them to the engine.
async fn reload_secrets(app: &AppState) -> ApiResult<()> {
    let Some(opener) = &app.secret_box else { return Ok(()) };
    let mut values = HashMap::new();
    for (name, sealed) in app.engine.stored_secrets().sealed().await? {
        match opener.open(&sealed) {
            Ok(plain) => {
                values.insert(name, String::from_utf8_lossy(&plain).into_owned());
            }
            Err(e) => tracing::error!(secret = %name, error = %e, "A stored secret does not open with this key."),
        }
    }
    app.engine.set_secrets(SecretValues::new(values));
    Ok(())
}

/// Version of a definition read or delete.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Version; the latest (read) or every version (delete) when absent.
    #[param(minimum = 0)]
    version: Option<u32>,
}

impl VersionQuery {
    /// The version asked for.
    pub(crate) fn version(&self) -> Option<u32> {
        self.version
    }
}
