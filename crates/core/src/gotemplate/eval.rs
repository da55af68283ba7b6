//! Running a parsed template over JSON data, as Go's `text/template` runs one over Go values:
//! fields of objects, Alertmanager's methods on its template types (`SortedPairs`, `Names`,
//! `Values`, `Remove`, `Firing`, `Resolved`), variables, `range` over lists and (sorted) maps,
//! Go's truth and printing rules; in HTML mode every printed value is escaped unless `safeHtml`
//! or `safeUrl` made it.

use serde_json::{Value, json};

use super::funcs;
use super::parse::{Node, Operand, Pipeline};
use super::value::{ExecError, V, print, sorted_pairs, truth};

/// How deep `template` calls may nest (Go's limit is 100,000; a loop stops much sooner here).
const MAX_DEPTH: usize = 100;

pub(super) struct Run<'a> {
    pub defines: &'a std::collections::BTreeMap<String, Vec<Node>>,
    pub html: bool,
    pub out: String,
    vars: Vec<(String, Value)>,
    depth: usize,
}

impl<'a> Run<'a> {
    pub fn new(defines: &'a std::collections::BTreeMap<String, Vec<Node>>, html: bool, root: &Value) -> Self {
        Run { defines, html, out: String::new(), vars: vec![(String::new(), root.clone())], depth: 0 }
    }

    pub fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), ExecError> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    fn scoped(&mut self, nodes: &[Node], dot: &Value) -> Result<(), ExecError> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, n: &Node, dot: &Value) -> Result<(), ExecError> {
        match n {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipeline(p, dot)?;
                if p.vars.is_empty() {
                    let text = print(&v.v);
                    if self.html && !v.safe {
                        self.out.push_str(&funcs::escape_html(&text))
                    } else {
                        self.out.push_str(&text)
                    }
                }
            }
            Node::If(p, then, otherwise) => {
                let v = self.pipeline(p, dot)?;
                self.scoped(if truth(&v.v) { then } else { otherwise }, dot)?;
            }
            Node::With(p, then, otherwise) => {
                let v = self.pipeline(p, dot)?;
                if truth(&v.v) { self.scoped(then, &v.v)? } else { self.scoped(otherwise, dot)? }
            }
            Node::Range(p, body, otherwise) => {
                let names = p.vars.clone();
                let plain = Pipeline { vars: Vec::new(), ..p.clone() };
                let v = self.pipeline(&plain, dot)?.v;
                let items: Vec<(Value, Value)> = match &v {
                    Value::Array(a) => a.iter().enumerate().map(|(i, x)| (json!(i), x.clone())).collect(),
                    Value::Object(m) => {
                        let mut keys: Vec<&String> = m.keys().collect();
                        keys.sort();
                        keys.into_iter().map(|k| (json!(k), m[k].clone())).collect()
                    }
                    Value::Null => Vec::new(),
                    Value::Number(n) if n.as_u64().is_some() => {
                        (0..n.as_u64().unwrap_or(0)).map(|i| (json!(i), json!(i))).collect()
                    }
                    other => return Err(ExecError(format!("range can't iterate over {}", print(other)))),
                };
                if items.is_empty() {
                    return self.scoped(otherwise, dot);
                }
                for (k, x) in items {
                    let mark = self.vars.len();
                    match names.as_slice() {
                        [] => {}
                        [e] => self.vars.push((e.clone(), x.clone())),
                        [i, e, ..] => {
                            self.vars.push((i.clone(), k));
                            self.vars.push((e.clone(), x.clone()));
                        }
                    }
                    let r = self.nodes(body, &x);
                    self.vars.truncate(mark);
                    r?;
                }
            }
            Node::Template(name, p) => {
                let body = self.defines.get(name).ok_or_else(|| ExecError(format!("no such template \"{name}\"")))?;
                let data = match p {
                    Some(p) => self.pipeline(p, dot)?.v,
                    None => Value::Null,
                };
                if self.depth >= MAX_DEPTH {
                    return Err(ExecError(format!("template \"{name}\" calls itself too deeply")));
                }
                self.depth += 1;
                // A template sees only its data (and `$` as that data).
                let saved = std::mem::replace(&mut self.vars, vec![(String::new(), data.clone())]);
                let r = self.nodes(&body.clone(), &data);
                self.vars = saved;
                self.depth -= 1;
                r?;
            }
        }
        Ok(())
    }

    fn var(&self, name: &str) -> Result<Value, ExecError> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| ExecError(format!("undefined variable ${name}")))
    }

    pub fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Result<V, ExecError> {
        let mut last: Option<V> = None;
        for cmd in &p.commands {
            last = Some(self.command(cmd, dot, last)?);
        }
        let v = last.unwrap_or(V::of(Value::Null));
        for (i, name) in p.vars.iter().enumerate() {
            if i > 0 {
                break;
            }
            if p.assign {
                let slot = self.vars.iter_mut().rev().find(|(n, _)| n == name);
                match slot {
                    Some(s) => s.1 = v.v.clone(),
                    None => return Err(ExecError(format!("undefined variable ${name}"))),
                }
            } else {
                self.vars.push((name.clone(), v.v.clone()));
            }
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Operand], dot: &Value, piped: Option<V>) -> Result<V, ExecError> {
        let first = &cmd[0];
        let mut args = Vec::new();
        for a in &cmd[1..] {
            args.push(self.operand(a, dot, &[])?);
        }
        args.extend(piped);
        match first {
            Operand::Function(name) => funcs::call(name, args),
            // `.Labels.Remove .Names`, `$t.Format "..."`, `(...).Format "..."`: a method called
            // with arguments.
            Operand::Field(f) | Operand::Variable(_, f) | Operand::Nested(_, f)
                if !args.is_empty() && !f.is_empty() =>
            {
                let (last, path) = f.split_last().expect("not empty");
                let recv = match first {
                    Operand::Field(_) => walk(dot, path)?,
                    Operand::Variable(n, _) => walk(&self.var(n)?, path)?,
                    Operand::Nested(p, _) => walk(&self.pipeline(p, dot)?.v, path)?,
                    _ => unreachable!("matched above"),
                };
                method(&recv, last, &args).ok_or_else(|| ExecError(format!("can't call `{last}` with arguments")))?
            }
            other if args.is_empty() => self.operand(other, dot, &[]),
            _ => Err(ExecError("only a function or a method takes arguments".into())),
        }
    }

    fn operand(&mut self, o: &Operand, dot: &Value, _: &[V]) -> Result<V, ExecError> {
        match o {
            Operand::Field(f) => walk(dot, f).map(V::of),
            Operand::Variable(n, f) => walk(&self.var(n)?, f).map(V::of),
            Operand::Constant(c) => Ok(V::of(c.clone())),
            Operand::Nested(p, f) => {
                let v = self.pipeline(p, dot)?;
                if f.is_empty() { Ok(v) } else { walk(&v.v, f).map(V::of) }
            }
            Operand::Function(name) => funcs::call(name, Vec::new()),
        }
    }
}

/// Follows `fields` from `v`: object keys, else a method without arguments.
fn walk(v: &Value, fields: &[String]) -> Result<Value, ExecError> {
    let mut cur = v.clone();
    for f in fields {
        cur = match &cur {
            Value::Object(m) if m.contains_key(f) => m[f].clone(),
            _ => match method(&cur, f, &[]) {
                Some(r) => r?.v,
                None => match &cur {
                    // A missing key of a map prints as `<no value>`, as in Go.
                    Value::Object(_) => Value::Null,
                    Value::Null => return Err(ExecError(format!("nil pointer evaluating .{f}"))),
                    other => return Err(ExecError(format!("can't evaluate field {f} in {}", kind(other)))),
                },
            },
        };
    }
    Ok(cur)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "type string",
        Value::Number(_) => "type number",
        Value::Bool(_) => "type bool",
        Value::Array(_) => "type list",
        Value::Object(_) => "type map",
        Value::Null => "nil",
    }
}

/// Alertmanager's methods on its template types, by name; `None` when `name` is none of them.
fn method(recv: &Value, name: &str, args: &[V]) -> Option<Result<V, ExecError>> {
    let pairs_of = |v: &Value| -> Option<Vec<(String, Value)>> {
        match v {
            Value::Object(m) => Some(sorted_pairs(m)),
            Value::Array(a) => {
                a.iter().map(|p| Some((p.get("Name")?.as_str()?.to_string(), p.get("Value")?.clone()))).collect()
            }
            _ => None,
        }
    };
    let out = match name {
        "SortedPairs" => {
            let pairs = pairs_of(recv)?;
            json!(pairs.into_iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect::<Vec<_>>())
        }
        "Names" => json!(pairs_of(recv)?.into_iter().map(|(k, _)| k).collect::<Vec<_>>()),
        "Values" => json!(pairs_of(recv)?.into_iter().map(|(_, v)| v).collect::<Vec<_>>()),
        "Remove" => {
            let Value::Object(m) = recv else { return None };
            let drop: Vec<String> = args
                .iter()
                .flat_map(|a| match &a.v {
                    Value::Array(l) => l.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => Vec::new(),
                })
                .collect();
            Value::Object(m.iter().filter(|(k, _)| !drop.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        "Firing" | "Resolved" => {
            let Value::Array(a) = recv else { return None };
            let want = if name == "Firing" { "firing" } else { "resolved" };
            json!(
                a.iter().filter(|x| x.get("Status").and_then(Value::as_str) == Some(want)).cloned().collect::<Vec<_>>()
            )
        }
        "String" if pairs_of(recv).is_some() => {
            json!(pairs_of(recv)?.into_iter().map(|(k, v)| format!("{k}={}", print(&v))).collect::<Vec<_>>().join(", "))
        }
        "Format" => {
            let layout = args.first().and_then(|a| a.v.as_str()).unwrap_or("2006-01-02 15:04:05.999999999 -0700 MST");
            return Some(funcs::format_time(recv, layout).map(|s| V::of(json!(s))));
        }
        _ => return None,
    };
    Some(Ok(V::of(out)))
}
