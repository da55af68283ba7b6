//! Conductor's workflow search query (`GET /api/workflow/search?query=&freeText=`), as its
//! Elasticsearch-backed index reads it, over vigil's instance table: clauses joined by `AND`,
//! each `field = value`, `field IN (a, b)`, or a comparison on a time.

use vigil_store::InstanceFilter;

use crate::error::ApiError;
use crate::views::RuntimeStatus;

/// The fields a query may name.
const FIELDS: &str = "workflowType, status, correlationId, workflowId, startTime";

/// Applies `query` and `free_text` to `filter`.
pub(crate) fn apply(query: &str, free_text: Option<&str>, filter: &mut InstanceFilter) -> Result<(), ApiError> {
    for clause in split_and(query) {
        let (field, op, value) = clause_parts(clause)?;
        match (field, op) {
            ("workflowType", "=") => filter.workflow_name = Some(single(value)),
            ("correlationId", "=") => filter.correlation_id = Some(single(value)),
            ("workflowId", "=") => filter.id = Some(single(value)),
            ("status", "=" | "IN") => {
                for name in list(value) {
                    let status = RuntimeStatus::parse(&name)
                        .ok_or_else(|| ApiError::invalid("query", format!("unknown status `{name}`")))?;
                    filter.statuses.push(status);
                }
            }
            ("startTime", ">" | ">=" | "<" | "<=") => {
                let at = time(&single(value))?;
                match op {
                    ">" => filter.created_from = Some(filter.created_from.map_or(at + 1, |f| f.max(at + 1))),
                    ">=" => filter.created_from = Some(filter.created_from.map_or(at, |f| f.max(at))),
                    "<" => filter.created_to = Some(filter.created_to.map_or(at, |t| t.min(at))),
                    _ => filter.created_to = Some(filter.created_to.map_or(at + 1, |t| t.min(at + 1))),
                }
            }
            (field, op) if FIELDS.split(", ").any(|f| f == field) => {
                return Err(ApiError::invalid("query", format!("`{field} {op} ...` is not supported for `{field}`")));
            }
            (field, _) => {
                return Err(ApiError::invalid("query", format!("cannot search by `{field}` ({FIELDS})")));
            }
        }
    }
    filter.text = free_text.map(str::trim).filter(|t| !t.is_empty() && *t != "*").map(str::to_string);
    Ok(())
}

/// The clauses of `query`, split on `AND` outside quotes and parentheses.
fn split_and(query: &str) -> Vec<&str> {
    let mut clauses = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut chars = query.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ' ') if depth == 0 && query[i..].starts_with(" AND ") => {
                clauses.push(query[start..i].trim());
                start = i + " AND ".len();
                chars.nth(" AND".len() - 1);
            }
            _ => {}
        }
    }
    clauses.push(query[start..].trim());
    clauses.into_iter().filter(|c| !c.is_empty()).collect()
}

/// `field`, the operator, and the rest of a clause.
fn clause_parts(clause: &str) -> Result<(&str, &str, &str), ApiError> {
    let bad = || {
        ApiError::invalid("query", format!("`{clause}` is not `field = value`, `field IN (a, b)` or `field > time`"))
    };
    if let Some(at) = clause.find(" IN ") {
        return Ok((clause[..at].trim(), "IN", clause[at + 4..].trim()));
    }
    let at = clause.find(['=', '<', '>']).ok_or_else(bad)?;
    let rest = &clause[at..];
    let op = ["<=", ">=", "=", "<", ">"].into_iter().find(|op| rest.starts_with(op)).ok_or_else(bad)?;
    let (field, value) = (clause[..at].trim(), rest[op.len()..].trim());
    if field.is_empty() || value.is_empty() {
        return Err(bad());
    }
    Ok((field, op, value))
}

/// A value without its quotes.
fn single(value: &str) -> String {
    value.trim().trim_matches(|c| c == '\'' || c == '"').to_string()
}

/// The items of `(a, b)`, or one value.
fn list(value: &str) -> Vec<String> {
    let inner = value.trim().strip_prefix('(').and_then(|v| v.strip_suffix(')')).unwrap_or(value);
    inner.split(',').map(single).filter(|v| !v.is_empty()).collect()
}

/// Epoch milliseconds, or an RFC 3339 time.
fn time(value: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    vigil_core::time::parse_until(value)
        .map_err(|e| ApiError::invalid("query", format!("`{value}` is not epoch milliseconds or a time: {e}")))
}

#[cfg(test)]
mod tests {
    use vigil_core::instance::WorkflowStatus;

    use super::*;

    fn parsed(query: &str, text: Option<&str>) -> InstanceFilter {
        let mut filter = InstanceFilter::default();
        apply(query, text, &mut filter).unwrap_or_else(|e| panic!("{query}: {e:?}"));
        filter
    }

    #[test]
    fn reads_conductor_queries() {
        let f = parsed(
            "workflowType = 'orders' AND status IN (FAILED, TIMED_OUT) AND correlationId = \"c-1\" AND startTime > 1000 AND startTime <= 2000",
            Some("*"),
        );
        assert_eq!(f.workflow_name.as_deref(), Some("orders"));
        assert_eq!(f.statuses, vec![WorkflowStatus::Failed, WorkflowStatus::TimedOut]);
        assert_eq!(f.correlation_id.as_deref(), Some("c-1"));
        assert_eq!((f.created_from, f.created_to), (Some(1001), Some(2001)));
        assert_eq!((f.text, f.id), (None, None));
        let f = parsed("workflowId = abc AND status=COMPLETED", Some("order 42"));
        assert_eq!((f.id.as_deref(), f.statuses), (Some("abc"), vec![WorkflowStatus::Completed]));
        assert_eq!(f.text.as_deref(), Some("order 42"));
        assert_eq!(
            parsed("status = FAILED AND workflowType = ünïcode", None).workflow_name.as_deref(),
            Some("ünïcode")
        );
        let f = parsed("startTime >= 2026-01-01T00:00:00Z", None);
        assert_eq!(f.created_from, Some(1_767_225_600_000));
    }

    #[test]
    fn names_what_it_cannot_read() {
        for (query, says) in [
            ("owner = me", "cannot search by `owner`"),
            ("status = SLEEPING", "unknown status `SLEEPING`"),
            ("workflowType", "is not `field = value`"),
            ("startTime > soon", "`soon` is not epoch milliseconds"),
            ("workflowType > a", "not supported for `workflowType`"),
            ("\u{80}", "is not `field = value`"),
        ] {
            let err = apply(query, None, &mut InstanceFilter::default()).unwrap_err();
            assert!(format!("{err:?}").contains(says), "{query}: {err:?}");
        }
    }
}
