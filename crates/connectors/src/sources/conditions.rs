//! Conditions in Gatus' style: `[STATUS] == 200`, `[BODY].data.ok == true`,
//! `[RESPONSE_TIME] < 500`, `[CERTIFICATE_EXPIRATION] > 7d`, `[BODY] == pat(*healthy*)`,
//! `len([BODY].items) > 0`, `has([BODY].errors) == false`, `[STATUS] == any(200, 204)`,
//! `[CONNECTED] == true`, `[DNS_RCODE] == NOERROR`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::{Answer, Sample};

use super::SourceProblem;

/// How a check (HTTP, TCP) is judged: its conditions, and the tier it gets when one fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    /// Shared where they are a source's default ([`default_conditions`]); otherwise exactly as
    /// long as written (a growing vector kept room for four, 384 bytes for one condition).
    conditions: Arc<[Condition]>,
    failing: Tier,
    /// A condition reads `[CONNECTED]` itself (so not reaching the server is not failed for it).
    asks_connected: bool,
    /// The check has an HTTP status to report.
    reports_status: bool,
    /// A condition reads `[DOMAIN_EXPIRATION]`: the check asks the domain's registry (known once,
    /// not looked for on every check).
    asks_domain_expiration: bool,
}

impl Judge {
    /// Parses the `conditions` written (`default` when none are) and `failing` (warning or
    /// critical, by default critical), naming the field at fault.
    pub fn new(
        written: &[String],
        default: &'static str,
        failing: Option<&str>,
        reports_status: bool,
    ) -> Result<Judge, SourceProblem> {
        let problem = |path: String, message: String| SourceProblem { path, message };
        let conditions = if written.is_empty() {
            default_conditions(default).map_err(|e| problem("conditions[0]".into(), e))?
        } else {
            written
                .iter()
                .enumerate()
                .map(|(i, t)| Condition::parse(t).map_err(|e| problem(format!("conditions[{i}]"), e)))
                .collect::<Result<Arc<[_]>, _>>()?
        };
        let failing = match failing {
            None | Some("critical") => Tier::Critical,
            Some("warning") => Tier::Warning,
            Some(other) => {
                return Err(problem("failing".into(), format!("`failing` is warning or critical, got `{other}`")));
            }
        };
        let asks_connected = written.iter().any(|c| c.contains("[CONNECTED]"));
        let asks_domain_expiration = conditions.iter().any(|c| c.reads(&Operand::DomainExpiration));
        Ok(Judge { conditions, failing, asks_connected, reports_status, asks_domain_expiration })
    }

    /// Whether the check has an HTTP status to report.
    pub fn reports_status(&self) -> bool {
        self.reports_status
    }

    /// Whether a condition reads `[DOMAIN_EXPIRATION]` (the check then asks the domain's registry).
    pub fn reads_domain_expiration(&self) -> bool {
        self.asks_domain_expiration
    }

    /// A check that could not do all it does (a browser check's step): what it saw so far, at
    /// the failing tier, with `why` as the note.
    pub fn fail(&self, seen: Observed, why: String) -> Answer {
        let mut answer = self.judge(seen, Some(why));
        if let Answer::Samples(samples) = &mut answer {
            samples.iter_mut().for_each(|s| s.tier = Some(self.failing));
        }
        answer
    }

    /// Judges what a check saw: one sample, at the failing tier when a condition does not hold.
    pub fn judge(&self, seen: Observed, note: Option<String>) -> Answer {
        let mut failed: Vec<String> = self.conditions.iter().filter_map(|c| c.check(&seen).err()).collect();
        // Not reaching the server fails the check, unless a condition asks about that itself.
        if !seen.connected && !self.asks_connected && failed.is_empty() {
            failed.push("[CONNECTED] == true (found false)".into());
        }
        let mut fields = Map::with_capacity(5);
        if self.reports_status {
            fields.insert("status".into(), Value::from(seen.status));
        }
        fields.insert("response_time".into(), Value::from(seen.response_time_ms));
        fields.insert("connected".into(), Value::Bool(seen.connected));
        fields.insert("body".into(), seen.body);
        if let Some(ms) = seen.certificate_expires_in_ms {
            fields.insert("certificate_expiration".into(), Value::from(ms));
        }
        if let Some(ip) = seen.ip {
            fields.insert("ip".into(), Value::String(ip));
        }
        if let Some(ms) = seen.domain_expires_in_ms {
            fields.insert("domain_expiration".into(), Value::from(ms));
        }
        let tier = if failed.is_empty() { Tier::Ok } else { self.failing };
        let note = match (note, failed.is_empty()) {
            (Some(n), _) => Some(n),
            (None, false) => Some(format!("failed: {}", failed.join("; "))),
            (None, true) => None,
        };
        Answer::Samples(vec![Sample { labels: BTreeMap::new(), fields, tier: Some(tier), note }])
    }
}

/// The parsed `default` condition, parsed once and shared by every check that writes none of its
/// own (most do not: at 250,000 monitors, one copy each was 24 MB). Each source has one default,
/// so the list stays as short as the list of sources.
fn default_conditions(default: &'static str) -> Result<Arc<[Condition]>, String> {
    type Parsed = Vec<(&'static str, Arc<[Condition]>)>;
    static PARSED: Mutex<Parsed> = Mutex::new(Vec::new());
    let mut parsed = PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, conditions)) = parsed.iter().find(|(text, _)| *text == default) {
        return Ok(conditions.clone());
    }
    let conditions: Arc<[Condition]> = Arc::new([Condition::parse(default)?]);
    parsed.push((default, conditions.clone()));
    Ok(conditions)
}

/// What a check saw, for conditions to read.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Whether a connection was made at all.
    pub connected: bool,
    /// HTTP status (0 when not connected).
    pub status: u16,
    /// Milliseconds from sending to the whole body read.
    pub response_time_ms: i64,
    /// The body: parsed JSON, or a string.
    pub body: Value,
    /// Milliseconds until the server's certificate expires (HTTPS only).
    pub certificate_expires_in_ms: Option<i64>,
    /// A DNS answer's response code (`NOERROR`, `NXDOMAIN`, ...): DNS checks only.
    pub dns_rcode: Option<String>,
    /// The address the check reached (`[IP]`), where it knows it.
    pub ip: Option<String>,
    /// Milliseconds until the domain's registration expires (`[DOMAIN_EXPIRATION]`, over RDAP).
    pub domain_expires_in_ms: Option<i64>,
}

/// One parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    left: Operand,
    op: Op,
    right: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Status,
    ResponseTime,
    Connected,
    CertificateExpiration,
    DnsRcode,
    Ip,
    DomainExpiration,
    Body(String),
    Len(Box<Operand>),
    Has(Box<Operand>),
    Pattern(String),
    Any(Vec<String>),
    Literal(String),
}

impl Condition {
    /// Parses `LEFT OP RIGHT`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let ops =
            [(" == ", Op::Eq), (" != ", Op::Ne), (" <= ", Op::Le), (" >= ", Op::Ge), (" < ", Op::Lt), (" > ", Op::Gt)];
        let Some((at, token, op)) =
            ops.iter().filter_map(|(t, op)| text.find(t).map(|i| (i, *t, *op))).min_by_key(|(i, _, _)| *i)
        else {
            return Err(format!("`{text}`: a condition is `LEFT OP RIGHT` with spaces around ==, !=, <, <=, > or >="));
        };
        let mut left = operand(text[..at].trim()).map_err(|e| format!("`{text}`: {e}"))?;
        let mut right = operand(text[at + token.len()..].trim()).map_err(|e| format!("`{text}`: {e}"))?;
        let chooses = |o: &Operand| matches!(o, Operand::Pattern(_) | Operand::Any(_));
        if chooses(&left) && chooses(&right) {
            return Err(format!("`{text}`: pat() and any() compare with a value, not with each other"));
        }
        if (chooses(&left) || chooses(&right)) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(format!("`{text}`: pat() and any() compare with == or !="));
        }
        // `pat(...) == [BODY]` reads as `[BODY] == pat(...)`, as in Gatus.
        if chooses(&left) {
            std::mem::swap(&mut left, &mut right);
        }
        Ok(Condition { text: text.to_string(), left, op, right })
    }

    /// Whether either side reads `operand` (inside `len()` or `has()` too).
    fn reads(&self, operand: &Operand) -> bool {
        fn within(o: &Operand, wanted: &Operand) -> bool {
            match o {
                Operand::Len(inner) | Operand::Has(inner) => within(inner, wanted),
                other => other == wanted,
            }
        }
        within(&self.left, operand) || within(&self.right, operand)
    }

    /// Whether it holds for `seen`; when not, the condition with the value found
    /// (`[STATUS] (503) == 200`).
    pub fn check(&self, seen: &Observed) -> Result<(), String> {
        let left = resolve(&self.left, seen);
        let holds = match &self.right {
            Operand::Pattern(p) => matches_pattern(p, &text_of(&left)) == (self.op == Op::Eq),
            Operand::Any(choices) => {
                choices.iter().any(|c| equal(&left, &Value::String(c.clone()))) == (self.op == Op::Eq)
            }
            right => compare(&left, self.op, &resolve(right, seen)),
        };
        if holds {
            return Ok(());
        }
        let found = match (&self.left, left.as_i64()) {
            (Operand::Literal(_), _) => String::new(),
            (Operand::CertificateExpiration | Operand::DomainExpiration, Some(ms)) => {
                format!(" (found {})", days_and_hours(ms))
            }
            (Operand::ResponseTime, Some(ms)) => format!(" (found {ms} ms)"),
            _ => format!(" (found {})", short(&left)),
        };
        Err(format!("{}{found}", self.text))
    }
}

/// A certificate's time left as people read it: `29d 23h`, `5h 2m`, `expired 3d ago`.
fn days_and_hours(ms: i64) -> String {
    let (past, ms) = (ms < 0, ms.unsigned_abs());
    let (d, h, m) = (ms / 86_400_000, ms / 3_600_000 % 24, ms / 60_000 % 60);
    let text = if d > 0 { format!("{d}d {h}h") } else { format!("{h}h {m}m") };
    if past { format!("expired {text} ago") } else { text }
}

/// The argument of `f(...)` when `t` is such a call.
fn inner<'a>(t: &'a str, f: &str) -> Option<&'a str> {
    t.strip_prefix(f).and_then(|r| r.strip_prefix('(')).and_then(|r| r.strip_suffix(')'))
}

fn operand(text: &str) -> Result<Operand, String> {
    if let Some(arg) = inner(text, "len") {
        return Ok(Operand::Len(Box::new(operand(arg.trim())?)));
    }
    if let Some(arg) = inner(text, "has") {
        return Ok(Operand::Has(Box::new(operand(arg.trim())?)));
    }
    if let Some(arg) = inner(text, "pat") {
        return Ok(Operand::Pattern(arg.to_string()));
    }
    if let Some(arg) = inner(text, "any") {
        return Ok(Operand::Any(arg.split(',').map(|c| c.trim().to_string()).collect()));
    }
    Ok(match text {
        "[STATUS]" => Operand::Status,
        "[RESPONSE_TIME]" => Operand::ResponseTime,
        "[CONNECTED]" => Operand::Connected,
        "[CERTIFICATE_EXPIRATION]" => Operand::CertificateExpiration,
        "[DNS_RCODE]" => Operand::DnsRcode,
        "[IP]" => Operand::Ip,
        "[DOMAIN_EXPIRATION]" => Operand::DomainExpiration,
        "[BODY]" => Operand::Body(String::new()),
        t if t.starts_with("[BODY]") => Operand::Body(t["[BODY]".len()..].trim_start_matches('.').to_string()),
        // `[BODYY].x` is a typo, not the literal text `[BODYY].x` (which no answer ever equals);
        // a literal such as `[1,2]` is not a placeholder's shape (upper-case letters).
        t if placeholder_shaped(t) => {
            let name = &t[..=t.find(']').unwrap_or_default()];
            return Err(format!(
                "unknown placeholder `{name}`: use [STATUS], [BODY], [RESPONSE_TIME], [CONNECTED], [CERTIFICATE_EXPIRATION], [DOMAIN_EXPIRATION], [DNS_RCODE] or [IP]"
            ));
        }
        t => Operand::Literal(t.to_string()),
    })
}

/// Whether `text` starts like a placeholder: `[`, upper-case letters or `_`, `]`.
fn placeholder_shaped(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('[') else { return false };
    let Some(end) = rest.find(']') else { return false };
    end > 0 && rest[..end].bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

fn resolve(operand: &Operand, seen: &Observed) -> Value {
    match operand {
        Operand::Status => Value::from(seen.status),
        Operand::ResponseTime => Value::from(seen.response_time_ms),
        Operand::Connected => Value::Bool(seen.connected),
        // No certificate reads as 0, as in Gatus: `[CERTIFICATE_EXPIRATION] > 7d` fails.
        Operand::CertificateExpiration => Value::from(seen.certificate_expires_in_ms.unwrap_or(0)),
        Operand::DnsRcode => seen.dns_rcode.clone().map_or(Value::Null, Value::String),
        Operand::Ip => seen.ip.clone().map_or(Value::Null, Value::String),
        // Unknown reads as 0, as in Gatus: `[DOMAIN_EXPIRATION] > 30d` fails.
        Operand::DomainExpiration => Value::from(seen.domain_expires_in_ms.unwrap_or(0)),
        Operand::Body(path) => {
            vigil_core::monitor::evaluate::json_path(&seen.body, path).cloned().unwrap_or(Value::Null)
        }
        Operand::Len(inner) => match resolve(inner, seen) {
            Value::Array(a) => Value::from(a.len()),
            Value::Object(o) => Value::from(o.len()),
            Value::String(s) => Value::from(s.chars().count()),
            // A number's or a boolean's length is its text's, as in Gatus (`len([BODY].age) == 2`).
            v @ (Value::Number(_) | Value::Bool(_)) => Value::from(v.to_string().len()),
            Value::Null => Value::Null,
        },
        Operand::Has(inner) => Value::Bool(!resolve(inner, seen).is_null()),
        Operand::Literal(t) => Value::String(t.clone()),
        Operand::Pattern(p) => Value::String(p.clone()),
        Operand::Any(c) => Value::String(c.join(",")),
    }
}

/// A literal's number: plain, or a duration (`7d`, `500ms`) in milliseconds.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .or_else(|| integer(s).map(|i| i as f64))
            .or_else(|| vigil_core::time::parse_duration(s).ok().map(|ms| ms as f64)),
        Value::Bool(_) | Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// An integer written in decimal or with a `0x`, `0o` or `0b` prefix (as Gatus reads them).
fn integer(text: &str) -> Option<i64> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
    let value = match digits.get(..2).map(str::to_ascii_lowercase).as_deref() {
        Some("0x") => i64::from_str_radix(&digits[2..], 16).ok()?,
        Some("0o") => i64::from_str_radix(&digits[2..], 8).ok()?,
        Some("0b") => i64::from_str_radix(&digits[2..], 2).ok()?,
        _ => digits.parse::<i64>().ok()?,
    };
    Some(if negative { -value } else { value })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn equal(left: &Value, right: &Value) -> bool {
    let as_integer = |v: &Value| match v {
        Value::String(s) => integer(s),
        _ => None,
    };
    match (number(left), number(right)) {
        (Some(a), Some(b)) if !matches!(left, Value::String(_)) || !matches!(right, Value::String(_)) => a == b,
        // Two texts are equal as integers (`0x1 == 1`), else as text (`1.0 != 1`).
        _ => match (as_integer(left), as_integer(right)) {
            (Some(a), Some(b)) => a == b,
            _ => text_of(left) == text_of(right),
        },
    }
}

fn compare(left: &Value, op: Op, right: &Value) -> bool {
    match op {
        Op::Eq => equal(left, right),
        Op::Ne => !equal(left, right),
        _ => match (number(left), number(right)) {
            (Some(a), Some(b)) => match op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                _ => a >= b,
            },
            _ => false,
        },
    }
}

/// `*` matches any run of characters; everything else itself.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

fn short(v: &Value) -> String {
    let t = text_of(v);
    if t.chars().count() > 80 { format!("{}…", t.chars().take(80).collect::<String>()) } else { t }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn seen() -> Observed {
        Observed {
            connected: true,
            status: 200,
            response_time_ms: 120,
            body: json!({"status": "UP", "data": {"ok": true, "items": [{"n": 3}, {"n": 4}]}, "msg": "all healthy here"}),
            certificate_expires_in_ms: Some(20 * 86_400_000),
            dns_rcode: None,
            ip: Some("127.0.0.1".into()),
            domain_expires_in_ms: None,
        }
    }

    #[test]
    fn gatus_conditions_hold_or_say_what_was_found() {
        let holding = [
            "[STATUS] == 200",
            "[STATUS] == any(200, 204)",
            "[STATUS] < 300",
            "[RESPONSE_TIME] < 500",
            "[BODY].status == UP",
            "[BODY].data.ok == true",
            "[BODY].data.items[1].n >= 4",
            "len([BODY].data.items) == 2",
            "has([BODY].errors) == false",
            "[BODY].msg == pat(*healthy*)",
            "[CONNECTED] == true",
            "[CERTIFICATE_EXPIRATION] > 7d",
        ];
        for text in holding {
            assert_eq!(Condition::parse(text).unwrap().check(&seen()), Ok(()), "{text}");
        }
        let failing = Condition::parse("[STATUS] == 503").unwrap().check(&seen());
        assert_eq!(failing, Err("[STATUS] == 503 (found 200)".into()));
        let soon = Observed { certificate_expires_in_ms: Some(86_400_000), ..seen() };
        assert_eq!(
            Condition::parse("[CERTIFICATE_EXPIRATION] > 7d").unwrap().check(&soon),
            Err("[CERTIFICATE_EXPIRATION] > 7d (found 1d 0h)".into())
        );
        let gone = Observed { certificate_expires_in_ms: Some(-3 * 3_600_000), ..seen() };
        assert_eq!(
            Condition::parse("[CERTIFICATE_EXPIRATION] > 0").unwrap().check(&gone),
            Err("[CERTIFICATE_EXPIRATION] > 0 (found expired 3h 0m ago)".into())
        );
        let down = Observed::default();
        assert_eq!(
            Condition::parse("[CONNECTED] == true").unwrap().check(&down),
            Err("[CONNECTED] == true (found false)".into())
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(Condition::parse("[STATUS]==200").unwrap_err().contains("spaces around"));
        assert!(Condition::parse("[STAUTS] == 200").unwrap_err().contains("unknown placeholder `[STAUTS]`"));
        let typo = Condition::parse("[BODYY].x == 1").unwrap_err();
        assert!(typo.contains("unknown placeholder `[BODYY]`"), "{typo}");
        assert!(Condition::parse("[BODY].ids == [1,2]").is_ok(), "a literal list is no placeholder");
        assert!(Condition::parse("[BODY] > pat(*x*)").unwrap_err().contains("== or !="));
    }
}
