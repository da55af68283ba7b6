//! Accounts, their API tokens, UI sessions and sign-ins in flight, and the audit log.
//! [`AccountStore`] sums the traits below; a backend gets them all from one [`accounts_store!`]
//! line, whose SQL is the same on SQLite and PostgreSQL: each trait's methods are written once, in
//! the macro named after it, and expanded in each backend's module, where its row helpers are.

use async_trait::async_trait;
use vigil_core::time::Millis;

use crate::Result;
use crate::{AccountRefresh, AuditQuery, AuditRow, SessionRow, SignInStateRow, TokenRow, UserRow};

/// API tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Adds an API token.
    async fn put_token(&self, token: &TokenRow) -> Result<()>;
    /// Every API token, revoked ones included, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRow>>;
    /// Revokes token `id` and ends its UI sessions; false when it does not exist or was
    /// already revoked.
    async fn revoke_token(&self, id: &str, at: Millis) -> Result<bool>;
    /// Records that token `id` was used at `at`.
    async fn touch_token(&self, id: &str, at: Millis) -> Result<()>;
}

/// Accounts: who they are, their passwords and one-time codes, their sign-in tries.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Adds an account, or changes what an admin changes of it (not its password, code or
    /// sign-in counts); ends its UI sessions when `end_sessions` (the account disabled).
    async fn put_user(&self, user: &UserRow, end_sessions: bool) -> Result<()>;
    /// Adds an account unless one has its id (a first sign-in on two nodes at once); false when
    /// one had.
    async fn add_user(&self, user: &UserRow) -> Result<bool>;
    /// The account `id`.
    async fn user(&self, id: &str) -> Result<Option<UserRow>>;
    /// Every account, by id.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// Takes a sign-in try for `id` at `at`, before its password is checked (a success clears
    /// it): the tries in a row, this one included; `None` when the account is paused or gone.
    /// From the `free`th try in a row it also pauses the account until `pause_until`, at once.
    async fn reserve_sign_in(&self, id: &str, at: Millis, free: u32, pause_until: Millis) -> Result<Option<u32>>;
    /// Pauses `id`'s sign-ins until `until` (a longer pause is kept).
    async fn pause_sign_ins(&self, id: &str, until: Millis) -> Result<()>;
    /// Sets or removes `id`'s password hash, and ends its UI sessions.
    async fn set_password(&self, id: &str, hash: Option<&str>) -> Result<()>;
    /// Sets or removes `id`'s sealed one-time-code secret; ends its UI sessions when
    /// `end_sessions`.
    async fn set_totp(&self, id: &str, sealed: Option<&str>, end_sessions: bool) -> Result<()>;
    /// Records that `id` signed in at `at`.
    async fn user_signed_in(&self, id: &str, at: Millis) -> Result<()>;
    /// Takes one-time-code time step `step` for `id`; false when it, or a later one, was taken.
    async fn claim_totp_step(&self, id: &str, step: i64) -> Result<bool>;
    /// Brings an account up to date at a sign-in through its provider; false when it is disabled
    /// or no longer that provider's person.
    async fn refresh_signed_in(&self, refresh: &AccountRefresh) -> Result<bool>;
    /// Gives account `id`, made by an admin for a provider (`external_id` = `marker`), to the
    /// person `external_id` signing in through it; false when it is not (or no longer) so.
    async fn claim_account(&self, id: &str, marker: &str, external_id: &str, source: &str) -> Result<bool>;
}

/// UI sessions and sign-ins sent to an identity provider.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Adds a UI session, and forgets those that expired by its start.
    async fn put_session(&self, session: &SessionRow) -> Result<()>;
    /// The session whose id hashes to `id_hash`, unless it expired by `now`.
    async fn session(&self, id_hash: &str, now: Millis) -> Result<Option<SessionRow>>;
    /// Ends a session; false when there was none.
    async fn delete_session(&self, id_hash: &str) -> Result<bool>;
    /// Adds a sign-in sent to an identity provider, and forgets those expired by `now`.
    async fn put_sign_in_state(&self, state: &SignInStateRow, now: Millis) -> Result<()>;
    /// Takes (deletes and gives) the pending sign-in whose `state` hashes to `state_hash`, if it
    /// has not expired by `now`: once, on any node.
    async fn take_sign_in_state(&self, state_hash: &str, now: Millis) -> Result<Option<SignInStateRow>>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records a change in the audit log; gives its id.
    async fn append_audit(&self, row: &AuditRow) -> Result<i64>;
    /// Audit rows matching `query`, newest first.
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// Deletes at most `limit` audit rows recorded before `before`; how many went.
    async fn prune_audit(&self, before: Millis, limit: u32) -> Result<u64>;
}

/// Accounts, their API tokens, UI sessions and sign-ins in flight, and the audit log.
pub trait AccountStore: TokenStore + UserStore + SessionStore + AuditStore {}

impl<S: TokenStore + UserStore + SessionStore + AuditStore + ?Sized> AccountStore for S {}

/// `impl TokenStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! token_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::accounts::TokenStore for $store {
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
        }
    };
}

pub(crate) use token_store;

/// `impl UserStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! user_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::accounts::UserStore for $store {
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

            async fn reserve_sign_in(
                &self,
                id: &str,
                at: Millis,
                free: u32,
                pause_until: Millis,
            ) -> Result<Option<u32>> {
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
        }
    };
}

pub(crate) use user_store;

/// `impl SessionStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! session_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::accounts::SessionStore for $store {
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
                let row = sqlx::query(crate::sessions::SELECT_LIVE)
                    .bind(id_hash)
                    .bind(now)
                    .fetch_optional(&self.reader)
                    .await?;
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
                let row = sqlx::query(crate::sessions::TAKE_SIGN_IN_STATE)
                    .bind(state_hash)
                    .fetch_optional(&self.writer)
                    .await?;
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
        }
    };
}

pub(crate) use session_store;

/// `impl AuditStore for $store`, expanded in a backend's module (its row helpers in scope).
macro_rules! audit_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::accounts::AuditStore for $store {
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
        }
    };
}

pub(crate) use audit_store;

/// Decoding and binding an account's row, for backend rows `$row` and database `$db`. Expanded in each backend's module.
macro_rules! account_rows {
    ($row:ty, $db:ty, $conn:ty, $like:literal) => {
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
    };
}

pub(crate) use account_rows;

/// Implements every trait of this file for backend `$store` of database `$db`.
macro_rules! accounts_store {
    ($store:ty, $db:ty) => {
        $crate::accounts::token_store!($store, $db);
        $crate::accounts::user_store!($store, $db);
        $crate::accounts::session_store!($store, $db);
        $crate::accounts::audit_store!($store, $db);
    };
}

pub(crate) use accounts_store;
