//! The `Store` methods whose SQL is the same on SQLite and PostgreSQL (numbered placeholders
//! work in both), written once: `store_impl!` implements `Store` for a backend with these and the
//! backend's own methods, those whose SQL really differs (upserts, commits, locks, notices).

/// `impl Store for $store` with the shared methods and the backend's own (`{ ... }`).
macro_rules! store_impl {
    ($store:ty, $db:ty, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl crate::Store for $store {
            $($own)*

        async fn close(&self) {
            <$store>::close(self).await;
        }

        async fn node_heartbeat(&self, node: &NodeRow) -> Result<()> {
            sqlx::query(
                "INSERT INTO nodes (id, host, version, started_at, heartbeat_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, started_at = excluded.started_at, \
                 heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at",
            )
            .bind(&node.id)
            .bind(&node.host)
            .bind(&node.version)
            .bind(node.started_at)
            .bind(node.heartbeat_at)
            .bind(node.stopped_at)
            .execute(&self.writer)
            .await?;
            Ok(())
        }


        async fn nodes(&self) -> Result<Vec<NodeRow>> {
            let rows = sqlx::query("SELECT * FROM nodes ORDER BY started_at, id").fetch_all(&self.reader).await?;
            rows.iter()
                .map(|r| {
                    Ok(NodeRow {
                        id: r.try_get("id")?,
                        host: r.try_get("host")?,
                        version: r.try_get("version")?,
                        started_at: r.try_get("started_at")?,
                        heartbeat_at: r.try_get("heartbeat_at")?,
                        stopped_at: r.try_get("stopped_at")?,
                    })
                })
                .collect()
        }

        async fn put_secret(&self, name: &str, sealed: &[u8], now: Millis) -> Result<()> {
            sqlx::query("INSERT INTO secrets (name, sealed, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at")
                .bind(name)
                .bind(sealed)
                .bind(now)
                .execute(&self.writer)
                .await?;
            Ok(())
        }

        async fn secrets(&self) -> Result<Vec<(String, Vec<u8>)>> {
            let rows = sqlx::query("SELECT name, sealed FROM secrets ORDER BY name").fetch_all(&self.reader).await?;
            rows.iter().map(|r| Ok((r.try_get("name")?, r.try_get("sealed")?))).collect()
        }

        async fn delete_secret(&self, name: &str) -> Result<bool> {
            let done = sqlx::query("DELETE FROM secrets WHERE name = $1").bind(name).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }

        async fn setting(&self, key: &str) -> Result<Option<String>> {
            self.setting_impl(key).await
        }

        async fn leases(&self) -> Result<Vec<LeaseRow>> {
            self.leases_impl().await
        }

        async fn acquire_leases(&self, node: &str, max: u32, now: Millis, until: Millis) -> Result<Vec<u32>> {
            self.acquire_leases_impl(node, max, now, until).await
        }

        async fn renew_leases(&self, node: &str, until: Millis) -> Result<Vec<u32>> {
            self.renew_leases_impl(node, until).await
        }

        async fn release_leases(&self, node: &str, parts: &[u32]) -> Result<()> {
            self.release_leases_impl(node, parts).await
        }

        async fn reserve_id_block(&self, name: &str) -> Result<i64> {
            let row = sqlx::query(
                "INSERT INTO id_blocks (name, last) VALUES ($1, 1) \
                 ON CONFLICT (name) DO UPDATE SET last = id_blocks.last + 1 RETURNING last",
            )
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
            Ok(row.try_get("last")?)
        }

        async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        }
    };
}

pub(crate) use store_impl;

/// A backend's row decoders, its instance filter and its delivery updates, the same on both but
/// for the row, builder and connection types and the case-insensitive match (`ILIKE`; SQLite's
/// `LIKE` is case-insensitive for ASCII already).
macro_rules! backend_helpers {
    ($row:ty, $db:ty, $conn:ty, $like:literal) => {
        fn decode(state: &str) -> Result<Instance> {
            serde_json::from_str(state).map_err(|e| StoreError::Corrupt(format!("instance state: {e}")))
        }

        fn status_of(s: &str) -> Result<WorkflowStatus> {
            WorkflowStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown status `{s}`")))
        }

        fn definition_of(r: &$row) -> Result<DefinitionRow> {
            Ok(DefinitionRow {
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                version: r.try_get::<i64, _>("version")? as u32,
                body: r.try_get("body")?,
                updated_at: r.try_get("updated_at")?,
                defined_by: r.try_get("defined_by")?,
            })
        }

        fn fire_of(row: &$row) -> Result<FireClaim> {
            Ok(FireClaim {
                schedule: row.try_get("schedule_name")?,
                scheduled_at: row.try_get("scheduled_at")?,
                instance_id: row.try_get("instance_id")?,
                executed_at: row.try_get("executed_at")?,
                status: FireStatus::parse(&row.try_get::<String, _>("status")?),
            })
        }
    };
}

pub(crate) use backend_helpers;
