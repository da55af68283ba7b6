//! The notifiers written through the API, as kept in the store: read with their credentials
//! substituted, whenever the engine's notifiers are loaded (`Engine::load_notifiers`, and at its
//! start). A leaf: it needs neither.

/// Store kind of notifiers.
pub const NOTIFIER: &str = "notifier";

/// A credential a definition names: `${workflow.secrets.NAME}` through `secret`, `${env.NAME}`
/// from the environment.
pub(crate) fn credential(kind: &str, name: &str, secret: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    match kind {
        "secrets" => secret(name),
        "env" => std::env::var(name).ok(),
        _ => None,
    }
}

/// The notifiers written through the API and kept in `store`, credentials substituted (secrets
/// through `secret`); one that no longer loads is skipped, with an error logged.
pub(crate) async fn read(
    store: &dyn vigil_store::Store,
    secret: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Vec<vigil_connectors::notifiers::NotifierConfig>, vigil_store::StoreError> {
    let lookup = |kind: &str, name: &str| credential(kind, name, secret);
    let mut out = Vec::new();
    for row in store.definitions(NOTIFIER).await? {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&row.body) else { continue };
        match vigil_connectors::notifiers::load::from_value(doc, &lookup) {
            Ok(n) => out.push(n),
            Err(errors) => {
                tracing::error!(notifier = %row.name, ?errors, "A stored notifier no longer loads; it is skipped.")
            }
        }
    }
    Ok(out)
}
