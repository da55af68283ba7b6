//! HTTP: one call, made by the runtime from `http_request` (or Conductor's flat `uri` and
//! `method`); its output is the response.

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::interpreter::{Action, HttpRequest};
use crate::locate::join_key;

/// The call may or may not have reached the server: it is sent again as a new attempt.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Resend;
pub(super) const TIMEOUT: Timeout = Timeout::Call;

/// The HTTP methods a task may name.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

impl Builder {
    /// A `uri` (a literal one must be an http(s) URL) and, when given, a known `method`.
    pub(crate) fn build_http(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        let req = raw.input_parameters.get("http_request").and_then(Value::as_object);
        let uri = req.and_then(|r| r.get("uri")).or_else(|| raw.input_parameters.get("uri"));
        if uri.is_none() {
            self.problems.push(Problem::error(join_key(&input_path, "http_request.uri"), "an HTTP task needs a `uri`"));
        }
        if let Some(Value::String(u)) = uri
            && !u.contains("${")
            && let Some(why) = bad_http_uri(u)
        {
            let at = if req.is_some() { "http_request.uri" } else { "uri" };
            self.problems.push(Problem::error(join_key(&input_path, at), format!("`{u}` {why}")));
        }
        let method = req.and_then(|r| r.get("method")).or_else(|| raw.input_parameters.get("method"));
        if let Some(Value::String(m)) = method
            && !m.contains("${")
            && !METHODS.contains(&m.to_ascii_uppercase().as_str())
        {
            self.bad_enum(&join_key(&input_path, "http_request.method"), m, METHODS);
        }
        Some(TaskKind::Http)
    }
}

impl Run<'_, '_> {
    /// Hands the request to the runtime.
    pub(crate) fn start_http(&mut self, i: usize, input: &Map<String, Value>) {
        match HttpRequest::from_input(input) {
            Ok(request) => {
                let task_id = self.inst.tasks[i].task_id.clone();
                let reach = self.reach_of(i, &["http_request", "uri"]);
                self.actions.push(Action::Http { task_id, request, reach });
            }
            Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
        }
    }
}

/// Why a literal HTTP task URI cannot be called, if it cannot.
fn bad_http_uri(uri: &str) -> Option<String> {
    match url::Url::parse(uri) {
        Err(e) => Some(format!("is not a URL ({e})")),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            Some(format!("has scheme `{}`; an HTTP task calls `http` or `https` URLs", u.scheme()))
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("has no host".to_string()),
        Ok(_) => None,
    }
}
