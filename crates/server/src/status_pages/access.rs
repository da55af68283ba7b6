//! What writing a status page may touch besides the page: a page publishes the state of the
//! monitors it names, and its maintenance windows silence their alerts; its domains take the
//! requests of those hosts ([`crate::status_pages::custom_domain`]). So a caller whose roles are held in teams
//! writes a page only with a role on each monitor it names (read; respond when the page declares
//! maintenance), and domains need the write role everywhere. No page may take a name the server
//! itself answers to.

use vigil_core::principal::Role;
use vigil_core::status_page::StatusPageDef;

use crate::AppState;
use crate::access::Access;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The page `text` describes, when it reads (an invalid one is refused, with its problems, by
/// the store's own check).
fn read(text: &str) -> Option<StatusPageDef> {
    let value = vigil_core::config::parse_text(std::path::Path::new("page.yaml"), text).ok()?;
    vigil_core::status_page::build_status_page(&value).0
}

/// Refuses page `text` when the caller may not publish what it names (see the module).
pub(crate) async fn check_page_text(app: &AppState, access: &Access, text: &str) -> ApiResult<()> {
    let Some(page) = read(text) else { return Ok(()) };
    for (i, domain) in page.domains.iter().enumerate() {
        if is_own_name(app, domain) {
            let msg = format!("`domains[{i}]`: `{domain}` is a name of this server (its API and web UI answer there)");
            return Err(ApiError::new(ErrorCode::InvalidRequest, msg));
        }
    }
    if !page.domains.is_empty() && !access.everywhere(Role::Write) {
        let msg = "a page's `domains` take every request to those hosts: they need the `write` role everywhere";
        return Err(ApiError::new(ErrorCode::Forbidden, msg));
    }
    let need = if page.maintenance.is_empty() { Role::Read } else { Role::Respond };
    check_page_monitors(app, access, &page, need).await
}

/// Refuses unless the caller has `need` on every monitor page `page` shows (a maintenance window
/// silences them: respond).
pub(crate) async fn check_page_monitors(
    app: &AppState,
    access: &Access,
    page: &StatusPageDef,
    need: Role,
) -> ApiResult<()> {
    if access.everywhere(need) {
        return Ok(());
    }
    for monitor in page.components.iter().flat_map(|c| c.members()) {
        crate::monitors::owned_monitor(app, access, monitor, need).await.map_err(|e| {
            let why = if need == Role::Respond { "silenced during its maintenance" } else { "published" };
            ApiError::new(
                ErrorCode::Forbidden,
                format!("the page shows monitor `{monitor}`, {why} by it: {}", e.message),
            )
        })?;
    }
    Ok(())
}

/// Whether `domain` is a name this server answers to: its listen address, `localhost`, its
/// public URL's host, or one of its allowed hosts.
fn is_own_name(app: &AppState, domain: &str) -> bool {
    let public = app.public_url.as_deref().and_then(|u| u.split_once("://")).map(|(_, rest)| rest);
    let public = public.map(|rest| rest.split(['/', ':']).next().unwrap_or_default());
    let allowed = app.allowed_hosts.0.iter().flatten().map(String::as_str);
    let listen = app.listen.ip().to_string();
    [listen.as_str(), "localhost"].into_iter().chain(public).chain(allowed).any(|h| h.eq_ignore_ascii_case(domain))
}
