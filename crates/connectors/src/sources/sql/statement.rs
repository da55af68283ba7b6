//! What a query may be: one statement that reads. A pure check of the text, before any server
//! sees it; the servers check again where the query cannot undo it (see the module above).

use super::Kind;

/// The statements that read. Anything else (`SET`, `COMMIT`, `PRAGMA` writes on a read-only
/// file, `ATTACH`, `VACUUM INTO`, DML) is refused before it is sent.
const READING: &[&str] = &["select", "with", "values", "table", "show", "explain", "describe", "desc"];

/// `query` as it will be sent (a trailing `;` and blanks removed) when it is one statement that
/// reads; else why not.
pub fn reading(query: &str, kind: Kind) -> Result<&str, String> {
    let one = single(query, kind)?;
    let first = first_word(one, kind).to_ascii_lowercase();
    let allowed = READING.contains(&first.as_str()) || (kind == Kind::Sqlite && first == "pragma");
    if !allowed {
        return Err(format!(
            "a query only reads: it starts with SELECT, WITH, VALUES, TABLE, SHOW, EXPLAIN or DESCRIBE{}, not `{}`",
            if kind == Kind::Sqlite { " (or PRAGMA)" } else { "" },
            if first.is_empty() { "(nothing)" } else { first.as_str() }
        ));
    }
    Ok(one)
}

/// The first statement of `query`, refusing text after it other than blanks and comments.
pub fn single(query: &str, kind: Kind) -> Result<&str, String> {
    let end = statement_end(query, kind);
    let (head, rest) = query.split_at(end);
    let rest = rest.strip_prefix(';').unwrap_or(rest);
    if !only_blanks_and_comments(rest, kind) {
        return Err("a query is one statement: text follows its `;`".into());
    }
    Ok(head.trim())
}

/// The byte offset of the first `;` outside strings, quoted names and comments (or the end).
fn statement_end(text: &str, kind: Kind) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b';' {
            return i;
        }
        i = skip_at(bytes, i, kind).unwrap_or(i + 1);
    }
    bytes.len()
}

/// Past the string, quoted name or comment that starts at `i`, if one does.
fn skip_at(bytes: &[u8], i: usize, kind: Kind) -> Option<usize> {
    Some(match bytes[i] {
        b'\'' => skip_quoted(bytes, i, b'\'', kind == Kind::Mysql || escape_string(bytes, i, kind)),
        b'"' => skip_quoted(bytes, i, b'"', kind == Kind::Mysql),
        b'`' if kind != Kind::Postgres => skip_quoted(bytes, i, b'`', false),
        b'[' if kind == Kind::Sqlite => bytes[i..].iter().position(|&b| b == b']').map_or(bytes.len(), |p| i + p + 1),
        b'-' if bytes.get(i + 1) == Some(&b'-') => line_end(bytes, i),
        b'#' if kind == Kind::Mysql => line_end(bytes, i),
        b'/' if bytes.get(i + 1) == Some(&b'*') => block_end(bytes, i, kind == Kind::Postgres),
        b'$' if kind == Kind::Postgres => dollar_end(bytes, i),
        _ => return None,
    })
}

/// A statement with JDBC's `?` placeholders as `kind` takes them: PostgreSQL numbers them
/// (`$1`, `$2`, ...), MySQL and SQLite take `?` as written. As in PostgreSQL's JDBC driver, `??`
/// stands for a literal `?` (PostgreSQL's JSON operators). A `?` inside a string, quoted name or
/// comment is text. Also returns how many placeholders there are.
pub fn placeholders(statement: &str, kind: Kind) -> (String, usize) {
    let bytes = statement.as_bytes();
    let (mut out, mut count, mut i, mut copied) = (String::with_capacity(statement.len()), 0, 0, 0);
    while i < bytes.len() {
        if let Some(end) = skip_at(bytes, i, kind) {
            i = end;
            continue;
        }
        if bytes[i] != b'?' {
            i += 1;
            continue;
        }
        out.push_str(&statement[copied..i]);
        if kind == Kind::Postgres && bytes.get(i + 1) == Some(&b'?') {
            out.push('?');
            i += 2;
        } else {
            count += 1;
            if kind == Kind::Postgres {
                out.push_str(&format!("${count}"));
            } else {
                out.push('?');
            }
            i += 1;
        }
        copied = i;
    }
    out.push_str(&statement[copied..]);
    (out, count)
}

/// PostgreSQL's `E'...'` strings take backslash escapes.
fn escape_string(bytes: &[u8], i: usize, kind: Kind) -> bool {
    kind == Kind::Postgres && i > 0 && matches!(bytes[i - 1], b'E' | b'e') && (i < 2 || !is_word(bytes[i - 2]))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Past the closing `quote` of a quoted run opened at `start` (a doubled quote stays inside).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn line_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| start + p + 1)
}

/// Past a `/* */` comment; PostgreSQL's nest.
fn block_end(bytes: &[u8], start: usize, nests: bool) -> usize {
    let (mut depth, mut i) = (1, start + 2);
    while i < bytes.len() {
        if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else if nests && bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Past a PostgreSQL dollar-quoted string (`$$...$$`, `$tag$...$tag$`); a `$1` is not one.
fn dollar_end(bytes: &[u8], start: usize) -> usize {
    if start > 0 && is_word(bytes[start - 1]) {
        return start + 1;
    }
    let tag_len = bytes[start + 1..].iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'));
    let Some(len) = tag_len else { return bytes.len() };
    if bytes[start + 1 + len] != b'$' || bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return start + 1;
    }
    let tag = &bytes[start..start + len + 2];
    let body = start + tag.len();
    bytes[body..].windows(tag.len()).position(|w| w == tag).map_or(bytes.len(), |p| body + p + tag.len())
}

fn only_blanks_and_comments(text: &str, kind: Kind) -> bool {
    first_word_at(text, kind).is_none()
}

/// The first keyword, after blanks, comments and opening parentheses.
fn first_word(text: &str, kind: Kind) -> &str {
    let Some(start) = first_word_at(text, kind) else { return "" };
    let rest = &text[start..];
    let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..len]
}

/// Where the first thing other than blanks, comments and `(` starts.
fn first_word_at(text: &str, kind: Kind) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b if b.is_ascii_whitespace() || b == b'(' => i + 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => line_end(bytes, i),
            b'#' if kind == Kind::Mysql => line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => block_end(bytes, i, kind == Kind::Postgres),
            _ => return Some(i),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reading_statement_passes_with_its_trailing_semicolon_removed() {
        for kind in [Kind::Postgres, Kind::Mysql, Kind::Sqlite] {
            assert_eq!(reading("SELECT 1;", kind).unwrap(), "SELECT 1");
            assert_eq!(reading("  select 'a;b' as x ; -- done\n", kind).unwrap(), "select 'a;b' as x");
            assert_eq!(
                reading("/* why */ (SELECT 1) UNION (SELECT 2)", kind).unwrap(),
                "/* why */ (SELECT 1) UNION (SELECT 2)"
            );
            assert!(reading("WITH t AS (SELECT 1) SELECT * FROM t", kind).is_ok());
            assert!(reading("select 'it''s; fine'", kind).is_ok());
        }
        assert!(reading("SELECT $$a;b$$, $tag$ ; $tag$", Kind::Postgres).is_ok());
        assert!(reading("SELECT E'a\\';b'", Kind::Postgres).is_ok());
        assert!(reading("SELECT 'a\\';b'", Kind::Mysql).is_ok());
        assert!(reading("SELECT [a;b] FROM t", Kind::Sqlite).is_ok());
        assert!(reading("PRAGMA table_info(t)", Kind::Sqlite).is_ok());
    }

    #[test]
    fn a_second_statement_is_refused_wherever_it_hides() {
        let attacks = [
            ("PRAGMA query_only = 0; DELETE FROM t", Kind::Sqlite),
            ("SELECT 1; UPDATE api_tokens SET role = 'admin'", Kind::Sqlite),
            ("SELECT 'a\\'; DELETE FROM t; --'", Kind::Postgres),
            ("SELECT 1 /* x */; DELETE FROM t", Kind::Mysql),
            ("SELECT 1;\n-- c\nDELETE FROM t", Kind::Postgres),
            ("SELECT 1 -- c\n; DELETE FROM t", Kind::Sqlite),
        ];
        for (query, kind) in attacks {
            assert!(reading(query, kind).is_err(), "{query} ({kind:?}) was let through");
        }
    }

    #[test]
    fn statements_that_change_a_session_or_data_are_refused() {
        for query in [
            "SET TRANSACTION READ WRITE",
            "SET SESSION TRANSACTION READ WRITE",
            "COMMIT",
            "DELETE FROM t",
            "ATTACH 'x.db' AS x",
            "VACUUM INTO '/tmp/copy.db'",
            "",
            "-- only a comment",
        ] {
            assert!(reading(query, Kind::Postgres).is_err(), "{query}");
            assert!(reading(query, Kind::Sqlite).is_err(), "{query}");
        }
        assert!(reading("PRAGMA query_only = 0", Kind::Postgres).is_err());
        assert!(reading("# c\nSELECT 1", Kind::Mysql).is_ok());
    }

    #[test]
    fn placeholders_are_numbered_for_postgres_and_kept_elsewhere() {
        let text = "SELECT * FROM t WHERE a = ? AND b = '?' AND c ?? 'k' /* ? */ AND d = ? -- ?\n";
        assert_eq!(
            placeholders(text, Kind::Postgres),
            ("SELECT * FROM t WHERE a = $1 AND b = '?' AND c ? 'k' /* ? */ AND d = $2 -- ?\n".to_string(), 2)
        );
        assert_eq!(placeholders("SELECT $$?$$, ?", Kind::Postgres), ("SELECT $$?$$, $1".to_string(), 1));
        assert_eq!(placeholders("SELECT `?`, ?, \"?\"", Kind::Mysql), ("SELECT `?`, ?, \"?\"".to_string(), 1));
        assert_eq!(placeholders("INSERT INTO t VALUES (?, ?)", Kind::Sqlite).1, 2);
    }
}
