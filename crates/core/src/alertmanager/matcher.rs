//! Alertmanager's label matchers: `{alertname="Down", severity=~"critical|page", team!="db"}`,
//! parsed as `matcher/parse/parse.go` parses them (UTF-8 names and values, quoted with Go's
//! escapes or unquoted, an optional pair of braces, a trailing comma), with its error messages,
//! and matched as `pkg/labels/matcher.go` matches: a missing label is the empty value, a regex
//! matches the whole value.

use std::collections::BTreeMap;

use super::lexer::{Kind, Lexer, Token};

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regexp,
    /// `!~`
    NotRegexp,
}

impl MatchType {
    /// Its operator.
    pub fn op(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }
}

/// One matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label's name.
    pub name: String,
    /// How it compares.
    pub kind: MatchType,
    /// The value, or the regex as written.
    pub value: String,
    regex: Option<regex_lite::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, self.kind, &self.value) == (&other.name, other.kind, &other.value)
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Alertmanager's JSON form of a matcher: `{"name", "value", "isRegex", "isEqual"}`
    /// (`isEqual` true by default).
    pub fn to_json(&self) -> serde_json::Value {
        let (is_regex, is_equal) = match self.kind {
            MatchType::Equal => (false, true),
            MatchType::NotEqual => (false, false),
            MatchType::Regexp => (true, true),
            MatchType::NotRegexp => (true, false),
        };
        serde_json::json!({"name": self.name, "value": self.value, "isRegex": is_regex, "isEqual": is_equal})
    }

    /// A matcher; a regex that does not compile is an error, as Alertmanager's `NewMatcher`.
    pub fn new(kind: MatchType, name: &str, value: &str) -> Result<Self, String> {
        let regex = match kind {
            MatchType::Regexp | MatchType::NotRegexp => Some(
                regex_lite::Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| format!("failed to create matcher: error parsing regexp: {e}"))?,
            ),
            _ => None,
        };
        Ok(Self { name: name.to_string(), kind, value: value.to_string(), regex })
    }

    /// Whether label value `value` (the empty string for a missing label) matches.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.kind, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(re)) => re.is_match(value),
            (MatchType::NotRegexp, Some(re)) => !re.is_match(value),
            _ => false,
        }
    }

    /// Whether the label set matches.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

impl std::fmt::Display for Matcher {
    /// As Alertmanager prints one: the value quoted, the name quoted only when it must be.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain = self.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let name = if plain { self.name.clone() } else { format!("{:?}", self.name) };
        write!(f, "{name}{}{:?}", self.kind.op(), self.value)
    }
}

/// Matchers in Alertmanager's JSON form (a silence's `matchers`), naming the one at fault.
pub fn matchers_from_json(list: &serde_json::Value) -> Result<Vec<Matcher>, String> {
    let Some(items) = list.as_array() else { return Err("matchers is a list".into()) };
    if items.is_empty() {
        return Err("at least one matcher is needed".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let text = |k: &str| m.get(k).and_then(serde_json::Value::as_str);
            let (Some(name), Some(value)) = (text("name"), text("value")) else {
                return Err(format!("matchers[{i}]: `name` and `value` are strings"));
            };
            let flag = |k: &str, default: bool| m.get(k).and_then(serde_json::Value::as_bool).unwrap_or(default);
            let kind = match (flag("isRegex", false), flag("isEqual", true)) {
                (false, true) => MatchType::Equal,
                (false, false) => MatchType::NotEqual,
                (true, true) => MatchType::Regexp,
                (true, false) => MatchType::NotRegexp,
            };
            Matcher::new(kind, name, value).map_err(|e| format!("matchers[{i}]: {e}"))
        })
        .collect()
}

/// Whether every matcher matches the label set.
pub fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Parses one or more matchers.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, String> {
    Parser { lexer: Lexer::new(input), matchers: Vec::new(), has_open_brace: false }.parse()
}

/// Parses exactly one matcher.
pub fn parse_matcher(input: &str) -> Result<Matcher, String> {
    let mut m = parse_matchers(input)?;
    match m.len() {
        1 => Ok(m.remove(0)),
        0 => Err("no matchers".into()),
        n => Err(format!("expected 1 matcher, found {n}")),
    }
}

const EOF: &str = "end of input";

/// The parser's states, as `parse.go`'s `parseFunc`s.
#[derive(Clone, Copy)]
enum State {
    OpenBrace,
    CloseBrace,
    Matcher,
    EndOfMatcher,
    Comma,
    Eof,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    matchers: Vec<Matcher>,
    has_open_brace: bool,
}

impl Parser<'_> {
    fn parse(mut self) -> Result<Vec<Matcher>, String> {
        let mut state = Some(State::OpenBrace);
        while let Some(s) = state {
            state = match s {
                State::OpenBrace => self.open_brace()?,
                State::CloseBrace => self.close_brace()?,
                State::Matcher => self.matcher()?,
                State::EndOfMatcher => self.end_of_matcher()?,
                State::Comma => self.comma()?,
                State::Eof => self.eof()?,
            };
        }
        Ok(self.matchers)
    }

    fn open_brace(&mut self) -> Result<Option<State>, String> {
        match self.accept(&[Kind::OpenBrace]) {
            Err(e) if e == EOF => return Ok(Some(State::Eof)),
            Err(e) => return Err(e),
            Ok(open) => self.has_open_brace = open,
        }
        match self.accept_peek(&[Kind::CloseBrace]) {
            Err(e) if e == EOF => Ok(Some(State::CloseBrace)),
            Err(e) => Err(e),
            Ok(true) => Ok(Some(State::CloseBrace)),
            Ok(false) => Ok(Some(State::Matcher)),
        }
    }

    fn close_brace(&mut self) -> Result<Option<State>, String> {
        let end = self.lexer.column_end();
        let closed = self.expect(&[Kind::CloseBrace]);
        match (self.has_open_brace, closed) {
            (true, Err(e)) => Err(format!("0:{}: {e}: expected close brace", self.lexer.column_end().max(end))),
            (false, Ok(_)) => Err(format!("0:{}: }}: expected opening brace", self.lexer.column_end())),
            _ => Ok(Some(State::Eof)),
        }
    }

    fn matcher(&mut self) -> Result<Option<State>, String> {
        let t = self.expect(&[Kind::Quoted, Kind::Unquoted]).map_err(|e| format!("{e}: expected label name"))?;
        let name = unquote(&t)?;
        let t = self
            .expect(&[Kind::Equals, Kind::NotEquals, Kind::Matches, Kind::NotMatches])
            .map_err(|e| format!("{e}: expected an operator such as '=', '!=', '=~' or '!~'"))?;
        let kind = match t.kind {
            Kind::Equals => MatchType::Equal,
            Kind::NotEquals => MatchType::NotEqual,
            Kind::Matches => MatchType::Regexp,
            _ => MatchType::NotRegexp,
        };
        let t = self.expect(&[Kind::Unquoted, Kind::Quoted]).map_err(|e| format!("{e}: expected label value"))?;
        let value = unquote(&t)?;
        self.matchers.push(Matcher::new(kind, &name, &value)?);
        Ok(Some(State::EndOfMatcher))
    }

    fn end_of_matcher(&mut self) -> Result<Option<State>, String> {
        match self.expect_peek(&[Kind::Comma, Kind::CloseBrace]) {
            Err(e) if e == EOF => Ok(Some(State::CloseBrace)),
            Err(e) => Err(format!("{e}: expected a comma or close brace")),
            Ok(t) if t.kind == Kind::Comma => Ok(Some(State::Comma)),
            Ok(_) => Ok(Some(State::CloseBrace)),
        }
    }

    fn comma(&mut self) -> Result<Option<State>, String> {
        self.expect(&[Kind::Comma]).map_err(|e| format!("{e}: expected a comma"))?;
        match self.expect_peek(&[Kind::CloseBrace, Kind::Unquoted, Kind::Quoted]) {
            Err(e) if e == EOF => Ok(Some(State::CloseBrace)),
            Err(e) => Err(format!("{e}: expected a matcher or close brace after comma")),
            Ok(t) if t.kind == Kind::CloseBrace => Ok(Some(State::CloseBrace)),
            Ok(_) => Ok(Some(State::Matcher)),
        }
    }

    fn eof(&mut self) -> Result<Option<State>, String> {
        let t = self.lexer.scan().map_err(|e| format!("{e}: expected end of input"))?;
        if t.kind != Kind::Eof {
            return Err(format!("{}:{}: {}: expected end of input", t.column_start, t.column_end, t.value));
        }
        Ok(None)
    }

    fn accept(&mut self, kinds: &[Kind]) -> Result<bool, String> {
        let ok = self.accept_peek(kinds)?;
        if ok {
            self.lexer.scan().expect("a peeked token scans");
        }
        Ok(ok)
    }

    fn accept_peek(&mut self, kinds: &[Kind]) -> Result<bool, String> {
        let t = self.lexer.peek()?;
        if t.kind == Kind::Eof {
            return Err(EOF.into());
        }
        Ok(t.is_one_of(kinds))
    }

    fn expect(&mut self, kinds: &[Kind]) -> Result<Token, String> {
        let t = self.expect_peek(kinds)?;
        self.lexer.scan().expect("a peeked token scans");
        Ok(t)
    }

    fn expect_peek(&mut self, kinds: &[Kind]) -> Result<Token, String> {
        let t = self.lexer.peek()?;
        if t.kind == Kind::Eof {
            return Err(EOF.into());
        }
        if !t.is_one_of(kinds) {
            return Err(format!("{}:{}: unexpected {}", t.column_start, t.column_end, t.value));
        }
        Ok(t)
    }
}

/// A token's text: a quoted one read as Go's `strconv.Unquote` reads it, and valid UTF-8.
fn unquote(t: &Token) -> Result<String, String> {
    if t.kind != Kind::Quoted {
        return Ok(t.value.clone());
    }
    let invalid = || format!("{}:{}: {}: invalid input", t.column_start, t.column_end, t.value);
    go_unquote(&t.value).ok_or_else(invalid)
}

/// Go's `strconv.Unquote` for a double-quoted string: the escapes `\a \b \f \n \r \t \v \\ \"`,
/// `\xHH` and octal `\OOO` (bytes), `\uHHHH` and `\UHHHHHHHH`; no raw newline; the bytes must
/// be UTF-8.
fn go_unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some(acc * 16 + chars.next()?.to_digit(16)?))
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' | '"' => return None,
            '\\' => match chars.next()? {
                'a' => out.push(0x07),
                'b' => out.push(0x08),
                'f' => out.push(0x0c),
                'n' => out.push(b'\n'),
                'r' => out.push(b'\r'),
                't' => out.push(b'\t'),
                'v' => out.push(0x0b),
                '\\' => out.push(b'\\'),
                '"' => out.push(b'"'),
                'x' => out.push(hex(&mut chars, 2)? as u8),
                'u' => out.extend(char::from_u32(hex(&mut chars, 4)?)?.to_string().bytes()),
                'U' => out.extend(char::from_u32(hex(&mut chars, 8)?)?.to_string().bytes()),
                d @ '0'..='7' => {
                    let mut v = d.to_digit(8)?;
                    for _ in 0..2 {
                        v = v * 8 + chars.next()?.to_digit(8)?;
                    }
                    out.push(u8::try_from(v).ok()?);
                }
                _ => return None,
            },
            c => out.extend(c.to_string().bytes()),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
