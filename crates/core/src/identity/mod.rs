//! Identity providers: where people sign in besides a local password. Declared in the config
//! directory's `identity-providers/` (published to every node of a cluster like any definition
//! file, so every node signs people in the same way) and used by the server's sign-in pages.
//!
//! An OpenID Connect provider signs people in with the authorization code flow (PKCE, `state`
//! and `nonce`); the ID token's groups claim names the person's groups, which teams map to roles
//! (`groups:` in a team's file) and [`IdentityProviderDef::roles`] maps to a role everywhere.
//! The client secret is never written in the file: it names a stored secret
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
    /// OpenID Connect.
    Oidc(OidcDef),
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

impl IdentityProviderDef {
    /// The role everywhere that `groups` give (the best of them), if [`Self::roles`] names any.
    pub fn role_of(&self, groups: &[String]) -> Option<Role> {
        groups.iter().filter_map(|g| self.roles.get(g)).copied().max()
    }
}
