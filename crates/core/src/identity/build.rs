//! Reads an identity provider's document, reporting every problem with its field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{IdentityProviderDef, OidcDef, Protocol};
use crate::def::typed::typed;
use crate::diagnostic::{Problem, Severity};
use crate::principal::Role;

/// An identity provider's document as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Written {
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    oidc: Option<WrittenOidc>,
    #[serde(default)]
    roles: BTreeMap<String, String>,
    #[serde(default = "yes")]
    create_accounts: bool,
}

/// The `oidc:` block as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WrittenOidc {
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    username_claim: Option<String>,
    #[serde(default)]
    groups_claim: Option<String>,
    #[serde(default = "yes")]
    logout: bool,
}

fn yes() -> bool {
    true
}

/// Checks `doc`; the provider when it has no error, and every problem found.
pub fn build_identity_provider(doc: &Value) -> (Option<IdentityProviderDef>, Vec<Problem>) {
    let mut problems = Vec::new();
    if !doc.is_object() {
        return (None, vec![Problem::error("", "an identity provider must be an object (name, oidc)")]);
    }
    let Some(written) = typed::<Written>(doc, "", &mut problems) else { return (None, problems) };
    if !crate::team::is_team_name(&written.name) {
        let msg = format!(
            "`{}` is not a provider name: 1 to 64 lowercase letters, digits, `-` and `_` (it is part of the sign-in \
             address)",
            written.name
        );
        problems.push(Problem::error("name", msg));
    }
    let protocol = match written.oidc {
        Some(oidc) => oidc_def(oidc, &mut problems).map(Protocol::Oidc),
        None => {
            problems.push(Problem::error("", "say how people sign in: an `oidc:` block"));
            None
        }
    };
    let mut roles = BTreeMap::new();
    for (group, role) in &written.roles {
        match Role::parse(role) {
            Some(r) => {
                roles.insert(group.clone(), r);
            }
            None => {
                let hint = crate::diagnostic::did_you_mean(role, ["viewer", "responder", "editor", "admin"]);
                let msg = format!("`{role}` is not a role: viewer, responder, editor or admin");
                problems.push(Problem::error(format!("roles.{group}"), msg).with_hint(hint));
            }
        }
    }
    if problems.iter().any(|p| p.severity == Severity::Error) {
        return (None, problems);
    }
    let Some(protocol) = protocol else { return (None, problems) };
    let title = written.title.unwrap_or_else(|| format!("Sign in with {}", written.name));
    let def =
        IdentityProviderDef { name: written.name, title, protocol, roles, create_accounts: written.create_accounts };
    (Some(def), problems)
}

/// The `oidc:` block, checked.
fn oidc_def(w: WrittenOidc, problems: &mut Vec<Problem>) -> Option<OidcDef> {
    let before = problems.len();
    if let Some(why) = issuer_problem(&w.issuer) {
        problems.push(Problem::error("oidc.issuer", why));
    }
    if w.client_id.trim().is_empty() {
        problems.push(Problem::error("oidc.clientId", "the client id vigil is registered with at the provider"));
    }
    let client_secret = match w.client_secret.as_deref().map(str::trim) {
        None => None,
        Some(text) => {
            let name = text
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .and_then(crate::params::secret_name)
                .filter(|n| !n.is_empty());
            if name.is_none() {
                let msg = "the client secret is never written here (config files are published and shown): name a \
                           stored secret, `${workflow.secrets.NAME}` (`vigil secret set NAME`)";
                problems.push(Problem::error("oidc.clientSecret", msg));
            }
            name
        }
    };
    let mut scopes = w.scopes.unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    if let Some(i) = scopes.iter().position(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        problems.push(Problem::error(format!("oidc.scopes[{i}]"), "a scope is one word"));
    }
    if problems.len() > before {
        return None;
    }
    Some(OidcDef {
        issuer: w.issuer,
        client_id: w.client_id,
        client_secret,
        scopes,
        username_claim: w.username_claim.unwrap_or_else(|| "preferred_username".into()),
        groups_claim: w.groups_claim.unwrap_or_else(|| "groups".into()),
        logout: w.logout,
    })
}

/// Why `issuer` cannot be an issuer: it must be an `https://` URL without a query or fragment
/// (`http://` only on this machine's loopback address, for trying things out).
fn issuer_problem(issuer: &str) -> Option<String> {
    let Ok(url) = url::Url::parse(issuer) else {
        return Some(format!("`{issuer}` is not a URL: the provider's issuer, as `https://login.example.com`"));
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Some("an issuer has no query or fragment".into());
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => None,
        "http" if loopback => None,
        _ => Some(format!(
            "`{issuer}`: an issuer must be an https:// URL (http:// only on a loopback address), or tokens and \
             codes would cross the network in the clear"
        )),
    }
}
