//! A workflow definition drawn as a graph, laid out as nested boxes: tasks run top to bottom;
//! a SWITCH or FORK_JOIN opens its branches side by side under it and closes them at a merge
//! point; a DO_WHILE frames its body with a loop-back arrow; a SUB_WORKFLOW links to its
//! definition. On an instance, each task is coloured by its latest execution's state.
//!
//! Two passes over the task tree: [`size`] measures, [`Drawer`] places; both pure.

use std::collections::HashMap;

use maud::{Markup, html};
use vigil_core::def::{Task, TaskKind};

use super::charts::fmt;
use super::format::{self, query_escape};

const NODE_W: f64 = 176.0;
const NODE_H: f64 = 40.0;
const GAP_Y: f64 = 24.0;
const GAP_X: f64 = 18.0;
const PAD: f64 = 10.0;
const LABEL_H: f64 = 16.0;
const EMPTY: (f64, f64) = (70.0, 18.0);
const MARGIN: f64 = 8.0;

/// Task reference → CSS state class (`completed`, `failed`, `running`, ...); tasks not in the
/// map have not run.
pub type States = HashMap<String, &'static str>;

/// The graph of `tasks` as an SVG element.
pub fn draw(tasks: &[Task], states: &States, label: &str) -> Markup {
    let (w, h) = seq_size(tasks);
    let mut d = Drawer { states, out: Vec::new() };
    d.seq(tasks, MARGIN, MARGIN, w);
    let (vw, vh) = (w + 2.0 * MARGIN, h + 2.0 * MARGIN);
    html! {
        svg.graph viewBox={"0 0 " (fmt(vw)) " " (fmt(vh))} width=(fmt(vw)) role="img" aria-label=(label) {
            title { (label) }
            defs {
                marker #arrow viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse" {
                    path d="M0,0 L8,4 L0,8 z" {}
                }
            }
            @for m in &d.out { (m) }
        }
    }
}

/// Width and height of a task list drawn top to bottom.
fn seq_size(tasks: &[Task]) -> (f64, f64) {
    if tasks.is_empty() {
        return EMPTY;
    }
    let sizes: Vec<(f64, f64)> = tasks.iter().map(size).collect();
    let w = sizes.iter().map(|s| s.0).fold(0.0, f64::max);
    let h = sizes.iter().map(|s| s.1).sum::<f64>() + GAP_Y * (sizes.len() - 1) as f64;
    (w, h)
}

/// The branches a task opens side by side, with their labels.
fn branches(t: &Task) -> Option<Vec<(String, &Vec<Task>)>> {
    match &t.kind {
        TaskKind::Switch(s) => Some(
            s.cases
                .iter()
                .map(|(case, l)| (case.clone(), l))
                .chain(std::iter::once(("default".to_string(), &s.default_case)))
                .collect(),
        ),
        TaskKind::ForkJoin { branches } => {
            Some(branches.iter().enumerate().map(|(i, l)| (format!("branch {}", i + 1), l)).collect())
        }
        _ => None,
    }
}

/// Width and height of one task with what it contains.
fn size(t: &Task) -> (f64, f64) {
    if let Some(list) = branches(t) {
        let (w, h) = branch_row(&list);
        return (w.max(NODE_W), NODE_H + GAP_Y + h + GAP_Y);
    }
    if let TaskKind::DoWhile(d) = &t.kind {
        let (w, h) = seq_size(&d.body);
        return ((w + 2.0 * PAD + 16.0).max(NODE_W), LABEL_H + PAD + h + 2.0 * PAD);
    }
    (NODE_W, NODE_H)
}

fn branch_row(list: &[(String, &Vec<Task>)]) -> (f64, f64) {
    let sizes: Vec<(f64, f64)> = list.iter().map(|(_, l)| seq_size(l)).collect();
    let w = sizes.iter().map(|s| s.0.max(EMPTY.0)).sum::<f64>() + GAP_X * (sizes.len().saturating_sub(1)) as f64;
    let h = sizes.iter().map(|s| s.1).fold(0.0, f64::max) + LABEL_H;
    (w, h)
}

struct Drawer<'a> {
    states: &'a States,
    out: Vec<Markup>,
}

impl Drawer<'_> {
    /// Draws `tasks` in the column from `x` of width `w`, from `y` down.
    fn seq(&mut self, tasks: &[Task], x: f64, y: f64, w: f64) {
        let cx = x + w / 2.0;
        if tasks.is_empty() {
            self.out.push(html! {
                text.empty x=(fmt(cx)) y=(fmt(y + 13.0)) text-anchor="middle" { "(nothing)" }
            });
            return;
        }
        let mut top = y;
        for (i, t) in tasks.iter().enumerate() {
            let (tw, th) = size(t);
            if i > 0 {
                self.arrow(&[(cx, top - GAP_Y), (cx, top)]);
            }
            self.task(t, cx - tw / 2.0, top, tw);
            top += th + GAP_Y;
        }
    }

    fn task(&mut self, t: &Task, x: f64, y: f64, w: f64) {
        let cx = x + w / 2.0;
        if let Some(list) = branches(t) {
            self.node(t, cx - NODE_W / 2.0, y);
            let (row_w, row_h) = branch_row(&list);
            let row_top = y + NODE_H + GAP_Y;
            let merge_y = row_top + row_h + GAP_Y;
            let mut bx = cx - row_w / 2.0;
            for (name, tasks) in &list {
                let bw = seq_size(tasks).0.max(EMPTY.0);
                let bcx = bx + bw / 2.0;
                let (_, bh) = seq_size(tasks);
                self.line(&[
                    (cx, y + NODE_H),
                    (cx, y + NODE_H + GAP_Y / 2.0),
                    (bcx, y + NODE_H + GAP_Y / 2.0),
                    (bcx, row_top),
                ]);
                self.out.push(html! {
                    text.case x=(fmt(bcx)) y=(fmt(row_top + 11.0)) text-anchor="middle" { (name) }
                });
                self.seq(tasks, bx, row_top + LABEL_H, bw);
                self.line(&[(bcx, row_top + LABEL_H + bh), (bcx, merge_y - GAP_Y / 2.0), (cx, merge_y - GAP_Y / 2.0)]);
                bx += bw + GAP_X;
            }
            self.out.push(html! { circle.merge cx=(fmt(cx)) cy=(fmt(merge_y - GAP_Y / 2.0)) r="4" {} });
            return;
        }
        if let TaskKind::DoWhile(d) = &t.kind {
            let (_, h) = size(t);
            let state = self.state(&t.ref_name);
            self.out.push(html! {
                g class={"loop " (state)} {
                    rect.frame x=(fmt(x)) y=(fmt(y)) width=(fmt(w)) height=(fmt(h)) rx="6" {}
                    text.looplabel x=(fmt(x + 8.0)) y=(fmt(y + 13.0)) { "↻ " (t.ref_name) " (DO_WHILE)" }
                }
            });
            let (bw, bh) = seq_size(&d.body);
            let body_top = y + LABEL_H + PAD;
            self.seq(&d.body, cx - bw / 2.0 - 8.0, body_top, bw);
            let right = x + w - 8.0;
            self.arrow(&[
                (cx - 8.0, body_top + bh + 4.0),
                (cx - 8.0, body_top + bh + PAD),
                (right, body_top + bh + PAD),
                (right, body_top - 4.0),
                (cx - 8.0, body_top - 4.0),
            ]);
            return;
        }
        self.node(t, cx - NODE_W / 2.0, y);
    }

    fn state(&self, reference: &str) -> &'static str {
        self.states.get(reference).copied().unwrap_or("idle")
    }

    fn node(&mut self, t: &Task, x: f64, y: f64) {
        let state = self.state(&t.ref_name);
        let kind = t.type_name();
        let shape = html! {
            g class={"node " (state)} data-task=(t.ref_name) tabindex="0" {
                title { (t.ref_name) " (" (kind) "): " (state) }
                rect x=(fmt(x)) y=(fmt(y)) width=(NODE_W) height=(NODE_H) rx=(if matches!(t.kind, TaskKind::Switch(_)) { "14" } else { "4" }) {}
                text.name x=(fmt(x + NODE_W / 2.0)) y=(fmt(y + 17.0)) text-anchor="middle" { (format::clip(&t.ref_name, 24)) }
                text.kind x=(fmt(x + NODE_W / 2.0)) y=(fmt(y + 32.0)) text-anchor="middle" { (kind) }
            }
        };
        match &t.kind {
            TaskKind::SubWorkflow { name, definition: None, .. } if !name.contains("${") => {
                self.out.push(html! { a href={"/ui/workflows/" (query_escape(name))} { (shape) } });
            }
            _ => self.out.push(shape),
        }
    }

    fn line(&mut self, points: &[(f64, f64)]) {
        let p = points.iter().map(|(x, y)| format!("{},{}", fmt(*x), fmt(*y))).collect::<Vec<_>>().join(" ");
        self.out.push(html! { polyline.edge points=(p) {} });
    }

    fn arrow(&mut self, points: &[(f64, f64)]) {
        let p = points.iter().map(|(x, y)| format!("{},{}", fmt(*x), fmt(*y))).collect::<Vec<_>>().join(" ");
        self.out.push(html! { polyline.edge marker-end="url(#arrow)" points=(p) {} });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn workflow(doc: serde_json::Value) -> vigil_core::def::WorkflowDef {
        vigil_core::def::build::build_workflow(&doc).0.expect("a good definition")
    }

    #[test]
    fn switch_branches_sit_side_by_side_and_sub_workflows_link() {
        let def = workflow(json!({"name": "w", "tasks": [
            {"name": "pick", "taskReferenceName": "pick", "type": "SWITCH", "evaluatorType": "value-param", "expression": "x",
             "inputParameters": {"x": "${workflow.input.x}"},
             "decisionCases": {"a": [{"name": "a1", "taskReferenceName": "a1", "type": "NOOP"}],
                               "b": [{"name": "child", "taskReferenceName": "child", "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "other"}}]},
             "defaultCase": []},
            {"name": "after", "taskReferenceName": "after", "type": "NOOP"}
        ]}));
        let states: States = [("pick".to_string(), "completed"), ("a1".to_string(), "failed")].into();
        let svg = draw(&def.tasks, &states, "w").into_string();
        assert!(svg.contains("class=\"node completed\" data-task=\"pick\""));
        assert!(svg.contains("class=\"node failed\" data-task=\"a1\""));
        assert!(svg.contains("class=\"node idle\" data-task=\"after\""));
        assert!(svg.contains("href=\"/ui/workflows/other\""));
        assert!(svg.contains(">default<") && svg.contains("(nothing)"));
        let (w, _) = seq_size(&def.tasks);
        assert!(w >= 2.0 * NODE_W, "two branches and the default side by side: {w}");
    }

    #[test]
    fn a_loop_frames_its_body() {
        let def = workflow(json!({"name": "w", "tasks": [
            {"name": "poll", "taskReferenceName": "poll", "type": "DO_WHILE", "loopCondition": "false",
             "loopOver": [{"name": "get", "taskReferenceName": "get", "type": "NOOP"}]}
        ]}));
        let svg = draw(&def.tasks, &States::new(), "w").into_string();
        assert!(svg.contains("↻ poll (DO_WHILE)") && svg.contains("data-task=\"get\""));
        let (w, h) = seq_size(&def.tasks);
        assert!(w > NODE_W && h > NODE_H + LABEL_H);
    }
}
