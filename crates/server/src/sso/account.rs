//! The account a verified single sign-on stands for: found by the provider's subject, created at
//! the first sign-in when the provider allows it, and brought up to date (name, email, groups,
//! and the role its groups give) at each one. An account is only ever the provider's it was
//! created by: a local account, or another provider's, of the same name is refused, never taken.

use serde_json::{Map, Value, json};
use vigil_core::identity::{IdentityProviderDef, OidcDef};
use vigil_core::team::Teams;
use vigil_core::time::Millis;
use vigil_store::{AccountRefresh, AccountStore, AuditRow, StoreError, UserRow};

use crate::accounts::{PERSON, normalize, valid_name};

/// Why a verified sign-in still gets no session.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The ID token has no subject, or not the username claim.
    #[error("the provider's answer has no `{0}` claim")]
    Missing(String),
    /// The username claim is not a name vigil takes.
    #[error("`{0}` is not an account name vigil takes (1 to 64 of a-z 0-9 . _ @ -)")]
    BadName(String),
    /// An account of that name exists and is not this provider's person.
    #[error("an account named `{0}` exists and was not made by this provider for this person")]
    Taken(String),
    /// The account is disabled.
    #[error("the account `{0}` is disabled")]
    Disabled(String),
    /// No account, and the provider does not create them.
    #[error("there is no account `{0}`, and this provider does not create accounts")]
    NoAccount(String),
    /// No account, and a team lists the name as a member: an admin makes it first.
    #[error(
        "a team lists `{0}` as a member, so an admin makes its account for this provider first (`vigil user add {0} \
         --provider NAME`)"
    )]
    Listed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The person a provider's claims describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The account name.
    pub id: String,
    /// `PROVIDER:SUBJECT`.
    pub external_id: String,
    /// A name to show.
    pub display_name: String,
    /// An email address, if given.
    pub email: String,
    /// Their groups.
    pub groups: Vec<String>,
}

/// The person `claims` describe, by `def`'s claim names.
pub fn person_of(provider: &str, def: &OidcDef, claims: &Map<String, Value>) -> Result<Person, Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let sub = text("sub").ok_or_else(|| Refusal::Missing("sub".into()))?;
    let written = text(&def.username_claim).ok_or_else(|| Refusal::Missing(def.username_claim.clone()))?;
    let id = normalize(written);
    if !valid_name(&id) {
        return Err(Refusal::BadName(written.chars().take(80).collect()));
    }
    let groups = match claims.get(&def.groups_claim) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    Ok(Person {
        external_id: format!("{provider}:{sub}"),
        display_name: text("name").unwrap_or(&id).to_string(),
        email: text("email").unwrap_or_default().to_string(),
        groups,
        id,
    })
}

/// Finds or creates `person`'s account for `def`, brings it up to date, and records the sign-in.
/// An account an admin made for this provider (`vigil user add NAME --provider P`) is the first
/// such person's; a new name that a team lists in `members:` is refused (whoever signed in first
/// would get that member's rights): an admin makes its account first. Creating an account, or a
/// change of its role or groups, is written to the audit log (actor `sso:PROVIDER`).
pub async fn sign_in(
    store: &dyn AccountStore,
    def: &IdentityProviderDef,
    teams: &Teams,
    person: Person,
    now: Millis,
) -> Result<UserRow, Refusal> {
    let role = (!def.roles.is_empty()).then(|| def.role_of(&person.groups).map(|r| r.as_str().to_string()));
    let marker = format!("{}:", def.name);
    for _ in 0..2 {
        match store.user(&person.id).await? {
            Some(existing) => {
                let made_for_provider = existing.external_id.as_deref() == Some(marker.as_str());
                if made_for_provider {
                    let source = def.protocol.source();
                    if !store.claim_account(&person.id, &marker, &person.external_id, source).await? {
                        continue;
                    }
                } else if existing.external_id.as_deref() != Some(person.external_id.as_str()) {
                    return Err(Refusal::Taken(person.id));
                }
                let refresh = AccountRefresh {
                    id: person.id.clone(),
                    external_id: person.external_id.clone(),
                    display_name: person.display_name.clone(),
                    email: person.email.clone(),
                    groups: person.groups.clone(),
                    role: role.clone(),
                };
                if existing.disabled_at.is_some() || !store.refresh_signed_in(&refresh).await? {
                    return Err(Refusal::Disabled(person.id));
                }
                let before = json!({"role": existing.role, "groups": existing.groups});
                let after = json!({"role": role.clone().unwrap_or(existing.role.clone()), "groups": person.groups});
                let changes = vigil_core::audit::diff(&before, &after);
                if made_for_provider || !changes.is_empty() {
                    let change = json!({"diff": changes, "claimed": made_for_provider});
                    audit(store, def, &person.id, "signed in", change, now).await;
                }
            }
            None if !def.create_accounts => return Err(Refusal::NoAccount(person.id)),
            None if !teams.memberships(&person.id, &[]).is_empty() => return Err(Refusal::Listed(person.id)),
            None => {
                let new = UserRow {
                    id: person.id.clone(),
                    display_name: person.display_name.clone(),
                    email: person.email.clone(),
                    kind: PERSON.into(),
                    source: def.protocol.source().into(),
                    role: role.clone().flatten(),
                    external_id: Some(person.external_id.clone()),
                    groups: person.groups.clone(),
                    created_at: now,
                    ..UserRow::default()
                };
                // Another node may create it at the same moment: then it is read again.
                if !store.add_user(&new).await? {
                    continue;
                }
                let made = json!({"role": new.role, "groups": new.groups, "externalId": new.external_id});
                audit(store, def, &person.id, "created at first sign-in", json!({"created": made}), now).await;
            }
        }
        store.user_signed_in(&person.id, now).await?;
        return store.user(&person.id).await?.ok_or(Refusal::Taken(person.id));
    }
    Err(Refusal::Taken(person.id))
}

/// Writes what a sign-in changed of account `id` to the audit log (no secret is in it to mask).
async fn audit(
    store: &dyn AccountStore,
    def: &IdentityProviderDef,
    id: &str,
    action: &str,
    change: Value,
    now: Millis,
) {
    let row = AuditRow {
        at: now,
        actor: format!("sso:{}", def.name),
        source: "sso".into(),
        action: action.into(),
        kind: "user".into(),
        name: id.into(),
        change: change.to_string(),
        ..AuditRow::default()
    };
    crate::audit::append(store, &row).await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn oidc() -> OidcDef {
        let doc = json!({"name": "corp", "oidc": {"issuer": "https://idp.test", "clientId": "vigil"}});
        match vigil_core::identity::build_identity_provider(&doc).0.unwrap().protocol {
            vigil_core::identity::Protocol::Oidc(o) => o,
            vigil_core::identity::Protocol::Ldap(_) => unreachable!("an oidc block"),
        }
    }

    #[test]
    fn a_person_is_read_from_the_claims() {
        let claims =
            json!({"sub": "0a1b", "preferred_username": " Ana ", "name": "Ana Lima", "groups": ["pay", 3, "ops"]});
        let p = person_of("corp", &oidc(), claims.as_object().unwrap()).unwrap();
        assert_eq!(
            p,
            Person {
                id: "ana".into(),
                external_id: "corp:0a1b".into(),
                display_name: "Ana Lima".into(),
                email: String::new(),
                groups: vec!["pay".into(), "ops".into()],
            }
        );
        let one = json!({"sub": "x", "preferred_username": "bo", "groups": "pay"});
        assert_eq!(person_of("corp", &oidc(), one.as_object().unwrap()).unwrap().groups, ["pay"]);
        let bad = json!({"sub": "x", "preferred_username": "../admin"});
        assert!(matches!(person_of("corp", &oidc(), bad.as_object().unwrap()), Err(Refusal::BadName(_))));
        let none = json!({"preferred_username": "bo"});
        assert!(
            matches!(person_of("corp", &oidc(), none.as_object().unwrap()), Err(Refusal::Missing(c)) if c == "sub")
        );
    }
}
