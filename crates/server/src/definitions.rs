//! `/api/v1/workflows`, `/api/v1/secrets`, `/api/v1/notifiers`, `/api/v1/alerts` and
//! `/api/v1/silences`: definitions and alerting state over the native API. Secret values go in
//! and never come out; notifiers are listed by name and type only (their settings hold
//! credentials).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil_core::principal::Role;
use vigil_core::team::ObjectKind;
use vigil_core::time::{format_millis, parse_duration, parse_until};
use vigil_runtime::definitions::DefinitionError;
use vigil_store::SilenceRow;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::operations::definitions::{VersionQuery, remove_secret, secret_names, store_secret, workflow_document};

/// The routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows))
        .routes(routes!(get_workflow, put_workflow, delete_workflow))
        .routes(routes!(list_secrets))
        .routes(routes!(put_secret, delete_secret))
        .routes(routes!(list_notifiers))
        .routes(routes!(get_notifier, put_notifier, delete_notifier))
        .routes(routes!(list_alerts))
        .routes(routes!(ack_alert))
        .routes(routes!(list_silences, add_silence))
        .routes(routes!(delete_silence))
}

/// Paging of a definition list: by name.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// The previous page's `continuationToken`, as given.
    continuation_token: Option<String>,
}

/// A page of names and what else each item shows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPage {
    /// Items, by name.
    #[schema(value_type = Vec<Object>)]
    items: Vec<Value>,
    /// Pass as `continuationToken` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    continuation_token: Option<String>,
}

impl Page {
    /// Pages `items` (sorted by `name`).
    pub(crate) fn apply(&self, items: Vec<(String, Value)>) -> ApiResult<ItemPage> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be 1 to 1000"));
        }
        let after = match self.continuation_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => Some(name_after(token).ok_or_else(|| {
                ApiError::invalid("continuationToken", "not a token this API gave out (pass the last page's as it is)")
            })?),
            None => None,
        };
        let rest: Vec<(String, Value)> =
            items.into_iter().filter(|(n, _)| after.as_ref().is_none_or(|after| n > after)).collect();
        let more = rest.len() > limit;
        let page: Vec<(String, Value)> = rest.into_iter().take(limit).collect();
        let continuation_token = more.then(|| page.last().map(|(n, _)| token_after(n))).flatten();
        Ok(ItemPage { items: page.into_iter().map(|(_, v)| v).collect(), continuation_token })
    }
}

/// The token of a page that ends at `name`: opaque, URL-safe, and read back only as given.
fn token_after(name: &str) -> String {
    use base64::Engine;
    format!("n.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name))
}

/// The name a token of [`token_after`] ends at.
fn name_after(token: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.strip_prefix("n.")?).ok()?;
    String::from_utf8(bytes).ok()
}

/// Workflow definitions: the latest version of each, with all its versions.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "definitions", params(Page), responses((status = 200, body = ItemPage)))]
async fn list_workflows(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<ItemPage>> {
    let set = app.engine.workflows();
    let mut by_name: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for def in set.all().filter(|d| access.sees(ObjectKind::Workflows, &d.name)) {
        by_name.entry(def.name.clone()).or_default().push(def.version);
    }
    let items = by_name
        .into_iter()
        .map(|(name, mut versions)| {
            versions.sort_unstable();
            let latest = set.get(&name, None).and_then(|d| d.description.clone());
            let item = json!({"name": name, "versions": versions, "description": latest});
            (name, item)
        })
        .collect();
    Ok(Json(page.apply(items)?))
}

/// One workflow definition, as written.
#[utoipa::path(
    get, path = "/api/v1/workflows/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Workflow name"), VersionQuery),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_workflow(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Workflows, &name, Role::Read)?;
    workflow_document(&app, &name, q.version()).map(Json)
}

/// Defines (or replaces) a workflow: validated like a file, stored, live at once.
#[utoipa::path(
    put, path = "/api/v1/workflows/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Workflow name; must match the body's `name`")),
    request_body(content = Object, description = "A workflow definition (Conductor's WorkflowDef)"),
    responses((status = 200, description = "`{name, version, warnings}`", body = Object), (status = 400, body = ApiError))
)]
async fn put_workflow(
    State(app): State<AppState>,
    access: Access,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    ApiPath(name): ApiPath<String>,
    JsonBody(mut doc): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    crate::extract::named_body(&mut doc, &name, "workflow definition")?;
    access.check_references(&doc)?;
    access.check_secret_owners(ObjectKind::Workflows, &name, &doc)?;
    let (def, warnings) =
        app.engine.definitions().put_workflow(doc, true, &crate::auth::principal(caller.as_ref())).await.map_err(
            |e| match e {
                DefinitionError::Store(cause) => ApiError::internal(cause),
                other => ApiError::new(ErrorCode::InvalidRequest, other.to_string()),
            },
        )?;
    // What `vigil validate` would warn about (fields vigil does not know, references to tasks
    // that do not exist): stored all the same, as Conductor would, and said in the answer.
    let warnings: Vec<String> = warnings
        .into_iter()
        .map(|p| if p.path.is_empty() { p.message } else { format!("{}: {}", p.path, p.message) })
        .collect();
    Ok(Json(json!({"name": def.name, "version": def.version, "warnings": warnings})))
}

/// Removes a workflow definition (one version, or all).
#[utoipa::path(
    delete, path = "/api/v1/workflows/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Workflow name"), VersionQuery),
    responses((status = 200, description = "`{deleted}`", body = Object), (status = 404, body = ApiError))
)]
async fn delete_workflow(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Workflows, &name, Role::Write)?;
    let deleted = app.engine.definitions().delete_workflow(&name, q.version()).await?;
    if deleted == 0 {
        return Err(ApiError::not_found(format!("workflow `{name}` is not defined")));
    }
    Ok(Json(json!({"deleted": deleted})))
}

/// Secret names (never values).
#[utoipa::path(get, path = "/api/v1/secrets", tag = "definitions", params(Page), responses((status = 200, body = ItemPage)))]
async fn list_secrets(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<ItemPage>> {
    let mut names = secret_names(&app).await?;
    names.retain(|n| access.may(ObjectKind::Secrets, n, Role::Admin));
    Ok(Json(page.apply(names.into_iter().map(|n| (n.clone(), json!({"name": n}))).collect())?))
}

/// A secret's value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SecretValue {
    /// The value; it is sealed at rest and never returned.
    value: String,
}

/// Sets a secret; instances see the new value at once as `${workflow.secrets.NAME}`.
#[utoipa::path(
    put, path = "/api/v1/secrets/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Secret name: letters, digits, `_`, `-`")),
    request_body = SecretValue,
    responses((status = 204, description = "Set"), (status = 400, body = ApiError))
)]
async fn put_secret(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    JsonBody(v): JsonBody<SecretValue>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Secrets, &name, Role::Admin)?;
    store_secret(&app, &name, &v.value).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a secret.
#[utoipa::path(
    delete, path = "/api/v1/secrets/{name}", tag = "definitions",
    params(("name" = String, Path, description = "Secret name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ApiError))
)]
async fn delete_secret(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Secrets, &name, Role::Admin)?;
    remove_secret(&app, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Configured notifiers: name and type only.
#[utoipa::path(get, path = "/api/v1/notifiers", tag = "alerting", params(Page), responses((status = 200, body = ItemPage)))]
async fn list_notifiers(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<ItemPage>> {
    let items = app
        .engine
        .notifier_names()
        .into_iter()
        .filter(|(n, _)| access.sees(ObjectKind::Notifiers, n))
        .map(|(n, t)| (n.clone(), json!({"name": n, "type": t})))
        .collect();
    Ok(Json(page.apply(items)?))
}

/// One notifier: name and type only.
#[utoipa::path(
    get, path = "/api/v1/notifiers/{name}", tag = "alerting",
    params(("name" = String, Path, description = "Notifier name")),
    responses((status = 200, body = Object), (status = 404, body = ApiError))
)]
async fn get_notifier(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    access.check(ObjectKind::Notifiers, &name, Role::Read)?;
    let (n, t) = app
        .engine
        .notifier_names()
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ApiError::not_found(format!("notifier `{name}` is not configured")))?;
    Ok(Json(json!({"name": n, "type": t})))
}

/// Defines (or replaces) a notifier, as a file in `notifiers/` would: `name`, `type` and the
/// type's fields, credentials as `${workflow.secrets.NAME}` or `${env.NAME}`.
#[utoipa::path(
    put, path = "/api/v1/notifiers/{name}", tag = "alerting",
    params(("name" = String, Path, description = "Notifier name; must match the body's `name`")),
    request_body(content = Object, description = "A notifier"),
    responses((status = 204, description = "Defined"), (status = 400, body = ApiError))
)]
async fn put_notifier(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
    JsonBody(mut doc): JsonBody<Value>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Notifiers, &name, Role::Write)?;
    crate::extract::named_body(&mut doc, &name, "notifier")?;
    access.check_references(&doc)?;
    access.check_secret_owners(ObjectKind::Notifiers, &name, &doc)?;
    if doc["type"] == "escalation" {
        // Its steps page other notifiers: a team's escalation pages its own team's and shared ones.
        let steps: Vec<Vec<String>> = doc["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                s["notify"].as_array().into_iter().flatten().filter_map(|n| n.as_str().map(str::to_string)).collect()
            })
            .collect();
        let trusted = access.role_on(None) == Some(Role::Admin);
        vigil_core::alert::scope::check_steps(access.teams(), &name, trusted, &steps)
            .map_err(|(field, message)| ApiError::new(ErrorCode::Forbidden, format!("{field}: {message}")))?;
    }
    app.engine.definitions().put_notifier_doc(doc).await.map_err(|e| match e {
        DefinitionError::Store(cause) => ApiError::internal(cause),
        other => ApiError::new(ErrorCode::InvalidRequest, other.to_string()),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a notifier.
#[utoipa::path(
    delete, path = "/api/v1/notifiers/{name}", tag = "alerting",
    params(("name" = String, Path, description = "Notifier name")),
    responses((status = 204, description = "Removed"), (status = 404, body = ApiError))
)]
async fn delete_notifier(
    State(app): State<AppState>,
    access: Access,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    access.check(ObjectKind::Notifiers, &name, Role::Write)?;
    if !app.engine.definitions().delete_notifier(&name).await? {
        return Err(ApiError::not_found(format!("notifier `{name}` is not configured")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Alert list filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Include resolved alerts.
    #[serde(default, deserialize_with = "crate::extract::lenient_bool")]
    all: bool,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// The previous page's `continuationToken`, as given.
    continuation_token: Option<String>,
}

/// Alerts: pending and firing ones (all with `all=true`), by dedup key, a page at a time.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerting", params(AlertQuery), responses((status = 200, body = ItemPage)))]
async fn list_alerts(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<ItemPage>> {
    let rows = vigil_runtime::alert_rows::read(&*app.engine.alert_rows(), !q.all, u32::MAX, app.engine.now()).await?;
    let mut items: Vec<(String, Value)> = rows
        .into_iter()
        .filter(|a| access.role_on(access.alert_owner(&a.name, &a.state).as_deref()).is_some())
        .map(|a| {
            let item = json!({
                "dedupKey": a.dedup_key, "name": a.name, "condition": a.condition,
                "firingSince": a.firing_since.map(format_millis), "lastNotified": a.last_notified.map(format_millis),
                "acknowledged": a.acknowledged, "updatedTime": format_millis(a.updated_at),
            });
            (a.dedup_key, item)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = Page { limit: q.limit, continuation_token: q.continuation_token };
    Ok(Json(page.apply(items)?))
}

/// Which alert to acknowledge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AckRequest {
    /// The alert's dedup key.
    dedup_key: String,
}

/// Acknowledges a firing alert: reminders stop and providers that support it are told.
#[utoipa::path(
    post, path = "/api/v1/alerts/ack", tag = "alerting", request_body = AckRequest,
    responses((status = 202, description = "Acknowledged"), (status = 404, description = "Not firing", body = ApiError))
)]
async fn ack_alert(
    State(app): State<AppState>,
    access: Access,
    JsonBody(r): JsonBody<AckRequest>,
) -> ApiResult<StatusCode> {
    let row = app.engine.alert_rows().alert(&r.dedup_key).await?;
    let owner = row.as_ref().and_then(|a| access.alert_owner(&a.name, &a.state));
    access.check_owned(owner.as_deref(), Role::Respond, || format!("alert `{}`", r.dedup_key))?;
    if !app.engine.acknowledge(&r.dedup_key).await {
        return Err(ApiError::not_found(format!("no firing alert has dedup key `{}`", r.dedup_key)));
    }
    Ok(StatusCode::ACCEPTED)
}

/// Active silences, by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/silences", tag = "alerting", params(Page), responses((status = 200, body = ItemPage)))]
async fn list_silences(
    State(app): State<AppState>,
    access: Access,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<ItemPage>> {
    let now = app.engine.now();
    let mut items: Vec<(String, Value)> = app
        .engine
        .alert_rows()
        .silences()
        .await?
        .into_iter()
        .filter(|s| s.ends_at > now)
        .filter(|s| access.role_on(access.stored_silence_owner(s).as_deref()).is_some())
        .map(|s| {
            let matchers: Value = serde_json::from_str(&s.matchers).unwrap_or(Value::Null);
            let item = json!({
                "id": s.id, "matchers": matchers, "endsAt": format_millis(s.ends_at), "comment": s.comment,
                "createdBy": s.created_by,
            });
            (s.id, item)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Json(page.apply(items)?))
}

/// A new silence: label matchers, until `endsAt` or for `duration`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewSilence {
    /// Labels an alert must all have to be silenced (`alertname` matches the alert's name unless
    /// it has a label of that name, as in Alertmanager).
    matchers: BTreeMap<String, String>,
    /// How long, e.g. `2h`.
    duration: Option<String>,
    /// Until when (RFC 3339).
    ends_at: Option<String>,
    /// From when (RFC 3339), for a maintenance window to come; now by default. `duration` counts
    /// from it.
    starts_at: Option<String>,
    /// Why.
    comment: Option<String>,
    /// Ends once nothing it matches fires (then `duration`/`endsAt` are optional: at most 7
    /// days by default). Refused when nothing it matches fires now.
    #[serde(default)]
    until_resolved: bool,
}

/// Adds a silence.
#[utoipa::path(
    post, path = "/api/v1/silences", tag = "alerting", request_body = NewSilence,
    responses((status = 201, description = "`{id, endsAt}`", body = Object), (status = 400, body = ApiError))
)]
async fn add_silence(
    State(app): State<AppState>,
    access: Access,
    JsonBody(s): JsonBody<NewSilence>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if s.matchers.is_empty() {
        return Err(ApiError::invalid("matchers", "at least one label matcher is needed"));
    }
    access.check_silence(&s.matchers)?;
    let now = app.engine.now();
    let starts_at = match &s.starts_at {
        Some(t) => parse_until(t).map_err(|e| ApiError::invalid("startsAt", e))?.max(now),
        None => now,
    };
    let ends_at = match (&s.duration, &s.ends_at) {
        (Some(d), None) => starts_at + parse_duration(d).map_err(|e| ApiError::invalid("duration", e))?,
        (None, Some(t)) => parse_until(t).map_err(|e| ApiError::invalid("endsAt", e))?,
        (None, None) if s.until_resolved => starts_at + vigil_runtime::until_resolved::LONGEST_MS,
        _ => return Err(ApiError::invalid("duration", "give exactly one of `duration` and `endsAt`")),
    };
    if ends_at <= now {
        return Err(ApiError::invalid("endsAt", "is not in the future"));
    }
    if ends_at <= starts_at {
        return Err(ApiError::invalid("endsAt", "is not after the silence starts"));
    }
    let id = format!("s-{}", vigil_runtime::new_instance_id());
    let row = SilenceRow {
        id: id.clone(),
        matchers: serde_json::to_string(&s.matchers).map_err(ApiError::internal)?,
        ends_at,
        starts_at: (starts_at > now).then_some(starts_at),
        created_at: now,
        comment: s.comment,
        created_by: access.author(),
        until_resolved: s.until_resolved,
    };
    if row.until_resolved
        && !vigil_runtime::until_resolved::matches_firing(&*app.engine.alert_rows(), &row, now).await?
    {
        return Err(ApiError::invalid(
            "untilResolved",
            "nothing that fires matches these matchers: the silence would end at once",
        ));
    }
    app.engine.alert_rows().put_silence(&row).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "endsAt": format_millis(ends_at)}))))
}

/// Removes a silence.
#[utoipa::path(
    delete, path = "/api/v1/silences/{id}", tag = "alerting",
    params(("id" = String, Path, description = "Silence id")),
    responses((status = 204, description = "Removed"), (status = 404, body = ApiError))
)]
async fn delete_silence(
    State(app): State<AppState>,
    access: Access,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let silences = app.engine.alert_rows().silences().await?;
    let owner = silences.iter().find(|s| s.id == id).and_then(|s| access.stored_silence_owner(s));
    access.check_owned(owner.as_deref(), Role::Respond, || format!("silence `{id}`"))?;
    if !app.engine.alert_rows().delete_silence(&id).await? {
        return Err(ApiError::not_found(format!("silence `{id}` does not exist")));
    }
    Ok(StatusCode::NO_CONTENT)
}
