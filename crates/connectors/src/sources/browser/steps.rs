//! What a browser check does on its page, as written and as it runs, and the JavaScript each
//! step evaluates there (pure: a selector in, an expression out).

use serde::Deserialize;

use super::super::SourceProblem;

/// One step of a visit, written as a one-key map: `- waitFor: "#login"`,
/// `- fill: {selector: "#user", text: alice}`, `- click: "button[type=submit]"`,
/// `- expectText: {selector: h1, contains: Welcome}`, `- goto: https://...`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum Step {
    /// Waits until an element matching this CSS selector is shown.
    WaitFor(String),
    /// Types `text` into the element (what it held is cleared first), as keystrokes would.
    Fill {
        /// The field's CSS selector.
        selector: String,
        /// What to type (a `${workflow.secrets.X}` reference is kept out of the evidence).
        text: String,
    },
    /// Clicks the element, with the mouse, at its centre.
    Click(String),
    /// Waits until an element's text (the page's, without `selector`) contains, equals or
    /// matches (a regular expression) what is given: one of the three.
    ExpectText {
        /// The element's CSS selector (default: the page's body).
        #[serde(default)]
        selector: Option<String>,
        /// Text it must contain.
        #[serde(default)]
        contains: Option<String>,
        /// Text it must be (surrounding whitespace ignored).
        #[serde(default)]
        equals: Option<String>,
        /// A regular expression its text must match.
        #[serde(default)]
        matches: Option<String>,
    },
    /// Opens another URL and waits for it to load.
    Goto(String),
}

/// A step as it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Wait until shown.
    WaitFor(String),
    /// Type into.
    Fill(String, String),
    /// Click.
    Click(String),
    /// Wait for text.
    Expect(Option<String>, TextTest),
    /// Open.
    Goto(String),
}

impl PartialEq for TextTest {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TextTest::Contains(a), TextTest::Contains(b)) | (TextTest::Equals(a), TextTest::Equals(b)) => a == b,
            (TextTest::Matches(a), TextTest::Matches(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// What an element's text is checked for.
#[derive(Debug, Clone)]
pub enum TextTest {
    /// Holds this.
    Contains(String),
    /// Is this, trimmed.
    Equals(String),
    /// Matches this.
    Matches(regex_lite::Regex),
}

impl TextTest {
    /// Whether `text` passes.
    pub fn holds(&self, text: &str) -> bool {
        match self {
            TextTest::Contains(s) => text.contains(s.as_str()),
            TextTest::Equals(s) => text.trim() == s.trim(),
            TextTest::Matches(r) => r.is_match(text),
        }
    }

    /// `contains "x"`, as a failure names it.
    pub fn describe(&self) -> String {
        match self {
            TextTest::Contains(s) => format!("contain `{s}`"),
            TextTest::Equals(s) => format!("be `{s}`"),
            TextTest::Matches(r) => format!("match /{}/", r.as_str()),
        }
    }
}

impl Action {
    /// `click "#go"`, as a failure names the step.
    pub fn describe(&self) -> String {
        match self {
            Action::WaitFor(s) => format!("waitFor `{s}`"),
            Action::Fill(s, _) => format!("fill `{s}`"),
            Action::Click(s) => format!("click `{s}`"),
            Action::Expect(s, test) => {
                format!("expectText `{}` to {}", s.as_deref().unwrap_or("body"), test.describe())
            }
            Action::Goto(url) => format!("goto {url}"),
        }
    }
}

/// Checks `steps` and builds them to run, naming the step at fault.
pub fn build(steps: Vec<Step>) -> Result<Vec<Action>, SourceProblem> {
    let problem = |i: usize, message: String| SourceProblem { path: format!("steps[{i}]"), message };
    let selector = |i: usize, s: String| {
        if s.trim().is_empty() { Err(problem(i, "the selector is empty".into())) } else { Ok(s) }
    };
    steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| match step {
            Step::WaitFor(s) => Ok(Action::WaitFor(selector(i, s)?)),
            Step::Fill { selector: s, text } => Ok(Action::Fill(selector(i, s)?, text)),
            Step::Click(s) => Ok(Action::Click(selector(i, s)?)),
            Step::Goto(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://") || url.contains("${")) {
                    return Err(problem(i, format!("`{url}` is not an http:// or https:// URL")));
                }
                Ok(Action::Goto(url))
            }
            Step::ExpectText { selector: s, contains, equals, matches } => {
                let s = s.map(|s| selector(i, s)).transpose()?;
                let test = match (contains, equals, matches) {
                    (Some(c), None, None) => TextTest::Contains(c),
                    (None, Some(e), None) => TextTest::Equals(e),
                    (None, None, Some(m)) => TextTest::Matches(
                        regex_lite::Regex::new(&m).map_err(|e| problem(i, format!("`matches`: {e}")))?,
                    ),
                    _ => return Err(problem(i, "expectText takes one of contains, equals or matches".into())),
                };
                Ok(Action::Expect(s, test))
            }
        })
        .collect()
}

/// `selector` as a JavaScript string literal.
fn literal(selector: &str) -> String {
    serde_json::Value::String(selector.to_string()).to_string()
}

/// Whether the element is in the page and shown (it has a size, and is not hidden).
pub fn shown(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({}); if (!e) return false; \
         const r = e.getBoundingClientRect(), s = getComputedStyle(e); \
         return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; }})()",
        literal(selector)
    )
}

/// Scrolls the element into view and gives its centre `[x, y]` (null when absent or sizeless).
pub fn centre(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({}); if (!e) return null; \
         e.scrollIntoView({{block: 'center', inline: 'center'}}); const r = e.getBoundingClientRect(); \
         if (r.width === 0 || r.height === 0) return null; return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
        literal(selector)
    )
}

/// Focuses the element and clears it; true when it has the focus.
pub fn focus_and_clear(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({}); if (!e) return false; e.focus(); \
         if ('value' in e) e.value = ''; return document.activeElement === e; }})()",
        literal(selector)
    )
}

/// The element's text (the body's without a selector); null when absent.
pub fn text(selector: Option<&str>) -> String {
    match selector {
        Some(s) => format!(
            "(() => {{ const e = document.querySelector({}); return e ? (e.innerText ?? e.textContent) : null; }})()",
            literal(s)
        ),
        None => "(document.body ? document.body.innerText : '')".into(),
    }
}

/// Empties every field (but a password's) that holds one of `typed`, so a screenshot shows none.
pub fn hide_typed(typed: &[&str]) -> String {
    format!(
        "((typed) => {{ for (const e of document.querySelectorAll('input, textarea')) \
         {{ if (e.type !== 'password' && typed.includes(e.value)) e.value = ''; }} }})({})",
        serde_json::to_string(typed).unwrap_or_else(|_| "[]".into())
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn built(v: serde_json::Value) -> Result<Vec<Action>, SourceProblem> {
        build(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn steps_are_read_and_their_faults_named() {
        let steps = built(json!([
            {"waitFor": "#login"}, {"fill": {"selector": "#user", "text": "alice"}}, {"click": "#go"},
            {"expectText": {"selector": "h1", "contains": "Welcome"}}, {"expectText": {"matches": "^Hi"}},
            {"goto": "https://example.test/next"}
        ]))
        .unwrap();
        let named: Vec<String> = steps.iter().map(Action::describe).collect();
        assert_eq!(
            named,
            [
                "waitFor `#login`",
                "fill `#user`",
                "click `#go`",
                "expectText `h1` to contain `Welcome`",
                "expectText `body` to match /^Hi/",
                "goto https://example.test/next"
            ]
        );
        let path = |v| built(v).unwrap_err().path;
        assert_eq!(path(json!([{"click": "#a"}, {"waitFor": " "}])), "steps[1]");
        assert_eq!(path(json!([{"expectText": {"contains": "a", "equals": "b"}}])), "steps[0]");
        assert_eq!(path(json!([{"expectText": {"matches": "("}}])), "steps[0]");
        assert_eq!(path(json!([{"goto": "ftp://x"}])), "steps[0]");
        assert!(serde_json::from_value::<Vec<Step>>(json!([{"hover": "#a"}])).is_err());
        assert!(serde_json::from_value::<Vec<Step>>(json!([{"fill": {"selector": "#a", "txt": "b"}}])).is_err());
    }

    #[test]
    fn text_tests_hold_as_named() {
        assert!(TextTest::Contains("come".into()).holds("Welcome, alice"));
        assert!(TextTest::Equals("Done".into()).holds("  Done\n"));
        assert!(!TextTest::Equals("Done".into()).holds("Done!"));
        assert!(TextTest::Matches(regex_lite::Regex::new(r"^\d+ items$").unwrap()).holds("12 items"));
    }

    #[test]
    fn selectors_are_quoted_as_javascript_strings() {
        assert!(shown(r#"a[title="x"]"#).contains(r#"document.querySelector("a[title=\"x\"]")"#));
        assert!(hide_typed(&["s3cret"]).ends_with(r#"})(["s3cret"])"#));
        assert_eq!(text(None), "(document.body ? document.body.innerText : '')");
    }
}
