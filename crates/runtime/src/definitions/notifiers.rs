//! Notifiers written through the API.

use serde_json::Value;

use vigil_core::diagnostic::Problem;
use vigil_store::{DefinitionRow, StoreError};

use super::{DefinitionError, Definitions};

pub use crate::stored_notifiers::NOTIFIER;

impl Definitions {
    fn credential(&self, kind: &str, name: &str) -> Option<String> {
        crate::stored_notifiers::credential(kind, name, &|n| self.shared.secrets.secret(n))
    }

    /// Validates a notifier document (credentials as `${workflow.secrets.NAME}` or `${env.NAME}`,
    /// substituted now and never stored), stores it as written and makes it live.
    pub async fn put_notifier_doc(&self, doc: Value) -> Result<(), DefinitionError> {
        let lookup = |kind: &str, name: &str| self.credential(kind, name);
        let notifier = vigil_connectors::notifiers::load::from_value(doc.clone(), &lookup).map_err(|errors| {
            DefinitionError::Invalid(errors.into_iter().map(|(p, m)| Problem::error(p, m)).collect())
        })?;
        let row = DefinitionRow {
            kind: NOTIFIER.into(),
            name: notifier.name().to_string(),
            version: 0,
            body: doc.to_string(),
            updated_at: self.now(),
            defined_by: None,
        };
        self.store().put_definition(&row).await?;
        self.shared.alerting.put_notifier(notifier);
        Ok(())
    }

    /// Removes a notifier written through the API (or loaded from a file, until the next start).
    pub async fn delete_notifier(&self, name: &str) -> Result<bool, StoreError> {
        let stored = self.store().delete_definition(NOTIFIER, name, None).await? > 0;
        Ok(self.shared.alerting.remove_notifier(name) || stored)
    }
}
