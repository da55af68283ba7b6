use serde_json::json;

use super::*;
use crate::principal::Role;

fn paths(doc: serde_json::Value) -> Vec<String> {
    let (def, problems) = build_identity_provider(&doc);
    assert!(def.is_none(), "{doc} should not build");
    problems.into_iter().map(|p| p.path).collect()
}

#[test]
fn an_oidc_provider_builds_with_its_defaults() {
    let doc = json!({
        "name": "corp",
        "oidc": {"issuer": "https://login.example.com", "clientId": "vigil", "clientSecret": "${workflow.secrets.corp_oidc}"},
        "roles": {"sre": "admin", "oncall": "responder"},
    });
    let (def, problems) = build_identity_provider(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    let def = def.unwrap();
    assert_eq!(def.title, "Sign in with corp");
    assert!(def.create_accounts);
    let Protocol::Oidc(oidc) = &def.protocol else { panic!("oidc") };
    assert_eq!(oidc.client_secret.as_deref(), Some("corp_oidc"));
    assert_eq!(oidc.scopes, ["openid", "profile", "email"]);
    assert_eq!((oidc.username_claim.as_str(), oidc.groups_claim.as_str()), ("preferred_username", "groups"));
    assert_eq!(def.role_of(&["oncall".into(), "sre".into()]), Some(Role::Admin));
    assert_eq!(def.role_of(&["dev".into()]), None);
}

#[test]
fn problems_are_located() {
    let doc = json!({
        "name": "Corp!",
        "oidc": {"issuer": "http://login.example.com", "clientId": "", "clientSecret": "hunter2", "scopes": ["openid", "a b"]},
        "roles": {"sre": "boss"},
    });
    assert_eq!(
        paths(doc),
        ["name", "oidc.issuer", "oidc.clientId", "oidc.clientSecret", "oidc.scopes[1]", "roles.sre"]
    );
    assert_eq!(paths(json!({"name": "x"})), [""], "no protocol");
    assert_eq!(
        paths(json!({"name": "x", "oidc": {"issuer": "https://a", "clientId": "v"}, "ldap": {}})),
        ["ldap"],
        "not yet"
    );
}

#[test]
fn plain_http_is_only_for_loopback() {
    for ok in ["https://login.example.com/realms/x", "http://127.0.0.1:9000", "http://localhost:3000/oidc"] {
        assert!(issuer_ok(ok), "{ok}");
    }
    for bad in ["http://login.example.com", "ftp://x", "not a url", "https://a/?x=1"] {
        assert!(!issuer_ok(bad), "{bad}");
    }
}

fn issuer_ok(issuer: &str) -> bool {
    let doc = json!({"name": "x", "oidc": {"issuer": issuer, "clientId": "v"}});
    build_identity_provider(&doc).0.is_some()
}

#[test]
fn an_ldap_directory_builds_with_its_defaults() {
    let doc = json!({"name": "corp", "ldap": {"url": "ldap://ldap.example.com", "startTls": true,
        "bindDn": "cn=vigil,dc=example,dc=org", "bindPassword": "${workflow.secrets.ldap_bind}",
        "userBase": "ou=people,dc=example,dc=org", "groupBase": "ou=groups,dc=example,dc=org"}});
    let (def, problems) = build_identity_provider(&doc);
    assert!(problems.is_empty(), "{problems:?}");
    let Protocol::Ldap(ldap) = def.unwrap().protocol else { panic!("ldap") };
    assert_eq!(ldap.bind_password.as_deref(), Some("ldap_bind"));
    assert_eq!(ldap.user_filter, "(uid={username})");
    assert_eq!(ldap.group_filter, "(|(member={dn})(uniqueMember={dn})(memberUid={username}))");
    assert_eq!((ldap.group_attribute.as_str(), ldap.name_attribute.as_str()), ("cn", "cn"));
}

#[test]
fn ldap_problems_are_located() {
    let doc = json!({"name": "corp", "ldap": {"url": "ldap://ldap.example.com", "bindDn": "cn=x",
        "bindPassword": "plain", "userBase": "", "userFilter": "uid={username}", "groupFilter": "(member=x)",
        "ca": "not pem"}});
    assert_eq!(
        paths(doc),
        ["ldap.url", "ldap.ca", "ldap.bindPassword", "ldap.userBase", "ldap.userFilter", "ldap.groupFilter"]
    );
    let tls_twice = json!({"name": "c", "ldap": {"url": "ldaps://d:636", "startTls": true, "userBase": "dc=x"}});
    assert_eq!(paths(tls_twice), ["ldap.startTls"]);
    let half = json!({"name": "c", "ldap": {"url": "ldaps://d", "bindDn": "cn=x", "userBase": "dc=x"}});
    assert_eq!(paths(half), ["ldap.bindDn"]);
    let local = json!({"name": "c", "ldap": {"url": "ldap://127.0.0.1:3389", "userBase": "dc=x"}});
    assert!(build_identity_provider(&local).0.is_some(), "plain ldap:// on loopback");
}
