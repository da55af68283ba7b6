//! JavaScript for INLINE tasks, SWITCH and DO_WHILE conditions, on an embedded QuickJS.
//!
//! One [`ScriptEngine`] lives on each interpreter thread and is reused: creating a context costs
//! ~150–370 µs, a call into a cached compiled function ~3 µs. A script that is an expression is
//! compiled once into `function($) { return (...) }` and cached; a statement list (Conductor allows
//! `var x = ...; x`) is evaluated as global code with `$` bound. Every evaluation runs under a time
//! limit and the runtime under a memory limit, so `while(true){}` fails its task instead of hanging
//! the engine; after such a failure the runtime is rebuilt, so no state survives it.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::{Context, Ctx, Function, Persistent, Runtime};
use serde_json::Value;
use thiserror::Error;

/// Limits for one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct ScriptLimits {
    /// Wall time for one evaluation.
    pub time: Duration,
    /// Memory for the whole JS heap of one interpreter thread.
    pub memory_bytes: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self { time: Duration::from_secs(2), memory_bytes: 64 << 20 }
    }
}

/// Why a script failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScriptError {
    /// The script ran past the time limit.
    #[error("script ran longer than the {0:?} limit and was stopped")]
    Timeout(Duration),
    /// The script used more memory than allowed.
    #[error("script used more than {0} MiB of memory and was stopped")]
    OutOfMemory(usize),
    /// The script threw or did not parse.
    #[error("script error: {0}")]
    Exception(String),
}

/// Field order matters: compiled functions and the context must drop before the runtime.
struct Js {
    compiled: HashMap<String, Option<Persistent<Function<'static>>>>,
    context: Context,
    runtime: Runtime,
    deadline: Rc<Cell<Option<Instant>>>,
}

/// A reusable JavaScript evaluator; not `Send`, one per interpreter thread.
pub struct ScriptEngine {
    limits: ScriptLimits,
    js: Js,
}

impl ScriptEngine {
    /// A new engine with the given limits.
    pub fn new(limits: ScriptLimits) -> Self {
        Self { limits, js: Js::new(limits) }
    }

    /// Evaluates `script` with `$` bound to `input` and returns its value as JSON
    /// (`undefined` and functions become `null`).
    pub fn eval(&mut self, script: &str, input: &Value) -> Result<Value, ScriptError> {
        self.eval_within(script, input, self.limits.time)
    }

    /// [`ScriptEngine::eval`] for at most `time` (capped at the engine's limit); past it the
    /// result is [`ScriptError::Timeout`] with `time`.
    pub fn eval_within(&mut self, script: &str, input: &Value, time: Duration) -> Result<Value, ScriptError> {
        let limits = ScriptLimits { time: time.min(self.limits.time), ..self.limits };
        self.js.deadline.set(Some(Instant::now() + limits.time));
        let result = self.js.eval(script, input, limits);
        self.js.deadline.set(None);
        if matches!(result, Err(ScriptError::Timeout(_) | ScriptError::OutOfMemory(_))) {
            self.js = Js::new(self.limits);
        }
        result
    }

    /// Compiles `script` without running it, returning the syntax error if there is one.
    pub fn check_syntax(&mut self, script: &str) -> Result<(), String> {
        let source = serde_json::to_string(script).unwrap_or_default();
        self.js.context.with(|ctx| match ctx.eval::<rquickjs::Value, _>(format!("new Function('$', {source}); null")) {
            Ok(_) => Ok(()),
            Err(e) => {
                let thrown = ctx.catch();
                Err(thrown.as_exception().and_then(|ex| ex.message()).unwrap_or_else(|| e.to_string()))
            }
        })
    }

    /// The limits of a full evaluation.
    pub fn limits(&self) -> ScriptLimits {
        self.limits
    }

    /// Evaluates `script` for at most `time` and reads the result as a boolean the way
    /// JavaScript's `if` would.
    pub fn eval_truthy(&mut self, script: &str, input: &Value, time: Duration) -> Result<bool, ScriptError> {
        Ok(match self.eval_within(script, input, time)? {
            Value::Null => false,
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
            Value::String(s) => !s.is_empty(),
            _ => true,
        })
    }
}

/// Scripts written for Conductor's GraalJS call Java methods on their inputs, which are Java
/// lists and maps there (`$.list.get(i)`, `$.list.size()`, `$.map.containsKey(k)`): the common
/// ones, as non-enumerable methods (own properties of the same name still win).
const JAVA_STYLE_METHODS: &str = r#"(function () {
  function def(proto, name, fn) {
    // A descriptor without a prototype: it must not inherit the `get` defined below.
    var d = Object.create(null);
    d.value = fn; d.writable = true; d.configurable = true; d.enumerable = false;
    Object.defineProperty(proto, name, d);
  }
  def(Array.prototype, 'get', function (i) { return this[i]; });
  def(Array.prototype, 'size', function () { return this.length; });
  def(Array.prototype, 'isEmpty', function () { return this.length === 0; });
  def(Array.prototype, 'contains', function (x) { return this.indexOf(x) >= 0; });
  def(Object.prototype, 'get', function (k) { return this[k]; });
  def(Object.prototype, 'size', function () { return Object.keys(this).length; });
  def(Object.prototype, 'isEmpty', function () { return Object.keys(this).length === 0; });
  def(Object.prototype, 'containsKey', function (k) { return Object.prototype.hasOwnProperty.call(this, k); });
  def(String.prototype, 'equals', function (o) { return String(this) === String(o); });
})();"#;

impl Js {
    fn new(limits: ScriptLimits) -> Self {
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let allocator = crate::memory::DeadlineAllocator::new(deadline.clone());
        let runtime = Runtime::new_with_alloc(allocator).expect("QuickJS runtime");
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(1 << 20);
        let watch = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || watch.get().is_some_and(|d| Instant::now() > d))));
        let context = Context::full(&runtime).expect("QuickJS context");
        context.with(|ctx| {
            // The prelude is a constant that runs without error (tested below).
            let _ = ctx.eval::<rquickjs::Value, _>(JAVA_STYLE_METHODS);
        });
        Self { compiled: HashMap::new(), context, runtime, deadline }
    }

    fn eval(&mut self, script: &str, input: &Value, limits: ScriptLimits) -> Result<Value, ScriptError> {
        let input_json = serde_json::to_string(input).unwrap_or_else(|_| "null".into());
        let compiled = &mut self.compiled;
        let deadline = &self.deadline;
        let result = self.context.with(|ctx| {
            if !compiled.contains_key(script) {
                if compiled.len() > 10_000 {
                    compiled.clear();
                }
                let wrapped = format!("(function($) {{ return (\n{}\n); }})", script.trim().trim_end_matches(';'));
                let func = ctx.eval::<Function, _>(wrapped).ok().map(|f| Persistent::save(&ctx, f));
                let _ = ctx.catch();
                compiled.insert(script.to_string(), func);
            }
            let arg = ctx.json_parse(input_json).map_err(|e| caught(&ctx, e, deadline, limits))?;
            let value: rquickjs::Value = match compiled.get(script).cloned().flatten() {
                Some(func) => {
                    let func = func.restore(&ctx).map_err(|e| caught(&ctx, e, deadline, limits))?;
                    func.call((arg,)).map_err(|e| caught(&ctx, e, deadline, limits))?
                }
                None => {
                    ctx.globals().set("$", arg).map_err(|e| caught(&ctx, e, deadline, limits))?;
                    ctx.eval(script.as_bytes().to_vec()).map_err(|e| caught(&ctx, e, deadline, limits))?
                }
            };
            let text = ctx.json_stringify(value).map_err(|e| caught(&ctx, e, deadline, limits))?;
            Ok(match text {
                Some(s) => s.to_string().map_err(|e| ScriptError::Exception(e.to_string()))?,
                None => "null".to_string(),
            })
        });
        // Out of memory, QuickJS cannot even allocate an exception and throws `null`: recognise it
        // by the heap being at its limit, so the task says why and the engine is rebuilt.
        if let Err(ScriptError::Exception(_)) = &result {
            let usage = self.runtime.memory_usage();
            if usage.malloc_size as f64 >= limits.memory_bytes as f64 * 0.9 {
                return Err(ScriptError::OutOfMemory(limits.memory_bytes >> 20));
            }
        }
        result.and_then(|text| serde_json::from_str(&text).map_err(|e| ScriptError::Exception(e.to_string())))
    }
}

fn caught(ctx: &Ctx<'_>, err: rquickjs::Error, deadline: &Cell<Option<Instant>>, limits: ScriptLimits) -> ScriptError {
    let message = if err.is_exception() {
        let thrown = ctx.catch();
        match thrown.as_exception() {
            Some(ex) => ex.message().unwrap_or_else(|| "exception".into()),
            None => thrown.as_string().and_then(|s| s.to_string().ok()).unwrap_or_else(|| format!("{thrown:?}")),
        }
    } else {
        err.to_string()
    };
    if deadline.get().is_some_and(|d| Instant::now() > d) || message.contains("interrupted") {
        ScriptError::Timeout(limits.time)
    } else if message.contains("out of memory") || matches!(err, rquickjs::Error::Allocation) {
        ScriptError::OutOfMemory(limits.memory_bytes >> 20)
    } else {
        ScriptError::Exception(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn engine() -> ScriptEngine {
        ScriptEngine::new(ScriptLimits { time: Duration::from_millis(200), memory_bytes: 16 << 20 })
    }

    #[test]
    fn expressions_and_statement_lists() {
        let mut js = engine();
        assert_eq!(js.eval("$.a + 1", &json!({"a": 41})).unwrap(), json!(42));
        assert_eq!(js.eval("$.a + 1;", &json!({"a": 1})).unwrap(), json!(2));
        assert_eq!(js.eval("var x = $.a * 2; x + 1", &json!({"a": 2})).unwrap(), json!(5));
        assert_eq!(js.eval("(function(){ return {b: [$.a]}; })()", &json!({"a": "z"})).unwrap(), json!({"b": ["z"]}));
        assert_eq!(
            js.eval("function e() { return $.a > 1 ? 'big' : 'small'; } e();", &json!({"a": 3})).unwrap(),
            json!("big")
        );
        assert_eq!(js.eval("undefined", &json!({})).unwrap(), Value::Null);
    }

    #[test]
    fn cached_function_sees_new_input_each_call() {
        let mut js = engine();
        for i in 0..5 {
            assert_eq!(js.eval("$.i * 10", &json!({"i": i})).unwrap(), json!(i * 10));
        }
    }

    #[test]
    fn java_style_methods_of_graaljs_scripts_work_on_arrays_and_objects() {
        let mut js = engine();
        let input = json!({"list": [10, 20, 30], "map": {"a": 1, "get": "own"}});
        let got = js.eval(
            "[$.list.get(1), $.list.size(), $.map.size(), $.map.containsKey('a'), $.map.get, $.list.isEmpty()]",
            &input,
        );
        assert_eq!(got.unwrap(), json!([20, 3, 2, true, "own", false]));
        assert_eq!(js.eval("JSON.stringify($.map)", &input).unwrap(), json!("{\"a\":1,\"get\":\"own\"}"));
    }

    #[test]
    fn exceptions_are_reported() {
        let mut js = engine();
        let err = js.eval("throw new Error('boom')", &json!({})).unwrap_err();
        assert_eq!(err, ScriptError::Exception("boom".into()));
        assert!(matches!(js.eval("this is not js", &json!({})), Err(ScriptError::Exception(_))));
    }

    #[test]
    fn syntax_is_checked_without_running() {
        let mut js = engine();
        assert_eq!(js.check_syntax("while(true){}"), Ok(()));
        assert_eq!(js.check_syntax("var x = 1; x + $.a"), Ok(()));
        assert!(js.check_syntax("$.a +* 2").is_err());
        assert!(js.check_syntax("(function(){ return 1; }").is_err());
    }

    #[test]
    fn infinite_loop_is_stopped_and_engine_recovers() {
        let mut js = engine();
        assert_eq!(js.eval("while(true){}", &json!({})), Err(ScriptError::Timeout(Duration::from_millis(200))));
        assert_eq!(js.eval("1 + 1", &json!({})).unwrap(), json!(2));
    }

    #[test]
    fn heavy_native_steps_stop_at_the_time_limit_not_at_the_next_interrupt_check() {
        // Found by fuzzing: each step joins a million-element array (native work between
        // QuickJS's interrupt checks), which ran ~50 s against a 200 ms limit.
        let mut js = engine();
        let started = Instant::now();
        let err = js.eval("var a = []; for(;;) a.push(~new Array(1e6));", &json!({})).unwrap_err();
        assert_eq!(err, ScriptError::Timeout(Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(20), "stopped after {:?}", started.elapsed());
        assert_eq!(js.eval("1 + 1", &json!({})).unwrap(), json!(2));
    }

    /// Issue 31, item 5: scripts that catch what stops them. Each ran for minutes (the first
    /// pinned a shard for 9+ minutes under `vigil serve`); each must end at its limit.
    pub(crate) const CATCHING_RUNAWAYS: &[&str] = &[
        "function f(){try{return f()}catch(e){return f()}}; f()",
        "function f(){try{f()}catch(e){} f()}; f()",
        "for(;;){try{while(true){}}catch(e){}}",
        "for(;;){try{throw 1}catch(e){}finally{continue}}",
        "var o = {get x(){ throw new Error('g') }}; for(;;){try{o.x}catch(e){}}",
        "var p = new Proxy({}, {get: function(t, k){ try { return p[k] } catch(e) { return p[k] } }}); p.x",
        "var s = 'x'; for(;;){try{ s = s + s; }catch(e){ s = 'x'; }}",
        "Error.prepareStackTrace = function(){ for(;;){} }; for(;;){try{null.x}catch(e){}}",
        "for(;;){try{ using r = {[Symbol.dispose](){ for(;;){} }}; throw 1 }catch(e){}}",
        "for(;;){try{ const d = new DisposableStack(); d.defer(function(){ for(;;){} }); d.dispose() }catch(e){}}",
    ];

    #[test]
    fn scripts_that_catch_what_stops_them_still_stop_at_the_limit() {
        let mut js = engine();
        for script in CATCHING_RUNAWAYS {
            let started = Instant::now();
            let got = js.eval(script, &json!({}));
            assert!(
                matches!(got, Err(ScriptError::Timeout(_)) | Err(ScriptError::OutOfMemory(_))),
                "{script}: {got:?}"
            );
            // A hang guard, not a timing: before the fix these ran for minutes.
            assert!(started.elapsed() < Duration::from_secs(20), "{script} stopped after {:?}", started.elapsed());
            assert_eq!(js.eval("1 + 1", &json!({})).unwrap(), json!(2), "the engine answers after {script}");
        }
    }

    #[test]
    fn catch_and_finally_work_before_the_limit() {
        let mut js = engine();
        let script =
            "var n = 0; for (var i = 0; i < 3; i++) { try { throw i } catch (e) { n += e } finally { n += 10 } } n";
        assert_eq!(js.eval(script, &json!({})).unwrap(), json!(33));
    }

    #[test]
    fn memory_hog_is_stopped() {
        let mut js = engine();
        let err = js.eval("var a = []; while(true) { a.push(new Array(10000).fill(1)); }", &json!({})).unwrap_err();
        assert!(matches!(err, ScriptError::OutOfMemory(_) | ScriptError::Timeout(_)), "{err:?}");
        assert_eq!(js.eval("2 * 3", &json!({})).unwrap(), json!(6));
    }

    #[test]
    fn out_of_memory_is_named_and_the_engine_rebuilt_regression_null_exception() {
        // A generous time limit, so the memory limit is what stops the script.
        let mut js = ScriptEngine::new(ScriptLimits { time: Duration::from_secs(20), memory_bytes: 8 << 20 });
        let err =
            js.eval("var big = []; while(true) { big.push(new Array(100000).fill(1)); }", &json!({})).unwrap_err();
        assert_eq!(err, ScriptError::OutOfMemory(8));
        assert_eq!(
            js.eval("typeof big", &json!({})).unwrap(),
            json!("undefined"),
            "the rebuilt engine has no leftover globals"
        );
    }
}
