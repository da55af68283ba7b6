//! Status pages' own tables: incidents, subscribers with the notices waiting for them, and
//! maintenance windows. [`StatusPageStore`] is the sum of the three traits; a backend gets all
//! of them from one [`status_page_store!`] line, whose SQL is the same on SQLite and PostgreSQL.

#[cfg(any(test, feature = "testkit"))]
pub(crate) mod conformance;
pub mod incidents;
pub mod maintenance;
pub mod subscribers;

pub use incidents::{IncidentRow, IncidentStore};
pub use maintenance::{MaintenanceRow, MaintenanceStore, MaintenanceWrite};
pub use subscribers::{NewNotice, NoticeRow, SubscriberRow, SubscriberStore, UNCONFIRMED_KEPT};

/// Everything status pages keep: incidents, subscribers and maintenance windows.
pub trait StatusPageStore: IncidentStore + SubscriberStore + MaintenanceStore {}

impl<S: IncidentStore + SubscriberStore + MaintenanceStore + ?Sized> StatusPageStore for S {}

/// Adds notices for subscribers inside a transaction, once per dedup key: the one statement
/// the three status-page traits share, bound the same on every backend.
pub(crate) fn insert_notice<'q, DB: sqlx::Database>(
    n: &'q NewNotice,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(subscribers::INSERT_NOTICE)
        .bind(&n.page)
        .bind(&n.subscriber)
        .bind(&n.dedup)
        .bind(&n.body)
        .bind(n.created_at)
}

/// Implements [`StatusPageStore`] for backend `$store` (with pools `writer` and `reader`) of
/// database `$db`, whose connection type is `$conn`.
macro_rules! status_page_store {
    ($store:ty, $db:ty, $conn:ty) => {
        mod status_page_sql {
            use super::*;
            use vigil_core::time::Millis;
            use $crate::Result;
            use $crate::status_pages::{
                IncidentRow, MaintenanceRow, MaintenanceWrite, NewNotice, NoticeRow, SubscriberRow, incidents,
                maintenance, subscribers,
            };

            async fn insert_notices(tx: &mut $conn, notices: &[NewNotice]) -> Result<()> {
                for n in notices {
                    $crate::status_pages::insert_notice::<$db>(n).execute(&mut *tx).await?;
                }
                Ok(())
            }

            $crate::status_pages::incidents::incident_store!($store);
            $crate::status_pages::subscribers::subscriber_store!($store, $db);
            $crate::status_pages::maintenance::maintenance_store!($store);
        }
    };
}

pub(crate) use status_page_store;
