//! `vigil import gatus CONFIG --out DIR`: Gatus' configuration (a file, or a directory of them
//! merged as Gatus merges them) as vigil monitor and notifier files, its credentials moved out to
//! secrets.
//!
//! - Each endpoint becomes a monitor of its group and name, on the source its URL names:
//!   `http(s)://` → `http` (method, headers, body, `graphql`, `client.timeout`,
//!   `client.insecure`, `client.ignore-redirect`), `tcp://`, `tls://`, `starttls://` and
//!   `ssh://` → `ssh` with `ssh.username` and `ssh.private-key` (a login; the body's `command`
//!   run), else the banner on `tcp`, `udp://` → `udp`, `icmp://` → `icmp` (one echo request, as
//!   Gatus sends), `ws(s)://` → `websocket`, `grpc(s)://` → `grpc` (the health service), a `dns:`
//!   block → `dns`. Conditions are kept (placeholders upper-cased, as Gatus
//!   reads them in any case). `interval` becomes `every` (Gatus' default 1m); the group becomes a
//!   label.
//! - Its `alerts` (with the provider's `default-alert` merged in, as Gatus does) become the
//!   monitor's `notify`: `failure-threshold` → `fireAfter` (default 3), `success-threshold` →
//!   `resolveAfter` (default 2), `send-on-resolved` → `sendResolved` (default false),
//!   `minimum-reminder-interval` → `repeatInterval` (default: no reminders), `description` →
//!   `summary`.
//! - Each `alerting` provider vigil sends to becomes a notifier of its key; a group's
//!   `overrides` entry becomes a notifier `<key>-<group>` that the group's monitors tell instead.
//!   Credentials become `${workflow.secrets.NAME}` with the `vigil secret set` commands printed.
//! - `${VAR}` in the configuration (Gatus expands the environment at load) becomes vigil's
//!   `${env.VAR}`, read when the check runs.
//!
//! What vigil cannot carry over yet (SCTP endpoints, suites, external
//! endpoints, providers it has no notifier for) is left out with a note naming it; everything
//! written validates. `[DOMAIN_EXPIRATION]` is read over RDAP, as Gatus reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use super::{Imported, file_name};

/// `vigil import gatus`.
#[derive(clap::Args)]
pub struct Args {
    /// Gatus' config.yaml, or a directory of them (merged as Gatus merges them).
    pub config: PathBuf,
    /// The config directory to write (`monitors/`, `notifiers/`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Reads `path` as Gatus does: one file, or every `*.yml`/`*.yaml` below a directory in lexical
/// order, deep-merged (maps merged, lists concatenated, a value set twice refused).
pub fn read(path: &Path) -> Result<Value> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect(path, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut merged = Value::Object(Map::new());
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))?;
        let doc: Value = serde_saphyr::from_str(&environment(&text))
            .map_err(|e| anyhow::anyhow!("{}: not YAML: {e}", file.display()))?;
        merge(&mut merged, doc, "").map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    Ok(merged)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            files.push(path);
        }
    }
    Ok(())
}

/// Gatus' `${VAR}` and `$VAR` as vigil's `${env.VAR}`; `$$` as a literal `$`.
fn environment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.split_once('}')) {
            out.push_str(&format!("${{env.{}}}", inner.0));
            rest = inner.1;
        } else {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&format!("${{env.{name}}}"));
                rest = &rest[name.len()..];
            }
        }
    }
    out + rest
}

fn merge(into: &mut Value, from: Value, at: &str) -> Result<(), String> {
    if into.is_null() {
        *into = from;
        return Ok(());
    }
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v, &path)?,
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            a.extend(b);
            Ok(())
        }
        (_, Value::Null) => Ok(()),
        _ => Err(format!("`{at}` is set in more than one file")),
    }
}

/// Gatus' endpoint key part: lower-cased, and `/ _ . , space # + &` as `-`.
fn sanitize(text: &str) -> String {
    text.trim().to_lowercase().chars().map(|c| if "/_., #+&".contains(c) { '-' } else { c }).collect()
}

/// A provider block's fields without `default-alert` and `overrides`.
fn provider_fields(block: &Value) -> Map<String, Value> {
    block
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "default-alert" && *k != "overrides")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A vigil notifier for Gatus provider `key` with `fields`: its type and document, or why not.
fn notifier(key: &str, name: &str, f: &Map<String, Value>) -> Result<(&'static str, Value), String> {
    let s = |k: &str| {
        f.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| (!v.is_null()).then(|| v.to_string())))
    };
    let need = |k: &str| s(k).filter(|v| !v.is_empty()).ok_or_else(|| format!("`{k}` is missing"));
    let mut doc = json!({"name": name});
    let kind = match key {
        "slack" => {
            doc["url"] = json!(need("webhook-url")?);
            "slack"
        }
        "teams-workflows" => {
            doc["url"] = json!(need("webhook-url")?);
            "teams"
        }
        "discord" => {
            doc["url"] = json!(need("webhook-url")?);
            if let Some(c) = s("message-content") {
                doc["content"] = json!(c);
            }
            "discord"
        }
        "pagerduty" => {
            doc["routing_key"] = json!(need("integration-key")?);
            "pagerduty"
        }
        "telegram" => {
            doc["bot_token"] = json!(need("token")?);
            doc["chat_id"] = json!(need("id")?);
            if let Some(topic) = f.get("topic-id").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())) {
                doc["message_thread_id"] = json!(topic);
            }
            if let Some(api) = s("api-url") {
                doc["api_url"] = json!(api);
            }
            "telegram"
        }
        "mattermost" => {
            doc["url"] = json!(need("webhook-url")?);
            if let Some(c) = s("channel") {
                doc["channel"] = json!(c);
            }
            "mattermost"
        }
        "rocketchat" => {
            doc["url"] = json!(need("webhook-url")?);
            if let Some(c) = s("channel") {
                doc["channel"] = json!(c);
            }
            "rocketchat"
        }
        "googlechat" => {
            doc["url"] = json!(need("webhook-url")?);
            "google_chat"
        }
        "gotify" => {
            doc["url"] = json!(need("server-url")?);
            doc["token"] = json!(need("token")?);
            "gotify"
        }
        "ntfy" => {
            doc["topic"] = json!(need("topic")?);
            if let Some(url) = s("url") {
                doc["url"] = json!(url);
            }
            if let Some(token) = s("token") {
                doc["token"] = json!(token);
            }
            "ntfy"
        }
        "pushover" => {
            doc["token"] = json!(need("application-token")?);
            doc["user"] = json!(need("user-key")?);
            for (from, to) in [("sound", "sound"), ("device", "device")] {
                if let Some(v) = s(from) {
                    doc[to] = json!(v);
                }
            }
            if f.get("priority").and_then(Value::as_i64) == Some(2) {
                doc["emergency"] = json!(true);
            }
            "pushover"
        }
        "twilio" => {
            doc["account_sid"] = json!(need("sid")?);
            doc["auth_token"] = json!(need("token")?);
            doc["from"] = json!(need("from")?);
            doc["to"] = json!(need("to")?);
            "twilio"
        }
        "matrix" => {
            doc["homeserver"] = json!(s("server-url").unwrap_or_else(|| "https://matrix-client.matrix.org".into()));
            doc["access_token"] = json!(need("access-token")?);
            doc["room_id"] = json!(need("internal-room-id")?);
            "matrix"
        }
        "zulip" => {
            doc["url"] = json!(format!("https://{}", need("domain")?));
            doc["bot_email"] = json!(need("bot-email")?);
            doc["api_key"] = json!(need("bot-api-key")?);
            doc["channel"] = json!(need("channel-id")?);
            "zulip"
        }
        "opsgenie" => {
            doc["api_key"] = json!(need("api-key")?);
            if let Some(p) = s("priority") {
                doc["priority"] = json!(p);
            }
            if let Some(tags) = f.get("tags").filter(|t| t.is_array()) {
                doc["tags"] = tags.clone();
            }
            "opsgenie"
        }
        "squadcast" => {
            doc["url"] = json!(need("webhook-url")?);
            "squadcast"
        }
        "incident-io" => {
            doc["url"] = json!(need("url")?);
            doc["token"] = json!(need("auth-token")?);
            "incident_io"
        }
        "signal" => {
            // A phone number written without quotes reads as an integer in YAML: its `+` is put back.
            let phone = |v: &Value| match v {
                Value::Number(n) => Some(format!("+{n}")),
                other => other.as_str().map(str::to_string),
            };
            doc["url"] = json!(need("api-url")?);
            doc["number"] =
                json!(f.get("number").and_then(phone).filter(|n| !n.is_empty()).ok_or("`number` is missing")?);
            let recipients: Vec<String> =
                f.get("recipients").and_then(Value::as_array).into_iter().flatten().filter_map(phone).collect();
            if recipients.is_empty() {
                return Err("`recipients` is missing".into());
            }
            doc["recipients"] = json!(recipients);
            "signal"
        }
        "email" => {
            doc["host"] = json!(need("host")?);
            doc["port"] = json!(f.get("port").and_then(Value::as_u64).ok_or("`port` is missing")?);
            doc["from"] = json!(need("from")?);
            let to: Vec<String> =
                need("to")?.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
            doc["to"] = json!(to);
            if let Some(password) = s("password").filter(|p| !p.is_empty()) {
                doc["username"] = json!(s("username").unwrap_or_else(|| s("from").unwrap_or_default()));
                doc["password"] = json!(password);
            }
            "email"
        }
        "custom" => {
            doc["url"] = json!(need("url")?);
            doc["method"] = json!(s("method").unwrap_or_else(|| "GET".into()).to_uppercase());
            if let Some(headers) = f.get("headers").filter(|h| h.is_object()) {
                doc["headers"] = headers.clone();
            }
            if let Some(body) = s("body") {
                doc["body"] = json!(custom_body(&body)?);
            }
            "webhook"
        }
        other => return Err(format!("vigil has no notifier for Gatus' `{other}` yet")),
    };
    Ok((kind, doc))
}

/// A custom provider's body with Gatus' placeholders as vigil's webhook template fields.
fn custom_body(body: &str) -> Result<String, String> {
    let mut out = body.to_string();
    for (gatus, vigil) in [
        ("[ALERT_DESCRIPTION]", "${alert.summary}"),
        ("[ENDPOINT_NAME]", "${alert.name}"),
        ("[RESULT_ERRORS]", "${alert.summary}"),
        ("[ALERT_TRIGGERED_OR_RESOLVED]", "${alert.notice}"),
    ] {
        out = out.replace(gatus, vigil);
    }
    match ["[ENDPOINT_GROUP]", "[ENDPOINT_URL]", "[RESULT_CONDITIONS]"].into_iter().find(|p| out.contains(p)) {
        Some(p) => Err(format!("the body's `{p}` has no vigil equivalent")),
        None => Ok(out),
    }
}

/// Moves `doc`'s credentials to secrets named after the notifier.
fn move_secrets(kind: &str, doc: &mut Value, out: &mut Imported) {
    let fields = vigil_connectors::notifiers::NotifierConfig::secret_fields(kind);
    let name = doc["name"].as_str().unwrap_or_default().to_string();
    for field in fields {
        let Some(value) = doc.get(*field).and_then(Value::as_str).map(str::to_string) else { continue };
        if value.starts_with("${env.") {
            continue;
        }
        let secret = format!("{}_{field}", file_name(&name).replace('-', "_")).to_ascii_lowercase();
        doc[*field] = json!(format!("${{workflow.secrets.{secret}}}"));
        out.secrets.insert(secret, value);
    }
}

/// The vigil files Gatus' configuration `config` becomes.
pub fn import(config: &Value) -> Result<Imported> {
    let mut out = Imported::default();
    let alerting = config.get("alerting").and_then(Value::as_object).cloned().unwrap_or_default();
    // Notifiers: each provider, and each group's override of it.
    let mut made: BTreeMap<(String, String), String> = BTreeMap::new();
    for (key, block) in &alerting {
        let base = provider_fields(block);
        let mut variants = vec![(String::new(), key.clone(), base.clone())];
        for o in block.get("overrides").and_then(Value::as_array).into_iter().flatten() {
            let Some(group) = o.get("group").and_then(Value::as_str) else { continue };
            let mut fields = base.clone();
            fields.extend(
                o.as_object().into_iter().flatten().filter(|(k, _)| *k != "group").map(|(k, v)| (k.clone(), v.clone())),
            );
            variants.push((group.to_string(), format!("{key}-{}", sanitize(group)), fields));
        }
        for (group, name, fields) in variants {
            match notifier(key, &name, &fields) {
                Ok((kind, mut doc)) => {
                    move_secrets(kind, &mut doc, &mut out);
                    let header = format!(
                        "# Imported from Gatus' alerting provider `{key}`{}.\n",
                        if group.is_empty() { String::new() } else { format!(" (group `{group}`)") }
                    );
                    out.files.insert(
                        format!("notifiers/{}.yaml", file_name(&name)),
                        header + &super::alertmanager::notifier_yaml(kind, &doc),
                    );
                    made.insert((key.clone(), group), name);
                }
                Err(why) => out.notes.push(format!(
                    "alerting.{key}{}: {why}; its alerts are left out",
                    if group.is_empty() { String::new() } else { format!(" (group `{group}`)") }
                )),
            }
        }
    }
    let endpoints = config.get("endpoints").and_then(Value::as_array).cloned().unwrap_or_default();
    if endpoints.is_empty() {
        bail!("no `endpoints` to import");
    }
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in endpoints.iter().enumerate() {
        let at = format!("endpoints[{i}]");
        let Some(name) = e.get("name").and_then(Value::as_str) else { bail!("{at}: `name` is missing") };
        let group = e.get("group").and_then(Value::as_str).unwrap_or_default();
        if e.get("enabled") == Some(&Value::Bool(false)) {
            out.notes.push(format!("{at} `{name}` is disabled: left out"));
            continue;
        }
        let key = if group.is_empty() { sanitize(name) } else { format!("{}_{}", sanitize(group), sanitize(name)) };
        let seen = names.entry(key.clone()).or_default();
        *seen += 1;
        let key = if *seen == 1 { key } else { format!("{key}-{seen}") };
        match monitor(e, &key, group, &alerting, &made, (&mut out.notes, &mut out.secrets)) {
            Ok(Some(m)) => {
                let header = format!(
                    "# Imported from Gatus' endpoint `{name}`{}.\n",
                    if group.is_empty() { String::new() } else { format!(" (group `{group}`)") }
                );
                out.files
                    .insert(format!("monitors/{}.yaml", file_name(&key)), header + &super::alertmanager::yaml(&m, 0));
            }
            Ok(None) => {}
            Err(why) => out.notes.push(format!("{at} `{name}`: {why}; left out")),
        }
    }
    for left in ["external-endpoints", "suites"] {
        if config.get(left).and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            let instead = if left == "external-endpoints" { " (a heartbeat monitor takes pushed results)" } else { "" };
            out.notes.push(format!("`{left}` are not imported{instead}"));
        }
    }
    if config.get("maintenance").is_some() {
        out.notes.push(
            "`maintenance`: make it a time interval with `mute_time_intervals` in alertmanager.yml (docs/alerting.md)"
                .into(),
        );
    }
    if out.files.keys().all(|f| !f.starts_with("monitors/")) {
        bail!("none of the endpoints could be imported: {}", out.notes.join("; "));
    }
    Ok(out)
}

/// Placeholders as Gatus reads them, in any case: `[status]` is `[STATUS]`.
fn condition(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        match rest[open..].find(']') {
            Some(close) => {
                let inner = &rest[open + 1..open + close];
                let known = [
                    "STATUS",
                    "BODY",
                    "RESPONSE_TIME",
                    "CONNECTED",
                    "CERTIFICATE_EXPIRATION",
                    "DNS_RCODE",
                    "IP",
                    "DOMAIN_EXPIRATION",
                ];
                if known.iter().any(|k| k.eq_ignore_ascii_case(inner)) {
                    out.push_str(&format!("[{}]", inner.to_ascii_uppercase()));
                } else {
                    out.push_str(&rest[open..=open + close]);
                }
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out + rest
}

/// `host:port` after `scheme://` in `url`, with `default` as the port when none is written.
fn host_port(url: &str, scheme: &str, default: Option<u16>) -> Option<String> {
    let rest = url.strip_prefix(scheme)?.trim_end_matches('/');
    match (rest.rsplit_once(':'), default) {
        (Some((h, p)), _) if !h.is_empty() && p.parse::<u16>().is_ok() => Some(rest.to_string()),
        (None, Some(port)) if !rest.is_empty() => Some(format!("{rest}:{port}")),
        _ => None,
    }
}

/// Endpoint `e` as a monitor named `key`, `None` when it is left out (noted).
fn monitor(
    e: &Value,
    key: &str,
    group: &str,
    alerting: &Map<String, Value>,
    made: &BTreeMap<(String, String), String>,
    (notes, secrets): (&mut Vec<String>, &mut BTreeMap<String, String>),
) -> Result<Option<Value>, String> {
    let url = e.get("url").and_then(Value::as_str).ok_or("`url` is missing")?;
    let conditions: Vec<String> = e
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(condition)
        .collect();
    if conditions.is_empty() {
        return Err("no `conditions` (Gatus requires at least one)".into());
    }
    let client = e.get("client").cloned().unwrap_or(Value::Null);
    let timeout = client.get("timeout").and_then(Value::as_str).map(str::to_string);
    let body = e.get("body").and_then(Value::as_str).filter(|b| !b.is_empty()).map(str::to_string);
    let mut source = Map::new();
    let kind = if let Some(dns) = e.get("dns") {
        source.insert("url".into(), json!(url));
        source.insert("queryName".into(), dns.get("query-name").cloned().ok_or("`dns.query-name` is missing")?);
        source.insert("queryType".into(), dns.get("query-type").cloned().unwrap_or(json!("A")));
        "dns"
    } else if url.starts_with("http://") || url.starts_with("https://") {
        source.insert("url".into(), json!(url));
        if let Some(m) = e.get("method").and_then(Value::as_str) {
            source.insert("method".into(), json!(m.to_uppercase()));
        }
        let mut headers = e.get("headers").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(b) = &body {
            if e.get("graphql") == Some(&Value::Bool(true)) {
                source.insert("body".into(), json!(json!({"query": b}).to_string()));
                if !headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                    headers.insert("Content-Type".into(), json!("application/json"));
                }
            } else {
                source.insert("body".into(), json!(b));
            }
        }
        if !headers.is_empty() {
            source.insert("headers".into(), Value::Object(headers));
        }
        if client.get("insecure") == Some(&Value::Bool(true)) {
            source.insert("insecure".into(), json!(true));
        }
        if client.get("ignore-redirect") == Some(&Value::Bool(true)) {
            source.insert("followRedirects".into(), json!(false));
        }
        "http"
    } else if let Some(scheme) = ["tcp://", "tls://", "starttls://"].into_iter().find(|s| url.starts_with(s)) {
        host_port(url, scheme, None).ok_or_else(|| format!("`{url}` has no port"))?;
        source.insert("url".into(), json!(url));
        if let Some(b) = &body {
            source.insert("body".into(), json!(b));
        }
        "tcp"
    } else if url.starts_with("ssh://") {
        let address = host_port(url, "ssh://", Some(22)).ok_or_else(|| format!("`{url}` is not ssh://host[:port]"))?;
        let ssh = e.get("ssh").cloned().unwrap_or(Value::Null);
        let text = |k: &str| ssh.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string);
        if let (Some(user), Some(private_key)) = (text("username"), text("private-key")) {
            // A login with a key: the `ssh` source, the key moved to a secret.
            source.insert("url".into(), json!(format!("ssh://{address}")));
            source.insert("user".into(), json!(user));
            let private_key = if private_key.starts_with("${env.") {
                private_key
            } else {
                // Two monitors whose names differ in case or `-`/`_` get a secret each.
                let base = format!("{}_ssh_key", file_name(key).replace('-', "_")).to_ascii_lowercase();
                let secret = (1..)
                    .map(|n| if n == 1 { base.clone() } else { format!("{base}_{n}") })
                    .find(|name| !secrets.contains_key(name))
                    .expect("a free name");
                secrets.insert(secret.clone(), private_key);
                format!("${{workflow.secrets.{secret}}}")
            };
            source.insert("privateKey".into(), json!(private_key));
            if let Some(b) = &body {
                // Gatus' body for an SSH endpoint: `{"command": "..."}`.
                let command = serde_json::from_str::<Value>(b)
                    .ok()
                    .and_then(|v| v.get("command").and_then(Value::as_str).map(str::to_string))
                    .ok_or("an SSH endpoint's `body` is not {\"command\": \"...\"}")?;
                source.insert("command".into(), json!(command));
            }
            if text("password").is_some() {
                notes.push(format!("`{key}`: logs in with its private key; the password is not used"));
            }
            "ssh"
        } else {
            source.insert("url".into(), json!(format!("tcp://{address}")));
            source.insert("protocol".into(), json!("ssh"));
            if text("private-key").is_some() {
                notes.push(format!("`{key}`: `ssh.private-key` without `ssh.username`: the login is not tried; it checks the server's banner"));
            } else if text("username").is_some() || text("password").is_some() {
                notes.push(format!(
                    "`{key}`: a password login is not tried (vigil logs in with a key: `ssh.private-key`); it checks the server's banner"
                ));
            }
            if conditions.iter().any(|c| c.contains("[STATUS]") || c.contains("[BODY]")) {
                return Err(
                    "an SSH command's exit code and output are read after a login with a key (`ssh.private-key`)"
                        .into(),
                );
            }
            "tcp"
        }
    } else if url.starts_with("udp://") {
        source.insert("url".into(), json!(url));
        source.insert("body".into(), json!(body.clone().unwrap_or_default()));
        "udp"
    } else if url.starts_with("ws://") || url.starts_with("wss://") {
        source.insert("url".into(), json!(url));
        if let Some(headers) = e.get("headers").and_then(Value::as_object).filter(|h| !h.is_empty()) {
            source.insert("headers".into(), Value::Object(headers.clone()));
        }
        if let Some(b) = &body {
            source.insert("body".into(), json!(b));
        }
        "websocket"
    } else if url.starts_with("grpc://") || url.starts_with("grpcs://") {
        let scheme = if url.starts_with("grpcs://") { "grpcs://" } else { "grpc://" };
        host_port(url, scheme, None).ok_or_else(|| format!("`{url}` has no port"))?;
        source.insert("url".into(), json!(url));
        "grpc"
    } else if url.starts_with("icmp://") {
        source.insert("url".into(), json!(url));
        source.insert("count".into(), json!(1));
        if let Some(network) = client.get("network").and_then(Value::as_str) {
            match network {
                "ip4" => source.insert("ip".into(), json!("v4")),
                "ip6" => source.insert("ip".into(), json!("v6")),
                _ => None,
            };
        }
        "icmp"
    } else {
        let scheme = url.split_once("://").map_or(url, |(s, _)| s);
        return Err(format!("`{scheme}` endpoints are not checked by vigil yet"));
    };
    if let Some(t) = &timeout {
        source.insert("timeout".into(), json!(t));
    }
    source.insert("conditions".into(), json!(conditions));
    let mut m = Map::new();
    m.insert("name".into(), json!(key));
    m.insert("every".into(), json!(e.get("interval").and_then(Value::as_str).unwrap_or("1m")));
    let mut labels = Map::new();
    if !group.is_empty() {
        labels.insert("group".into(), json!(group));
    }
    for (k, v) in e.get("extra-labels").and_then(Value::as_object).into_iter().flatten() {
        labels.insert(k.clone(), v.clone());
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    m.insert("source".into(), json!({kind: source}));
    alerts(e, key, group, alerting, made, notes, &mut m);
    if e.get("maintenance-windows").and_then(Value::as_array).is_some_and(|w| !w.is_empty()) {
        notes.push(format!("`{key}`: maintenance windows are not imported; make them a silence or a time interval"));
    }
    Ok(Some(Value::Object(m)))
}

/// An alert's failure and success thresholds, whether resolves are sent, the reminder interval
/// and the description.
type AlertSettings = (i64, i64, bool, Option<String>, Option<String>);

/// The endpoint's alerts as the monitor's `notify` and thresholds.
fn alerts(
    e: &Value,
    key: &str,
    group: &str,
    alerting: &Map<String, Value>,
    made: &BTreeMap<(String, String), String>,
    notes: &mut Vec<String>,
    m: &mut Map<String, Value>,
) {
    let mut notify = Vec::new();
    let mut settings: Option<AlertSettings> = None;
    for a in e.get("alerts").and_then(Value::as_array).into_iter().flatten() {
        let Some(kind) = a.get("type").and_then(Value::as_str) else { continue };
        let default = alerting.get(kind).and_then(|p| p.get("default-alert")).cloned().unwrap_or(Value::Null);
        let pick = |field: &str| {
            a.get(field).filter(|v| !v.is_null()).or_else(|| default.get(field).filter(|v| !v.is_null())).cloned()
        };
        if pick("enabled") == Some(Value::Bool(false)) {
            continue;
        }
        let Some(notifier) =
            made.get(&(kind.to_string(), group.to_string())).or_else(|| made.get(&(kind.to_string(), String::new())))
        else {
            notes.push(format!(
                "`{key}`: its `{kind}` alert has no notifier (the provider is missing or not carried over)"
            ));
            continue;
        };
        if a.get("provider-override").is_some() {
            notes.push(format!("`{key}`: the `{kind}` alert's provider-override is not imported"));
        }
        let threshold =
            |field: &str, default: i64| pick(field).and_then(|v| v.as_i64()).filter(|n| *n > 0).unwrap_or(default);
        let these = (
            threshold("failure-threshold", 3),
            threshold("success-threshold", 2),
            pick("send-on-resolved") == Some(Value::Bool(true)),
            pick("minimum-reminder-interval")
                .and_then(|v| v.as_str().map(str::to_string))
                .filter(|r| r != "0" && r != "0s"),
            pick("description").and_then(|v| v.as_str().map(str::to_string)),
        );
        match &settings {
            None => settings = Some(these),
            Some(first) if *first != these => {
                notes.push(format!("`{key}`: its alerts differ in thresholds; the first alert's are used for all"));
            }
            Some(_) => {}
        }
        if !notify.contains(notifier) {
            notify.push(notifier.clone());
        }
    }
    let Some((fire_after, resolve_after, send_resolved, reminder, description)) = settings else { return };
    m.insert("notify".into(), json!(notify));
    m.insert("fireAfter".into(), json!(fire_after));
    m.insert("resolveAfter".into(), json!(resolve_after));
    m.insert("sendResolved".into(), json!(send_resolved));
    m.insert("repeatInterval".into(), json!(reminder.unwrap_or_else(|| "never".into())));
    if let Some(d) = description {
        m.insert("summary".into(), json!(d));
    }
}

#[cfg(test)]
mod tests;
