//! API tokens: minted once (`vigil token create`), stored as a SHA-256 of their secret, checked in
//! constant time, and required on every route but `/healthz` and `/readyz` when auth is on.
//!
//! A token reads `vgl_<id>_<secret>`. Roles are ordered: `read` may GET, `respond` may also
//! acknowledge and silence alerts and run a check now, `write` may also change instances and
//! definitions, `admin` may also manage tokens, accounts and secrets.
//!
//! A token may belong to an account ([`crate::accounts`]): it then does no more than the account
//! may when it is used (the lower of the two roles), stops working when the account is disabled,
//! and may end at a time of its own. Each node records a token's last use at most once a minute. Conductor SDKs send a key
//! id and secret to `POST /api/token`; the key id is the token's id and the key secret its secret.
//!
//! Secrets are scoped: a definition (workflow or notifier) written with a token below `admin` may
//! reference only the secrets (`${workflow.secrets.NAME}`) and environment variables
//! (`${env.NAME}`, granted as `env:NAME`) granted to that token (`vigil token create --grant`), so
//! a `write` token cannot send an admin's secret to an endpoint of its choosing. Definitions from
//! the config directory, admin tokens, and a server without auth are not limited.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;
use vigil_core::time::{Clock, Millis};
use vigil_store::{AccountStore, TokenRow, UserRow};

use crate::error::{ApiError, ErrorCode};

/// How long the token list is trusted before it is read again (a revoke takes effect within it).
const REFRESH: Duration = Duration::from_secs(2);
/// The token list is re-read on an unknown id at most this often.
const MISS_REFRESH: Duration = Duration::from_millis(250);
/// A token's last use is written at most this often per node.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

use vigil_core::principal::Principal;
pub use vigil_core::principal::Role;
use vigil_core::team::{Rights, Teams};

/// A new token: the row to store and the token to show once.
pub struct Minted {
    /// To store.
    pub row: TokenRow,
    /// To give to the user; it is not kept.
    pub token: String,
}

/// Who is calling: the role and grants of the token presented. Requests carry it as an extension
/// when auth is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's id.
    pub id: String,
    /// Secret names, and `env:NAME`, the token's definitions may reference.
    pub grants: Vec<String>,
    /// The account acting, if any: a token's owner, or the person signed in to the UI.
    pub user: Option<String>,
    /// Its role on every object and in each team ([`crate::access`] checks them per object).
    pub rights: Rights,
}

impl Caller {
    /// A caller with `role` on everything (a token of no account).
    pub fn everywhere(id: String, role: Role, grants: Vec<String>, user: Option<String>) -> Self {
        Self { id, grants, user, rights: Rights::everywhere(role) }
    }

    /// A caller with `rights`, when it has any role anywhere.
    pub fn with_rights(id: String, grants: Vec<String>, user: Option<String>, rights: Rights) -> Option<Self> {
        rights.best()?;
        Some(Self { id, grants, user, rights })
    }

    /// The best role it has anywhere: a route needing more is refused before it runs.
    pub fn role(&self) -> Role {
        self.rights.best().unwrap_or(Role::Read)
    }

    /// Whether its role on every object is at least `need` (routes that do not check per object
    /// need that).
    pub fn everywhere_at_least(&self, need: Role) -> bool {
        self.rights.everywhere.is_some_and(|r| r >= need)
    }

    /// The principal this caller acts as: what it defines and starts carries it. Only an admin
    /// everywhere is trusted; a team's admin acts as an editor whose definitions may also read
    /// the secrets of the teams it edits.
    pub fn principal(&self) -> Principal {
        let role = if self.everywhere_at_least(Role::Admin) { Role::Admin } else { self.role().min(Role::Write) };
        let teams: Vec<String> =
            self.rights.teams.iter().filter(|(_, r)| **r >= Role::Write).map(|(t, _)| t.clone()).collect();
        // A `write` role held in teams only starts those teams' workflows, at run time too.
        let starts = (!self.everywhere_at_least(Role::Write)).then(|| teams.clone());
        Principal::Token {
            id: self.id.clone(),
            user: self.user.clone(),
            role,
            grants: self.grants.clone(),
            teams,
            starts,
        }
    }

    /// Refuses `doc` (a definition about to be stored) when it references a secret or an
    /// environment variable this caller was not granted.
    pub fn check_references(&self, doc: &serde_json::Value) -> Result<(), ApiError> {
        self.principal().check_references(doc).map_err(|d| ApiError::new(ErrorCode::Forbidden, d.0))
    }
}

/// The principal of a request: its token's, or the system's when auth is off.
pub fn principal(caller: Option<&axum::Extension<Caller>>) -> Principal {
    caller.map_or(Principal::System, |c| c.principal())
}

/// Mints a token named `name` with `role` and `grants`.
pub fn mint(name: &str, role: Role, grants: Vec<String>, now: Millis) -> Minted {
    let mut rng = rand::rng();
    let id = hex(&rng.random::<[u8; 6]>());
    let secret = hex(&rng.random::<[u8; 32]>());
    let row = TokenRow {
        id: id.clone(),
        name: name.to_string(),
        role: role.as_str().into(),
        secret_hash: hash(&secret),
        created_at: now,
        revoked_at: None,
        grants,
        user_id: None,
        expires_at: None,
        last_used_at: None,
    };
    Minted { row, token: format!("vgl_{id}_{secret}") }
}

/// Mints a token of account `user` (it never does more than the account may): refused, saying
/// why, when `role` is above the account's best role now (outside teams, or in `teams`).
pub fn mint_for(
    user: &UserRow,
    teams: &Teams,
    name: &str,
    role: Role,
    grants: Vec<String>,
    expires_at: Option<Millis>,
    now: Millis,
) -> Result<Minted, String> {
    let most = rights_of(user, teams).best();
    if most.is_none_or(|most| role > most) {
        let has = most.map_or("none", Role::as_str);
        return Err(format!("`{}` is `{has}` at most: a token of theirs may not be `{}`", user.id, role.as_str()));
    }
    let mut minted = mint(name, role, grants, now);
    minted.row.user_id = Some(user.id.clone());
    minted.row.expires_at = expires_at;
    Ok(minted)
}

/// What account `user` may do now: its role outside teams and its roles in `teams` (none when
/// it is disabled).
pub fn rights_of(user: &UserRow, teams: &Teams) -> Rights {
    if user.disabled_at.is_some() {
        return Rights::default();
    }
    Rights { everywhere: crate::accounts::role_of(user), teams: teams.memberships(&user.id, &user.groups) }
}

fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// `bytes` as lowercase hex, in one allocation (it runs on every request: token hashes, session
/// ids, CSRF tokens).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Splits `vgl_<id>_<secret>`.
pub fn split(token: &str) -> Option<(&str, &str)> {
    token.strip_prefix("vgl_")?.split_once('_')
}

#[derive(Default)]
struct Cache {
    tokens: HashMap<String, TokenRow>,
    users: HashMap<String, UserRow>,
    read_at: Option<Instant>,
}

/// Checks presented tokens against the stored ones.
pub struct Auth {
    required: bool,
    store: Arc<dyn AccountStore>,
    clock: Arc<dyn Clock>,
    cache: RwLock<Cache>,
    touched: std::sync::Mutex<HashMap<String, Instant>>,
    sign_ins: crate::throttle::SignInThrottle,
    decoys: crate::accounts::decoys::DecoyTries,
    sso_starts: crate::throttle::SignInThrottle,
    teams: TeamsSource,
    providers: crate::sso::provider::Providers,
}

/// Single sign-ons a source may begin without finishing before it waits.
const SSO_STARTS_FREE: u32 = 20;

/// Where the teams in force are read from (the engine's, which a reload replaces).
pub type TeamsSource = Arc<dyn Fn() -> Arc<Teams> + Send + Sync>;

impl Auth {
    /// Auth that is `required` (or not) for the tokens in `store`.
    pub fn new(store: Arc<dyn AccountStore>, required: bool) -> Self {
        Self {
            required,
            store,
            clock: Arc::new(vigil_runtime::SystemClock),
            cache: RwLock::default(),
            touched: Default::default(),
            sign_ins: Default::default(),
            decoys: Default::default(),
            sso_starts: crate::throttle::SignInThrottle::with_free(SSO_STARTS_FREE),
            providers: Default::default(),
            teams: {
                let none = Arc::new(Teams::default());
                Arc::new(move || none.clone())
            },
        }
    }

    /// The same, reading the teams in force from `teams`.
    pub fn with_teams(self, teams: TeamsSource) -> Self {
        Self { teams, ..self }
    }

    /// The teams in force.
    pub fn teams(&self) -> Arc<Teams> {
        (self.teams)()
    }

    /// The same, telling time by `clock` (token expiry, last use).
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// The account tables the tokens and accounts are in.
    pub fn accounts(&self) -> &Arc<dyn AccountStore> {
        &self.store
    }

    /// Whether requests need a token.
    pub fn required(&self) -> bool {
        self.required
    }

    /// The caller holding the token with `id` and `secret`, if it is known, not revoked, and the
    /// secret matches.
    pub async fn check(&self, id: &str, secret: &str) -> Option<Caller> {
        let hashed = hash(secret);
        let caller = self
            .lookup(id, |row, owner| {
                let matches: bool = hashed.as_bytes().ct_eq(row.secret_hash.as_bytes()).into();
                matches.then(|| self.usable(row, owner)).flatten()
            })
            .await??;
        self.touch(&caller.id);
        Some(caller)
    }

    /// The caller holding token `id`, if it is known, not revoked, not expired, and its account
    /// (if any) may act: for a UI session, which proved the token's secret when it began.
    pub async fn caller(&self, id: &str) -> Option<Caller> {
        self.lookup(id, |row, owner| self.usable(row, owner)).await?
    }

    /// The caller a person's UI session stands for: their role now, none when the account is
    /// gone, disabled or has no role.
    pub async fn user_caller(&self, user_id: &str) -> Option<Caller> {
        let user = self.account(user_id).await?;
        let rights = rights_of(&user, &self.teams());
        Caller::with_rights(format!("user:{}", user.id), Vec::new(), Some(user.id), rights)
    }

    /// A token's caller, if it may act now: the lower of its role and its owner's.
    fn usable(&self, row: &TokenRow, owner: Option<&UserRow>) -> Option<Caller> {
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= self.clock.now()) {
            return None;
        }
        let role = Role::parse(&row.role)?;
        if row.user_id.is_none() {
            return Some(Caller::everywhere(row.id.clone(), role, row.grants.clone(), None));
        }
        let rights = rights_of(owner?, &self.teams()).capped(role);
        Caller::with_rights(row.id.clone(), row.grants.clone(), row.user_id.clone(), rights)
    }

    /// Writes that token `id` was used, unless this node wrote it within [`TOUCH_EVERY`].
    fn touch(&self, id: &str) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if touched.get(id).is_some_and(|at| now.duration_since(*at) < TOUCH_EVERY) {
                return;
            }
            touched.insert(id.to_string(), now);
        }
        let (store, id, at) = (self.store.clone(), id.to_string(), self.clock.now());
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id, at).await {
                tracing::warn!(error = %e, token = %id, "Could not record a token's last use.");
            }
        });
    }

    /// Account `id` as last read (within [`REFRESH`]).
    pub async fn account(&self, id: &str) -> Option<UserRow> {
        self.fresh_cache().await;
        self.cache.read().await.users.get(id).cloned()
    }

    /// Forgets what was read, so the next check reads the store (after a change made here).
    pub async fn forget(&self) {
        self.cache.write().await.read_at = None;
    }

    /// The identity providers' documents and keys, as read.
    pub fn providers(&self) -> &crate::sso::provider::Providers {
        &self.providers
    }

    /// Single sign-ons begun and not finished, per source (each writes a pending sign-in).
    pub fn sso_starts(&self) -> &crate::throttle::SignInThrottle {
        &self.sso_starts
    }

    /// Tries on names that are no account, paced as an account's are.
    pub fn decoys(&self) -> &crate::accounts::decoys::DecoyTries {
        &self.decoys
    }

    /// Wrong UI sign-ins per source.
    pub fn sign_ins(&self) -> &crate::throttle::SignInThrottle {
        &self.sign_ins
    }

    /// `with` of token `id` and its owner, as last read (under the cache's read lock, so no row
    /// is copied on a request's path).
    async fn lookup<T>(&self, id: &str, with: impl Fn(&TokenRow, Option<&UserRow>) -> T) -> Option<T> {
        let found = |cache: &Cache| {
            cache.tokens.get(id).map(|row| with(row, row.user_id.as_ref().and_then(|u| cache.users.get(u))))
        };
        {
            let cache = self.cache.read().await;
            let age = cache.read_at.map(|t| t.elapsed());
            let fresh = age.is_some_and(|a| a < REFRESH);
            let recent = age.is_some_and(|a| a < MISS_REFRESH);
            match found(&cache) {
                Some(hit) if fresh => return Some(hit),
                None if recent => return None,
                _ => {}
            }
        }
        self.read_again(MISS_REFRESH).await;
        found(&*self.cache.read().await)
    }

    /// Reads tokens and accounts again if they were read longer than [`REFRESH`] ago (checked
    /// under the read lock first, so requests do not queue on the write lock while it is fresh).
    async fn fresh_cache(&self) {
        if self.cache.read().await.read_at.is_some_and(|t| t.elapsed() < REFRESH) {
            return;
        }
        self.read_again(REFRESH).await;
    }

    /// Reads tokens and accounts again unless they were read within `within`.
    async fn read_again(&self, within: Duration) {
        let mut cache = self.cache.write().await;
        if cache.read_at.is_some_and(|t| t.elapsed() < within) {
            return;
        }
        match tokio::try_join!(self.store.tokens(), self.store.users()) {
            Ok((tokens, users)) => {
                cache.tokens = tokens.into_iter().map(|r| (r.id.clone(), r)).collect();
                cache.users = users.into_iter().map(|u| (u.id.clone(), u)).collect();
                cache.read_at = Some(Instant::now());
            }
            Err(e) => tracing::error!(error = %e, "Could not read API tokens and accounts; using the last read."),
        }
    }
}

/// The role a request needs: reads need `read`; changes need `write`; tokens and secrets need
/// `admin`. Polling a task queue hands out work, so it needs `write` although it is a GET.
fn needed(method: &Method, path: &str) -> Role {
    if path.starts_with("/api/v1/tokens")
        || path.starts_with("/api/v1/users")
        || path.starts_with("/api/v1/audit")
        || path.starts_with("/api/v1/secrets")
        || path.starts_with("/api/secrets")
    {
        return Role::Admin;
    }
    if *method != Method::GET && responds(path) {
        return Role::Respond;
    }
    // Polling hands out work; a page's subscribers are people's addresses.
    if path.starts_with("/api/tasks/poll") || is_starter(path) || is_subscribers(path) {
        return Role::Write;
    }
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => Role::Read,
        _ => Role::Write,
    }
}

/// Whether `path` is a responder's action: acknowledging, silencing (vigil's API and
/// Alertmanager's), or running a check now.
fn responds(path: &str) -> bool {
    path == "/api/v1/alerts/ack"
        || path == "/api/v1/silences"
        || path.starts_with("/api/v1/silences/")
        || path == "/api/v2/silences"
        || path.starts_with("/api/v2/silence/")
        || path
            .strip_prefix("/api/v1/monitors/")
            .is_some_and(|rest| rest.ends_with("/check") && rest.matches('/').count() == 1)
}

/// Whether `path` is a status page's subscribers (`/api/v1/status-pages/{slug}/subscribers...`).
fn is_subscribers(path: &str) -> bool {
    path.strip_prefix("/api/v1/status-pages/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, rest)| rest == "subscribers" || rest.starts_with("subscribers/"))
}

/// Whether `path` is under `/api/` but outside vigil's own APIs: a workflow's HTTP starter, which
/// starts an instance whatever the method.
fn is_starter(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/") else { return false };
    let first = rest.split('/').next().unwrap_or_default();
    !vigil_core::def::trigger::RESERVED_FIRST_SEGMENTS.contains(&first)
}

/// Routes anyone may call: health, the Conductor token exchange (it checks the key itself), pings
/// (the id is the secret), acknowledgement links (the signature is) and public status pages
/// (they show only what their files declare).
fn open(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/api/token")
        || path.starts_with("/ping/")
        || crate::paths::is_ack_path(path)
        || crate::paths::is_status_path(path)
        || crate::paths::is_badge_path(path)
}

/// The token a request carries: `Authorization: Bearer <token>`, or Conductor's
/// `X-Authorization: <token>`.
fn presented(req: &Request) -> Option<&str> {
    let headers = req.headers();
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        return v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(str::trim);
    }
    headers.get("x-authorization").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The middleware for the API: refuses a request without a good enough token when auth is on.
pub async fn require(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    if !auth.required() || open(req.uri().path()) {
        return next.run(req).await;
    }
    let need = needed(req.method(), req.uri().path());
    let caller = match presented(&req).and_then(split) {
        Some((id, secret)) => auth.check(id, secret).await,
        None => None,
    };
    match caller {
        None => ApiError::new(ErrorCode::Unauthorized, "a valid API token is required (Authorization: Bearer vgl_...)")
            .into_response(),
        Some(caller) if !may_enter(&caller, need, req.method(), req.uri().path()) => {
            ApiError::new(ErrorCode::Forbidden, refusal(&caller, need)).into_response()
        }
        Some(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
    }
}

/// Whether `caller` may call a route needing `need`: with that role on everything, or with it in
/// a team on a route that checks each object it acts on ([`crate::paths::checks_objects`]).
/// Every other route stays closed to rights held only in teams.
pub fn may_enter(caller: &Caller, need: Role, method: &Method, path: &str) -> bool {
    caller.everywhere_at_least(need) || (caller.role() >= need && crate::paths::checks_objects(method, path))
}

/// Why a caller may not go on, as a sentence.
pub fn refusal(caller: &Caller, need: Role) -> String {
    match caller.rights.everywhere {
        _ if caller.role() >= need => format!(
            "this needs the `{}` role on everything; this token has it only in its teams ({})",
            need.as_str(),
            caller.rights.teams.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Some(role) => format!("this needs a `{}` token; this one is `{}`", need.as_str(), role.as_str()),
        None => format!("this needs a `{}` token; this one is `{}` at most", need.as_str(), caller.role().as_str()),
    }
}

/// Refuses `doc` when the request's caller may not reference what it references (no caller: auth
/// is off, nothing is limited).
pub fn check_references(caller: Option<&axum::Extension<Caller>>, doc: &serde_json::Value) -> Result<(), ApiError> {
    caller.map_or(Ok(()), |c| c.check_references(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_split_back_and_store_only_a_hash() {
        let m = mint("ci", Role::Write, Vec::new(), 7);
        let (id, secret) = split(&m.token).unwrap();
        assert_eq!(id, m.row.id);
        assert_eq!(m.row.secret_hash, hash(secret));
        assert!(!m.row.secret_hash.contains(secret));
        assert_eq!(secret.len(), 64);
        assert_ne!(mint("ci", Role::Write, Vec::new(), 7).token, m.token);
    }

    #[test]
    fn hashes_read_as_they_were_stored() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash("abc"), sha_abc, "tokens stored before keep matching");
    }

    #[test]
    fn roles_needed_by_route_and_method() {
        assert_eq!(needed(&Method::GET, "/api/v1/instances"), Role::Read);
        assert_eq!(needed(&Method::POST, "/api/v1/instances/x/terminate"), Role::Write);
        assert_eq!(needed(&Method::DELETE, "/api/v1/instances/x"), Role::Write);
        assert_eq!(needed(&Method::GET, "/api/job_status/42"), Role::Write, "a starter starts, whatever the method");
        assert_eq!(needed(&Method::GET, "/api/workflow/x"), Role::Read);
        assert_eq!(needed(&Method::GET, "/runtime/webhooks/durabletask/instances/x"), Role::Read);
        assert_eq!(needed(&Method::POST, "/runtime/webhooks/durabletask/instances/x/terminate"), Role::Write);
        assert_eq!(needed(&Method::GET, "/api/v1/tokens"), Role::Admin);
        assert_eq!(needed(&Method::GET, "/api/v1/status-pages/acme/subscribers"), Role::Write, "addresses");
        assert_eq!(needed(&Method::GET, "/api/v1/status-pages/acme/incidents"), Role::Read);
        assert_eq!(needed(&Method::GET, "/api/tasks/poll/batch/t"), Role::Write);
        assert_eq!(needed(&Method::POST, "/api/v1/alerts/ack"), Role::Respond);
        assert_eq!(needed(&Method::POST, "/api/v1/silences"), Role::Respond);
        assert_eq!(needed(&Method::DELETE, "/api/v1/silences/s1"), Role::Respond);
        assert_eq!(needed(&Method::POST, "/api/v2/silences"), Role::Respond);
        assert_eq!(needed(&Method::DELETE, "/api/v2/silence/abc"), Role::Respond);
        assert_eq!(needed(&Method::POST, "/api/v2/alerts"), Role::Write, "pushing alerts is not responding");
        assert_eq!(needed(&Method::POST, "/api/v1/monitors/web/check"), Role::Respond);
        assert_eq!(needed(&Method::PUT, "/api/v1/monitors/web"), Role::Write);
        assert_eq!(needed(&Method::GET, "/api/v1/users"), Role::Admin);
        assert!(Role::Read < Role::Respond && Role::Respond < Role::Write && Role::Write < Role::Admin);
    }
}

#[cfg(test)]
mod grant_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_write_token_references_only_what_it_was_granted() {
        let caller = Caller::everywhere("t".into(), Role::Write, vec!["pd_key".into(), "env:REGION".into()], None);
        let doc = |s: &str| json!({"tasks": [{"inputParameters": {"k": s}}]});
        assert!(caller.check_references(&doc("${workflow.secrets.pd_key}")).is_ok());
        assert!(caller.check_references(&doc("https://x/${env.REGION}")).is_ok());
        assert!(caller.check_references(&doc("${workflow.input.x}")).is_ok());
        let err = caller.check_references(&doc("${workflow.secrets.db_password}")).unwrap_err();
        assert!(err.message.contains("tasks[0].inputParameters.k") && err.message.contains("--grant db_password"));
        assert!(caller.check_references(&doc("${env.AWS_SECRET_ACCESS_KEY}")).is_err());
        let admin = Caller::everywhere("a".into(), Role::Admin, Vec::new(), None);
        assert!(admin.check_references(&doc("${workflow.secrets.db_password}")).is_ok());
    }
}
