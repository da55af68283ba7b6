//! jq programs (JSON_JQ_TRANSFORM) on jaq: compiled once per query and cached per interpreter thread.
//!
//! Every evaluation runs under the same limits as INLINE JavaScript ([`ScriptLimits`]): a time
//! limit, a memory limit and a bounded recursion depth, enforced step by step ([`guard`]). A
//! program past a limit fails its task with the reason; its thread is free at once and the
//! process is unharmed. `halt` ends the evaluation with an error, and `env` is not available
//! ([`natives`]).

mod guard;
mod natives;

use std::collections::HashMap;
use std::sync::Arc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Exn, ValX, Vars};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

pub use guard::MIN_THREAD_STACK;
use guard::{Guarded, GuardedLut};

use crate::script::ScriptLimits;

/// A compiled jq program.
pub struct JqFilter(jaq_core::Filter<Guarded>);

impl std::fmt::Debug for JqFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JqFilter")
    }
}

/// Compiles `query`, returning a readable message on syntax or name errors.
pub fn compile(query: &str) -> Result<JqFilter, String> {
    let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    let funs = natives::all();
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

/// Why a jq evaluation gave no result.
#[derive(Debug, Clone, PartialEq)]
pub enum JqError {
    /// It ran past the time it was given (and was stopped).
    OverTime(std::time::Duration),
    /// It failed: an error raised by the program, or a memory or depth limit.
    Failed(String),
}

impl std::fmt::Display for JqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JqError::OverTime(limit) => guard::Abort::Timeout(*limit).fmt(f),
            JqError::Failed(reason) => f.write_str(reason),
        }
    }
}

impl JqFilter {
    /// Runs the program on `input` under `limits` and returns every output value.
    pub fn run(&self, input: &Value, limits: ScriptLimits) -> Result<Vec<Value>, String> {
        self.run_within(input, limits).map_err(|e| e.to_string())
    }

    /// [`JqFilter::run`], telling a run past the time limit apart from other failures.
    pub fn run_within(&self, input: &Value, limits: ScriptLimits) -> Result<Vec<Value>, JqError> {
        let input = Val::deserialize(input).map_err(|e| JqError::Failed(format!("input is not JSON: {e}")))?;
        let deadline = std::time::Instant::now() + limits.time;
        let outcome = guard::with_budget(limits.time, limits.memory_bytes, || {
            let ctx = Ctx::<Guarded>::new(GuardedLut(&self.0.lut), Vars::new([]));
            let mut out = Vec::new();
            for item in self.0.id.run((ctx, input)) {
                let val = read_result(item).map_err(JqError::Failed)?;
                out.push(val_to_json(&val, limits.memory_bytes, deadline).map_err(|stop| match stop {
                    Stop::Late => JqError::OverTime(limits.time),
                    Stop::Failed(why) => JqError::Failed(why),
                })?);
            }
            Ok(out)
        });
        match outcome {
            Ok(result) => result,
            Err(guard::Abort::Timeout(limit)) => Err(JqError::OverTime(limit)),
            Err(abort) => Err(JqError::Failed(abort.to_string())),
        }
    }
}

/// A result of the main filter: a value, or the error it raised. `halt` is an error here (jaq's
/// own reader would exit the process).
fn read_result(item: ValX<'_, Val>) -> Result<Val, String> {
    item.map_err(|exn: Exn<'_, Val>| match exn.get_err() {
        Ok(e) => jackson_jq_text(&e.to_string()).unwrap_or_else(|| format!("jq error: {e}")),
        Err(exn) => match exn.get_halt() {
            Ok(code) => format!("jq program called halt (exit code {code}); the task fails instead"),
            Err(_) => "jq program raised an exception outside any function".to_string(),
        },
    })
}

/// jackson-jq's text (Conductor's jq) for jaq's most common error, so reasons read the same:
/// `cannot index "a" with "array"` is `Cannot index string with string "array"`.
fn jackson_jq_text(jaq: &str) -> Option<String> {
    let rest = jaq.strip_prefix("cannot index ")?;
    let (value, key) = rest.split_once(" with ")?;
    let value: serde_json::Value = serde_json::from_str(value).ok()?;
    let key: serde_json::Value = serde_json::from_str(key).ok()?;
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    Some(match &key {
        serde_json::Value::String(k) => format!("Cannot index {} with string \"{k}\"", kind(&value)),
        other => format!("Cannot index {} with {}", kind(&value), kind(other)),
    })
}

/// Why writing a result stopped.
enum Stop {
    /// Past the evaluation's deadline.
    Late,
    /// Too large, or not JSON.
    Failed(String),
}

/// A result as JSON, written at most `cap` bytes long and by `deadline`: the text form is built
/// outside the evaluation's step budget, and escaping can make it several times the size of the
/// value (found by fuzzing: a 66 MB string of control characters became 396 MB of `\u0008`s and
/// took 12 s; capped at the memory limit it still took 1.4 s, seven times the time limit).
fn val_to_json(val: &Val, cap: usize, deadline: std::time::Instant) -> Result<Value, Stop> {
    use std::fmt::Write;
    struct Capped {
        text: String,
        cap: usize,
        deadline: std::time::Instant,
        writes: u32,
        late: bool,
    }
    impl Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.writes = self.writes.wrapping_add(1);
            if self.writes.is_multiple_of(4096) && std::time::Instant::now() > self.deadline {
                self.late = true;
                return Err(std::fmt::Error);
            }
            if self.text.len() + s.len() > self.cap {
                return Err(std::fmt::Error);
            }
            self.text.push_str(s);
            Ok(())
        }
    }
    let mut out = Capped { text: String::new(), cap, deadline, writes: 0, late: false };
    if write!(out, "{val}").is_err() {
        if out.late {
            return Err(Stop::Late);
        }
        return Err(Stop::Failed(format!(
            "jq program's result is larger than {} MiB as JSON and was stopped",
            cap >> 20
        )));
    }
    serde_json::from_str(&out.text).map_err(|e| Stop::Failed(format!("jq produced a value that is not JSON ({e})")))
}

/// Compiled programs by query text, owned by one interpreter thread.
#[derive(Default)]
pub struct JqCache {
    filters: HashMap<Arc<str>, JqFilter>,
    limits: ScriptLimits,
}

impl JqCache {
    /// An empty cache whose evaluations run under `limits`.
    pub fn new(limits: ScriptLimits) -> Self {
        Self { filters: HashMap::new(), limits }
    }

    /// Runs `query` on `input`, compiling it on first use.
    pub fn run(&mut self, query: &str, input: &Value) -> Result<Vec<Value>, String> {
        self.run_within(query, input, self.limits.time).map_err(|e| e.to_string())
    }

    /// Runs `query` on `input` for at most `time` (capped at the cache's limit), telling a run
    /// stopped for time apart from other failures.
    pub fn run_within(&mut self, query: &str, input: &Value, time: std::time::Duration) -> Result<Vec<Value>, JqError> {
        if !self.filters.contains_key(query) {
            let filter = compile(query).map_err(JqError::Failed)?;
            if self.filters.len() > 10_000 {
                self.filters.clear();
            }
            self.filters.insert(Arc::from(query), filter);
        }
        let limits = ScriptLimits { time: time.min(self.limits.time), ..self.limits };
        self.filters[query].run_within(input, limits)
    }

    /// The limits of a full evaluation.
    pub fn limits(&self) -> ScriptLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the hour-long fuzz run (`fuzz/artifacts/jq/timeout-4faadfd...`): a string of
    /// control characters just under the repetition cap escapes to six times its size as JSON;
    /// writing that took 12 s and 1.1 GB outside the step budget.
    ///
    /// The time limit is far away here so that the memory cap, not the clock, is what stops it
    /// (a debug build on a busy machine can take over 2 s to write 64 MiB).
    #[test]
    fn an_output_that_escapes_past_the_memory_limit_is_stopped() {
        let limits = ScriptLimits { time: std::time::Duration::from_secs(600), memory_bytes: 64 << 20 };
        let mut cache = JqCache::new(limits);
        let err = cache.run(r#""\u0008\u0006\t\u0008\u0008" * 13000000"#, &json!(null)).unwrap_err();
        assert!(err.contains("larger than 64 MiB as JSON"), "{err}");
        assert_eq!(cache.run(r#""ab" * 3"#, &json!(null)).unwrap(), [json!("ababab")]);
    }

    /// Found by the second fuzz run (`fuzz/artifacts/jq/timeout-fd5b2c0...`): capped at the memory
    /// limit, writing an escaped result still took 1.4 s against a 200 ms limit; the writer now
    /// stops at the deadline.
    #[test]
    fn writing_an_escaped_result_stops_at_the_time_limit() {
        let limits = ScriptLimits { time: std::time::Duration::from_millis(200), memory_bytes: 64 << 20 };
        let mut cache = JqCache::new(limits);
        let err = cache
            .run_within(
                r#""b\u0008\u0006\t\u0008\u0008\u0008\u0008\u0002\u0018\u0008\u0008'\u0008" * 4400009"#,
                &json!(null),
                limits.time,
            )
            .unwrap_err();
        // Before, the writer ran to the 64 MiB cap and failed with "larger than" instead.
        assert!(matches!(err, JqError::OverTime(_)), "{err}");
    }

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

    fn limited() -> JqCache {
        JqCache::new(ScriptLimits { time: std::time::Duration::from_millis(300), memory_bytes: 32 << 20 })
    }

    /// 32 MiB and a time limit far away, so that memory, not a busy machine's clock, stops a run.
    fn memory_limited() -> JqCache {
        JqCache::new(ScriptLimits { time: std::time::Duration::from_secs(600), memory_bytes: 32 << 20 })
    }

    fn run_on_big_stack(query: &'static str) -> Result<Vec<Value>, String> {
        std::thread::Builder::new()
            .stack_size(MIN_THREAD_STACK)
            .spawn(move || {
                let limits = ScriptLimits { time: std::time::Duration::from_secs(20), memory_bytes: 32 << 20 };
                JqCache::new(limits).run(query, &json!(null))
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn endless_recursion_stops_at_the_time_limit_and_frees_the_thread() {
        let mut cache = limited();
        let err = cache.run("def f: f; f", &json!(null)).unwrap_err();
        assert!(err.contains("longer than the 300ms limit"), "{err}");
        assert_eq!(cache.run(". + 1", &json!(1)).unwrap(), vec![json!(2)]);
    }

    #[test]
    fn a_huge_range_stops_at_the_memory_limit_instead_of_aborting_the_process() {
        assert!(crate::memory::is_counting());
        let err = memory_limited().run("[range(1000000000)] | length", &json!(null)).unwrap_err();
        assert!(err.contains("more than 32 MiB"), "{err}");
        let err = memory_limited().run("[limit(100000000; repeat(1))] | length", &json!(null)).unwrap_err();
        assert!(err.contains("more than 32 MiB"), "{err}");
    }

    #[test]
    fn doubling_a_string_stops_at_the_memory_limit() {
        let err = memory_limited().run(r#"reduce range(64) as $i ("x"; . + .) | length"#, &json!(null)).unwrap_err();
        assert!(err.contains("more than 32 MiB"), "{err}");
    }

    #[test]
    fn repeating_a_string_a_huge_number_of_times_fails_the_program() {
        let err = limited().run(r#""x" * 100000000000 | length"#, &json!(null)).unwrap_err();
        assert!(err.contains("jq"), "{err}");
        let err = limited().run(r#""abc" * 1e12 | length"#, &json!(null)).unwrap_err();
        assert!(err.contains("jq"), "{err}");
    }

    #[test]
    fn deep_recursion_stops_before_the_stack_overflows() {
        let err = run_on_big_stack("def f: 1 + f; f").unwrap_err();
        assert!(err.contains("recursed too deeply"), "{err}");
    }

    #[test]
    fn deeply_nested_values_are_refused_or_converted() {
        let out = run_on_big_stack("reduce range(20000) as $i (null; [.]) | tojson | length");
        assert_eq!(out.unwrap(), vec![json!(40004)]);
        let err = run_on_big_stack("reduce range(20000) as $i (null; [.])").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
        let err = run_on_big_stack("reduce range(10000000) as $i (null; [.]) | length").unwrap_err();
        assert!(err.contains("more than 32 MiB"), "{err}");
    }

    #[test]
    fn halt_fails_the_program_instead_of_exiting_the_process() {
        let err = limited().run("halt", &json!(null)).unwrap_err();
        assert!(err.contains("halt"), "{err}");
        let err = limited().run(r#""bye" | halt_error(3)"#, &json!(null)).unwrap_err();
        assert!(err.contains("halt (exit code 3)"), "{err}");
    }

    #[test]
    fn env_and_stderr_are_not_available() {
        let err = limited().run("env", &json!(null)).unwrap_err();
        assert!(err.contains("`env` is not available"), "{err}");
        assert!(limited().run("$ENV.HOME", &json!(null)).is_err());
        assert_eq!(limited().run(r#""x" | stderr"#, &json!(null)).unwrap(), vec![json!("x")]);
    }

    #[test]
    fn counted_range_keeps_jaq_semantics() {
        let mut cache = limited();
        assert_eq!(cache.run("[range(3)]", &json!(null)).unwrap(), vec![json!([0, 1, 2])]);
        assert_eq!(cache.run("[range(5; 0; -2)]", &json!(null)).unwrap(), vec![json!([5, 3, 1])]);
        assert_eq!(cache.run("[range(0; 1; 0.25)]", &json!(null)).unwrap(), vec![json!([0, 0.25, 0.5, 0.75])]);
    }

    #[test]
    fn reports_syntax_and_runtime_errors() {
        assert!(compile(".a | | .b").unwrap_err().contains("syntax error"));
        assert!(compile("nosuchfn(1)").unwrap_err().contains("nosuchfn"));
        let mut cache = JqCache::default();
        assert!(cache.run(".a + 1", &json!({"a": "x"})).unwrap_err().contains("jq error"));
        // Indexing errors read as jackson-jq's (Conductor's) do.
        assert_eq!(cache.run(".a.array", &json!({"a": "a"})).unwrap_err(), "Cannot index string with string \"array\"");
    }
}
