//! SUB_WORKFLOW cycles: a workflow that starts itself, directly or through others, would nest
//! instances without end. Static cycles are refused when definitions load; names that only
//! resolve at run time are stopped by [`MAX_SUB_WORKFLOW_DEPTH`].

use std::collections::{BTreeMap, BTreeSet};

use super::{TaskKind, WorkflowDef, walk};

/// How deep sub-workflows may nest at run time; a SUB_WORKFLOW task deeper than this fails.
pub const MAX_SUB_WORKFLOW_DEPTH: u32 = 32;

/// The SUB_WORKFLOW targets of `def`, with the field path of each task.
pub fn sub_workflow_targets(def: &WorkflowDef) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(&def.tasks, "tasks", &mut |t, here| {
        // A child that brings its own definition starts no loaded workflow, and one whose name
        // is a reference (`${workflow.input.subwf}`) is known only at run time (where a missing
        // workflow fails the task and the nesting depth bounds a cycle).
        if let TaskKind::SubWorkflow { name, definition: None, .. } = &t.kind
            && !name.contains("${")
        {
            out.push((here.to_string(), name.clone()));
        }
    });
    out
}

/// Every elementary cycle reachable through SUB_WORKFLOW names, each once, as the list of names
/// from its smallest name back to it (`["a", "b", "a"]`). Versions are ignored: a name that
/// reaches itself through any version is a cycle.
pub fn find_cycles<'a>(defs: impl IntoIterator<Item = &'a WorkflowDef>) -> Vec<Vec<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for def in defs {
        let targets = edges.entry(def.name.clone()).or_default();
        targets.extend(sub_workflow_targets(def).into_iter().map(|(_, name)| name));
    }
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut path = vec![start.clone()];
        search(&edges, start, &mut path, &mut cycles);
    }
    cycles
}

/// Depth-first from the last name of `path`, reporting cycles back to `path[0]` that pass only
/// through names greater than it (so each cycle is found once, from its smallest name).
fn search(edges: &BTreeMap<String, BTreeSet<String>>, start: &str, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Some(next) = edges.get(path.last().expect("path is never empty")) else { return };
    for target in next {
        if target == start {
            let mut cycle = path.clone();
            cycle.push(start.to_string());
            out.push(cycle);
        } else if target.as_str() > start && !path.contains(target) && out.len() < 100 {
            path.push(target.clone());
            search(edges, start, path, out);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::def::build::build_workflow;
    use serde_json::json;

    fn def(name: &str, subs: &[&str]) -> WorkflowDef {
        let leaf = json!({"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE", "inputParameters": {"x": 1}});
        let tasks: Vec<_> = subs
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"name": "s", "taskReferenceName": format!("s{i}"), "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": s}}))
            .chain([leaf])
            .collect();
        build_workflow(&json!({"name": name, "tasks": tasks})).0.unwrap()
    }

    #[test]
    fn finds_self_and_longer_cycles_once_each() {
        let defs = [def("a", &["a"]), def("b", &["c"]), def("c", &["d"]), def("d", &["b", "e"]), def("e", &[])];
        assert_eq!(find_cycles(&defs), vec![vec!["a", "a"], vec!["b", "c", "d", "b"]]);
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let defs = [def("a", &["b", "c"]), def("b", &["d"]), def("c", &["d"]), def("d", &[])];
        assert!(find_cycles(&defs).is_empty());
    }
}
