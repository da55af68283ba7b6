//! Schedules written through the API.

use serde_json::Value;

use vigil_core::diagnostic::Problem;
use vigil_core::principal::Principal;
use vigil_store::{DefinitionRow, StoreError};

use super::{DefinitionError, Definitions, principal_of, recorded};

/// Store kind of schedules.
pub const SCHEDULE: &str = "schedule";

impl Definitions {
    /// The schedules written through the API, for the scheduler at start.
    pub async fn api_schedules(&self) -> Result<Vec<vigil_core::schedule::ScheduleDef>, StoreError> {
        let mut out = Vec::new();
        for row in self.store().definitions(SCHEDULE).await? {
            let Ok(doc) = serde_json::from_str::<Value>(&row.body) else { continue };
            match vigil_core::schedule::ScheduleDef::build(&doc) {
                (Some(mut def), _) => {
                    def.defined_by = Some(Box::new(principal_of(&row, &doc))).filter(|p| !p.is_system());
                    out.push(def)
                }
                (None, problems) => {
                    tracing::error!(schedule = %row.name, ?problems, "A stored schedule no longer validates; it is not loaded.")
                }
            }
        }
        Ok(out)
    }

    /// Validates a schedule document, stores it and makes it live in the running scheduler.
    /// The instances it starts are started by `defined_by`.
    pub async fn put_schedule(
        &self,
        doc: Value,
        defined_by: &Principal,
    ) -> Result<vigil_core::schedule::ScheduleDef, DefinitionError> {
        let (mut def, problems) = vigil_core::schedule::ScheduleDef::build(&doc);
        if let Some(def) = &mut def {
            def.defined_by = Some(Box::new(defined_by.clone())).filter(|p| !p.is_system());
        }
        let errors: Vec<Problem> =
            problems.into_iter().filter(|p| p.severity == vigil_core::diagnostic::Severity::Error).collect();
        let Some(def) = def.filter(|_| errors.is_empty()) else { return Err(DefinitionError::Invalid(errors)) };
        let row = DefinitionRow {
            kind: SCHEDULE.into(),
            name: def.name.clone(),
            version: 0,
            body: doc.to_string(),
            updated_at: self.now(),
            defined_by: recorded(defined_by),
        };
        self.store().put_definition(&row).await?;
        self.shared.schedules.send(crate::scheduler::command::SchedulerCmd::Put(Box::new(def.clone())));
        Ok(def)
    }

    /// Removes a schedule (stored through the API or loaded from files) from the running
    /// scheduler and the store; false when no such schedule runs.
    pub async fn delete_schedule(&self, name: &str) -> Result<bool, StoreError> {
        let known = self.shared.schedules.list().await.iter().any(|(d, _)| d.name == name);
        self.store().delete_definition(SCHEDULE, name, None).await?;
        if known {
            self.shared.schedules.send(crate::scheduler::command::SchedulerCmd::Remove(name.to_string()));
        }
        Ok(known)
    }
}
