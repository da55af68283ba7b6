//! Decrypted secret values held in memory, used to resolve references and to scrub outputs.

use std::collections::HashMap;

use serde_json::Value;
use vigil_core::instance::SecretSource;
use vigil_core::interpreter::Secrets;
use vigil_core::params::MASK;

/// Values shorter than this are not scrubbed from outputs: they would match ordinary text.
const MIN_SCRUB_LEN: usize = 4;

/// Secret values and the environment visible to `${env.NAME}`.
#[derive(Default, Clone)]
pub struct SecretValues {
    secrets: HashMap<String, String>,
    env: HashMap<String, String>,
    /// Values of environment variables that definitions reference; scrubbed like secrets.
    scrubbed_env: Vec<String>,
    /// Every secret and scrubbed value in every form it may take in stored text, longest first.
    forms: Vec<String>,
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
        let mut values = Self { secrets, env, scrubbed_env: Vec::new(), forms: Vec::new() };
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

    /// Treats the values of these environment variables as secrets when scrubbing outputs.
    pub fn scrub_env(&mut self, names: impl IntoIterator<Item = String>) {
        self.scrubbed_env = names.into_iter().filter_map(|n| self.env.get(&n).cloned()).collect();
        self.forms = self.all_forms();
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

/// The forms a value takes in text that vigil stores or logs: as written; URL-encoded, as in a
/// query string or an error naming the URL (`%20` and `+` for spaces); JSON-escaped, as when a
/// service echoes it back inside a JSON string; and base64, as in a Basic auth header.
fn encodings(value: &str) -> Vec<String> {
    use base64::Engine;
    let percent = |space_plus: bool| {
        let mut out = String::new();
        for b in value.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
                b' ' if space_plus => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    vec![
        value.to_string(),
        percent(false),
        percent(true),
        lowercase_hex(&percent(false)),
        json,
        base64::engine::general_purpose::STANDARD.encode(value),
    ]
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
}
