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


        async fn latest_definition(&self, kind: &str, name: &str) -> Result<Option<DefinitionRow>> {
            let row = sqlx::query("SELECT * FROM definitions WHERE kind = $1 AND name = $2 ORDER BY version DESC LIMIT 1")
                .bind(kind)
                .bind(name)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(definition_of).transpose()
        }

        async fn definitions(&self, kind: &str) -> Result<Vec<DefinitionRow>> {
            let rows = sqlx::query("SELECT * FROM definitions WHERE kind = $1 ORDER BY name, version")
                .bind(kind)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(definition_of).collect()
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

    fn alert_of(r: &$row) -> Result<AlertRow> {
        Ok(AlertRow {
            dedup_key: r.try_get("dedup_key")?,
            name: r.try_get("name")?,
            condition: r.try_get("condition")?,
            firing_since: r.try_get("firing_since")?,
            last_notified: r.try_get("last_notified")?,
            acknowledged: r.try_get::<i64, _>("acknowledged")? != 0,
            next_wake: r.try_get("next_wake")?,
            updated_at: r.try_get("updated_at")?,
            state: r.try_get("state")?,
        })
    }

    fn outbox_of(r: &$row) -> Result<OutboxEntry> {
        Ok(OutboxEntry {
            id: r.try_get("id")?,
            dedup_key: r.try_get("dedup_key")?,
            notifier: r.try_get("notifier")?,
            notice: r.try_get("notice")?,
            message: r.try_get("message")?,
            status: OutboxStatus::parse(&r.try_get::<String, _>("status")?),
            attempts: r.try_get::<i64, _>("attempts")? as u32,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            finished_at: r.try_get("finished_at")?,
        })
    }

    /// A group's row, without its members.
    fn group_of(r: &$row) -> Result<crate::GroupRow> {
        Ok(crate::GroupRow {
            group_key: r.try_get("group_key")?,
            next_wake: r.try_get("next_wake")?,
            updated_at: r.try_get("updated_at")?,
            state: r.try_get("state")?,
            members: Vec::new(),
        })
    }

    fn silence_of(r: &$row) -> Result<SilenceRow> {
        Ok(SilenceRow {
            id: r.try_get("id")?,
            matchers: r.try_get("matchers")?,
            ends_at: r.try_get("ends_at")?,
            created_at: r.try_get("created_at")?,
            comment: r.try_get("comment")?,
            created_by: r.try_get("created_by")?,
            starts_at: r.try_get("starts_at")?,
            until_resolved: r.try_get::<i64, _>("until_resolved")? != 0,
        })
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

    fn user_of(row: &$row) -> Result<crate::UserRow> {
        Ok(crate::UserRow {
            id: row.try_get("id")?,
            display_name: row.try_get("display_name")?,
            email: row.try_get("email")?,
            kind: row.try_get("kind")?,
            source: row.try_get("source")?,
            role: row.try_get("role")?,
            password_hash: row.try_get("password_hash")?,
            totp_sealed: row.try_get("totp_sealed")?,
            totp_last_step: row.try_get("totp_last_step")?,
            failed_sign_ins: row.try_get::<i64, _>("failed_sign_ins")?.max(0) as u32,
            last_failed_at: row.try_get("last_failed_at")?,
            paused_until: row.try_get("paused_until")?,
            last_sign_in_at: row.try_get("last_sign_in_at")?,
            created_at: row.try_get("created_at")?,
            disabled_at: row.try_get("disabled_at")?,
            external_id: row.try_get("external_id")?,
            groups: crate::users::groups_of(&row.try_get::<String, _>("provider_groups")?),
        })
    }

    /// Binds an account's columns in the order of `users`' statements.
    fn bind_user<'q>(
        q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
        u: &'q crate::UserRow,
    ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
        q.bind(&u.id)
            .bind(&u.display_name)
            .bind(&u.email)
            .bind(&u.kind)
            .bind(&u.source)
            .bind(&u.role)
            .bind(&u.password_hash)
            .bind(&u.totp_sealed)
            .bind(u.totp_last_step)
            .bind(i64::from(u.failed_sign_ins))
            .bind(u.last_failed_at)
            .bind(u.paused_until)
            .bind(u.last_sign_in_at)
            .bind(u.created_at)
            .bind(u.disabled_at)
            .bind(&u.external_id)
            .bind(crate::users::groups_text(&u.groups))
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

    /// The `WHERE` conditions of an instance listing (after `WHERE 1 = 1`).
    fn push_filter(q: &mut QueryBuilder<$db>, filter: &InstanceFilter) {
        if let Some(name) = &filter.workflow_name {
            q.push(" AND workflow_name = ").push_bind(name);
        }
        match filter.workflow_names.as_deref() {
            Some([]) => {
                q.push(" AND 1 = 0");
            }
            Some(names) => {
                q.push(" AND workflow_name IN (");
                let mut list = q.separated(", ");
                for name in names {
                    list.push_bind(name);
                }
                q.push(")");
            }
            None => {}
        }
        if !filter.statuses.is_empty() {
            q.push(" AND status IN (");
            let mut list = q.separated(", ");
            for status in &filter.statuses {
                list.push_bind(status.as_str());
            }
            q.push(")");
        }
        if let Some(id) = &filter.id {
            q.push(" AND id = ").push_bind(id);
        }
        if let Some(correlation_id) = &filter.correlation_id {
            q.push(" AND correlation_id = ").push_bind(correlation_id);
        }
        if let Some(text) = &filter.text {
            // A compressed state is searched by the caller ([`crate::list_with_text`]).
            q.push(concat!(" AND (state ", $like, " ")).push_bind(crate::like_pattern(text)).push(" ESCAPE '\\' OR state_z IS NOT NULL)");
        }
        if let Some(from) = filter.created_from {
            q.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = filter.created_to {
            q.push(" AND created_at < ").push_bind(to);
        }
        if let Some((at, id)) = &filter.after {
            // `created_at <= at` first: a range the index on (created_at DESC, id) starts from.
            q.push(" AND created_at <= ").push_bind(*at);
            q.push(" AND (created_at < ").push_bind(*at).push(" OR (created_at = ").push_bind(*at);
            q.push(" AND id > ").push_bind(id).push("))");
        }
    }

    /// Every statement of an alert batch but its outbox entries and inbox messages, in the
    /// order they run: `each` is given one statement at a time, to push into a builder.
    fn for_each_alert_statement(batch: &AlertBatch, each: &mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>))) {
        for chunk in batch.alerts.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_alert_rows(q, chunk));
        }
        for chunk in batch.groups.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_group_rows(q, chunk));
        }
        for chunk in batch.group_members.chunks(ROWS_PER_STATEMENT) {
            each(&|q| push_members(q, chunk));
        }
        for chunk in batch.group_members_gone.chunks(ROWS_PER_STATEMENT) {
            each(&|q| {
                q.push("DELETE FROM alert_group_members WHERE id IN (");
                let mut list = q.separated(", ");
                for (_, id) in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
            });
        }
        for chunk in batch.groups_gone.chunks(ROWS_PER_STATEMENT) {
            each(&|q| {
                q.push("DELETE FROM alert_groups WHERE group_key IN (");
                let mut list = q.separated(", ");
                for key in chunk {
                    list.push_bind(key);
                }
                q.push(")");
            });
        }
        for_each_delivery_statement(&batch.deliveries, each);
    }

    /// Inserts or replaces alert rows.
    fn push_alert_rows(q: &mut QueryBuilder<$db>, rows: &[AlertRow]) {
        q.push("INSERT INTO alerts (dedup_key, name, condition, firing_since, last_notified, acknowledged, next_wake, updated_at, part, state) ");
        q.push_values(rows, |mut b, a| {
            b.push_bind(&a.dedup_key)
                .push_bind(&a.name)
                .push_bind(&a.condition)
                .push_bind(a.firing_since)
                .push_bind(a.last_notified)
                .push_bind(a.acknowledged as i64)
                .push_bind(a.next_wake)
                .push_bind(a.updated_at)
                .push_bind(partition_of(&a.dedup_key) as i64)
                .push_bind(&a.state);
        });
        q.push(
            " ON CONFLICT (dedup_key) DO UPDATE SET name = excluded.name, condition = excluded.condition, \
             firing_since = excluded.firing_since, last_notified = excluded.last_notified, acknowledged = excluded.acknowledged, \
             next_wake = excluded.next_wake, updated_at = excluded.updated_at, state = excluded.state",
        );
    }

    /// Adds outbox entries, pending.
    fn push_outbox_rows(q: &mut QueryBuilder<$db>, entries: &[crate::NewOutboxEntry]) {
        q.push("INSERT INTO outbox (dedup_key, notifier, notice, message, status, attempts, next_attempt_at, created_at, part) ");
        q.push_values(entries, |mut b, e| {
            b.push_bind(&e.dedup_key)
                .push_bind(&e.notifier)
                .push_bind(&e.notice)
                .push_bind(&e.message)
                .push_bind("pending")
                .push_bind(0i64)
                .push_bind(e.created_at)
                .push_bind(e.created_at)
                .push_bind(partition_of(&e.dedup_key) as i64);
        });
    }

    /// Inserts or replaces notification groups' headers.
    fn push_group_rows(q: &mut QueryBuilder<$db>, groups: &[crate::GroupRow]) {
        q.push("INSERT INTO alert_groups (group_key, part, next_wake, updated_at, state) ");
        q.push_values(groups, |mut b, g| {
            b.push_bind(&g.group_key)
                .push_bind(partition_of(&g.group_key) as i64)
                .push_bind(g.next_wake)
                .push_bind(g.updated_at)
                .push_bind(&g.state);
        });
        q.push(
            " ON CONFLICT (group_key) DO UPDATE SET next_wake = excluded.next_wake, updated_at = excluded.updated_at, \
             state = excluded.state",
        );
    }

    /// Inserts or replaces groups' alerts, by id.
    fn push_members(q: &mut QueryBuilder<$db>, members: &[crate::MemberRow]) {
        q.push("INSERT INTO alert_group_members (id, group_key, member_key, alert) ");
        q.push_values(members, |mut b, m| {
            b.push_bind(m.id).push_bind(&m.group_key).push_bind(&m.member_key).push_bind(&m.alert);
        });
        q.push(" ON CONFLICT (id) DO UPDATE SET alert = excluded.alert");
    }

    /// Send results: deliveries, the common case, in one statement per delivery time; retries
    /// and failures one each.
    fn for_each_delivery_statement(
        updates: &[(i64, DeliveryUpdate)],
        each: &mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>)),
    ) {
        let mut delivered: std::collections::BTreeMap<Millis, Vec<i64>> = Default::default();
        for (id, update) in updates {
            if let DeliveryUpdate::Delivered { at } = update {
                delivered.entry(*at).or_default().push(*id);
            }
        }
        for (at, ids) in &delivered {
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                each(&|q| {
                    q.push("UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL, finished_at = ");
                    q.push_bind(*at).push(" WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                });
            }
        }
        for (id, update) in updates {
            match update {
                DeliveryUpdate::Delivered { .. } => {}
                DeliveryUpdate::Retry { next_attempt_at, error } => each(&|q| {
                    q.push("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ").push_bind(*next_attempt_at);
                    q.push(", last_error = ").push_bind(error.as_str()).push(" WHERE id = ").push_bind(*id);
                }),
                DeliveryUpdate::Failed { at, error } => each(&|q| {
                    q.push("UPDATE outbox SET status = 'failed', attempts = attempts + 1, finished_at = ").push_bind(*at);
                    q.push(", last_error = ").push_bind(error.as_str()).push(" WHERE id = ").push_bind(*id);
                }),
            }
        }
    }

    async fn apply_deliveries(tx: &mut $conn, updates: &[(i64, DeliveryUpdate)]) -> Result<()> {
        run_each(tx, |each| for_each_delivery_statement(updates, each)).await
    }

    /// Runs each statement a `for_each_*` gives, one after the other, on `tx`.
    async fn run_each(
        tx: &mut $conn,
        for_each: impl FnOnce(&mut dyn FnMut(&dyn Fn(&mut QueryBuilder<$db>))),
    ) -> Result<()> {
        let mut statements: Vec<QueryBuilder<$db>> = Vec::new();
        for_each(&mut |push| {
            let mut q = QueryBuilder::new("");
            push(&mut q);
            statements.push(q);
        });
        for mut q in statements {
            q.build().execute(&mut *tx).await?;
        }
        Ok(())
    }
    };
}

pub(crate) use backend_helpers;
