//! Identity providers: where people sign in besides a local password. Declared in the config
//! directory's `identity-providers/` (published to every node of a cluster like any definition
//! file, so every node signs people in the same way) and used by the server's sign-in pages.
//!
//! An OpenID Connect provider signs people in with the authorization code flow (PKCE, `state`
//! and `nonce`); the ID token's groups claim names the person's groups, which teams map to roles
//! (`groups:` in a team's file) and [`IdentityProviderDef::roles`] maps to a role everywhere.
//! An LDAP directory checks the name and password typed on the sign-in page: vigil searches for
//! the person (as its own account or anonymously), binds as them with the password, and reads
//! their groups.
//!
//! A client secret or bind password is never written in the file: it names a stored secret
//! (`${workflow.secrets.NAME}`), read when it is used.

use std::collections::BTreeMap;

use crate::principal::Role;

mod build;
#[cfg(test)]
mod tests;

pub use build::build_identity_provider;

/// An identity provider as declared in `identity-providers/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderDef {
    /// Its name, in its sign-in address (`/ui/sso/NAME`): lowercase letters, digits, `-`, `_`.
    pub name: String,
    /// The sign-in button's text.
    pub title: String,
    /// How it signs people in.
    pub protocol: Protocol,
    /// A group's role everywhere (the best of a person's groups counts). Without any, an
    /// account's role everywhere is what an admin gives it (`vigil user role`).
    pub roles: BTreeMap<String, Role>,
    /// Whether a person's first sign-in creates their account (default); otherwise an admin
    /// creates it first.
    pub create_accounts: bool,
}

/// How an identity provider signs people in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect: a button on the sign-in page.
    Oidc(OidcDef),
    /// An LDAP directory: the sign-in page's name and password, checked by binding as the person.
    Ldap(LdapDef),
}

/// An LDAP directory (OpenLDAP, Active Directory, FreeIPA, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapDef {
    /// `ldaps://host:636`, or `ldap://host:389` with [`Self::start_tls`].
    pub url: String,
    /// Whether an `ldap://` connection is upgraded with StartTLS before anything is sent.
    pub start_tls: bool,
    /// PEM certificates of the authorities to trust (none: the system's).
    pub ca: Option<String>,
    /// The account vigil searches with (none: an anonymous search).
    pub bind_dn: Option<String>,
    /// The stored secret holding its password.
    pub bind_password: Option<String>,
    /// Where people are searched.
    pub user_base: String,
    /// The search for a person, `{username}` standing for the name typed (escaped).
    pub user_filter: String,
    /// Where groups are searched (none: no groups).
    pub group_base: Option<String>,
    /// The search for a person's groups: `{dn}` and `{username}` (escaped).
    pub group_filter: String,
    /// The group attribute that names it (`cn`).
    pub group_attribute: String,
    /// The person's attribute with a name to show (`cn`).
    pub name_attribute: String,
    /// The person's attribute with their email (`mail`).
    pub email_attribute: String,
}

/// An OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcDef {
    /// The issuer: its discovery document is at `ISSUER/.well-known/openid-configuration`, and
    /// its ID tokens must name it exactly.
    pub issuer: String,
    /// vigil's client id at the provider.
    pub client_id: String,
    /// The stored secret holding the client secret (a public client has none: PKCE alone).
    pub client_secret: Option<String>,
    /// Scopes asked for (`openid` always among them).
    pub scopes: Vec<String>,
    /// The claim naming the account (default `preferred_username`).
    pub username_claim: String,
    /// The claim listing the person's groups (default `groups`).
    pub groups_claim: String,
    /// Whether signing out of vigil also signs out of the provider (RP-initiated logout, when
    /// its discovery document names an `end_session_endpoint`). Default: yes.
    pub logout: bool,
}

impl Protocol {
    /// The accounts' `source` it makes: `oidc` or `ldap`.
    pub fn source(&self) -> &'static str {
        match self {
            Protocol::Oidc(_) => "oidc",
            Protocol::Ldap(_) => "ldap",
        }
    }
}

impl IdentityProviderDef {
    /// The role everywhere that `groups` give (the best of them), if [`Self::roles`] names any.
    pub fn role_of(&self, groups: &[String]) -> Option<Role> {
        groups.iter().filter_map(|g| self.roles.get(g)).copied().max()
    }
}
