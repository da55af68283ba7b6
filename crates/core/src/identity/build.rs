//! Reads an identity provider's document, reporting every problem with its field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{IdentityProviderDef, LdapDef, OidcDef, Protocol};
use crate::def::typed::typed;
use crate::diagnostic::{Problem, Severity};

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
    ldap: Option<WrittenLdap>,
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

/// The `ldap:` block as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WrittenLdap {
    url: String,
    #[serde(default)]
    start_tls: bool,
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    bind_dn: Option<String>,
    #[serde(default)]
    bind_password: Option<String>,
    user_base: String,
    #[serde(default)]
    user_filter: Option<String>,
    #[serde(default)]
    group_base: Option<String>,
    #[serde(default)]
    group_filter: Option<String>,
    #[serde(default)]
    group_attribute: Option<String>,
    #[serde(default)]
    name_attribute: Option<String>,
    #[serde(default)]
    email_attribute: Option<String>,
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
    let protocol = match (written.oidc, written.ldap) {
        (Some(oidc), None) => oidc_def(oidc, &mut problems).map(Protocol::Oidc),
        (None, Some(ldap)) => ldap_def(ldap, &mut problems).map(Protocol::Ldap),
        (None, None) => {
            problems.push(Problem::error("", "say how people sign in: an `oidc:` or an `ldap:` block"));
            None
        }
        (Some(_), Some(_)) => {
            problems.push(Problem::error("ldap", "one provider is `oidc:` or `ldap:`, not both: write two files"));
            None
        }
    };
    let roles = crate::team::roles(&written.roles, "roles", &mut problems);
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
    let client_secret = stored_secret(w.client_secret.as_deref(), "oidc.clientSecret", problems);
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

/// The stored secret `written` names (`${workflow.secrets.NAME}`); a problem at `path` when it is
/// written some other way (a value in the file would be published and shown).
fn stored_secret(written: Option<&str>, path: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let text = written?.trim();
    let name = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .and_then(crate::params::secret_name)
        .filter(|n| !n.is_empty());
    if name.is_none() {
        let msg = "a secret is never written here (config files are published and shown): name a stored secret, \
                   `${workflow.secrets.NAME}` (`vigil secret set NAME`)";
        problems.push(Problem::error(path, msg));
    }
    name
}

/// The `ldap:` block, checked.
fn ldap_def(w: WrittenLdap, problems: &mut Vec<Problem>) -> Option<LdapDef> {
    let before = problems.len();
    match url::Url::parse(&w.url) {
        Ok(url) if url.scheme() == "ldaps" => {
            if w.start_tls {
                problems.push(Problem::error("ldap.startTls", "`ldaps://` is TLS already: StartTLS is for `ldap://`"));
            }
        }
        Ok(url) if url.scheme() == "ldap" => {
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if !w.start_tls && !loopback {
                let msg = "passwords would cross the network in the clear: use `ldaps://`, or `startTls: true` \
                           (plain `ldap://` only on a loopback address)";
                problems.push(Problem::error("ldap.url", msg));
            }
        }
        _ => problems.push(Problem::error("ldap.url", format!("`{}` is not an `ldap://` or `ldaps://` URL", w.url))),
    }
    if w.ca.as_deref().is_some_and(|pem| !pem.contains("-----BEGIN CERTIFICATE-----")) {
        problems.push(Problem::error("ldap.ca", "PEM certificates (`-----BEGIN CERTIFICATE-----`)"));
    }
    let bind_password = stored_secret(w.bind_password.as_deref(), "ldap.bindPassword", problems);
    if w.bind_dn.is_some() != w.bind_password.is_some() {
        problems.push(Problem::error("ldap.bindDn", "`bindDn` and `bindPassword` come together"));
    }
    if w.user_base.trim().is_empty() {
        problems.push(Problem::error("ldap.userBase", "the entry under which people are searched"));
    }
    let user_filter = w.user_filter.unwrap_or_else(|| "(uid={username})".into());
    filter_problem(&user_filter, "ldap.userFilter", &["{username}"], problems);
    let group_filter =
        w.group_filter.unwrap_or_else(|| "(|(member={dn})(uniqueMember={dn})(memberUid={username}))".into());
    filter_problem(&group_filter, "ldap.groupFilter", &["{dn}", "{username}"], problems);
    if problems.len() > before {
        return None;
    }
    Some(LdapDef {
        url: w.url,
        start_tls: w.start_tls,
        ca: w.ca,
        bind_dn: w.bind_dn,
        bind_password,
        user_base: w.user_base,
        user_filter,
        group_base: w.group_base,
        group_filter,
        group_attribute: w.group_attribute.unwrap_or_else(|| "cn".into()),
        name_attribute: w.name_attribute.unwrap_or_else(|| "cn".into()),
        email_attribute: w.email_attribute.unwrap_or_else(|| "mail".into()),
    })
}

/// A problem at `path` unless `filter` is one parenthesized LDAP filter naming one of `needs`.
fn filter_problem(filter: &str, path: &str, needs: &[&str], problems: &mut Vec<Problem>) {
    let mut depth = 0i32;
    let balanced = filter.chars().all(|c| {
        depth += match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        };
        depth >= 0
    }) && depth == 0;
    if !filter.starts_with('(') || !filter.ends_with(')') || !balanced {
        problems.push(Problem::error(path, format!("`{filter}` is not an LDAP filter such as `(uid={{username}})`")));
    } else if !needs.iter().any(|n| filter.contains(n)) {
        problems.push(Problem::error(path, format!("the filter must use {}", needs.join(" or "))));
    }
}
