//! Messages event handlers parked, and workflows' status changes waiting to be published.
//! [`EventStore`] sums the traits below; a backend gets them all from one [`events_store!`] line,
//! whose SQL is the same on SQLite and PostgreSQL: each trait's methods are written once, in the
//! macro named after it, and expanded in each backend's module, where its row helpers are.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::{ParkedEvent, StatusEventRow};

/// Parked messages.
#[async_trait]
pub trait ParkedStore: Send + Sync {
    /// Parks messages an event handler could not act on (one per queue and message id).
    async fn park_events(&self, parked: &[ParkedEvent]) -> Result<()>;
    /// Parked messages, newest first.
    async fn parked_events(&self, limit: u32) -> Result<Vec<ParkedEvent>>;
    /// Forgets a parked message; false when there was none.
    async fn delete_parked_event(&self, id: i64) -> Result<bool>;
}

/// Workflows' status changes to publish.
#[async_trait]
pub trait StatusEventStore: Send + Sync {
    /// Status events of the partitions `parts` to publish now (`next_attempt_at <= now`), oldest
    /// first.
    async fn pending_status_events(&self, parts: &[u32], now: Millis, limit: u32) -> Result<Vec<StatusEventRow>>;
    /// Forgets published status events.
    async fn delete_status_events(&self, ids: &[i64]) -> Result<()>;
    /// Records a failed attempt: not before `next_attempt_at`.
    async fn defer_status_event(&self, id: i64, next_attempt_at: Millis, error: &str) -> Result<()>;
}

/// Messages event handlers parked, and workflows' status changes waiting to be published.
pub trait EventStore: ParkedStore + StatusEventStore {}

impl<S: ParkedStore + StatusEventStore + ?Sized> EventStore for S {}

/// `impl ParkedStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! parked_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::events::ParkedStore for $store {
            async fn park_events(&self, parked: &[crate::ParkedEvent]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for p in parked {
                    sqlx::query(crate::parked::INSERT)
                        .bind(&p.event)
                        .bind(&p.handler)
                        .bind(&p.message_id)
                        .bind(&p.payload)
                        .bind(&p.error)
                        .bind(p.attempts as i64)
                        .bind(p.parked_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn parked_events(&self, limit: u32) -> Result<Vec<crate::ParkedEvent>> {
                let rows = sqlx::query(crate::parked::SELECT).bind(limit as i64).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::ParkedEvent {
                            id: r.try_get("id")?,
                            event: r.try_get("event")?,
                            handler: r.try_get("handler")?,
                            message_id: r.try_get("message_id")?,
                            payload: r.try_get("payload")?,
                            error: r.try_get("error")?,
                            attempts: r.try_get::<i64, _>("attempts")? as u32,
                            parked_at: r.try_get("parked_at")?,
                        })
                    })
                    .collect()
            }

            async fn delete_parked_event(&self, id: i64) -> Result<bool> {
                let done = sqlx::query(crate::parked::DELETE).bind(id).execute(&self.writer).await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use parked_store;

/// `impl StatusEventStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! status_event_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::events::StatusEventStore for $store {
        async fn pending_status_events(&self, parts: &[u32], now: Millis, limit: u32) -> Result<Vec<crate::StatusEventRow>> {
            if parts.is_empty() {
                return Ok(Vec::new());
            }
            let mut q: QueryBuilder<$db> = QueryBuilder::new(
                "SELECT id, part, instance_id, sink, body, attempts, next_attempt_at, created_at FROM status_outbox s \
                 WHERE NOT EXISTS (SELECT 1 FROM status_outbox e WHERE e.instance_id = s.instance_id AND e.id < s.id \
                 AND e.next_attempt_at > ",
            );
            // An instance's event waits behind its earlier one that is deferred.
            q.push_bind(now).push(") AND next_attempt_at <= ");
            q.push_bind(now).push(" AND part IN (");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(") ORDER BY id LIMIT ").push_bind(limit as i64);
            let rows = q.build().fetch_all(&self.reader).await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::StatusEventRow {
                        id: r.try_get("id")?,
                        event: crate::NewStatusEvent {
                            part: r.try_get::<i64, _>("part")? as u32,
                            instance_id: r.try_get("instance_id")?,
                            sink: r.try_get("sink")?,
                            body: r.try_get("body")?,
                            created_at: r.try_get("created_at")?,
                        },
                        attempts: r.try_get::<i64, _>("attempts")? as u32,
                        next_attempt_at: r.try_get("next_attempt_at")?,
                    })
                })
                .collect()
        }

        async fn delete_status_events(&self, ids: &[i64]) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            for id in ids {
                sqlx::query(crate::status_outbox::DELETE).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn defer_status_event(&self, id: i64, next_attempt_at: Millis, error: &str) -> Result<()> {
            sqlx::query(crate::status_outbox::DEFER).bind(id).bind(next_attempt_at).bind(error).execute(&self.writer).await?;
            Ok(())
        }
        }
    };
}

pub(crate) use status_event_store;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! events_store {
    ($store:ty, $db:ty) => {
        $crate::events::parked_store!($store, $db);
        $crate::events::status_event_store!($store, $db);
    };
}

pub(crate) use events_store;
