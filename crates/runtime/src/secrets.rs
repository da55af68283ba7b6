//! Decrypted secret values held in memory, used to resolve references and to scrub outputs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use vigil_core::instance::SecretSource;
use vigil_core::interpreter::Secrets;
use vigil_core::params::MASK;
use vigil_core::team::{ObjectKind, Teams};

/// Values shorter than this are not scrubbed from outputs: they would match ordinary text.
const MIN_SCRUB_LEN: usize = 4;

/// The values in use, replaced as a whole when a secret changes: shared by the engine, and handed
/// alone to the parts that only mask (notification delivery).
pub type SharedSecrets = std::sync::Arc<std::sync::RwLock<std::sync::Arc<SecretValues>>>;

/// The engine's secrets: the values in use, and the box that seals what UPDATE_SECRET stores.
pub(crate) struct EngineSecrets {
    /// The values in use.
    pub values: SharedSecrets,
    /// Seals what UPDATE_SECRET stores (without it those tasks fail).
    pub sealer: Option<Arc<vigil_store::SecretBox>>,
}

impl EngineSecrets {
    /// The value of secret `name`, if there is one.
    pub(crate) fn secret(&self, name: &str) -> Option<String> {
        self.values.read().expect("lock").secret(name)
    }
}

/// Secret values and the environment visible to `${env.NAME}`.
#[derive(Default, Clone)]
pub struct SecretValues {
    secrets: HashMap<String, String>,
    env: HashMap<String, String>,
    /// Values of environment variables that definitions reference; scrubbed like secrets.
    scrubbed_env: Vec<String>,
    /// Every secret and scrubbed value in every form it may take in stored text, longest first.
    forms: Vec<String>,
    /// The teams: a secret a team owns is read only by workflows it owns.
    teams: Arc<Teams>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValues").field("names", &self.secrets.keys().collect::<Vec<_>>()).finish()
    }
}

impl SecretValues {
    /// Secrets by name; `${env.*}` sees the process environment except vigil's own key.
    pub fn new(secrets: HashMap<String, String>) -> Self {
        let env = std::env::vars().filter(|(k, _)| k != "VIGIL_SECRET_KEY").collect();
        let mut values = Self { secrets, env, scrubbed_env: Vec::new(), forms: Vec::new(), teams: Arc::default() };
        values.forms = values.all_forms();
        values
    }

    /// These values with secret `name` set to `value`.
    pub fn with_secret(&self, name: &str, value: &str) -> Self {
        let mut next = self.clone();
        next.secrets.insert(name.to_string(), value.to_string());
        next.forms = next.all_forms();
        next
    }

    /// The teams in force.
    pub fn teams(&self) -> &Arc<Teams> {
        &self.teams
    }

    /// Checks these values against `teams` from now on.
    pub fn set_teams(&mut self, teams: Arc<Teams>) {
        self.teams = teams;
    }

    /// Treats the values of these environment variables as secrets when scrubbing outputs.
    pub fn scrub_env(&mut self, names: impl IntoIterator<Item = String>) {
        self.scrubbed_env = names.into_iter().filter_map(|n| self.env.get(&n).cloned()).collect();
        self.forms = self.all_forms();
    }

    /// Whether `text` holds a secret in any form (ASCII case ignored): a search for it must find
    /// nothing, or it would tell whether a secret appears somewhere it was not masked.
    pub fn mentioned_in(&self, text: &str) -> bool {
        let text = text.to_ascii_lowercase();
        self.forms.iter().any(|f| text.contains(&f.to_ascii_lowercase()))
    }

    fn all_forms(&self) -> Vec<String> {
        forms_of(self.secrets.values().chain(&self.scrubbed_env).map(String::as_str))
    }

    fn scrub_str(&self, s: &mut String) {
        // First, so a form that happens to align inside the token cannot half-mask it.
        if s.contains("Basic ") {
            self.scrub_basic_auth(s);
        }
        for form in &self.forms {
            if s.contains(form.as_str()) {
                *s = s.replace(form.as_str(), MASK);
            }
        }
    }

    /// `Basic <base64 of user:password>` whose decoded text holds a secret is masked whole.
    fn scrub_basic_auth(&self, s: &mut String) {
        use base64::Engine;
        let tokens: Vec<String> = s
            .split("Basic ")
            .skip(1)
            .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || "+/=".contains(*c)).collect())
            .collect();
        for token in tokens.into_iter().filter(|t: &String| t.len() >= 4) {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&token) else { continue };
            let decoded = String::from_utf8_lossy(&decoded);
            if self.forms.iter().any(|f| decoded.contains(f.as_str())) {
                *s = s.replace(&format!("Basic {token}"), &format!("Basic {MASK}"));
            }
        }
    }
}

/// Every form of `values` long enough to scrub, longest first, so a longer form is masked
/// before a shorter one inside it.
fn forms_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut forms: Vec<String> = values.into_iter().filter(|v| v.len() >= MIN_SCRUB_LEN).flat_map(encodings).collect();
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    forms
}

/// The forms a value takes in text that vigil stores or logs (docs/reliability.md#security):
/// - as written;
/// - percent-encoded with each reserved set an encoder leaves alone: RFC 3986's unreserved
///   characters (most clients), JavaScript's `encodeURIComponent` and `encodeURI`, `escape()`,
///   the WHATWG URL query and path sets (what `reqwest`/`url` write into a request's URL, and
///   so into its errors), and HTML form encoding; each with a space as `%20` or `+`, and with
///   upper- or lower-case hex;
/// - JSON-escaped (a service echoing it back, `JSON.stringify`, jq's `@json`), also with every
///   non-ASCII character as `\uXXXX`;
/// - HTML entities (jq's `@html`, a page), and shell-quoted (jq's `@sh`);
/// - base64, standard and URL-safe, with and without padding (Basic auth, tokens);
/// - for a value beyond ASCII, its UTF-8 bytes read back as Latin-1 and as Windows-1252 (a
///   header echoed by a server that decodes headers so, as HTTP/1.1 once said they were), each
///   also JSON-escaped both ways.
fn encodings(value: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = vec![value.to_string()];
    for kept in PERCENT_SETS {
        for space_plus in [false, true] {
            let encoded = percent(value, kept, space_plus);
            forms.push(lowercase_hex(&encoded));
            forms.push(encoded);
        }
    }
    forms.push(js_escape(value));
    let json = serde_json::to_string(value).unwrap_or_default();
    forms.push(json.trim_matches('"').to_string());
    forms.push(ascii_json(value));
    for apostrophe in ["&#39;", "&apos;", "&#x27;"] {
        forms.push(html_escape(value, apostrophe));
    }
    forms.push(value.replace('\'', "'\\''"));
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(value));
    }
    if !value.is_ascii() {
        for misread in [latin1(value), windows_1252(value)] {
            forms.push(ascii_json(&misread));
            forms.push(serde_json::to_string(&misread).unwrap_or_default().trim_matches('"').to_string());
            forms.push(misread);
        }
    }
    forms
}

/// `value`'s UTF-8 bytes read as Latin-1: each byte the character of its number.
fn latin1(value: &str) -> String {
    value.bytes().map(char::from).collect()
}

/// `value`'s UTF-8 bytes read as Windows-1252 (Latin-1 but for 0x80 to 0x9F; the five bytes it
/// leaves undefined are kept as Latin-1 reads them, as WHATWG's decoder does).
fn windows_1252(value: &str) -> String {
    const HIGH: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2c6}',
        '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}',
        '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}',
        '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
    ];
    value.bytes().map(|b| if (0x80..0xa0).contains(&b) { HIGH[usize::from(b - 0x80)] } else { char::from(b) }).collect()
}

/// Characters each percent-encoder leaves as they are, beyond ASCII letters and digits.
const PERCENT_SETS: &[&str] = &[
    "-._~",                         // RFC 3986 unreserved
    "-_.!~*'()",                    // encodeURIComponent
    "-_.!~*'();,/?:@&=+$#",         // encodeURI
    "@*_+-./",                      // escape()
    "!$%&()*+,-./:;=?@[\\]^_`{|}~", // WHATWG special-query set (reqwest, url)
    "!$%&'()*+,-./:;=@[\\]^_|~",    // WHATWG path set
    "*-._",                         // application/x-www-form-urlencoded
];

/// `value` percent-encoded, leaving letters, digits and `kept` alone.
fn percent(value: &str, kept: &str, space_plus: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b' ' if space_plus => out.push('+'),
            b if b.is_ascii() && kept.as_bytes().contains(&b) => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// JavaScript's `escape()`: its ASCII part is a percent set, Latin-1 is `%XX` of the code point,
/// the rest `%uXXXX`.
fn js_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            c if c.is_ascii() => out.push_str(&percent(c.encode_utf8(&mut [0; 4]), "@*_+-./", false)),
            c if (c as u32) < 0x100 => out.push_str(&format!("%{:02X}", c as u32)),
            c => c.encode_utf16(&mut [0; 2]).iter().for_each(|u| out.push_str(&format!("%u{u:04X}"))),
        }
    }
    out
}

/// JSON text with every non-ASCII character as `\uXXXX`, as some encoders write it.
fn ascii_json(value: &str) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::new();
    for c in json.trim_matches('"').chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            c.encode_utf16(&mut [0; 2]).iter().for_each(|u| out.push_str(&format!("\\u{u:04x}")));
        }
    }
    out
}

/// HTML entities for `<>&'"`, as jq's `@html` and most templates write them (`'` as
/// `apostrophe`: encoders differ).
fn html_escape(value: &str, apostrophe: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str(apostrophe),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `%2F` written as `%2f`, as some clients do.
fn lowercase_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut left: u8 = 0;
    for c in encoded.chars() {
        out.push(if left > 0 { c.to_ascii_lowercase() } else { c });
        left = if c == '%' { 2 } else { left.saturating_sub(1) };
    }
    out
}

impl SecretSource for SecretValues {
    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn secret_team(&self, name: &str) -> Option<String> {
        self.teams.owner_by_name(ObjectKind::Secrets, name).map(str::to_string)
    }

    fn owner_denied(&self, workflow: &str, name: &str) -> Option<String> {
        self.teams.secret_refused(ObjectKind::Workflows, workflow, name)
    }

    fn teams(&self) -> Option<&Teams> {
        Some(&self.teams)
    }
}

impl Secrets for SecretValues {
    fn scrub_new(&self, secret: &str, value: &mut Value) {
        let one = Self { forms: forms_of([secret]), ..Self::default() };
        one.scrub(value);
    }

    fn scrub(&self, value: &mut Value) {
        if self.forms.is_empty() {
            return;
        }
        match value {
            Value::String(s) => self.scrub_str(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(secret: &str, text: &str) -> String {
        let values = SecretValues::new([("s".to_string(), secret.to_string())].into());
        values.scrub_text(text.to_string())
    }

    #[test]
    fn masks_a_secret_in_the_forms_it_travels_in() {
        let secret = r#"pa ss"w/ord"#;
        assert_eq!(scrubbed(secret, r#"got pa ss"w/ord"#), "got ***");
        assert_eq!(scrubbed(secret, "GET https://x/?k=pa%20ss%22w%2Ford failed"), "GET https://x/?k=*** failed");
        assert_eq!(scrubbed(secret, "k=pa+ss%22w%2Ford"), "k=***");
        assert_eq!(scrubbed(secret, "k=pa%20ss%22w%2ford"), "k=***");
        assert_eq!(scrubbed(secret, r#"{"echo": "pa ss\"w/ord"}"#), r#"{"echo": "***"}"#);
        let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("admin:{secret}"));
        assert_eq!(scrubbed(secret, &format!("Authorization: Basic {basic}")), "Authorization: Basic ***");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret);
        assert_eq!(scrubbed(secret, &format!("token {b64}")), "token ***");
        assert_eq!(scrubbed(secret, "nothing here"), "nothing here");
    }

    /// Issue 61, item 7: a header is bytes, and a server may read a UTF-8 secret's bytes as
    /// Latin-1 or Windows-1252 and echo that back, plain or JSON-escaped (Python's `json.dumps`).
    #[test]
    fn masks_a_non_ascii_secret_read_back_as_latin1_or_windows_1252() {
        let secret = "p\u{e4}ss-w\u{f6}rd \u{20ac}uro";
        let latin1: String = secret.bytes().map(char::from).collect();
        assert_eq!(scrubbed(secret, &format!("echo {latin1}")), "echo ***");
        assert_eq!(scrubbed(secret, &format!("echo {}", ascii_json(&latin1))), "echo ***");
        assert_eq!(scrubbed(secret, "echo p\u{c3}\u{a4}ss-w\u{c3}\u{b6}rd \u{e2}\u{201a}\u{ac}uro"), "echo ***");
        assert_eq!(
            scrubbed(secret, r#"{"x-key": "p\u00c3\u00a4ss-w\u00c3\u00b6rd \u00e2\u0082\u00acuro"}"#),
            r#"{"x-key": "***"}"#
        );
    }

    /// Issue 31, item 7: every encoder a secret can pass through on its way out, run for real
    /// (the URL type reqwest writes into its errors, QuickJS, jq), with the values that leaked.
    #[test]
    fn masks_what_real_encoders_make_of_a_secret() {
        use vigil_core::script::{ScriptEngine, ScriptLimits};
        let mut js = ScriptEngine::new(ScriptLimits::default());
        let mut jq = vigil_core::jq::JqCache::new(ScriptLimits::default());
        let values =
            ["Tn5P my pass+word", "a+b c", "a&b c", "a/b c", "100% x", "a{b} c", "a#b c", "p\u{e4}ss w\"o'rd<>"];
        for secret in values {
            let mut url = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
            url.query_pairs_mut().append_pair("k", secret);
            let mut raw = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
            raw.set_query(Some(&format!("k={secret}")));
            let mut path = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
            path.set_path(&format!("/x/{secret}"));
            let input = serde_json::json!({"s": secret});
            let mut forms = vec![url.to_string(), raw.to_string(), path.to_string()];
            for script in [
                "encodeURIComponent($.s)",
                "encodeURI($.s)",
                "escape($.s)",
                "JSON.stringify($.s)",
                "btoa(unescape(encodeURIComponent($.s)))",
            ] {
                if let Ok(Value::String(out)) = js.eval(script, &input) {
                    forms.push(out);
                }
            }
            for program in [".s | @uri", ".s | @html", ".s | @sh", ".s | @json", ".s | @base64", ".s | @text"] {
                for out in jq.run(program, &input).unwrap() {
                    forms.push(out.as_str().map_or(out.to_string(), str::to_string));
                }
            }
            for form in forms {
                let masked = scrubbed(secret, &format!("error sending request for url ({form}): refused"));
                assert!(!masked.contains(secret) && masked.contains(MASK), "`{secret}` in `{form}`: {masked}");
                let core: String = secret.chars().filter(|c| c.is_alphanumeric()).collect();
                assert!(!masked.contains(&core), "`{secret}` survives as `{core}` in `{form}`: {masked}");
            }
        }
    }
}
