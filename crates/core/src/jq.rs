//! jq programs (JSON_JQ_TRANSFORM) on jaq: compiled once per query and cached per interpreter thread.

use std::collections::HashMap;
use std::sync::Arc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

/// A compiled jq program.
pub struct JqFilter(jaq_core::Filter<data::JustLut<Val>>);

impl std::fmt::Debug for JqFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JqFilter")
    }
}

/// Compiles `query`, returning a readable message on syntax or name errors.
pub fn compile(query: &str) -> Result<JqFilter, String> {
    let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code: query, path: () })
        .map_err(|errs| format!("syntax error in `{query}`: {}", describe_load(&errs)))?;
    let filter = Compiler::default().with_funs(funs).compile(modules).map_err(|errs| {
        let names: Vec<String> =
            errs.iter().flat_map(|(_, es)| es.iter().map(|(name, _)| format!("`{name}`"))).collect();
        format!("undefined name {} in `{query}`", names.join(", "))
    })?;
    Ok(JqFilter(filter))
}

fn describe_load<P>(errs: &jaq_core::load::Errors<&str, P>) -> String {
    errs.iter()
        .map(|(_, e)| match e {
            jaq_core::load::Error::Io(io) => io.iter().map(|(p, m)| format!("{p}: {m}")).collect::<Vec<_>>().join("; "),
            jaq_core::load::Error::Lex(lex) => lex
                .iter()
                .map(|(expect, at)| format!("expected {} at {}", expect.as_str(), snippet(at)))
                .collect::<Vec<_>>()
                .join("; "),
            jaq_core::load::Error::Parse(parse) => parse
                .iter()
                .map(|(expect, at)| format!("expected {} at {}", expect.as_str(), snippet(at)))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn snippet(at: &str) -> String {
    if at.is_empty() { "the end of the query".into() } else { format!("`{}`", at.chars().take(20).collect::<String>()) }
}

impl JqFilter {
    /// Runs the program on `input` and returns every output value.
    pub fn run(&self, input: &Value) -> Result<Vec<Value>, String> {
        let input = Val::deserialize(input).map_err(|e| format!("input is not JSON: {e}"))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.0.lut, Vars::new([]));
        let mut out = Vec::new();
        for item in self.0.id.run((ctx, input)).map(unwrap_valr) {
            let val = item.map_err(|e| format!("jq error: {e}"))?;
            out.push(val_to_json(&val)?);
        }
        Ok(out)
    }
}

fn val_to_json(val: &Val) -> Result<Value, String> {
    serde_json::from_str(&val.to_string()).map_err(|e| format!("jq produced a value that is not JSON ({e}): {val}"))
}

/// Compiled programs by query text, owned by one interpreter thread.
#[derive(Default)]
pub struct JqCache {
    filters: HashMap<Arc<str>, JqFilter>,
}

impl JqCache {
    /// Runs `query` on `input`, compiling it on first use.
    pub fn run(&mut self, query: &str, input: &Value) -> Result<Vec<Value>, String> {
        if !self.filters.contains_key(query) {
            let filter = compile(query)?;
            if self.filters.len() > 10_000 {
                self.filters.clear();
            }
            self.filters.insert(Arc::from(query), filter);
        }
        self.filters[query].run(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_queries_and_returns_all_results() {
        let mut cache = JqCache::default();
        let out = cache
            .run(
                ".users[] | {login, id}",
                &json!({"users": [{"login": "a", "id": 1, "x": 0}, {"login": "b", "id": 2}]}),
            )
            .unwrap();
        assert_eq!(out, vec![json!({"login": "a", "id": 1}), json!({"login": "b", "id": 2})]);
        let out = cache.run("[.[] | select(. > 1)] | length", &json!([1, 2, 3])).unwrap();
        assert_eq!(out, vec![json!(2)]);
    }

    #[test]
    fn reports_syntax_and_runtime_errors() {
        assert!(compile(".a | | .b").unwrap_err().contains("syntax error"));
        assert!(compile("nosuchfn(1)").unwrap_err().contains("nosuchfn"));
        let mut cache = JqCache::default();
        assert!(cache.run(".a + 1", &json!({"a": "x"})).unwrap_err().contains("jq error"));
    }
}
