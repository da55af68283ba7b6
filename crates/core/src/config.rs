//! Loads a config directory (`workflows/`, `schedules/`, `monitors/`, `event_handlers/`,
//! `status-pages/`) and reports every problem, located.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::def::build::build_workflow;
use crate::def::cycles::{find_cycles, sub_workflow_targets};
use crate::def::{Task, TaskKind, WorkflowDef, WorkflowSet};
use crate::diagnostic::{Diagnostic, Problem, Severity, did_you_mean};
use crate::locate::SourceMap;
use crate::monitor::MonitorDef;
use crate::schedule::ScheduleDef;

mod unbuilt;

mod in_order;

/// Everything loaded from a config directory.
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// Workflow definitions.
    pub workflows: WorkflowSet,
    /// Schedules, by name.
    pub schedules: Vec<ScheduleDef>,
    /// Monitors, by name.
    pub monitors: Vec<MonitorDef>,
    /// Where each monitor is defined, so later checks (its source block, by the connector that
    /// reads it) can locate their problems too.
    pub monitor_origins: HashMap<String, Origin>,
    /// Event handlers, by name.
    pub event_handlers: Vec<crate::event_handler::EventHandler>,
    /// Public status pages, by slug.
    pub status_pages: Vec<crate::status_page::StatusPageDef>,
    /// Teams, in the order their files list them.
    pub teams: Vec<crate::team::TeamDef>,
    /// Identity providers (single sign-on), in the order their files list them.
    pub identity_providers: Vec<crate::identity::IdentityProviderDef>,
    /// The folder each workflow, schedule, monitor and status page was found in
    /// (`monitors/payments/api.yaml`: `payments`), for teams that own folders. (The notifiers'
    /// loader adds theirs.)
    pub folders: crate::team::Folders,
}

/// Where a definition is: its file and, in a file holding a list, its index (`[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// The path prefix of the definition inside it.
    pub prefix: String,
}

impl Origin {
    /// An error at `path` inside the definition, located by reading the file again.
    pub fn error(&self, path: &str, message: String) -> Diagnostic {
        let full = match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{path}", self.prefix),
        };
        let text = read_definition_file(&self.file).unwrap_or_default();
        let (line, column) = SourceMap::build(&text).position(&full);
        Diagnostic { severity: Severity::Error, file: self.file.clone(), line, column, path: full, message, hint: None }
    }
}

/// A parsed document and where its text came from.
struct Doc {
    file: PathBuf,
    /// The folder it is in below its kind's (`monitors/payments/`), if any.
    folder: Option<std::sync::Arc<str>>,
    /// Shared by every definition of one file (a file may list thousands); built only when a
    /// problem in the file is reported, from the file read again (a map of every field of
    /// 100,000 schedules would cost more memory than the definitions themselves).
    map: std::sync::Arc<std::sync::OnceLock<SourceMap>>,
    /// Prefix for paths when a file holds a list of definitions (`[2]`).
    prefix: String,
    value: Value,
}

impl Doc {
    fn locate(&self, p: Problem) -> Diagnostic {
        let path = match (self.prefix.is_empty(), p.path.is_empty()) {
            (true, _) => p.path.clone(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{}", self.prefix, p.path),
        };
        let map = self.map.get_or_init(|| SourceMap::build(&read_definition_file(&self.file).unwrap_or_default()));
        let (line, column) = map.position(&path);
        Diagnostic {
            severity: p.severity,
            file: self.file.clone(),
            line,
            column,
            path,
            message: p.message,
            hint: p.hint,
        }
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Workflow definitions.
    Workflow,
    /// Schedules.
    Schedule,
    /// Monitors.
    Monitor,
    /// Event handlers.
    EventHandler,
    /// Public status pages.
    StatusPage,
    /// Teams.
    Team,
    /// Identity providers (single sign-on).
    IdentityProvider,
}

/// The folders of a config directory this loader reads, and what each holds. (`notifiers/` is
/// read by the notifiers' own loader; a cluster publishes both: `vigil serve`'s
/// `shared_config`.)
pub const DEFINITION_DIRS: [(&str, Kind); 7] = [
    ("workflows", Kind::Workflow),
    ("schedules", Kind::Schedule),
    ("monitors", Kind::Monitor),
    ("event_handlers", Kind::EventHandler),
    ("status-pages", Kind::StatusPage),
    ("teams", Kind::Team),
    ("identity-providers", Kind::IdentityProvider),
];

/// The folder of a config directory that holds notifiers.
pub const NOTIFIERS_DIR: &str = "notifiers";

/// Loads `path`: a config directory, a `workflows/` or `schedules/` directory, or one file.
pub fn load(path: &Path) -> (Config, Vec<Diagnostic>) {
    load_checked(path, Checks::default())
}

/// Reads a monitor's source block as its connector does: problems at paths below `source.<kind>`.
pub type SourceCheck<'a> = &'a dyn Fn(&crate::monitor::SourceSpec) -> Vec<Problem>;

/// What [`load_checked`] checks besides each definition's own fields.
#[derive(Default, Clone, Copy)]
pub struct Checks<'a> {
    /// The notifiers defined: every ALERT task and monitor route must name one of them.
    pub notifiers: Option<&'a [String]>,
    /// Run on every monitor's source block, including those of monitors with other problems.
    pub sources: Option<SourceCheck<'a>>,
}

/// Like [`load`], with the checks across definitions that need more than the definitions.
pub fn load_checked(path: &Path, checks: Checks) -> (Config, Vec<Diagnostic>) {
    let notifiers = checks.notifiers;
    let mut diags = Vec::new();
    let mut files: Vec<(PathBuf, Option<Kind>, Option<std::sync::Arc<str>>)> = Vec::new();
    if path.is_dir() {
        let mut found = false;
        for (sub, kind) in DEFINITION_DIRS {
            let dir = path.join(sub);
            if dir.is_dir() {
                found = true;
                files.extend(list_dir(&dir, &mut diags).into_iter().map(|f| (f, Some(kind), None)));
                // One level of folders below: `monitors/payments/*.yaml` (a team may own one).
                for (folder, sub) in folders_of(&dir) {
                    let folder: std::sync::Arc<str> = folder.into();
                    files.extend(list_dir(&sub, &mut diags).into_iter().map(|f| (f, Some(kind), Some(folder.clone()))));
                }
            }
        }
        if !found {
            // A directory of definitions; its Alertmanager configuration is not one.
            let defs = list_dir(path, &mut diags).into_iter().filter(|f| !is_alertmanager_file(f));
            files.extend(defs.map(|f| (f, None, None)));
        }
    } else {
        files.push((path.to_path_buf(), None, None));
    }
    // Files are read and parsed on several threads, and built in order on this one, file by file:
    // each file's documents are built, and their parsed values dropped, before the next file's,
    // so memory holds a few files' values at a time besides what is kept.
    let mut docs: Vec<(Kind, Doc)> = Vec::new();
    let mut building = Building::default();
    let parsers = std::thread::available_parallelism().map_or(1, |n| n.get().min(PARSERS));
    in_order::map_in_order(
        &files,
        parsers,
        |(file, _, _)| read_file(file),
        |i, read| {
            let (file, kind, folder) = &files[i];
            let from = docs.len();
            match read {
                Ok(items) => add_docs(file, *kind, folder, items, &mut docs),
                Err(d) => diags.push(d),
            }
            building.add(&mut docs, from, &checks, &mut diags)
        },
    );
    let config = building.finish(&docs, notifiers, &mut diags);
    diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    (config, diags)
}

/// Whether any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// The folders directly inside `dir` (names not starting with `.`), sorted: the name, the path.
/// The one rule for the folders a team may own; the notifiers' loader and a cluster's published
/// copy read the same ones.
pub fn folders_of(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// The definition files of `dir`, sorted.
fn list_dir(dir: &Path, diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_definition(p)).collect(),
        Err(e) => {
            diags.push(file_error(dir, 1, 1, format!("cannot read directory: {e}")));
            return Vec::new();
        }
    };
    files.sort();
    files
}

/// The names of a config directory's Alertmanager configuration (`vigil serve` reads it).
pub const ALERTMANAGER_FILES: [&str; 2] = ["alertmanager.yml", "alertmanager.yaml"];

fn is_alertmanager_file(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| ALERTMANAGER_FILES.contains(&n))
}

fn is_definition(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml"))
}

fn file_error(file: &Path, line: usize, column: usize, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_path_buf(),
        line,
        column,
        path: String::new(),
        message,
        hint: None,
    }
}

/// Parses JSON or YAML text into a value, with a located syntax error.
pub fn parse_text(file: &Path, text: &str) -> Result<Value, Diagnostic> {
    let is_json = file.extension().and_then(|e| e.to_str()) == Some("json");
    if is_json {
        serde_json::from_str(text).map_err(|e| file_error(file, e.line(), e.column(), format!("invalid JSON: {e}")))
    } else {
        serde_saphyr::from_str::<Value>(text).map_err(|e| {
            let (line, col) = e.location().map(|l| (l.line() as usize, l.column() as usize)).unwrap_or((1, 1));
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("syntax error").trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let first = match first.split_once(": ") {
                Some((head, rest)) if head.starts_with("line ") => rest,
                _ => first,
            }
            .to_string();
            file_error(file, line, col, format!("invalid YAML: {first}"))
        })
    }
}

/// The largest definition file read, in bytes; `VIGIL_MAX_DEFINITION_BYTES` changes it.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 << 20;

/// The size limit in force: `VIGIL_MAX_DEFINITION_BYTES`, else [`DEFAULT_MAX_FILE_BYTES`].
pub fn max_file_bytes() -> u64 {
    std::env::var("VIGIL_MAX_DEFINITION_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_MAX_FILE_BYTES)
}

/// Reads a definition file: only a regular file (a FIFO would block, `/dev/zero` never ends; a
/// symlink to a regular file is fine), and at most [`max_file_bytes`]. The error is a sentence.
pub fn read_definition_file(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let limit = max_file_bytes();
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read file: {e}"))?;
    if !meta.is_file() {
        return Err(
            "not a regular file (a device, FIFO or socket): definitions are read only from regular files".to_string()
        );
    }
    let too_big = |size: u64| {
        format!("file is {size} bytes, over the {limit}-byte limit for a definition file (VIGIL_MAX_DEFINITION_BYTES)")
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut text = String::new();
    let read = std::fs::File::open(file)
        .and_then(|f| f.take(limit + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read file: {e}"))?;
    if read as u64 > limit {
        return Err(too_big(read as u64));
    }
    // A UTF-8 byte order mark (editors on Windows write one) is not part of the document.
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// Threads that read and parse definition files at most.
const PARSERS: usize = 4;

/// Reads and parses a definition file into its documents, each with its path prefix in the file
/// (`[3]` for the fourth of a list, empty for a file of one).
fn read_file(file: &Path) -> Result<Vec<(String, Value)>, Diagnostic> {
    let text = read_definition_file(file).map_err(|e| file_error(file, 1, 1, e))?;
    Ok(match parse_text(file, &text)? {
        Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)).collect(),
        other => vec![(String::new(), other)],
    })
}

/// Adds a file's documents to `docs`, of `kind` or of the kind each looks like.
fn add_docs(
    file: &Path,
    kind: Option<Kind>,
    folder: &Option<std::sync::Arc<str>>,
    items: Vec<(String, Value)>,
    docs: &mut Vec<(Kind, Doc)>,
) {
    let map = std::sync::Arc::new(std::sync::OnceLock::new());
    for (prefix, value) in items {
        let kind = kind.unwrap_or_else(|| guess_kind(&value));
        let doc = Doc { file: file.to_path_buf(), folder: folder.clone(), map: map.clone(), prefix, value };
        docs.push((kind, doc));
    }
}

fn guess_kind(value: &Value) -> Kind {
    if value.get("source").is_some() || value.get("heartbeat").is_some() {
        Kind::Monitor
    } else if value.get("event").is_some() && value.get("actions").is_some() {
        Kind::EventHandler
    } else if value.get("owns").is_some() || value.get("members").is_some() {
        Kind::Team
    } else if value.get("oidc").is_some() {
        Kind::IdentityProvider
    } else if value.get("slug").is_some() && value.get("components").is_some() {
        Kind::StatusPage
    } else if value.get("cronExpression").is_some() || value.get("startWorkflowRequest").is_some() {
        Kind::Schedule
    } else {
        Kind::Workflow
    }
}

/// What loading has built so far, and where each definition came from.
#[derive(Default)]
struct Building {
    config: Config,
    workflow_docs: HashMap<(String, u32), usize>,
    schedule_docs: HashMap<String, usize>,
    monitor_docs: HashMap<String, usize>,
    handler_docs: HashMap<String, usize>,
    page_docs: HashMap<String, usize>,
    team_docs: HashMap<String, usize>,
    provider_docs: HashMap<String, usize>,
    built: Vec<(usize, WorkflowDef)>,
    /// Workflows that did not build, as their documents refer to others.
    unbuilt_workflows: Vec<(usize, unbuilt::Refers)>,
    /// Schedules that did not build, with the workflow each names.
    unbuilt_schedules: Vec<(usize, String)>,
}

/// The error for a definition whose name `first` already defined.
fn also_defined(what: String, first: &Doc) -> Problem {
    Problem::error("name", format!("{what} is also defined in {}", first.file.display()))
}

impl Building {
    /// Builds documents `from..` of `docs` (one file's) and takes their parsed values out, for
    /// the caller to drop where they were made.
    fn add(
        &mut self,
        docs: &mut [(Kind, Doc)],
        from: usize,
        checks: &Checks,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Value> {
        let mut parsed = Vec::with_capacity(docs.len() - from);
        for n in from..docs.len() {
            parsed.push(std::mem::take(&mut docs[n].1.value));
            let value = parsed.last().expect("just pushed");
            let (kind, doc) = (docs[n].0, &docs[n].1);
            match kind {
                Kind::Workflow => {
                    let (def, problems) = build_workflow(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else {
                        self.unbuilt_workflows.push((n, unbuilt::workflow(value)));
                        continue;
                    };
                    let key = (def.name.clone(), def.version);
                    if let Some(&first) = self.workflow_docs.get(&key) {
                        let what = format!("workflow `{}` version {}", def.name, def.version);
                        diags.push(doc.locate(also_defined(what, &docs[first].1)));
                        continue;
                    }
                    self.workflow_docs.insert(key, n);
                    self.built.push((n, def));
                }
                Kind::Schedule => {
                    let (def, problems) = ScheduleDef::build(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else {
                        if let Some(target) = unbuilt::schedule_target(value) {
                            self.unbuilt_schedules.push((n, target));
                        }
                        continue;
                    };
                    if let Some(&first) = self.schedule_docs.get(&def.name) {
                        diags.push(doc.locate(also_defined(format!("schedule `{}`", def.name), &docs[first].1)));
                        continue;
                    }
                    self.schedule_docs.insert(def.name.clone(), n);
                    self.config.schedules.push(def);
                }
                Kind::Monitor => {
                    let (def, problems) = MonitorDef::build(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    // Checked whether or not the rest built, so one run reports every problem.
                    if let Some(names) = checks.notifiers {
                        check_routes(value, names, doc, diags);
                    }
                    // A built monitor's own source; only one that did not build is read again.
                    let spec = match &def {
                        Some(d) if d.heartbeat.is_none() => Some(std::borrow::Cow::Borrowed(&d.source)),
                        Some(_) => None,
                        None => crate::monitor::source_of(value).map(std::borrow::Cow::Owned),
                    };
                    if let (Some(check), Some(spec)) = (checks.sources, spec) {
                        for p in check(&spec) {
                            let at = if p.path.is_empty() {
                                format!("source.{}", spec.kind)
                            } else {
                                format!("source.{}.{}", spec.kind, p.path)
                            };
                            diags.push(doc.locate(Problem { path: at, ..p }));
                        }
                    }
                    let Some(def) = def else { continue };
                    if let Some(&first) = self.monitor_docs.get(&def.name) {
                        diags.push(doc.locate(also_defined(format!("monitor `{}`", def.name), &docs[first].1)));
                        continue;
                    }
                    self.monitor_docs.insert(def.name.clone(), n);
                    let origin = Origin { file: doc.file.clone(), prefix: doc.prefix.clone() };
                    self.config.monitor_origins.insert(def.name.clone(), origin);
                    self.config.monitors.push(def);
                }
                Kind::EventHandler => {
                    let (def, problems) = crate::event_handler::build_event_handler(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else { continue };
                    if let Some(&first) = self.handler_docs.get(&def.name) {
                        diags.push(doc.locate(also_defined(format!("event handler `{}`", def.name), &docs[first].1)));
                        continue;
                    }
                    self.handler_docs.insert(def.name.clone(), n);
                    self.config.event_handlers.push(def);
                }
                Kind::StatusPage => {
                    let (def, problems) = crate::status_page::build_status_page(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else { continue };
                    if let Some(&first) = self.page_docs.get(&def.slug) {
                        let msg =
                            format!("status page `{}` is also defined in {}", def.slug, docs[first].1.file.display());
                        diags.push(doc.locate(Problem::error("slug", msg)));
                        continue;
                    }
                    self.page_docs.insert(def.slug.clone(), n);
                    self.config.status_pages.push(def);
                }
                Kind::Team => {
                    let (def, problems) = crate::team::build_team(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else { continue };
                    if let Some(&first) = self.team_docs.get(&def.name) {
                        let msg = format!("team `{}` is also defined in {}", def.name, docs[first].1.file.display());
                        diags.push(doc.locate(Problem::error("name", msg)));
                        continue;
                    }
                    self.team_docs.insert(def.name.clone(), n);
                    self.config.teams.push(def);
                }
                Kind::IdentityProvider => {
                    let (def, problems) = crate::identity::build_identity_provider(value);
                    diags.extend(problems.into_iter().map(|p| doc.locate(p)));
                    let Some(def) = def else { continue };
                    if let Some(&first) = self.provider_docs.get(&def.name) {
                        let msg = format!(
                            "identity provider `{}` is also defined in {}",
                            def.name,
                            docs[first].1.file.display()
                        );
                        diags.push(doc.locate(Problem::error("name", msg)));
                        continue;
                    }
                    self.provider_docs.insert(def.name.clone(), n);
                    self.config.identity_providers.push(def);
                }
            }
        }
        parsed
    }

    /// The checks across definitions (references, cycles), then the config. Definitions that did
    /// not build are checked too, as their documents read, and count as defined.
    fn finish(self, docs: &[(Kind, Doc)], notifiers: Option<&[String]>, diags: &mut Vec<Diagnostic>) -> Config {
        let Building {
            mut config,
            workflow_docs,
            schedule_docs,
            monitor_docs,
            page_docs,
            built,
            unbuilt_workflows,
            unbuilt_schedules,
            ..
        } = self;
        use crate::team::ObjectKind;
        let found = [
            (ObjectKind::Workflows, workflow_docs.iter().map(|((name, _), n)| (name, *n)).collect::<Vec<_>>()),
            (ObjectKind::Schedules, schedule_docs.iter().map(|(name, n)| (name, *n)).collect()),
            (ObjectKind::Monitors, monitor_docs.iter().map(|(name, n)| (name, *n)).collect()),
            (ObjectKind::StatusPages, page_docs.iter().map(|(name, n)| (name, *n)).collect()),
        ];
        for (kind, names) in found {
            for (name, n) in names {
                if let Some(folder) = &docs[n].1.folder {
                    config.folders.insert(kind, name, folder);
                }
            }
        }
        let mut names: Vec<String> = built.iter().map(|(_, d)| d.name.clone()).collect();
        names.extend(unbuilt_workflows.iter().filter_map(|(_, r)| r.name.clone()));
        let known = |name: &str| names.iter().any(|n| n == name);
        let suggest = |name: &str| did_you_mean(name, names.iter().map(String::as_str));
        report_cycles(&built, docs, diags);
        let built_refers = built.iter().map(|(n, def)| {
            let refers = unbuilt::Refers {
                name: Some(def.name.clone()),
                sub_workflows: sub_workflow_targets(def),
                alert_notifiers: alert_notifiers(&def.tasks, "tasks"),
                failure_workflow: def.failure_workflow.clone(),
            };
            (*n, refers)
        });
        for (n, refers) in built_refers.chain(unbuilt_workflows) {
            let doc = &docs[n].1;
            for (path, target) in &refers.sub_workflows {
                if !known(target) {
                    let msg = format!("SUB_WORKFLOW starts workflow `{target}`, which is not defined");
                    diags.push(doc.locate(
                        Problem::error(format!("{path}.subWorkflowParam.name"), msg).with_hint(suggest(target)),
                    ));
                }
            }
            if let Some(names) = notifiers {
                for (path, notifier) in refers.alert_notifiers {
                    if !names.contains(&notifier) {
                        let msg = format!("notifier `{notifier}` is not defined in notifiers/");
                        let hint = did_you_mean(&notifier, names.iter().map(String::as_str));
                        diags.push(doc.locate(Problem::error(path, msg).with_hint(hint)));
                    }
                }
            }
            match refers.failure_workflow.as_deref().map(|f| (f, crate::def::failure_workflow_input_key(f))) {
                // Named by the input at run time: Conductor's `$workflow.input.KEY`.
                Some((_, Some(Some(_)))) | None => {}
                Some((f, Some(None))) => {
                    let msg = format!("failureWorkflow `{f}` is neither a workflow name nor `$workflow.input.KEY`");
                    diags.push(doc.locate(Problem::error("failureWorkflow", msg)));
                }
                Some((f, None)) if !known(f) => {
                    let msg = format!("failureWorkflow `{f}` is not defined");
                    diags.push(doc.locate(Problem::error("failureWorkflow", msg).with_hint(suggest(f))));
                }
                Some(_) => {}
            }
        }
        for (n, target) in &unbuilt_schedules {
            if !known(target) {
                let msg = format!("schedule starts workflow `{target}`, which is not defined");
                diags.push(
                    docs[*n].1.locate(Problem::error("startWorkflowRequest.name", msg).with_hint(suggest(target))),
                );
            }
        }
        for s in &config.schedules {
            let doc = &docs[schedule_docs[&s.name]].1;
            if !known(&s.start.name) {
                let msg = format!("schedule starts workflow `{}`, which is not defined", s.start.name);
                diags.push(
                    doc.locate(Problem::error("startWorkflowRequest.name", msg).with_hint(suggest(&s.start.name))),
                );
            } else if let Some(v) = s.start.version
                && built.iter().any(|(_, d)| d.name == s.start.name)
                && !built.iter().any(|(_, d)| d.name == s.start.name && d.version == v)
            {
                let versions: Vec<String> =
                    built.iter().filter(|(_, d)| d.name == s.start.name).map(|(_, d)| d.version.to_string()).collect();
                let msg = format!(
                    "schedule starts workflow `{}` version {v}, which is not defined (versions: {})",
                    s.start.name,
                    versions.join(", ")
                );
                diags.push(doc.locate(Problem::error("startWorkflowRequest.version", msg)));
            }
        }
        // A `job_latency` monitor of a vigil workflow watches a name: one not in workflows/ may
        // be defined through the API, so it is a warning, not an error.
        for m in config.monitors.iter().filter(|m| m.source.kind == crate::source_kind::SourceKind::JobLatency) {
            let Some(wf) = m.source.config.get("workflow").and_then(Value::as_str) else { continue };
            if !known(wf)
                && let Some(origin) = config.monitor_origins.get(&m.name)
            {
                let msg =
                    format!("workflow `{wf}` is not defined in workflows/ (fine if it is defined through the API)");
                let mut d = origin.error("source.job_latency.workflow", msg);
                d.severity = Severity::Warning;
                d.hint = suggest(wf);
                diags.push(d);
            }
        }
        for (_, def) in built {
            config.workflows.insert(def);
        }
        config.schedules.sort_by(|a, b| a.name.cmp(&b.name));
        config.monitors.sort_by(|a, b| a.name.cmp(&b.name));
        check_dependencies(&mut config, diags);
        check_status_pages(&mut config, &page_docs, docs, diags);
        check_page_notifiers(&config, &page_docs, docs, notifiers, diags);
        config
    }
}

/// Every monitor a status page shows should be defined (one that is not may be defined through
/// the API: a warning; its component shows no data until it is).
fn check_status_pages(
    config: &mut Config,
    page_docs: &HashMap<String, usize>,
    docs: &[(Kind, Doc)],
    diags: &mut Vec<Diagnostic>,
) {
    let names: Vec<&str> = config.monitors.iter().map(|m| m.name.as_str()).collect();
    let mut domains: HashMap<&str, &str> = HashMap::new();
    for page in &config.status_pages {
        let doc = &docs[page_docs[&page.slug]].1;
        for (i, domain) in page.domains.iter().enumerate() {
            if let Some(other) = domains.insert(domain, &page.slug).filter(|o| *o != page.slug) {
                let msg = format!("`{domain}` is the domain of status page `{other}` too");
                diags.push(doc.locate(Problem::error(format!("domains[{i}]"), msg)));
            }
        }
        for (i, c) in page.components.iter().enumerate() {
            let listed = c.monitor.iter().map(|m| (format!("components[{i}].monitor"), m));
            let grouped = c.monitors.iter().enumerate().map(|(j, m)| (format!("components[{i}].monitors[{j}]"), m));
            for (path, monitor) in listed.chain(grouped) {
                if !names.contains(&monitor.as_str()) {
                    let msg = format!(
                        "monitor `{monitor}` is not defined in monitors/ (fine if it is defined through the API; until then `{}` shows no data)",
                        c.name
                    );
                    let hint = did_you_mean(monitor, names.iter().copied());
                    let mut d = doc.locate(Problem::error(path, msg).with_hint(hint));
                    d.severity = Severity::Warning;
                    diags.push(d);
                }
            }
        }
    }
    config.status_pages.sort_by(|a, b| a.slug.cmp(&b.slug));
}

/// A page's email subscribers are written to through a notifier of notifiers/ (when the caller
/// knows them).
fn check_page_notifiers(
    config: &Config,
    page_docs: &HashMap<String, usize>,
    docs: &[(Kind, Doc)],
    notifiers: Option<&[String]>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(names) = notifiers else { return };
    for page in &config.status_pages {
        let Some(email) = page.subscribers.as_ref().and_then(|s| s.email.as_deref()) else { continue };
        if !names.iter().any(|n| n == email) {
            let msg =
                format!("notifier `{email}` is not defined in notifiers/ (an email notifier writes to subscribers)");
            let hint = did_you_mean(email, names.iter().map(String::as_str));
            diags.push(docs[page_docs[&page.slug]].1.locate(Problem::error("subscribers.email", msg).with_hint(hint)));
        }
    }
}

/// Every monitor a monitor depends on should be defined (one that is not may be defined through
/// the API: a warning), and dependencies may not go round in a circle (an error at each
/// monitor of the cycle). Fills each monitor's `ancestors`.
fn check_dependencies(config: &mut Config, diags: &mut Vec<Diagnostic>) {
    let names: Vec<String> = config.monitors.iter().map(|m| m.name.clone()).collect();
    for m in &config.monitors {
        let Some(origin) = config.monitor_origins.get(&m.name) else { continue };
        for (i, parent) in m.depends_on.iter().enumerate() {
            if !names.contains(parent) {
                let msg =
                    format!("monitor `{parent}` is not defined in monitors/ (fine if it is defined through the API)");
                let mut d = origin.error(&format!("dependsOn[{i}]"), msg);
                d.severity = Severity::Warning;
                d.hint = did_you_mean(parent, names.iter().map(String::as_str));
                diags.push(d);
            }
        }
    }
    for cycle in crate::monitor::fill_ancestors(&mut config.monitors) {
        let text = cycle.join(" → ");
        for name in &cycle[..cycle.len() - 1] {
            if let Some(origin) = config.monitor_origins.get(name) {
                diags.push(origin.error("dependsOn", format!("monitors depend on each other in a circle: {text}")));
            }
        }
    }
}

/// Every notifier a monitor routes to (`notify`) must be defined in `notifiers/`.
fn check_routes(doc_value: &Value, names: &[String], doc: &Doc, diags: &mut Vec<Diagnostic>) {
    let located: Vec<(String, &Value)> = match doc_value.get("notify") {
        Some(Value::Object(tiers)) => tiers
            .iter()
            .flat_map(|(tier, list)| match list {
                Value::Array(items) => {
                    items.iter().enumerate().map(|(j, v)| (format!("notify.{tier}[{j}]"), v)).collect::<Vec<_>>()
                }
                other => vec![(format!("notify.{tier}"), other)],
            })
            .collect(),
        Some(Value::Array(items)) => items.iter().enumerate().map(|(j, v)| (format!("notify[{j}]"), v)).collect(),
        Some(other) => vec![("notify".to_string(), other)],
        None => Vec::new(),
    };
    for (path, value) in located {
        let Some(name) = value.as_str() else { continue };
        if !names.iter().any(|n| n == name) {
            let msg = format!("notifier `{name}` is not defined in notifiers/");
            let hint = did_you_mean(name, names.iter().map(String::as_str));
            diags.push(doc.locate(Problem::error(path, msg).with_hint(hint)));
        }
    }
}

/// Literal notifier names of ALERT tasks, with their field paths.
fn alert_notifiers(tasks: &[Task], path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    crate::def::walk(tasks, path, &mut |t, here| {
        if !matches!(t.kind, TaskKind::Alert) {
            return;
        }
        let names: Vec<(String, &Value)> = match t.input.get("notifiers") {
            Some(Value::Array(items)) => {
                items.iter().enumerate().map(|(j, v)| (format!("{here}.inputParameters.notifiers[{j}]"), v)).collect()
            }
            Some(v) => vec![(format!("{here}.inputParameters.notifiers"), v)],
            None => Vec::new(),
        };
        out.extend(
            names.into_iter().filter_map(|(p, v)| Some((p, v.as_str().filter(|s| !s.contains("${"))?.to_string()))),
        );
    });
    out
}

/// One error per SUB_WORKFLOW cycle, at the task of its first workflow that starts the next.
fn report_cycles(built: &[(usize, WorkflowDef)], docs: &[(Kind, Doc)], diags: &mut Vec<Diagnostic>) {
    for cycle in find_cycles(built.iter().map(|(_, d)| d)) {
        let Some((n, def)) = built.iter().find(|(_, d)| d.name == cycle[0]) else { continue };
        let Some((path, _)) = sub_workflow_targets(def).into_iter().find(|(_, t)| *t == cycle[1]) else { continue };
        let msg = format!(
            "SUB_WORKFLOW cycle {}: each instance would start another without end",
            cycle.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → ")
        );
        diags.push(docs[*n].1.locate(Problem::error(format!("{path}.subWorkflowParam.name"), msg)));
    }
}
