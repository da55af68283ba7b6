//! Checking a name and password against an LDAP directory: connect (`ldaps://`, or `ldap://`
//! upgraded with StartTLS before anything is sent), search for the person as vigil's own account
//! (or anonymously), bind as the one entry found with the password typed, then read their
//! groups. The name typed is escaped into the filter (RFC 4515), so it cannot change the search;
//! an empty password is refused before anything is sent (an LDAP bind without one is an
//! anonymous bind, which directories accept). Errors never carry a password.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use vigil_core::identity::LdapDef;

/// How long one sign-in may take against the directory, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// LDAP's result code for wrong credentials.
const INVALID_CREDENTIALS: u32 = 49;

/// Why the directory did not sign someone in.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// No entry matches the name, or the password is wrong (one answer for both).
    #[error("wrong name or password")]
    Wrong,
    /// Several entries match the name: the filter is too loose.
    #[error("{0} entries match the name: the user filter must find one")]
    Ambiguous(usize),
    /// The directory could not be reached or refused vigil's own account.
    #[error("the directory: {0}")]
    Directory(String),
}

/// A person the directory signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryPerson {
    /// Their entry's DN.
    pub dn: String,
    /// A name to show.
    pub display_name: String,
    /// Their email, if the entry has one.
    pub email: String,
    /// Their groups' names.
    pub groups: Vec<String>,
}

fn failed(e: impl std::fmt::Display) -> LdapError {
    LdapError::Directory(e.to_string())
}

/// `template` with `{username}` and `{dn}` replaced by their escaped values.
pub fn filter(template: &str, username: &str, dn: &str) -> String {
    template.replace("{username}", &ldap_escape(username)).replace("{dn}", &ldap_escape(dn))
}

/// The TLS settings: the authorities in `ca`, or the system's.
fn settings(def: &LdapDef) -> Result<LdapConnSettings, LdapError> {
    let mut settings = LdapConnSettings::new().set_conn_timeout(TIMEOUT).set_starttls(def.start_tls);
    if let Some(pem) = &def.ca {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.map_err(|e| failed(format!("ca: {e}")))?).map_err(|e| failed(format!("ca: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(failed)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        settings = settings.set_config(Arc::new(config));
    }
    Ok(settings)
}

/// Checks `username` and `password` against `def`'s directory, searching as `def.bind_dn` with
/// `bind_password` (the stored secret's value).
pub async fn authenticate(
    def: &LdapDef,
    bind_password: Option<&str>,
    username: &str,
    password: &str,
) -> Result<DirectoryPerson, LdapError> {
    if password.is_empty() || username.is_empty() {
        return Err(LdapError::Wrong);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    match tokio::time::timeout(TIMEOUT, check(def, bind_password, username, password)).await {
        Ok(result) => result,
        Err(_) => Err(LdapError::Directory(format!("no answer within {TIMEOUT:?}"))),
    }
}

async fn check(
    def: &LdapDef,
    bind_password: Option<&str>,
    username: &str,
    password: &str,
) -> Result<DirectoryPerson, LdapError> {
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings(def)?, &def.url).await.map_err(failed)?;
    ldap3::drive!(conn);
    let as_vigil = |ldap: &mut ldap3::Ldap| {
        let mut ldap = ldap.clone();
        let (dn, pw) = (def.bind_dn.clone(), bind_password.map(str::to_string));
        async move {
            if let (Some(dn), Some(pw)) = (dn, pw) {
                let bound = ldap.simple_bind(&dn, &pw).await.map_err(failed)?;
                bound.success().map_err(|e| failed(format!("vigil's bind as {dn}: {e}")))?;
            }
            Ok::<_, LdapError>(())
        }
    };
    as_vigil(&mut ldap).await?;
    let wanted = vec![def.name_attribute.as_str(), def.email_attribute.as_str()];
    let found = ldap
        .search(&def.user_base, Scope::Subtree, &filter(&def.user_filter, username, ""), wanted)
        .await
        .map_err(failed)?
        .success()
        .map_err(failed)?
        .0;
    let entry = match found.len() {
        0 => return Err(LdapError::Wrong),
        1 => SearchEntry::construct(found.into_iter().next().expect("one")),
        n => return Err(LdapError::Ambiguous(n)),
    };
    let bound = ldap.simple_bind(&entry.dn, password).await.map_err(failed)?;
    match bound.rc {
        0 => {}
        INVALID_CREDENTIALS => return Err(LdapError::Wrong),
        _ => return Err(failed(bound)),
    }
    // Groups are read as vigil again: a person may not be allowed to search them.
    as_vigil(&mut ldap).await?;
    let mut groups = Vec::new();
    if let Some(base) = &def.group_base {
        let found = ldap
            .search(
                base,
                Scope::Subtree,
                &filter(&def.group_filter, username, &entry.dn),
                vec![def.group_attribute.as_str()],
            )
            .await
            .map_err(failed)?
            .success()
            .map_err(failed)?
            .0;
        for group in found.into_iter().map(SearchEntry::construct) {
            groups.extend(group.attrs.get(&def.group_attribute).and_then(|v| v.first()).cloned());
        }
        groups.sort();
        groups.dedup();
    }
    let _ = ldap.unbind().await;
    let first = |attr: &str| entry.attrs.get(attr).and_then(|v| v.first()).cloned().unwrap_or_default();
    Ok(DirectoryPerson {
        display_name: first(&def.name_attribute),
        email: first(&def.email_attribute),
        dn: entry.dn.clone(),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_typed_cannot_change_the_search() {
        assert_eq!(filter("(uid={username})", "ana", ""), "(uid=ana)");
        assert_eq!(filter("(uid={username})", "*)(uid=*", ""), "(uid=\\2a\\29\\28uid=\\2a)");
        assert_eq!(
            filter("(|(member={dn})(memberUid={username}))", "a\\b", "uid=a,ou=p"),
            "(|(member=uid=a,ou=p)(memberUid=a\\5cb))"
        );
    }
}
