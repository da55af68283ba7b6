//! Files generated from vigil's own definitions, so they cannot drift from the code: shell
//! completions and the man page (from the CLI definition), the JSON Schemas of definition files
//! (from the field lists the checkers use) and the configuration reference (both). The committed
//! copies in `docs/` are compared with these by `crates/cli/tests/it/generated.rs`, so CI fails when
//! one is stale; `VIGIL_UPDATE_GENERATED=1 cargo test -p vigil --test it generated::` rewrites them.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

/// `vigil completions SHELL`.
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Which definition file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A workflow (Conductor's WorkflowDef, with vigil's `http`, `retention`).
    Workflow,
    /// A schedule (Conductor's WorkflowSchedule).
    Schedule,
    /// A monitor.
    Monitor,
    /// A notifier.
    Notifier,
    /// A public status page.
    StatusPage,
}

/// Every kind, in the order files and docs list them.
pub const KINDS: [Kind; 5] = [Kind::Workflow, Kind::Schedule, Kind::Monitor, Kind::Notifier, Kind::StatusPage];

impl Kind {
    /// The kind's name, as the file names use it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Workflow => "workflow",
            Kind::Schedule => "schedule",
            Kind::Monitor => "monitor",
            Kind::Notifier => "notifier",
            Kind::StatusPage => "status-page",
        }
    }
}

/// `vigil schema KIND`.
#[derive(clap::Args)]
pub struct SchemaArgs {
    /// The definition file.
    #[arg(value_enum)]
    pub kind: Kind,
}

/// Prints a completion script.
pub fn completions(cli: &mut clap::Command, args: CompletionsArgs) -> Result<ExitCode> {
    // Rendered first, then printed the way every command prints, so a reader that goes away
    // (`| head -c1`) ends it quietly instead of a panic in the generator's writes.
    let mut out = Vec::new();
    clap_complete::generate(args.shell, cli, "vigil", &mut out);
    crate::output::out!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// Prints the man page.
pub fn man(cli: clap::Command) -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cli.version(env!("CARGO_PKG_VERSION")).display_name("vigil")).render(&mut out)?;
    crate::output::out!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// Prints a definition file's JSON Schema.
pub fn schema(args: SchemaArgs) -> Result<ExitCode> {
    crate::output::outln!("{}", serde_json::to_string_pretty(&schema_of(args.kind))?);
    Ok(ExitCode::SUCCESS)
}

/// Prints the configuration reference.
pub fn reference(cli: &clap::Command) -> Result<ExitCode> {
    crate::output::out!("{}", reference_markdown(cli));
    Ok(ExitCode::SUCCESS)
}

/// A maintenance window's schema: one-off (`starts`, `ends`) or recurring (`repeat`); a status
/// page's names `components`.
fn maintenance_window(with_components: bool) -> Value {
    let when = json!({"type": ["string", "integer"], "description": "RFC 3339 or epoch milliseconds"});
    let repeat = json!({"type": "object", "additionalProperties": false, "required": ["for"],
    "description": "how it comes back: `every` (with `days`, `at`) or `cron`",
    "properties": {
        "every": {"type": "string", "description": "day, week or month, or a count of them: 2 weeks"},
        "days": {"type": "array", "items": {"type": ["string", "integer"]}, "description": "weekdays (every: week) or days of the month: 1 to 31, last, -2"},
        "at": {"type": "string", "description": "the local time each starts, HH:MM"},
        "cron": {"type": "string", "description": "instead of every: the times each starts"},
        "timezone": {"type": "string", "description": "an IANA time zone (UTC by default)"},
        "for": {"type": "string", "description": "how long each lasts: 1h, 90m"},
        "notify": {"type": "boolean", "description": "tell subscribers when each starts and ends"},
    }});
    let mut properties = json!({
        "title": {"type": "string"},
        "message": {"type": "string", "description": "what is done (Markdown)"},
        "starts": when.clone(), "ends": when,
        "repeat": repeat,
    });
    if with_components {
        properties["components"] = json!({"type": "array", "items": {"type": "string"}, "description": "display names (none: the whole page)"});
    }
    json!({"type": "object", "additionalProperties": false, "required": ["title"], "properties": properties,
        "anyOf": [{"required": ["starts", "ends"]}, {"required": ["repeat"]}]})
}

/// An object whose keys are `fields` (each described by `types`, by default any value), nothing
/// else.
fn object(title: &str, fields: &[&[&str]], types: &Map<String, Value>, required: &[&str]) -> Value {
    let mut properties = Map::new();
    for name in fields.iter().flat_map(|f| f.iter()) {
        properties.insert(name.to_string(), types.get(*name).cloned().unwrap_or_else(|| json!({})));
    }
    json!({"title": title, "type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn types(pairs: Value) -> Map<String, Value> {
    pairs.as_object().cloned().unwrap_or_default()
}

/// A duration as vigil reads it (`30s`, `5m`, `1h30m`, `7d`) or a number of seconds.
fn duration() -> Value {
    json!({"type": ["string", "integer"], "description": "a duration such as 30s, 5m, 7d (a number is seconds)"})
}

/// A `retention` block.
fn retention(owner: vigil_core::retention::Owner) -> Value {
    use vigil_core::retention::Owner;
    let keep = json!({"type": ["string", "integer"], "description": "a duration such as 7d, or forever"});
    let properties = match owner {
        Owner::Workflow => json!({"completed": keep, "failed": keep, "keepLast": {"type": "integer", "minimum": 1}}),
        Owner::Monitor => json!({"history": keep}),
    };
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

/// The JSON Schema (draft 2020-12) of one kind of definition file.
pub fn schema_of(kind: Kind) -> Value {
    use vigil_core::def::fields;
    let id = format!("https://vigil-rs.github.io/schema/{}.schema.json", kind.name());
    // Schemas the settings types refer to (their enums), gathered into `$defs`.
    let mut shared_defs = serde_json::Map::new();
    let mut doc = match kind {
        Kind::Workflow => {
            let task_types: Vec<&str> = fields::task_types().collect();
            let task = object(
                "task",
                &[fields::TASK_SUPPORTED, fields::TASK_IGNORED],
                &types(json!({
                    "name": {"type": "string"}, "taskReferenceName": {"type": "string"},
                    "type": {"enum": task_types, "description": "the task type (a name not listed is a SIMPLE worker task only with `taskDefinition`)"},
                    "description": {"type": "string"}, "inputParameters": {"type": "object"},
                    "optional": {"type": "boolean"}, "permissive": {"type": "boolean"},
                    "startDelay": {"type": "integer"}, "retryCount": {"type": "integer"},
                    "taskDefinition": {"type": "object"}, "evaluatorType": {"type": "string"},
                    "expression": {"type": "string"},
                    "decisionCases": {"type": "object", "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/task"}}},
                    "defaultCase": {"type": "array", "items": {"$ref": "#/$defs/task"}},
                    "loopOver": {"type": "array", "items": {"$ref": "#/$defs/task"}},
                    "forkTasks": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/$defs/task"}}},
                    "joinOn": {"type": "array", "items": {"type": "string"}},
                    "loopCondition": {"type": "string"}, "subWorkflowParam": {"type": "object"},
                })),
                &["name", "taskReferenceName"],
            );
            let mut wf = object(
                "vigil workflow",
                &[fields::WORKFLOW_SUPPORTED, fields::WORKFLOW_IGNORED, fields::METADATA],
                &types(json!({
                    "name": {"type": "string"}, "description": {"type": "string"},
                    "version": {"type": "integer", "minimum": 1},
                    "tasks": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/task"}},
                    "inputParameters": {"type": "array", "items": {"type": "string"}},
                    "outputParameters": {"type": "object"}, "failureWorkflow": {"type": "string"},
                    "timeoutSeconds": {"type": "integer", "minimum": 0},
                    "timeoutPolicy": {"enum": ["TIME_OUT_WF", "ALERT_ONLY"]},
                    "variables": {"type": "object"}, "inputTemplate": {"type": "object"},
                    "schemaVersion": {"type": "integer"}, "restartable": {"type": "boolean"},
                    "http": {"type": "object"},
                    "retention": retention(vigil_core::retention::Owner::Workflow),
                })),
                &["name", "tasks"],
            );
            wf["$defs"] = json!({"task": task});
            wf
        }
        Kind::Schedule => {
            use vigil_core::schedule as s;
            let start = object(
                "startWorkflowRequest",
                &[s::START_SUPPORTED, s::START_IGNORED],
                &types(json!({"name": {"type": "string"}, "version": {"type": "integer"}, "input": {"type": "object"},
                    "correlationId": {"type": "string"}})),
                &["name"],
            );
            object(
                "vigil schedule",
                &[s::SUPPORTED, s::IGNORED],
                &types(json!({
                    "name": {"type": "string"}, "cronExpression": {"type": "string", "description": "cron with seconds (6 fields) or without (5)"},
                    "zoneId": {"type": "string", "description": "an IANA time zone such as Europe/Berlin"},
                    "startWorkflowRequest": start, "paused": {"type": "boolean"},
                    "scheduleStartTime": {"type": "integer"}, "scheduleEndTime": {"type": "integer"},
                    "runCatchupScheduleInstances": {"type": "boolean"},
                    "overlapPolicy": {"type": "string"},
                })),
                &["name", "cronExpression", "startWorkflowRequest"],
            )
        }
        Kind::Monitor => {
            let kinds: Vec<&str> = vigil_core::monitor::SourceKind::block_names().collect();
            let mut settings = serde_json::Map::new();
            for (name, schema, nested) in vigil_connectors::sources::schemas() {
                settings.insert(name.into(), schema);
                shared_defs.extend(nested);
            }
            let source = json!({"type": "object", "minProperties": 1, "maxProperties": 1,
                "properties": settings, "additionalProperties": false,
                "description": format!("one of {}", kinds.join(", "))});
            let threshold = json!({"type": ["string", "number", "object"], "description": "`> 90`, `< 1`, a number, or {above, below}"});
            object(
                "vigil monitor",
                &[vigil_core::monitor::MONITOR_FIELDS],
                &types(json!({
                    "name": {"type": "string"}, "description": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "every": duration(), "cron": {"type": "string"}, "zone": {"type": "string"},
                    "source": source, "heartbeat": {"type": "object"}, "value": {"type": "string"},
                    "warning": threshold, "critical": threshold,
                    "noData": {"type": "string"}, "onError": {"type": "string"}, "missingSeries": {"type": "string"},
                    "for": duration(), "fireAfter": {"type": "integer"}, "resolveAfter": {"type": "integer"},
                    "repeatInterval": {"type": ["string", "integer"]}, "sendResolved": {"type": "boolean"},
                    "flapThreshold": {"type": "number"}, "flapWindow": {"type": "integer"},
                    "dedupKey": {"type": "string"}, "summary": {"type": "string"},
                    "notify": {"type": ["array", "object", "string"]}, "paused": {"type": "boolean"},
                    "publicBadge": {"type": "boolean", "description": "its badges answer anyone, by its name"},
                    "dependsOn": {"type": "array", "items": {"type": "string"}},
                    "tests": {"type": "array"},
                    "retention": retention(vigil_core::retention::Owner::Monitor),
                    "maintenance": {"type": "array", "items": maintenance_window(false),
                        "description": "the monitor's own maintenance windows, one-off or recurring: its alerts are held while one lasts"},
                })),
                &["name"],
            )
        }
        Kind::Notifier => {
            // Each type's fields apply when `type` names it (as editors validate `if`/`then`).
            let mut when = Vec::new();
            for (name, mut schema, nested) in vigil_connectors::notifiers::NotifierConfig::schemas() {
                shared_defs.extend(nested);
                if let Some(props) = schema["properties"].as_object_mut() {
                    props.insert("type".into(), json!({"const": name}));
                }
                when.push(
                    json!({"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": schema}),
                );
            }
            json!({
                "title": "vigil notifier", "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "type": {"enum": vigil_connectors::notifiers::load::TYPES},
                },
                "required": ["name", "type"],
                "allOf": when,
                "description": "the other fields depend on `type`",
            })
        }
        Kind::StatusPage => {
            let states = json!({"enum": ["operational", "degraded", "partial_outage", "major_outage", "maintenance"]});
            let component = json!({
                "title": "component", "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {
                    "name": {"type": "string", "description": "the name the public sees"},
                    "description": {"type": "string"},
                    "monitor": {"type": "string", "description": "the monitor shown (or `monitors`)"},
                    "monitors": {"type": "array", "items": {"type": "string"}, "description": "a group of monitors shown as one"},
                    "series": {"type": "string", "description": "with `monitor`: one series of it (its key, or a label's value)"},
                },
            });
            let update = json!({
                "title": "incident update", "type": "object", "additionalProperties": false,
                "required": ["at", "status", "message"],
                "properties": {
                    "at": {"type": ["string", "integer"], "description": "when: RFC 3339 (2026-11-20T10:00:00Z) or epoch milliseconds"},
                    "status": {"enum": ["investigating", "identified", "monitoring", "resolved"]},
                    "message": {"type": "string", "description": "what is said (Markdown)"},
                },
            });
            let incident = json!({
                "title": "incident", "type": "object", "additionalProperties": false,
                "required": ["title", "updates"],
                "properties": {
                    "id": {"type": "string", "description": "its id on the page (default: declared-<n>)"},
                    "title": {"type": "string"},
                    "impact": states.clone(),
                    "components": {"type": "array", "items": {"type": "string"}, "description": "the components it affects, by name (none: the whole page)"},
                    "updates": {"type": "array", "minItems": 1, "items": update},
                    "postmortem": {"type": "string", "description": "a review written afterwards (Markdown)"},
                },
            });
            json!({
                "title": "vigil status page", "type": "object", "additionalProperties": false,
                "required": ["slug", "title", "components"],
                "properties": {
                    "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$", "description": "served at /status/{slug}"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "logo": {"type": "string", "description": "an https:// URL or a path on this server"},
                    "components": {"type": "array", "minItems": 1, "items": component},
                    "states": {"type": "object", "additionalProperties": false, "description": "the state each tier shows as",
                        "properties": {"ok": states, "warning": states, "critical": states}},
                    "incidents": {"type": "array", "items": incident, "description": "incidents declared with the page (more are opened through the API)"},
                    "domains": {"type": "array", "items": {"type": "string"}, "description": "host names of its own: a request to one of them is this page's (/ is the page)"},
                    "maintenance": {"type": "array", "description": "scheduled maintenance: shown ahead of time and told to subscribers; during it its components show under maintenance and their monitors' alerts are held",
                        "items": maintenance_window(true)},
                    "subscribers": {
                        "type": "object", "additionalProperties": false,
                        "description": "who may be told of incidents and maintenance",
                        "properties": {
                            "email": {"type": "string", "description": "the email notifier that writes to subscribers (the page shows a form; addresses confirm by a link)"},
                            "webhooks": {"type": "boolean", "description": "whether webhooks may be subscribed through the API (signed as Standard Webhooks says)"},
                            "webhook_form": {"enum": ["none", "public", "any"], "description": "a form on the page to subscribe a webhook (verified by a challenge): `public` takes only URLs of public addresses, `any` any address"},
                        },
                    },
                    "automatic_incidents": {
                        "type": "object", "additionalProperties": false,
                        "description": "open an incident when a component has been out for `after`, resolve it when it is back",
                        "properties": {
                            "after": {"type": ["string", "integer"], "description": "how long a component must be out first (5m, 90s, or milliseconds; default 5m)"},
                            "from": states.clone(),
                            "title": {"type": "string", "description": "the incident's title; {component} is the component's name"},
                            "message": {"type": "string", "description": "its first update (Markdown)"},
                            "resolved": {"type": "string", "description": "the update that resolves it"},
                        },
                    },
                },
            })
        }
    };
    // A file holds one definition or a list of them.
    let mut defs =
        doc.as_object_mut().and_then(|o| o.remove("$defs")).and_then(|d| d.as_object().cloned()).unwrap_or_default();
    defs.extend(shared_defs);
    let title = doc["title"].clone();
    defs.insert(kind.name().into(), doc);
    let one = json!({"$ref": format!("#/$defs/{}", kind.name())});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "title": title,
        "anyOf": [one, {"type": "array", "items": one}],
        "$defs": defs,
    })
}

/// The configuration reference: each definition file's fields, then every command's flags with
/// their environment variables and defaults.
pub fn reference_markdown(cli: &clap::Command) -> String {
    let mut md = String::from(
        "# Configuration reference\n\n\
         Generated by `vigil reference` from the CLI definition and the definition checkers; do not edit\n\
         (`VIGIL_UPDATE_GENERATED=1 cargo test -p vigil --test it generated::` rewrites it).\n\n\
         ## Definition files\n\n\
         A config directory holds `workflows/`, `schedules/`, `monitors/`, `notifiers/`, `event_handlers/`,\n\
         `status-pages/`, `teams/` ([teams](teams.md): `name`, `description`, `members`, `groups`, `owns`) and\n\
         `identity-providers/` ([single sign-on](sso.md): `name`, `title`, `oidc` or `ldap`, `roles`, `createAccounts`), one YAML or JSON\n\
         definition (or a list of them) per file. Files one folder below a kind's folder are read too\n\
         (`monitors/payments/api.yaml`: in folder `payments`, which a team may own). Editors validate them with the JSON Schemas in `docs/schema/`: with\n\
         yaml-language-server, start a file with\n\
         `# yaml-language-server: $schema=https://vigil-rs.github.io/schema/workflow.schema.json` (or a path to\n\
         `docs/schema/workflow.schema.json`).\n\n",
    );
    for kind in KINDS {
        let schema = schema_of(kind)["$defs"][kind.name()].clone();
        md.push_str(&format!("### {}\n\n", kind.name()));
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if let Some(props) = schema["properties"].as_object() {
            let names: Vec<String> = props
                .keys()
                .map(|k| if required.contains(&k.as_str()) { format!("`{k}` (required)") } else { format!("`{k}`") })
                .collect();
            md.push_str(&format!("Fields: {}.\n\n", names.join(", ")));
        }
        if let Some(desc) = schema["description"].as_str() {
            md.push_str(&format!("{desc}.\n\n"));
        }
    }
    settings_reference(
        &mut md,
        "Monitor sources",
        "a monitor's `source: {NAME: ...}`",
        vigil_connectors::sources::schemas(),
    );
    settings_reference(
        &mut md,
        "Notifier types",
        "a notifier file with `type: NAME`",
        vigil_connectors::notifiers::NotifierConfig::schemas(),
    );
    md.push_str("## Commands\n\n");
    let mut stack: Vec<(String, &clap::Command)> = vec![("vigil".into(), cli)];
    while let Some((path, cmd)) = stack.pop() {
        let args: Vec<&clap::Arg> =
            cmd.get_arguments().filter(|a| !a.is_hide_set() && a.get_long().is_some()).collect();
        if path != "vigil" || !args.is_empty() {
            md.push_str(&format!("### `{path}`\n\n"));
            if let Some(about) = cmd.get_about() {
                md.push_str(&format!("{about}\n\n"));
            }
            if !args.is_empty() {
                md.push_str("| flag | environment | default | meaning |\n|---|---|---|---|\n");
                for a in args {
                    let env = a.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_default();
                    let default: Vec<String> =
                        a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
                    let default = if default.is_empty() { String::new() } else { format!("`{}`", default.join(",")) };
                    let help = a.get_long_help().or(a.get_help()).map(|h| h.to_string()).unwrap_or_default();
                    md.push_str(&format!(
                        "| `--{}` | {env} | {default} | {} |\n",
                        a.get_long().unwrap_or_default(),
                        help.replace('\n', " ").replace('|', "\\|")
                    ));
                }
                md.push('\n');
            }
        }
        let mut subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|c| c.get_name() != "help").collect();
        subs.reverse();
        for sub in subs {
            stack.push((format!("{path} {}", sub.get_name()), sub));
        }
    }
    md
}

/// A section with one table per settings type: its fields, types, whether required, and their
/// doc comments (all read from the generated schema).
fn settings_reference(
    md: &mut String,
    title: &str,
    where_: &str,
    kinds: Vec<(&str, Value, serde_json::Map<String, Value>)>,
) {
    md.push_str(&format!("### {title}\n\nThe fields of {where_}, generated from the settings types.\n\n"));
    for (name, schema, defs) in kinds {
        md.push_str(&format!("#### `{name}`\n\n"));
        if let Some(about) = schema["description"].as_str() {
            md.push_str(&format!("{}\n\n", about.replace('\n', " ")));
        }
        md.push_str("| field | type | required | meaning |\n|---|---|---|---|\n");
        for (field, kind, required, meaning) in vigil_connectors::schema::fields(&schema, &defs) {
            let required = if required { "yes" } else { "" };
            md.push_str(&format!("| `{field}` | {kind} | {required} | {} |\n", meaning.replace('|', "\\|")));
        }
        md.push('\n');
    }
}
