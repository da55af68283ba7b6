//! JavaScript through the bridge (INLINE, SWITCH and DO_WHILE scripts): any script with `$` bound
//! to a JSON input ends within its limits with a value or an error; the engine stays usable.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil_core::script::{ScriptEngine, ScriptLimits};

thread_local! {
    static ENGINE: std::cell::RefCell<ScriptEngine> = std::cell::RefCell::new(ScriptEngine::new(ScriptLimits {
        time: Duration::from_millis(200),
        memory_bytes: 32 << 20,
    }));
}

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else { return };
    let input = serde_json::json!({"n": 2, "items": [1, "two", {"three": 3}], "s": "text"});
    ENGINE.with(|e| {
        let mut engine = e.borrow_mut();
        let _ = engine.check_syntax(script);
        let _ = engine.eval(script, &input);
        let _ = engine.eval_truthy(script, &input, std::time::Duration::from_secs(1));
        // The engine still answers after whatever the script did.
        assert_eq!(engine.eval("1 + 1", &input), Ok(serde_json::json!(2)));
    });
});
