//! The functions templates may call: Go's builtins (`and`, `or`, `not`, `len`, `index`, `eq`,
//! `ne`, `lt`, `le`, `gt`, `ge`, `print`, `printf`, `println`, `html`, `urlquery`) and
//! Alertmanager's (`toUpper`, `toLower`, `title`, `trimSpace`, `join`, `match`, `safeHtml`,
//! `safeUrl`, `urlUnescape`, `reReplaceAll`, `stringSlice`, `list`, `toJson`, `date`, `tz`,
//! `toDate`, `humanizeDuration`, `base64encode`, `base64decode`, `dict`, `append`).

use serde_json::{Value, json};

use super::value::{ExecError, V, print, truth};

/// Every function's name.
pub const NAMES: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "print",
    "printf",
    "println",
    "html",
    "urlquery",
    "toUpper",
    "toLower",
    "title",
    "trimSpace",
    "join",
    "match",
    "safeHtml",
    "safeUrl",
    "urlUnescape",
    "reReplaceAll",
    "stringSlice",
    "list",
    "toJson",
    "date",
    "tz",
    "toDate",
    "humanizeDuration",
    "base64encode",
    "base64decode",
    "dict",
    "append",
];

/// `v` as Go's `json.Marshal` writes Alertmanager's template data: the notification (`Receiver`,
/// `Alerts`...) and each alert (`Labels`, `Fingerprint`...) under their JSON tags (`receiver`,
/// `alerts`, `labels`, `generatorURL`...), label and annotation maps as they are.
fn json_tagged(v: &Value) -> Value {
    fn tagged(key: &str) -> String {
        let mut c = key.chars();
        c.next().map(|f| f.to_ascii_lowercase().to_string() + c.as_str()).unwrap_or_default()
    }
    match v {
        Value::Array(items) => Value::Array(items.iter().map(json_tagged).collect()),
        Value::Object(m) if m.contains_key("Alerts") && m.contains_key("Receiver") => Value::Object(
            m.iter().map(|(k, v)| (tagged(k), if k == "Alerts" { json_tagged(v) } else { v.clone() })).collect(),
        ),
        Value::Object(m) if m.contains_key("Labels") && m.contains_key("Fingerprint") => {
            Value::Object(m.iter().map(|(k, v)| (tagged(k), v.clone())).collect())
        }
        other => other.clone(),
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, ExecError> {
    Err(ExecError(message.into()))
}

fn text(v: &V) -> String {
    print(&v.v)
}

fn string_arg(args: &[V], i: usize, name: &str) -> Result<String, ExecError> {
    match args.get(i).map(|a| &a.v) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => fail(format!("{name}: argument {} is {}, not a string", i + 1, print(other))),
        None => fail(format!("{name}: wrong number of arguments")),
    }
}

fn arity(name: &str, args: &[V], n: usize) -> Result<(), ExecError> {
    if args.len() == n { Ok(()) } else { fail(format!("wrong number of args for {name}: want {n} got {}", args.len())) }
}

fn strings(v: &Value) -> Result<Vec<String>, ExecError> {
    match v {
        Value::Array(a) => Ok(a.iter().map(print).collect()),
        Value::Null => Ok(Vec::new()),
        other => fail(format!("expected a list, got {}", print(other))),
    }
}

/// Calls function `name` with `args` (a piped value last).
pub fn call(name: &str, args: Vec<V>) -> Result<V, ExecError> {
    let ok = |v: Value| Ok(V::of(v));
    match name {
        "and" => Ok(args.iter().find(|a| !truth(&a.v)).or(args.last()).cloned().unwrap_or(V::of(Value::Null))),
        "or" => Ok(args.iter().find(|a| truth(&a.v)).or(args.last()).cloned().unwrap_or(V::of(Value::Null))),
        "not" => {
            arity(name, &args, 1)?;
            ok(json!(!truth(&args[0].v)))
        }
        "len" => {
            arity(name, &args, 1)?;
            match &args[0].v {
                Value::String(s) => ok(json!(s.len())),
                Value::Array(a) => ok(json!(a.len())),
                Value::Object(m) => ok(json!(m.len())),
                Value::Null => ok(json!(0)),
                other => fail(format!("len of {}", print(other))),
            }
        }
        "index" => {
            let mut cur = args.first().map(|a| a.v.clone()).unwrap_or(Value::Null);
            for key in &args[1.min(args.len())..] {
                cur = match (&cur, &key.v) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().ok_or_else(|| ExecError("index: a negative index".into()))? as usize;
                        a.get(i).cloned().ok_or_else(|| ExecError(format!("index out of range: {i}")))?
                    }
                    (Value::Object(m), Value::String(k)) => m.get(k).cloned().unwrap_or(Value::Null),
                    (c, k) => return fail(format!("can't index {} with {}", print(c), print(k))),
                };
            }
            ok(cur)
        }
        "eq" => {
            let first = args.first().ok_or_else(|| ExecError("eq: missing arguments".into()))?;
            ok(json!(args[1..].iter().any(|a| equal(&first.v, &a.v))))
        }
        "ne" => {
            arity(name, &args, 2)?;
            ok(json!(!equal(&args[0].v, &args[1].v)))
        }
        "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let ord = compare(&args[0].v, &args[1].v)?;
            ok(json!(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        "print" => ok(json!(sprint(&args))),
        "println" => ok(json!(format!("{}\n", args.iter().map(text).collect::<Vec<_>>().join(" ")))),
        "printf" => {
            let format = string_arg(&args, 0, name)?;
            ok(json!(printf(&format, &args[1..])?))
        }
        "html" => ok(json!(escape_html(&sprint(&args)))),
        "urlquery" => ok(json!(query_escape(&sprint(&args)))),
        "toUpper" => ok(json!(string_arg(&args, 0, name)?.to_uppercase())),
        "toLower" => ok(json!(string_arg(&args, 0, name)?.to_lowercase())),
        "title" => {
            let s = string_arg(&args, 0, name)?;
            let mut out = String::new();
            let mut start = true;
            for c in s.chars() {
                out.extend(if start { c.to_uppercase().collect::<Vec<_>>() } else { c.to_lowercase().collect() });
                start = !c.is_alphanumeric() && c != '\'';
            }
            ok(json!(out))
        }
        "trimSpace" => ok(json!(string_arg(&args, 0, name)?.trim())),
        "join" => {
            arity(name, &args, 2)?;
            ok(json!(strings(&args[1].v)?.join(&string_arg(&args, 0, name)?)))
        }
        "match" => {
            arity(name, &args, 2)?;
            let re = regex_lite::Regex::new(&string_arg(&args, 0, name)?).map_err(|e| ExecError(e.to_string()))?;
            ok(json!(re.is_match(&string_arg(&args, 1, name)?)))
        }
        "safeHtml" | "safeUrl" => Ok(V { v: json!(string_arg(&args, 0, name)?), safe: true }),
        "urlUnescape" => ok(json!(url_unescape(&string_arg(&args, 0, name)?)?)),
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let re = regex_lite::Regex::new(&string_arg(&args, 0, name)?).map_err(|e| ExecError(e.to_string()))?;
            let repl = string_arg(&args, 1, name)?;
            ok(json!(re.replace_all(&string_arg(&args, 2, name)?, repl.as_str()).into_owned()))
        }
        "stringSlice" => ok(json!(args.iter().map(text).collect::<Vec<_>>())),
        "list" => ok(Value::Array(args.into_iter().map(|a| a.v).collect())),
        "toJson" => {
            arity(name, &args, 1)?;
            ok(json!(serde_json::to_string(&json_tagged(&args[0].v)).unwrap_or_default()))
        }
        "date" => {
            arity(name, &args, 2)?;
            ok(json!(format_time(&args[1].v, &string_arg(&args, 0, name)?)?))
        }
        "tz" => {
            arity(name, &args, 2)?;
            let zone = jiff::tz::TimeZone::get(&string_arg(&args, 0, name)?).map_err(|e| ExecError(e.to_string()))?;
            let t = zoned(&args[1].v)?.with_time_zone(zone);
            ok(json!(t.to_string()))
        }
        "toDate" => {
            arity(name, &args, 2)?;
            let layout = strftime_of(&string_arg(&args, 0, name)?);
            let parsed = jiff::fmt::strtime::parse(&layout, string_arg(&args, 1, name)?)
                .and_then(|p| p.to_timestamp())
                .map(|t| t.to_string())
                .unwrap_or_else(|_| "0001-01-01T00:00:00Z".into());
            ok(json!(parsed))
        }
        "humanizeDuration" => {
            arity(name, &args, 1)?;
            let secs = args[0].v.as_f64().or_else(|| args[0].v.as_str().and_then(|s| s.parse().ok()));
            ok(json!(humanize_duration(secs.ok_or_else(|| ExecError("humanizeDuration: not a number".into()))?)))
        }
        "base64encode" => ok(json!(base64_url(string_arg(&args, 0, name)?.as_bytes()))),
        "base64decode" => {
            let bytes = base64_url_decode(&string_arg(&args, 0, name)?)?;
            ok(json!(String::from_utf8(bytes).map_err(|_| ExecError("base64decode: not UTF-8".into()))?))
        }
        "dict" => {
            if args.len() % 2 == 1 {
                return fail("dict: an odd number of arguments (key, value pairs)");
            }
            let mut m = serde_json::Map::new();
            for pair in args.chunks(2) {
                let Value::String(k) = &pair[0].v else {
                    return fail(format!("dict: key {} is not a string", text(&pair[0])));
                };
                m.insert(k.clone(), pair[1].v.clone());
            }
            ok(Value::Object(m))
        }
        "append" => {
            let mut it = args.into_iter();
            let Some(V { v: Value::Array(mut list), .. }) = it.next() else {
                return fail("append: the first argument is not a list");
            };
            list.extend(it.map(|a| a.v));
            ok(Value::Array(list))
        }
        other => fail(format!("function \"{other}\" not defined")),
    }
}

fn sprint(args: &[V]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &V| v.v.is_string();
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&text(a));
    }
    out
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, ExecError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            Ok(x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(std::cmp::Ordering::Equal))
        }
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => fail(format!("incompatible types for comparison: {} and {}", print(a), print(b))),
    }
}

fn printf(format: &str, args: &[V]) -> Result<String, ExecError> {
    let mut out = String::new();
    let mut it = format.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut digits = String::new();
            while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                it.next();
            }
            precision = digits.parse::<usize>().ok();
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(a) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        match verb {
            's' | 'v' => out.push_str(&text(a)),
            'q' => out.push_str(&serde_json::to_string(&text(a)).unwrap_or_default()),
            'd' => out.push_str(&a.v.as_f64().map_or_else(|| text(a), |f| format!("{}", f.trunc() as i64))),
            'f' => out.push_str(&format!("{:.*}", precision.unwrap_or(6), a.v.as_f64().unwrap_or(0.0))),
            'x' => out.push_str(&text(a).bytes().map(|b| format!("{b:02x}")).collect::<String>()),
            other => out.push_str(&format!("%!{other}({})", text(a))),
        }
    }
    Ok(out)
}

/// HTML-escapes `s` as Go's `html/template` does text.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn url_unescape(s: &str) -> Result<String, ExecError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(|| ExecError(format!("invalid URL escape in {s:?}")))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| ExecError(format!("invalid URL escape %{hex}")))?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ExecError("urlUnescape: not UTF-8".into()))
}

fn humanize_duration(secs: f64) -> String {
    if secs == 0.0 {
        return "0s".into();
    }
    if secs.abs() < 1.0 {
        return format!("{:.0}ms", secs * 1000.0);
    }
    let total = secs.abs() as u64;
    let (d, h, m, s) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60);
    let sign = if secs < 0.0 { "-" } else { "" };
    let mut out = String::from(sign);
    if d > 0 {
        out += &format!("{d}d ");
    }
    if d > 0 || h > 0 {
        out += &format!("{h}h ");
    }
    if d > 0 || h > 0 || m > 0 {
        out += &format!("{m}m ");
    }
    out + &format!("{s}s")
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_url_decode(s: &str) -> Result<Vec<u8>, ExecError> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = B64
            .iter()
            .position(|b| *b == c)
            .ok_or_else(|| ExecError(format!("base64decode: bad character {:?}", c as char)))?;
        bits = bits << 6 | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n & 0xff) as u8);
        }
    }
    Ok(out)
}

fn zoned(v: &Value) -> Result<jiff::Zoned, ExecError> {
    let s = v.as_str().ok_or_else(|| ExecError(format!("not a time: {}", print(v))))?;
    if let Ok(z) = s.parse::<jiff::Zoned>() {
        return Ok(z);
    }
    let t: jiff::Timestamp = s.parse().map_err(|e| ExecError(format!("not a time: {s}: {e}")))?;
    Ok(t.to_zoned(jiff::tz::TimeZone::UTC))
}

/// `v` (an RFC 3339 time, or one `tz` returned) in Go's layout `layout`.
pub fn format_time(v: &Value, layout: &str) -> Result<String, ExecError> {
    let z = zoned(v)?;
    let utc = z.offset().seconds() == 0;
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, f) in LAYOUT {
            if let Some(r) = rest.strip_prefix(go) {
                out += &match *f {
                    "Z" => {
                        if utc {
                            "Z".to_string()
                        } else {
                            z.strftime("%:z").to_string()
                        }
                    }
                    "Z4" => {
                        if utc {
                            "Z".to_string()
                        } else {
                            z.strftime("%z").to_string()
                        }
                    }
                    f => z.strftime(f).to_string(),
                };
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// Go's layout words and jiff's `strftime` for each, longest first.
const LAYOUT: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("Z07:00", "Z"),
    ("-07:00", "%:z"),
    ("Z0700", "Z4"),
    ("-0700", "%z"),
    ("2006", "%Y"),
    (".000000000", ".%f"),
    (".999999999", "%.f"),
    (".000000", ".%6f"),
    (".000", ".%3f"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    ("_2", "%e"),
    ("01", "%m"),
    ("02", "%d"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("06", "%y"),
    ("15", "%H"),
    ("PM", "%p"),
    ("pm", "%P"),
];

fn strftime_of(layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, f) in LAYOUT {
            if let Some(r) = rest.strip_prefix(go) {
                out += match *f {
                    "Z" => "%:z",
                    "Z4" => "%z",
                    f => f,
                };
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        if c == '%' {
            out.push('%');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}
