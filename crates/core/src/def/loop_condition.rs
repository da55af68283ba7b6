//! The names a DO_WHILE `loopCondition` reads (`$.name`, `$['name']`), so one that names neither
//! an input of the loop, the loop itself nor a task in its body is found before it runs.

/// A name the condition reads, and whether it reads further into it (`$.x.y`, `$.x[0]`), which
/// throws when `x` is undefined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read<'a> {
    /// The name after `$`.
    pub name: &'a str,
    /// Whether a property of it is read.
    pub deeper: bool,
}

/// Every `$.name` and `$['name']` outside string literals and comments, in order.
pub fn reads(condition: &str) -> Vec<Read<'_>> {
    let bytes = condition.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| i + p);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = condition[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            }
            b'$' if i == 0 || !is_word(bytes[i - 1]) => {
                let (name, end) = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(b'.'), _) => {
                        let start = i + 2;
                        let len = bytes[start..].iter().take_while(|&&b| is_word(b)).count();
                        (&condition[start..start + len], start + len)
                    }
                    (Some(b'['), Some(&q @ (b'\'' | b'"'))) => {
                        let start = i + 3;
                        match bytes[start..].iter().position(|&b| b == q) {
                            Some(len) if bytes.get(start + len + 1) == Some(&b']') => {
                                (&condition[start..start + len], start + len + 2)
                            }
                            _ => ("", i + 1),
                        }
                    }
                    _ => ("", i + 1),
                };
                if !name.is_empty() {
                    out.push(Read { name, deeper: matches!(bytes.get(end), Some(b'.' | b'[')) });
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_outside_strings_and_comments() {
        let condition =
            "if ($.loop['iteration'] < $.max && $['check'].output.ok) { '$.not' } // $.no\n /* $.nor */ $.x";
        let names: Vec<(&str, bool)> = reads(condition).iter().map(|r| (r.name, r.deeper)).collect();
        assert_eq!(names, [("loop", true), ("max", false), ("check", true), ("x", false)]);
        assert!(reads("a$.b + $$.c").is_empty());
    }
}
