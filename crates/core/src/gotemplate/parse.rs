//! Go's `text/template` syntax, read into a tree: text, actions with pipelines, `if`/`else if`/
//! `else`, `range` (with `$i, $e :=`), `with`, `define`, `template`, `block`, variables,
//! comments and the `{{-`/`-}}` trim markers.

use std::collections::BTreeMap;

/// A parse error: where (1-based line) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// The line of the action.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One node of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Text, printed as it is.
    Text(String),
    /// `{{ pipeline }}`: printed, unless it declares a variable.
    Action(Pipeline),
    /// `{{ if }}` (and `else if`, `else`).
    If(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ range }}`, with its `else`.
    Range(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ with }}`, with its `else`.
    With(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ template "name" pipeline }}`.
    Template(String, Option<Pipeline>),
}

/// `$a := cmd | cmd ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Declared (`:=`) or assigned (`=`) variables.
    pub vars: Vec<String>,
    /// Whether the variables are assigned, not declared.
    pub assign: bool,
    /// The commands; each one's result is the last argument of the next.
    pub commands: Vec<Vec<Operand>>,
}

/// An argument or a function of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `.A.B` (empty: the dot itself).
    Field(Vec<String>),
    /// `$x.A.B`.
    Variable(String, Vec<String>),
    /// A function's name.
    Function(String),
    /// `(pipeline).A.B`.
    Nested(Box<Pipeline>, Vec<String>),
    /// A constant.
    Constant(serde_json::Value),
}

/// The templates of one text: the main one and those it defines.
pub type Parsed = (Vec<Node>, BTreeMap<String, Vec<Node>>);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    Action(Vec<Word>, usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Word {
    Ident(String),
    Field(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Num(serde_json::Value),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Assign,
    Comma,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { line, message: message.into() })
}

/// Splits `text` into text and actions, trim markers applied, comments dropped.
fn lex(text: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            out.push(Tok::Text(t.to_string()));
            break;
        };
        let mut t = &rest[..open];
        if trim_next {
            t = t.trim_start();
        }
        line += rest[..open].matches('\n').count();
        let inner_start = open + 2;
        let trim_before = rest[inner_start..].starts_with("- ") || rest[inner_start..].starts_with("-\n");
        if trim_before {
            t = t.trim_end();
        }
        if !t.is_empty() {
            out.push(Tok::Text(t.to_string()));
        }
        let body_start = if trim_before { inner_start + 1 } else { inner_start };
        let (body, after, trim_after) = close_of(&rest[body_start..])
            .ok_or(ParseError { line, message: "unclosed action: `{{` without `}}`".into() })?;
        let body_text = body.trim();
        if !(body_text.starts_with("/*") && body_text.ends_with("*/")) {
            out.push(Tok::Action(words(body, line)?, line));
        }
        line += body.matches('\n').count();
        trim_next = trim_after;
        rest = &rest[body_start + after..];
    }
    Ok(out)
}

/// The action body up to its `}}` (strings skipped), the offset after `}}`, and whether it ends
/// with ` -}}`.
fn close_of(s: &str) -> Option<(&str, usize, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                let trim = i >= 2 && b[i - 1] == b'-' && b[i - 2].is_ascii_whitespace();
                let body = if trim { &s[..i - 1] } else { &s[..i] };
                return Some((body, i + 2, trim));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn chain(s: &str, mut i: usize) -> (Vec<String>, usize) {
    let b = s.as_bytes();
    let mut fields = Vec::new();
    while i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        let start = i + 1;
        i = start;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        fields.push(s[start..i].to_string());
    }
    (fields, i)
}

fn words(s: &str, line: usize) -> Result<Vec<Word>, ParseError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            b'|' => {
                out.push(Word::Pipe);
                i += 1;
            }
            b'(' => {
                out.push(Word::Open);
                i += 1;
            }
            b')' => {
                let (fields, next) = chain(s, i + 1);
                out.push(Word::Close(fields));
                i = next;
            }
            b',' => {
                out.push(Word::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                out.push(Word::Declare);
                i += 2;
            }
            b'=' => {
                out.push(Word::Assign);
                i += 1;
            }
            b'.' => {
                let (fields, next) = chain(s, i);
                if fields.is_empty() {
                    out.push(Word::Field(Vec::new()));
                    i += 1;
                } else {
                    out.push(Word::Field(fields));
                    i = next;
                }
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let (fields, next) = chain(s, j);
                out.push(Word::Var(s[start..j].to_string(), fields));
                i = next;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let lit = s.get(i..=j).ok_or(ParseError { line, message: "unterminated string".into() })?;
                let v: String = serde_json::from_str(lit)
                    .map_err(|e| ParseError { line, message: format!("bad string {lit}: {e}") })?;
                out.push(Word::Str(v));
                i = j + 1;
            }
            b'`' => {
                let end = s[i + 1..].find('`').ok_or(ParseError { line, message: "unterminated raw string".into() })?;
                out.push(Word::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            _ if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e') {
                    i += 1;
                }
                let text = &s[start..i];
                let v = text
                    .parse::<i64>()
                    .map(serde_json::Value::from)
                    .or_else(|_| text.parse::<f64>().map(serde_json::Value::from))
                    .map_err(|_| ParseError { line, message: format!("bad number {text}") })?;
                out.push(Word::Num(v));
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Word::Ident(s[start..i].to_string()));
            }
            _ => return err(line, format!("unexpected `{}` in an action", c as char)),
        }
    }
    Ok(out)
}

/// Reads `text`: its nodes and the templates it defines.
pub fn parse(text: &str, is_function: &dyn Fn(&str) -> bool) -> Result<Parsed, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, at: 0, defines: BTreeMap::new(), is_function };
    let (nodes, end) = p.list()?;
    if let Some((word, line)) = end {
        return err(line, format!("unexpected `{word}`"));
    }
    Ok((nodes, p.defines))
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    defines: BTreeMap<String, Vec<Node>>,
    is_function: &'a dyn Fn(&str) -> bool,
}

/// What ended a list: `end`, `else` (with what follows it: `if ...` for `else if`), at a line.
type Ended = Option<(String, usize)>;

impl Parser<'_> {
    /// Nodes up to an `end` or `else` (returned with its words after `else`) or the end.
    fn list(&mut self) -> Result<(Vec<Node>, Ended), ParseError> {
        let mut nodes = Vec::new();
        while self.at < self.toks.len() {
            let tok = self.toks[self.at].clone();
            self.at += 1;
            let (words, line) = match tok {
                Tok::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Tok::Action(w, line) => (w, line),
            };
            let keyword = match words.first() {
                Some(Word::Ident(k)) => k.as_str(),
                _ => "",
            };
            match keyword {
                "end" => return Ok((nodes, Some(("end".into(), line)))),
                "else" => {
                    // Put back what follows `else` (`if ...` of an `else if`).
                    self.at -= 1;
                    self.toks[self.at] = Tok::Action(words[1..].to_vec(), line);
                    return Ok((nodes, Some(("else".into(), line))));
                }
                "if" | "range" | "with" => nodes.push(self.control(keyword, &words[1..], line)?),
                "define" | "block" => {
                    let Some(Word::Str(name)) = words.get(1) else {
                        return err(line, format!("`{keyword}` needs a quoted name"));
                    };
                    let (body, end) = self.list()?;
                    if end.as_ref().map(|e| e.0.as_str()) != Some("end") {
                        return err(line, format!("`{keyword} \"{name}\"` has no `end`"));
                    }
                    self.defines.insert(name.clone(), body);
                    if keyword == "block" {
                        let pipe = self.pipeline(&words[2..], line)?;
                        nodes.push(Node::Template(name.clone(), Some(pipe)));
                    }
                }
                "template" => {
                    let Some(Word::Str(name)) = words.get(1) else {
                        return err(line, "`template` needs a quoted name");
                    };
                    let pipe = if words.len() > 2 { Some(self.pipeline(&words[2..], line)?) } else { None };
                    nodes.push(Node::Template(name.clone(), pipe));
                }
                _ => nodes.push(Node::Action(self.pipeline(&words, line)?)),
            }
        }
        Ok((nodes, None))
    }

    fn control(&mut self, keyword: &str, words: &[Word], line: usize) -> Result<Node, ParseError> {
        let pipe = self.pipeline(words, line)?;
        let (body, end) = self.list()?;
        let otherwise = match end {
            Some((e, _)) if e == "end" => Vec::new(),
            Some((_, else_line)) => {
                // `else if` (inside an `if`) nests; a plain `else` runs to `end`.
                let is_elif = matches!(&self.toks[self.at], Tok::Action(w, _) if matches!(w.first(), Some(Word::Ident(k)) if k == "if"));
                if is_elif && keyword == "if" {
                    let Tok::Action(w, l) = self.toks[self.at].clone() else { unreachable!() };
                    self.at += 1;
                    vec![self.control("if", &w[1..], l)?]
                } else {
                    self.at += 1; // the (emptied) `else`
                    let (rest, end) = self.list()?;
                    if end.as_ref().map(|e| e.0.as_str()) != Some("end") {
                        return err(else_line, format!("`{keyword}` has no `end`"));
                    }
                    rest
                }
            }
            None => return err(line, format!("`{keyword}` has no `end`")),
        };
        Ok(match keyword {
            "if" => Node::If(pipe, body, otherwise),
            "range" => Node::Range(pipe, body, otherwise),
            _ => Node::With(pipe, body, otherwise),
        })
    }

    fn pipeline(&self, words: &[Word], line: usize) -> Result<Pipeline, ParseError> {
        let mut vars = Vec::new();
        let mut assign = false;
        let mut rest = words;
        // `$a :=`, `$i, $e :=`, `$a =`.
        let decl_at = words.iter().position(|w| matches!(w, Word::Declare | Word::Assign));
        if let Some(at) = decl_at
            && words[..at].iter().all(|w| matches!(w, Word::Var(_, f) if f.is_empty()) || *w == Word::Comma)
        {
            vars = words[..at]
                .iter()
                .filter_map(|w| if let Word::Var(n, _) = w { Some(n.clone()) } else { None })
                .collect();
            assign = words[at] == Word::Assign;
            rest = &words[at + 1..];
        }
        let mut commands = Vec::new();
        let mut current = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            match &rest[i] {
                Word::Pipe => {
                    if current.is_empty() {
                        return err(line, "missing command before `|`");
                    }
                    commands.push(std::mem::take(&mut current));
                }
                Word::Open => {
                    let mut depth = 1;
                    let mut j = i + 1;
                    while j < rest.len() {
                        match rest[j] {
                            Word::Open => depth += 1,
                            Word::Close(_) => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    let Some(Word::Close(fields)) = rest.get(j) else { return err(line, "unclosed `(`") };
                    let inner = self.pipeline(&rest[i + 1..j], line)?;
                    current.push(Operand::Nested(Box::new(inner), fields.clone()));
                    i = j;
                }
                Word::Close(_) => return err(line, "unexpected `)`"),
                Word::Field(f) => current.push(Operand::Field(f.clone())),
                Word::Var(n, f) => current.push(Operand::Variable(n.clone(), f.clone())),
                Word::Str(s) => current.push(Operand::Constant(serde_json::Value::String(s.clone()))),
                Word::Num(n) => current.push(Operand::Constant(n.clone())),
                Word::Ident(name) => current.push(match name.as_str() {
                    "true" => Operand::Constant(true.into()),
                    "false" => Operand::Constant(false.into()),
                    "nil" => Operand::Constant(serde_json::Value::Null),
                    f if (self.is_function)(f) => Operand::Function(f.to_string()),
                    other => return err(line, format!("function \"{other}\" not defined")),
                }),
                Word::Declare | Word::Assign | Word::Comma => return err(line, "unexpected `:=`, `=` or `,`"),
            }
            i += 1;
        }
        if current.is_empty() {
            return err(
                line,
                if commands.is_empty() { "missing value for command" } else { "missing command after `|`" },
            );
        }
        commands.push(current);
        Ok(Pipeline { vars, assign, commands })
    }
}
