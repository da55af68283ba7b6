//! jq programs over random inputs (program and JSON input split at the first NUL byte), under a
//! short time limit and a memory limit: every program ends (a result or an error), and the process
//! survives it. Programs run on a thread with the stack vigil's shard threads have
//! (`vigil_core::jq::MIN_THREAD_STACK`): jaq drops and prints deep values recursively.
#![no_main]

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil_core::jq::JqCache;
use vigil_core::script::ScriptLimits;

/// Counted as in `vigil`, so the memory limit holds here too.
#[global_allocator]
static ALLOCATOR: vigil_core::memory::CountingAllocator = vigil_core::memory::COUNTING_SYSTEM;

type Job = (String, serde_json::Value, mpsc::Sender<()>);

/// The interpreter thread, started once.
fn interpreter() -> &'static Mutex<mpsc::Sender<Job>> {
    static SENDER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .stack_size(vigil_core::jq::MIN_THREAD_STACK)
            .spawn(move || {
                let limits = ScriptLimits { time: Duration::from_millis(200), memory_bytes: 64 << 20 };
                let mut cache = JqCache::new(limits);
                for (program, input, done) in rx {
                    let _ = cache.run(&program, &input);
                    let _ = done.send(());
                }
            })
            .expect("interpreter thread");
        Mutex::new(tx)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (program, input) = text.split_once('\0').unwrap_or((text, "null"));
    let input = serde_json::from_str(input).unwrap_or(serde_json::Value::Null);
    let (done, finished) = mpsc::channel();
    interpreter().lock().unwrap().send((program.to_string(), input, done)).unwrap();
    finished.recv().expect("the interpreter thread survives every program");
});
