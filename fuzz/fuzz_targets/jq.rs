//! jq programs over random inputs (program and JSON input split at the first NUL byte), under a
//! short time limit and a memory limit: every program ends (a result or an error), and the process
//! survives it.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil_core::jq::JqCache;
use vigil_core::script::ScriptLimits;

/// Counted as in `vigil`, so the memory limit holds here too.
#[global_allocator]
static ALLOCATOR: vigil_core::memory::CountingAllocator = vigil_core::memory::CountingAllocator;

thread_local! {
    static CACHE: std::cell::RefCell<JqCache> = std::cell::RefCell::new(JqCache::new(ScriptLimits {
        time: Duration::from_millis(200),
        memory_bytes: 64 << 20,
    }));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (program, input) = text.split_once('\0').unwrap_or((text, "null"));
    let input = serde_json::from_str(input).unwrap_or(serde_json::Value::Null);
    CACHE.with(|c| {
        let _ = c.borrow_mut().run(program, &input);
    });
});
