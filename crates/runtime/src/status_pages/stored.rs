//! Status pages written through the API or the web UI, beside those of the config directory:
//! each is a definition of kind [`STATUS_PAGE`] in the store (its text as written, YAML or
//! JSON, so an edit shows it again with its comments), checked as a page's file is, with its
//! problems located by line. Every node reads them again every few seconds (and at once after a
//! change of its own), so a page written on one node is served by all. A page of the config
//! directory keeps its slug: one written under it is refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use vigil_core::diagnostic::{Diagnostic, Problem};
use vigil_core::locate::SourceMap;
use vigil_core::status_page::{StatusPageDef, build_status_page};
use vigil_store::{DefinitionRow, StoreError};

use super::StatusPages;

/// The store kind of status pages written through the API or the UI.
pub const STATUS_PAGE: &str = "status_page";

/// How often every node reads the stored pages again.
const EVERY: Duration = Duration::from_secs(2);

/// Why a page could not be written or removed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The text does not make a valid page: its problems, located.
    #[error("the status page has problems: {}", .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Diagnostic>),
    /// A page of the config directory has this slug.
    #[error("status page `{0}` is declared in the config directory: change it there")]
    Declared(String),
    /// No page was written under this slug.
    #[error("no status page `{0}` was written through the API or the UI")]
    NoPage(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The name problems of a page's text are located in.
fn file_of(slug: &str) -> PathBuf {
    PathBuf::from(format!("status-pages/{slug}.yaml"))
}

/// Page text `text`, checked; its problems located in `file`.
fn checked(text: &str, file: &std::path::Path) -> Result<StatusPageDef, Vec<Diagnostic>> {
    let doc = vigil_core::config::parse_text(file, text).map_err(|d| vec![d])?;
    let (def, problems) = build_status_page(&doc);
    let map = SourceMap::build(text);
    let located: Vec<Diagnostic> = problems.into_iter().filter(|p| p.is_error()).map(|p| map.locate(file, p)).collect();
    match def {
        Some(def) if located.is_empty() => Ok(def),
        _ => Err(located),
    }
}

impl StatusPages {
    /// The pages of the config directory and the stored ones, by slug.
    fn merge_pages(&self) {
        let state = &self.state;
        let files = state.file_pages.read().expect("lock").clone();
        let stored = state.stored_pages.read().expect("lock").clone();
        let mut pages: Vec<StatusPageDef> = files.iter().cloned().collect();
        pages.extend(stored.iter().filter(|s| !files.iter().any(|f| f.slug == s.slug)).cloned());
        pages.sort_by(|a, b| a.slug.cmp(&b.slug));
        *self.deps.pages.write().expect("lock") = Arc::new(pages);
        // Components may now show other monitors.
        state.page_days.lock().expect("lock").clear();
    }

    /// Replaces the pages of the config directory (start, reload); the stored ones stay.
    pub fn set_status_pages(&self, pages: Vec<StatusPageDef>) {
        *self.state.file_pages.write().expect("lock") = Arc::new(pages);
        self.merge_pages();
    }

    /// Whether page `slug` comes from the config directory.
    pub fn status_page_from_file(&self, slug: &str) -> bool {
        self.state.file_pages.read().expect("lock").iter().any(|p| p.slug == slug)
    }

    /// Reads the stored pages again; whether they changed. One that no longer reads is left
    /// out (logged).
    pub async fn load_stored_pages(&self) -> Result<bool, StoreError> {
        let rows = self.deps.store.definitions(STATUS_PAGE).await?;
        let mut pages = Vec::with_capacity(rows.len());
        for row in rows {
            match checked(&row.body, &file_of(&row.name)) {
                Ok(page) => pages.push(page),
                Err(problems) => {
                    let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    tracing::error!(page = %row.name, problems = ?said, "A stored status page no longer validates; it is not served.");
                }
            }
        }
        pages.sort_by(|a, b| a.slug.cmp(&b.slug));
        let changed = **self.state.stored_pages.read().expect("lock") != pages;
        if changed {
            *self.state.stored_pages.write().expect("lock") = Arc::new(pages);
            self.merge_pages();
        }
        Ok(changed)
    }

    /// Reads the stored pages every few seconds until the engine stops (the server runs this).
    pub async fn follow_stored_pages_forever(self) {
        loop {
            tokio::time::sleep(EVERY).await;
            if self.deps.stopping.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.load_stored_pages().await {
                tracing::warn!(error = %e, "Could not read the stored status pages; trying again shortly.");
            }
        }
    }

    /// The text page `slug` was written with, when it was written through the API or the UI.
    pub async fn stored_page_text(&self, slug: &str) -> Result<Option<String>, StoreError> {
        Ok(self.deps.store.definitions(STATUS_PAGE).await?.into_iter().find(|r| r.name == slug).map(|r| r.body))
    }

    /// Checks page text `text` (YAML or JSON) and writes it; it is served at once here and
    /// within seconds on every node. `slug`, when given, must be the text's (an edit).
    pub async fn put_status_page(&self, text: &str, slug: Option<&str>) -> Result<StatusPageDef, PageError> {
        let file = file_of(slug.unwrap_or("new"));
        let page = checked(text, &file).map_err(PageError::Invalid)?;
        let refused = |p: Problem| PageError::Invalid(vec![SourceMap::build(text).locate(&file, p)]);
        if let Some(slug) = slug.filter(|s| *s != page.slug) {
            let said = format!("this page is `{slug}`: its slug does not change (write a new page instead)");
            return Err(refused(Problem::error("slug", said)));
        }
        if self.status_page_from_file(&page.slug) {
            return Err(PageError::Declared(page.slug));
        }
        let pages = self.all();
        for (i, domain) in page.domains.iter().enumerate() {
            if let Some(other) = pages.iter().find(|p| p.slug != page.slug && p.domains.contains(domain)) {
                let said = format!("`{domain}` is the domain of status page `{}` too", other.slug);
                return Err(refused(Problem::error(format!("domains[{i}]"), said)));
            }
        }
        let row = DefinitionRow {
            kind: STATUS_PAGE.into(),
            name: page.slug.clone(),
            version: 0,
            body: text.to_string(),
            updated_at: self.now(),
            defined_by: None,
        };
        self.deps.store.put_definition(&row).await?;
        self.load_stored_pages().await?;
        Ok(page)
    }

    /// Removes page `slug` written through the API or the UI.
    pub async fn delete_status_page(&self, slug: &str) -> Result<(), PageError> {
        if self.status_page_from_file(slug) {
            return Err(PageError::Declared(slug.into()));
        }
        if self.deps.store.delete_definition(STATUS_PAGE, slug, None).await? == 0 {
            return Err(PageError::NoPage(slug.into()));
        }
        self.load_stored_pages().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_text_is_checked_as_its_file_would_be_with_lines() {
        let text =
            "slug: acme\ntitle: Acme\ncomponents:\n  - name: Web\n    monitor: web\n  - name: Web\n    monitor: api\n";
        let problems = checked(text, &file_of("acme")).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].line, problems[0].path.as_str()), (6, "components[1].name"), "{}", problems[0]);
        let broken = checked("slug: acme\ntitle: [\n", &file_of("acme")).unwrap_err();
        assert!(broken[0].message.starts_with("invalid YAML"), "{}", broken[0]);
        let page = checked(
            r#"{"slug": "acme", "title": "Acme", "components": [{"name": "Web", "monitor": "web"}]}"#,
            &file_of("acme"),
        )
        .unwrap();
        assert_eq!(page.slug, "acme");
    }
}
