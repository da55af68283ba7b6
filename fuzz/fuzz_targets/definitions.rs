//! The definition loader: any text, read as YAML or as JSON (the first byte picks), through the
//! same two-phase build as `vigil validate` and hot reload, then located. Must never panic, hang or
//! allocate without bound.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_core::def::build::build_workflow;
use vigil_core::schedule::ScheduleDef;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let file = if first % 2 == 0 { Path::new("w.yaml") } else { Path::new("w.json") };
    let Ok(doc) = vigil_core::config::parse_text(file, text) else { return };
    let docs = match doc {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    let map = vigil_core::locate::SourceMap::build(text);
    for doc in &docs {
        let (_, problems) = build_workflow(doc);
        for p in problems {
            let _ = map.position(&p.path);
        }
        let _ = ScheduleDef::build(doc);
    }
});
