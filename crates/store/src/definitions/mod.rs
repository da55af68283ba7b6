//! Definitions stored through the API or the UI (workflows, notifiers, status pages, monitors,
//! event handlers), versioned and read by every node: [`DefinitionStore`]. A backend gets it
//! from one [`definitions_store!`] line, whose SQL is the same on SQLite and PostgreSQL: the
//! methods are written once, in `definition_store!`, and expanded in each backend's module.

use async_trait::async_trait;

use crate::DefinitionRow;
use crate::Result;

/// Stored definitions, by kind, name and version.
#[async_trait]
pub trait DefinitionStore: Send + Sync {
    /// Writes (or replaces) definitions, all or none, in one transaction.
    async fn put_definitions(&self, defs: &[DefinitionRow]) -> Result<()>;
    /// Writes (or replaces) one definition.
    async fn put_definition(&self, def: &DefinitionRow) -> Result<()> {
        self.put_definitions(std::slice::from_ref(def)).await
    }
    /// The definitions of `kind`, by name then version.
    async fn definitions(&self, kind: &str) -> Result<Vec<DefinitionRow>>;
    /// The newest version of definition `name` of `kind`, if any.
    async fn latest_definition(&self, kind: &str, name: &str) -> Result<Option<DefinitionRow>>;
    /// Deletes one version of a definition, or all when `version` is `None`; returns how many.
    async fn delete_definition(&self, kind: &str, name: &str, version: Option<u32>) -> Result<u64>;
}

/// `impl DefinitionStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! definition_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::definitions::DefinitionStore for $store {
        async fn put_definitions(&self, defs: &[DefinitionRow]) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            for def in defs {
                sqlx::query(
                    "INSERT INTO definitions (kind, name, version, body, updated_at, defined_by) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (kind, name, version) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, \
                     defined_by = excluded.defined_by",
                )
                .bind(&def.kind)
                .bind(&def.name)
                .bind(def.version as i64)
                .bind(&def.body)
                .bind(def.updated_at)
                .bind(&def.defined_by)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn definitions(&self, kind: &str) -> Result<Vec<DefinitionRow>> {
            let rows = sqlx::query("SELECT * FROM definitions WHERE kind = $1 ORDER BY name, version")
                .bind(kind)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(definition_of).collect()
        }

        async fn latest_definition(&self, kind: &str, name: &str) -> Result<Option<DefinitionRow>> {
            let row = sqlx::query("SELECT * FROM definitions WHERE kind = $1 AND name = $2 ORDER BY version DESC LIMIT 1")
                .bind(kind)
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(definition_of).transpose()
        }

        async fn delete_definition(&self, kind: &str, name: &str, version: Option<u32>) -> Result<u64> {
            let done = match version {
                Some(v) => {
                    sqlx::query("DELETE FROM definitions WHERE kind = $1 AND name = $2 AND version = $3")
                        .bind(kind)
                        .bind(name)
                        .bind(v as i64)
                        .execute(&self.writer)
                        .await?
                }
                None => {
                    sqlx::query("DELETE FROM definitions WHERE kind = $1 AND name = $2")
                        .bind(kind)
                        .bind(name)
                        .execute(&self.writer)
                        .await?
                }
            };
            Ok(done.rows_affected())
        }
        }
    };
}

pub(crate) use definition_store;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! definitions_store {
    ($store:ty, $db:ty) => {
        $crate::definitions::definition_store!($store, $db);
    };
}

pub(crate) use definitions_store;
