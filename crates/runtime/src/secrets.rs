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
        Self { secrets, env, scrubbed_env: Vec::new() }
    }

    /// Treats the values of these environment variables as secrets when scrubbing outputs.
    pub fn scrub_env(&mut self, names: impl IntoIterator<Item = String>) {
        self.scrubbed_env = names.into_iter().filter_map(|n| self.env.get(&n).cloned()).collect();
    }

    fn scrub_str(&self, s: &mut String) {
        for v in self.secrets.values().chain(&self.scrubbed_env).filter(|v| v.len() >= MIN_SCRUB_LEN) {
            if s.contains(v.as_str()) {
                *s = s.replace(v.as_str(), MASK);
            }
        }
    }
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
    fn scrub(&self, value: &mut Value) {
        if self.secrets.is_empty() && self.scrubbed_env.is_empty() {
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
