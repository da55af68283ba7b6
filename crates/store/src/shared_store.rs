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

        async fn commit(&self, batch: &CommitBatch) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = &batch.fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            for chunk in batch.instances.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO instances (id, workflow_name, workflow_version, status, created_at, updated_at, parent_id, schedule_name, part, correlation_id, state, state_z, ended_at) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.id)
                        .push_bind(&r.workflow_name)
                        .push_bind(r.workflow_version as i64)
                        .push_bind(r.status.as_str())
                        .push_bind(r.created_at)
                        .push_bind(r.updated_at)
                        .push_bind(&r.parent_id)
                        .push_bind(&r.schedule_name)
                        .push_bind(r.part as i64)
                        .push_bind(&r.correlation_id)
                        .push_bind(&r.state)
                        .push_bind(&r.state_z)
                        .push_bind(r.ended_at);
                });
                q.push(" ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, part = excluded.part, state = excluded.state, state_z = excluded.state_z, ended_at = excluded.ended_at");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in batch.started_by_fire.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("UPDATE schedule_fires SET status = 'started' WHERE instance_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
                q.build().execute(&mut *tx).await?;
            }
            cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
            for e in &batch.status_events {
                sqlx::query(crate::status_outbox::INSERT)
                    .bind(e.part as i64)
                    .bind(&e.instance_id)
                    .bind(&e.sink)
                    .bind(&e.body)
                    .bind(e.created_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        }

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

        async fn claim_fires(
            &self,
            claims: &[FireClaim],
            cursors: &[ScheduleCursor],
            fence: Option<&Fence>,
        ) -> Result<Vec<bool>> {
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            let mut claimed = Vec::with_capacity(claims.len());
            for chunk in claims.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "INSERT INTO schedule_fires (schedule_name, scheduled_at, instance_id, executed_at, status) ",
                );
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(&c.schedule)
                        .push_bind(c.scheduled_at)
                        .push_bind(&c.instance_id)
                        .push_bind(c.executed_at)
                        .push_bind(c.status.as_str());
                });
                q.push(" ON CONFLICT DO NOTHING");
                let inserted = q.build().execute(&mut *tx).await?.rows_affected() as usize;
                if inserted == chunk.len() {
                    claimed.extend(std::iter::repeat_n(true, chunk.len()));
                    continue;
                }
                // Some fire times were already claimed (by an earlier run or another node): find ours.
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT instance_id FROM schedule_fires WHERE instance_id IN (");
                let mut list = q.separated(", ");
                for c in chunk {
                    list.push_bind(&c.instance_id);
                }
                q.push(")");
                let ours: std::collections::HashSet<String> = q
                    .build()
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get("instance_id"))
                    .collect::<std::result::Result<_, _>>()?;
                claimed.extend(chunk.iter().map(|c| ours.contains(&c.instance_id)));
            }
            for chunk in cursors.chunks(ROWS_PER_STATEMENT) {
                let now = claims.first().map(|c| c.executed_at).unwrap_or_default();
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("INSERT INTO schedule_state (name, next_fire_at, updated_at) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(&c.schedule).push_bind(c.next_fire_at).push_bind(now);
                });
                q.push(" ON CONFLICT (name) DO UPDATE SET next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(claimed)
        }

        async fn commit_alerts(&self, batch: &AlertBatch) -> Result<Vec<i64>> {
            // The usual batches go to the database in one piece where the backend can send them
            // so (`commit_alerts_at_once`): one hand-off instead of one per statement.
            if let Some(ids) = self.commit_alerts_at_once(batch).await? {
                return Ok(ids);
            }
            let mut tx = self.writer.begin().await?;
            if let Some(fence) = &batch.fence {
                cluster::check_fence(&mut tx, fence).await?;
            }
            run_each(&mut tx, |each| for_each_alert_statement(batch, each)).await?;
            let mut ids = Vec::with_capacity(batch.outbox.len());
            for chunk in batch.outbox.chunks(ROWS_PER_STATEMENT) {
                let mut q = QueryBuilder::new("");
                push_outbox_rows(&mut q, chunk);
                ids.extend(Self::insert_outbox(q, &mut tx, chunk.len()).await?);
            }
            cluster::remove_inbox(&mut tx, &batch.inbox_done).await?;
            cluster::insert_inbox(&mut tx, &batch.inbox_out).await?;
            tx.commit().await?;
            Ok(ids)
        }

        async fn put_silence(&self, silence: &SilenceRow) -> Result<()> {
            sqlx::query(
                "INSERT INTO silences (id, matchers, ends_at, created_at, comment, created_by, starts_at, until_resolved) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, ends_at = excluded.ends_at, comment = excluded.comment, \
                 created_by = excluded.created_by, starts_at = excluded.starts_at, until_resolved = excluded.until_resolved",
            )
            .bind(&silence.id)
            .bind(&silence.matchers)
            .bind(silence.ends_at)
            .bind(silence.created_at)
            .bind(&silence.comment)
            .bind(&silence.created_by)
            .bind(silence.starts_at)
            .bind(i64::from(silence.until_resolved))
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn clear_ack_requests(&self, keys: &[String]) -> Result<()> {
            for chunk in keys.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> =
                    QueryBuilder::new("DELETE FROM alert_ack_requests WHERE dedup_key IN (");
                let mut list = q.separated(", ");
                for k in chunk {
                    list.push_bind(k);
                }
                q.push(")");
                q.build().execute(&self.writer).await?;
            }
            Ok(())
        }


        async fn instance(&self, id: &str) -> Result<Option<Instance>> {
            self.instance_json(id).await?.as_deref().map(decode).transpose()
        }

        async fn existing_instances(&self, ids: &[String]) -> Result<Vec<String>> {
            let mut found = Vec::new();
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT id FROM instances WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
                let rows: Vec<String> = q.build_query_scalar().fetch_all(&self.reader).await?;
                found.extend(rows);
            }
            Ok(found)
        }

        async fn instance_json(&self, id: &str) -> Result<Option<String>> {
            let row: Option<(String, Option<Vec<u8>>)> =
                sqlx::query_as("SELECT state, state_z FROM instances WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.reader)
                    .await?;
            row.map(|(state, z)| crate::state_codec::state_of(state, z)).transpose()
        }

        async fn unfinished_instances(&self) -> Result<Vec<Instance>> {
            let rows: Vec<String> =
                sqlx::query_scalar("SELECT state FROM instances WHERE status IN ('RUNNING', 'PAUSED') ORDER BY created_at")
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter().map(|s| decode(s)).collect()
        }

        async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
            self.list_instances_impl(filter).await
        }

        async fn purge_instances(&self, filter: &InstanceFilter) -> Result<Vec<String>> {
            self.purge_instances_impl(filter).await
        }

        async fn count_instances(&self) -> Result<u64> {
            self.count_instances_impl().await
        }

        async fn purge_ended(&self, rule: &crate::PurgeRule, limit: u32) -> Result<u64> {
            self.purge_ended_impl(rule, limit).await
        }

        async fn purge_beyond_last(&self, workflow: &str, keep: u32, parts: Option<&[u32]>, limit: u32) -> Result<u64> {
            self.purge_beyond_last_impl(workflow, keep, parts, limit).await
        }

        async fn purge_resolved_alerts(&self, before: Millis, parts: Option<&[u32]>, limit: u32) -> Result<Vec<String>> {
            self.purge_resolved_alerts_impl(before, parts, limit).await
        }

        async fn prune_fires(&self, before: Millis, limit: u32) -> Result<u64> {
            self.prune_fires_impl(before, limit).await
        }

        async fn purge_instance(&self, id: &str) -> Result<bool> {
            let done = sqlx::query("DELETE FROM instances WHERE id = $1 AND status NOT IN ('RUNNING', 'PAUSED')")
                .bind(id)
                .execute(&self.writer)
                .await?;
            Ok(done.rows_affected() > 0)
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

        async fn fire_lags(&self, since: Millis) -> Result<Vec<Millis>> {
            Ok(sqlx::query_scalar(
                "SELECT executed_at - scheduled_at FROM schedule_fires WHERE scheduled_at >= $1 ORDER BY scheduled_at DESC LIMIT 10000",
            )
            .bind(since)
            .fetch_all(&self.reader)
            .await?)
        }

        async fn put_token(&self, token: &TokenRow) -> Result<()> {
            sqlx::query(
                "INSERT INTO api_tokens (id, name, role, secret_hash, created_at, revoked_at, grants, user_id, expires_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&token.id)
            .bind(&token.name)
            .bind(&token.role)
            .bind(&token.secret_hash)
            .bind(token.created_at)
            .bind(token.revoked_at)
            .bind(token.grants.join(","))
            .bind(&token.user_id)
            .bind(token.expires_at)
            .bind(token.last_used_at)
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn tokens(&self) -> Result<Vec<TokenRow>> {
            let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at, id").fetch_all(&self.reader).await?;
            rows.iter()
                .map(|r| {
                    Ok(TokenRow {
                        id: r.try_get("id")?,
                        name: r.try_get("name")?,
                        role: r.try_get("role")?,
                        secret_hash: r.try_get("secret_hash")?,
                        created_at: r.try_get("created_at")?,
                        revoked_at: r.try_get("revoked_at")?,
                        grants: split_grants(&r.try_get::<String, _>("grants")?),
                        user_id: r.try_get("user_id")?,
                        expires_at: r.try_get("expires_at")?,
                        last_used_at: r.try_get("last_used_at")?,
                    })
                })
                .collect()
        }

        async fn revoke_token(&self, id: &str, at: Millis) -> Result<bool> {
            let mut tx = self.writer.begin().await?;
            let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(crate::sessions::DELETE_OF_TOKEN).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        }

        async fn touch_token(&self, id: &str, at: Millis) -> Result<()> {
            sqlx::query(crate::users::TOUCH_TOKEN).bind(id).bind(at).execute(&self.writer).await?;
            Ok(())
        }

        async fn put_user(&self, user: &crate::UserRow, end_sessions: bool) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            bind_user(sqlx::query(crate::users::UPSERT), user).execute(&mut *tx).await?;
            if end_sessions {
                sqlx::query(crate::users::DELETE_SESSIONS).bind(&user.id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn add_user(&self, user: &crate::UserRow) -> Result<bool> {
            let done = bind_user(sqlx::query(crate::users::INSERT_NEW), user).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }

        async fn user(&self, id: &str) -> Result<Option<crate::UserRow>> {
            let row = sqlx::query(crate::users::SELECT_ONE).bind(id).fetch_optional(&self.writer).await?;
            row.map(|r| user_of(&r)).transpose()
        }

        async fn users(&self) -> Result<Vec<crate::UserRow>> {
            let rows = sqlx::query(crate::users::SELECT_ALL).fetch_all(&self.reader).await?;
            rows.iter().map(user_of).collect()
        }

        async fn reserve_sign_in(&self, id: &str, at: Millis, free: u32, pause_until: Millis) -> Result<Option<u32>> {
            let count: Option<i64> = sqlx::query_scalar(crate::users::RESERVE)
                .bind(id)
                .bind(at)
                .bind(i64::from(free))
                .bind(pause_until)
                .fetch_optional(&self.writer)
                .await?;
            Ok(count.map(|c| c.max(0) as u32))
        }

        async fn pause_sign_ins(&self, id: &str, until: Millis) -> Result<()> {
            sqlx::query(crate::users::PAUSE).bind(id).bind(until).execute(&self.writer).await?;
            Ok(())
        }

        async fn set_password(&self, id: &str, hash: Option<&str>) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            sqlx::query(crate::users::SET_PASSWORD).bind(id).bind(hash).execute(&mut *tx).await?;
            sqlx::query(crate::users::DELETE_SESSIONS).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn set_totp(&self, id: &str, sealed: Option<&str>, end_sessions: bool) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            sqlx::query(crate::users::SET_TOTP).bind(id).bind(sealed).execute(&mut *tx).await?;
            if end_sessions {
                sqlx::query(crate::users::DELETE_SESSIONS).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn user_signed_in(&self, id: &str, at: Millis) -> Result<()> {
            sqlx::query(crate::users::SIGNED_IN).bind(id).bind(at).execute(&self.writer).await?;
            Ok(())
        }

        async fn claim_totp_step(&self, id: &str, step: i64) -> Result<bool> {
            let done = sqlx::query(crate::users::CLAIM_STEP).bind(id).bind(step).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }

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

        async fn keep_check_evidence(&self, e: &crate::CheckEvidence) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            sqlx::query(crate::evidence::INSERT)
                .bind(&e.monitor)
                .bind(e.at)
                .bind(&e.note)
                .bind(&e.console)
                .bind(&e.screenshot)
                .execute(&mut *tx)
                .await?;
            sqlx::query(crate::evidence::PRUNE)
                .bind(&e.monitor)
                .bind(crate::evidence::KEPT_PER_MONITOR)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn check_evidence(&self, monitor: &str, limit: u32) -> Result<Vec<crate::CheckEvidence>> {
            let rows = sqlx::query(crate::evidence::SELECT)
                .bind(monitor)
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::CheckEvidence {
                        monitor: r.try_get("monitor")?,
                        at: r.try_get("at")?,
                        note: r.try_get("note")?,
                        console: r.try_get("console")?,
                        screenshot: Vec::new(),
                        screenshot_bytes: r.try_get("screenshot_bytes")?,
                    })
                })
                .collect()
        }

        async fn prune_check_evidence(&self, before: Millis) -> Result<u64> {
            let done = sqlx::query(crate::evidence::PRUNE_OLDER).bind(before).execute(&self.writer).await?;
            Ok(done.rows_affected())
        }

        async fn check_screenshot(&self, monitor: &str, at: Millis) -> Result<Option<Vec<u8>>> {
            let row = sqlx::query(crate::evidence::SCREENSHOT)
                .bind(monitor)
                .bind(at)
                .fetch_optional(&self.reader)
                .await?;
            Ok(row.map(|r| r.try_get("screenshot")).transpose()?)
        }

        async fn want_monitor_live(&self, monitor: &str, until: Millis) -> Result<Option<crate::MonitorLiveRow>> {
            let (body, written_at): (Option<String>, Option<i64>) = sqlx::query_as(crate::monitor_live::WANT)
                .bind(monitor)
                .bind(until)
                .fetch_one(&self.writer)
                .await?;
            Ok(body.zip(written_at).map(|(body, written_at)| crate::MonitorLiveRow { body, written_at }))
        }

        async fn wanted_monitor_live(&self, now: Millis) -> Result<Vec<String>> {
            Ok(sqlx::query_scalar(crate::monitor_live::WANTED).bind(now).fetch_all(&self.reader).await?)
        }

        async fn put_monitor_live(&self, rows: &[(String, String)], at: Millis) -> Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let mut tx = self.writer.begin().await?;
            for (monitor, body) in rows {
                sqlx::query(crate::monitor_live::WRITE).bind(monitor).bind(body).bind(at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn forget_monitor_live(&self, before: Millis) -> Result<()> {
            sqlx::query(crate::monitor_live::FORGET).bind(before).execute(&self.writer).await?;
            Ok(())
        }

        async fn put_session(&self, session: &crate::SessionRow) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            sqlx::query(crate::sessions::DELETE_EXPIRED).bind(session.created_at).execute(&mut *tx).await?;
            sqlx::query(crate::sessions::INSERT)
                .bind(&session.id_hash)
                .bind(&session.token_id)
                .bind(session.created_at)
                .bind(session.expires_at)
                .bind(&session.user_id)
                .bind(&session.provider)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<crate::SessionRow>> {
            let row =
                sqlx::query(crate::sessions::SELECT_LIVE).bind(id_hash).bind(now).fetch_optional(&self.reader).await?;
            row.map(|r| {
                Ok(crate::SessionRow {
                    id_hash: r.try_get("id_hash")?,
                    token_id: r.try_get("token_id")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                    user_id: r.try_get("user_id")?,
                    provider: r.try_get("provider")?,
                })
            })
            .transpose()
        }

        async fn delete_session(&self, id_hash: &str) -> Result<bool> {
            let done = sqlx::query(crate::sessions::DELETE).bind(id_hash).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }

        async fn refresh_signed_in(&self, r: &crate::AccountRefresh) -> Result<bool> {
            let done = sqlx::query(crate::users::REFRESH_SIGNED_IN)
                .bind(&r.id)
                .bind(&r.external_id)
                .bind(&r.display_name)
                .bind(&r.email)
                .bind(crate::users::groups_text(&r.groups))
                .bind(r.role.is_some())
                .bind(r.role.clone().flatten())
                .execute(&self.writer)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn claim_account(&self, id: &str, marker: &str, external_id: &str, source: &str) -> Result<bool> {
            let done = sqlx::query(crate::users::CLAIM_ACCOUNT)
                .bind(id)
                .bind(external_id)
                .bind(source)
                .bind(marker)
                .execute(&self.writer)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn append_audit(&self, row: &crate::AuditRow) -> Result<i64> {
            let id: i64 = sqlx::query_scalar(crate::audit::INSERT)
                .bind(row.at)
                .bind(&row.actor)
                .bind(&row.source)
                .bind(&row.address)
                .bind(&row.action)
                .bind(&row.kind)
                .bind(&row.name)
                .bind(&row.change)
                .fetch_one(&self.writer)
                .await?;
            Ok(id)
        }

        async fn audit_log(&self, query: &crate::AuditQuery) -> Result<Vec<crate::AuditRow>> {
            let rows = sqlx::query(crate::audit::SELECT)
                .bind(&query.kind)
                .bind(&query.name)
                .bind(&query.actor)
                .bind(query.since)
                .bind(query.before_id)
                .bind(i64::from(query.limit))
                .fetch_all(&self.reader)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::AuditRow {
                        id: r.try_get("id")?,
                        at: r.try_get("at")?,
                        actor: r.try_get("actor")?,
                        source: r.try_get("source")?,
                        address: r.try_get("address")?,
                        action: r.try_get("action")?,
                        kind: r.try_get("kind")?,
                        name: r.try_get("name")?,
                        change: r.try_get("change")?,
                    })
                })
                .collect()
        }

        async fn prune_audit(&self, before: Millis, limit: u32) -> Result<u64> {
            let done =
                sqlx::query(crate::audit::PRUNE).bind(before).bind(i64::from(limit)).execute(&self.writer).await?;
            Ok(done.rows_affected())
        }

        async fn put_sign_in_state(&self, state: &crate::SignInStateRow, now: Millis) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            sqlx::query(crate::sessions::DELETE_EXPIRED_SIGN_IN_STATES).bind(now).execute(&mut *tx).await?;
            sqlx::query(crate::sessions::INSERT_SIGN_IN_STATE)
                .bind(&state.state_hash)
                .bind(&state.provider)
                .bind(&state.nonce)
                .bind(&state.verifier)
                .bind(&state.binding_hash)
                .bind(&state.next)
                .bind(state.expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }

        async fn take_sign_in_state(&self, state_hash: &str, now: Millis) -> Result<Option<crate::SignInStateRow>> {
            let row =
                sqlx::query(crate::sessions::TAKE_SIGN_IN_STATE).bind(state_hash).fetch_optional(&self.writer).await?;
            let Some(r) = row else { return Ok(None) };
            let state = crate::SignInStateRow {
                state_hash: r.try_get("state_hash")?,
                provider: r.try_get("provider")?,
                nonce: r.try_get("nonce")?,
                verifier: r.try_get("verifier")?,
                binding_hash: r.try_get("binding_hash")?,
                next: r.try_get("next")?,
                expires_at: r.try_get("expires_at")?,
            };
            Ok((state.expires_at > now).then_some(state))
        }

        async fn schedule_cursors(&self) -> Result<Vec<ScheduleCursor>> {
            let rows = sqlx::query("SELECT name, next_fire_at FROM schedule_state").fetch_all(&self.reader).await?;
            rows.iter()
                .map(|r| {
                    Ok(ScheduleCursor {
                        schedule: r.try_get("name")?,
                        next_fire_at: r.try_get::<Option<Millis>, _>("next_fire_at")?,
                    })
                })
                .collect()
        }

        async fn unstarted_fires(&self) -> Result<Vec<FireClaim>> {
            let rows = sqlx::query("SELECT * FROM schedule_fires WHERE status = 'claimed' ORDER BY scheduled_at")
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(fire_of).collect()
        }

        async fn fires(&self, schedule: &str, limit: u32) -> Result<Vec<FireClaim>> {
            let rows =
                sqlx::query("SELECT * FROM schedule_fires WHERE schedule_name = $1 ORDER BY scheduled_at DESC LIMIT $2")
                    .bind(schedule)
                    .bind(limit as i64)
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter().map(fire_of).collect()
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

        async fn alert(&self, dedup_key: &str) -> Result<Option<AlertRow>> {
            let row = sqlx::query("SELECT * FROM alerts WHERE dedup_key = $1")
                .bind(dedup_key)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(alert_of).transpose()
        }

        async fn alerts(&self, active_only: bool, limit: u32) -> Result<Vec<AlertRow>> {
            let sql = if active_only {
                "SELECT * FROM alerts WHERE condition IN ('pending', 'firing') ORDER BY updated_at DESC LIMIT $1"
            } else {
                "SELECT * FROM alerts ORDER BY updated_at DESC LIMIT $1"
            };
            let rows = sqlx::query(sql).bind(limit as i64).fetch_all(&self.reader).await?;
            rows.iter().map(alert_of).collect()
        }

        async fn resolved_alerts(&self, limit: u32) -> Result<Vec<AlertRow>> {
            let sql = "SELECT * FROM alerts WHERE condition = 'ok' ORDER BY updated_at DESC LIMIT $1";
            let rows = sqlx::query(sql).bind(limit as i64).fetch_all(&self.reader).await?;
            rows.iter().map(alert_of).collect()
        }

        async fn pending_outbox(&self) -> Result<Vec<OutboxEntry>> {
            let rows =
                sqlx::query("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id").fetch_all(&self.reader).await?;
            rows.iter().map(outbox_of).collect()
        }

        async fn outbox(&self, status: OutboxStatus, limit: u32) -> Result<Vec<OutboxEntry>> {
            let rows = sqlx::query("SELECT * FROM outbox WHERE status = $1 ORDER BY id DESC LIMIT $2")
                .bind(status.as_str())
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(outbox_of).collect()
        }

        async fn alert_outbox(&self, dedup_key: &str, limit: u32) -> Result<Vec<OutboxEntry>> {
            // Through the index on (dedup_key, notifier, id).
            let rows = sqlx::query("SELECT * FROM outbox WHERE dedup_key = $1 ORDER BY id DESC LIMIT $2")
                .bind(dedup_key)
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(outbox_of).collect()
        }

        async fn record_deliveries(&self, updates: &[(i64, DeliveryUpdate)]) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            apply_deliveries(&mut tx, updates).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn silences(&self) -> Result<Vec<SilenceRow>> {
            let rows = sqlx::query("SELECT * FROM silences ORDER BY created_at DESC, id").fetch_all(&self.reader).await?;
            rows.iter().map(silence_of).collect()
        }

        async fn delete_silence(&self, id: &str) -> Result<bool> {
            let done = sqlx::query("DELETE FROM silences WHERE id = $1").bind(id).execute(&self.writer).await?;
            Ok(done.rows_affected() > 0)
        }

        async fn request_ack(&self, dedup_key: &str, at: Millis) -> Result<()> {
            sqlx::query(
                "INSERT INTO alert_ack_requests (dedup_key, requested_at) VALUES ($1, $2) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(dedup_key)
            .bind(at)
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn ack_requests(&self) -> Result<Vec<String>> {
            Ok(sqlx::query_scalar("SELECT dedup_key FROM alert_ack_requests ORDER BY requested_at")
                .fetch_all(&self.reader)
                .await?)
        }

        async fn prune_outbox(&self, before: Millis) -> Result<u64> {
            let done = sqlx::query("DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND finished_at < $1")
                .bind(before)
                .execute(&self.writer)
                .await?;
            Ok(done.rows_affected())
        }

        async fn put_monitor_results(&self, batch: &crate::MonitorBatch) -> Result<()> {
            self.put_monitor_results_impl(batch).await
        }

        async fn monitor_results(&self, monitor: &str) -> Result<Vec<crate::MonitorResultRow>> {
            self.monitor_results_impl(monitor).await
        }

        async fn monitor_results_of(&self, monitors: &[String]) -> Result<Vec<crate::MonitorResultRow>> {
            let mut out = Vec::new();
            for chunk in monitors.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(crate::monitor_results::SELECT_RESULTS_OF);
                let mut list = q.separated(", ");
                for m in chunk {
                    list.push_bind(m);
                }
                q.push(") ORDER BY monitor, series");
                for r in q.build().fetch_all(&self.reader).await? {
                    out.push(crate::monitor_results::result_row!(r));
                }
            }
            Ok(out)
        }

        async fn monitor_history(&self, monitor: &str, since: Millis, limit: u32) -> Result<Vec<crate::MonitorHistoryRow>> {
            self.monitor_history_impl(monitor, since, limit).await
        }

        async fn prune_monitor_history(&self, before: Millis, limit: u32) -> Result<u64> {
            self.prune_monitor_history_impl(before, limit).await
        }

        async fn monitor_rollups(
            &self,
            monitor: &str,
            width: Millis,
            since: Millis,
            limit: u32,
        ) -> Result<Vec<crate::MonitorHistoryRow>> {
            self.monitor_rollups_impl(monitor, width, since, limit).await
        }

        async fn rollup_sums(&self, monitors: &[String], width: Millis, since: Millis) -> Result<Vec<(Millis, u64, u64)>> {
            let mut sums: std::collections::BTreeMap<Millis, (u64, u64)> = Default::default();
            for chunk in monitors.chunks(ROWS_PER_STATEMENT) {
                let mut q: QueryBuilder<$db> = QueryBuilder::new(
                    "SELECT bucket, CAST(SUM(checks) AS BIGINT) AS checks, CAST(SUM(failing) AS BIGINT) AS failing \
                     FROM monitor_rollups WHERE +width = ",
                );
                // `+`: through the key (monitor first), not the age index over every monitor.
                q.push_bind(width).push(" AND +bucket >= ").push_bind(since).push(" AND monitor IN (");
                let mut list = q.separated(", ");
                for m in chunk {
                    list.push_bind(m);
                }
                q.push(") GROUP BY bucket");
                for row in q.build().fetch_all(&self.reader).await? {
                    let at: Millis = row.try_get("bucket")?;
                    let (checks, failing): (i64, i64) = (row.try_get("checks")?, row.try_get("failing")?);
                    let sum = sums.entry(at).or_default();
                    sum.0 += checks.max(0) as u64;
                    sum.1 += failing.max(0) as u64;
                }
            }
            Ok(sums.into_iter().map(|(at, (c, f))| (at, c, f)).collect())
        }

        async fn monitor_uptime(&self, monitor: &str, width: Millis, since: Millis) -> Result<Vec<crate::UptimeRow>> {
            self.monitor_uptime_impl(monitor, width, since).await
        }

        async fn prune_monitor_rollups(&self, scope: &crate::RollupScope, before: Millis, limit: u32) -> Result<u64> {
            self.prune_monitor_rollups_impl(scope, before, limit).await
        }

        async fn record_pings(&self, pings: &[crate::PingRow], now: Millis) -> Result<Vec<crate::HeartbeatRow>> {
            self.record_pings_impl(pings, now).await
        }

        async fn heartbeats(&self, since: Millis) -> Result<Vec<crate::HeartbeatRow>> {
            self.heartbeats_impl(since).await
        }

        async fn pings(&self, monitor: &str, limit: u32) -> Result<Vec<crate::PingRow>> {
            self.pings_impl(monitor, limit).await
        }

        async fn prune_pings(&self, before: Millis, limit: u32) -> Result<u64> {
            self.prune_pings_impl(before, limit).await
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

        async fn unfinished_instances_in(&self, parts: &[u32]) -> Result<Vec<Instance>> {
            self.unfinished_in_impl(parts).await
        }

        async fn alerts_in(&self, parts: &[u32]) -> Result<Vec<AlertRow>> {
            self.alerts_in_impl(parts).await
        }

        async fn pending_outbox_in(&self, parts: &[u32]) -> Result<Vec<OutboxEntry>> {
            self.pending_outbox_in_impl(parts).await
        }

        async fn firing_names(&self, names: &[String]) -> Result<Vec<String>> {
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let mut q: QueryBuilder<$db> =
                QueryBuilder::new("SELECT DISTINCT name FROM alerts WHERE condition = 'firing' AND name IN (");
            let mut list = q.separated(", ");
            for n in names {
                list.push_bind(n);
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.reader).await?;
            rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
        }

        async fn group_member_alerts(&self, limit: u32) -> Result<Vec<(String, String, String)>> {
            let rows = sqlx::query("SELECT group_key, member_key, alert FROM alert_group_members LIMIT $1")
                .bind(limit as i64)
                .fetch_all(&self.reader)
                .await?;
            rows.iter().map(|r| Ok((r.try_get("group_key")?, r.try_get("member_key")?, r.try_get("alert")?))).collect()
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

        async fn alert_group(&self, group_key: &str) -> Result<Option<crate::GroupRow>> {
            let row = sqlx::query("SELECT * FROM alert_groups WHERE group_key = $1")
                .bind(group_key)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(group_of).transpose()
        }

        async fn groups_in(&self, parts: &[u32]) -> Result<Vec<crate::GroupRow>> {
            if parts.is_empty() {
                return Ok(Vec::new());
            }
            let mut q: QueryBuilder<$db> = QueryBuilder::new("SELECT * FROM alert_groups WHERE part IN (");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(")");
            let rows = q.build().fetch_all(&self.reader).await?;
            let mut groups: Vec<crate::GroupRow> = rows.iter().map(group_of).collect::<Result<_>>()?;
            let mut q: QueryBuilder<$db> =
                QueryBuilder::new("SELECT m.id, m.group_key, m.member_key, m.alert FROM alert_group_members m \
                     JOIN alert_groups g ON g.group_key = m.group_key WHERE g.part IN (");
            let mut list = q.separated(", ");
            for p in parts {
                list.push_bind(*p as i64);
            }
            q.push(")");
            let mut members: std::collections::HashMap<String, Vec<crate::MemberRow>> = Default::default();
            for r in q.build().fetch_all(&self.reader).await? {
                let m = crate::MemberRow {
                    id: r.try_get("id")?,
                    group_key: r.try_get("group_key")?,
                    member_key: r.try_get("member_key")?,
                    alert: r.try_get("alert")?,
                };
                members.entry(m.group_key.clone()).or_default().push(m);
            }
            for g in &mut groups {
                g.members = members.remove(&g.group_key).unwrap_or_default();
            }
            Ok(groups)
        }

        async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
            Ok(())
        }

        async fn change_work(&self, changes: &[crate::WorkChange]) -> Result<()> {
            let mut tx = self.writer.begin().await?;
            for change in changes {
                crate::work::apply(&mut tx, change).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn take_work(
            &self,
            task_type: &str,
            count: u32,
            now: Millis,
            claimed_until: Millis,
        ) -> Result<Vec<crate::WorkOffer>> {
            self.take_work_impl(task_type, count, now, claimed_until).await
        }

        async fn work_sizes(&self) -> Result<Vec<(String, u64)>> {
            let rows =
                sqlx::query("SELECT task_type, COUNT(*) AS n FROM work_offers GROUP BY task_type ORDER BY task_type")
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter().map(|r| Ok((r.try_get("task_type")?, r.try_get::<i64, _>("n")? as u64))).collect()
        }

        async fn put_inbox(&self, rows: &[NewInboxRow]) -> Result<()> {
            self.put_inbox_impl(rows).await
        }

        async fn inbox(&self, parts: &[u32], limit: u32) -> Result<Vec<InboxRow>> {
            self.inbox_impl(parts, limit).await
        }

        async fn delete_inbox(&self, ids: &[i64]) -> Result<()> {
            self.delete_inbox_impl(ids).await
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
