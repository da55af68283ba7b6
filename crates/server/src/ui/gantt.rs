//! An instance's task timeline as a Gantt chart: one row per task execution, so retries and
//! restarts show as rows of their own; the wait from scheduled to started is drawn lighter than
//! the run, and each bar is coloured by the execution's status.

use maud::{Markup, html};
use vigil_core::instance::{Instance, TaskExec, TaskStatus};
use vigil_core::time::Millis;

use super::charts::fmt;
use super::format;

const W: f64 = 900.0;
const LABEL: f64 = 230.0;
const ROW: f64 = 22.0;
const TOP: f64 = 20.0;

/// The CSS class of a task status.
pub fn status_class(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Scheduled => "scheduled",
        TaskStatus::InProgress => "running",
        TaskStatus::Completed => "completed",
        TaskStatus::CompletedWithErrors => "warning",
        TaskStatus::Failed | TaskStatus::FailedWithTerminalError | TaskStatus::TimedOut => "failed",
        TaskStatus::Canceled | TaskStatus::Skipped => "canceled",
    }
}

/// The row label of an execution: its reference name, the loop iteration, and the retry or
/// restart it was.
pub fn label(t: &TaskExec) -> String {
    let mut s = t.reference_task_name.clone();
    if t.retry_count > 0 {
        s.push_str(&format!(" · retry {}", t.retry_count));
    }
    if t.restarts > 0 {
        s.push_str(&format!(" · restart {}", t.restarts));
    }
    s
}

/// The chart of `instance`'s tasks at `now` (a running task's bar ends at `now`).
pub fn chart(instance: &Instance, now: Millis) -> Markup {
    let tasks = &instance.tasks;
    if tasks.is_empty() {
        return html! { p.muted { "No task has been scheduled yet." } };
    }
    let from = tasks.iter().map(|t| t.scheduled_time).min().unwrap_or(instance.create_time).min(instance.create_time);
    let end_of = |t: &TaskExec| {
        t.end_time.unwrap_or(if t.status.is_terminal() { t.start_time.unwrap_or(t.scheduled_time) } else { now })
    };
    let to = tasks.iter().map(end_of).max().unwrap_or(now).max(from + 1);
    let span = (to - from) as f64;
    let x = |at: Millis| LABEL + (W - LABEL - 8.0) * ((at - from) as f64 / span).clamp(0.0, 1.0);
    let h = TOP + ROW * tasks.len() as f64 + 4.0;
    html! {
        svg.gantt viewBox={"0 0 " (W) " " (fmt(h))} role="img" aria-label="Task timeline" {
            title { "Task timeline: " (tasks.len()) " executions over " (format::duration(to - from)) }
            @for (i, (at, text)) in ticks(from, to).iter().enumerate() {
                line.grid x1=(fmt(x(*at))) x2=(fmt(x(*at))) y1=(TOP - 4.0) y2=(fmt(h)) {}
                text.axis x=(fmt(x(*at))) y="12" text-anchor=(if *at == to { "end" } else if i == 0 { "start" } else { "middle" }) {
                    (text)
                }
            }
            @for (i, t) in tasks.iter().enumerate() {
                @let y = TOP + ROW * i as f64;
                @let start = t.start_time.unwrap_or(end_of(t));
                @let class = status_class(t.status);
                g.row data-task=(t.reference_task_name) {
                    title { (row_title(t, end_of(t))) }
                    text.label x="4" y=(fmt(y + 15.0)) { (format::clip(&label(t), 34)) }
                    rect.queued x=(fmt(x(t.scheduled_time))) y=(fmt(y + 7.0)) width=(fmt((x(start) - x(t.scheduled_time)).max(0.0))) height="8" {}
                    rect class={"bar " (class)} x=(fmt(x(start))) y=(fmt(y + 3.0)) width=(fmt((x(end_of(t)) - x(start)).max(2.0))) height="16" rx="2" {}
                }
            }
        }
    }
}

/// Up to five time marks from `from` to `to`, without repeating a label (a span of a few
/// milliseconds would label several marks alike).
fn ticks(from: Millis, to: Millis) -> Vec<(Millis, String)> {
    let mut out: Vec<(Millis, String)> = Vec::new();
    for i in 0..=4 {
        let at = from + (to - from) * i / 4;
        let text = format!("+{}", format::duration(at - from));
        if out.last().is_none_or(|(_, last)| *last != text) {
            out.push((at, text));
        }
    }
    out
}

fn row_title(t: &TaskExec, end: Millis) -> String {
    let status = serde_json::to_value(t.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let mut s = format!("{} ({}) {}", label(t), t.task_type, status);
    if let Some(start) = t.start_time {
        s.push_str(&format!(
            ", waited {}, ran {}",
            format::duration(start - t.scheduled_time),
            format::duration(end - start)
        ));
    }
    if let Some(r) = &t.reason_for_incompletion {
        s.push_str(&format!(": {r}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn exec(name: &str, status: TaskStatus, retry: u32, times: (Millis, Option<Millis>, Option<Millis>)) -> TaskExec {
        let mut t = TaskExec::new(format!("{name}-{retry}"), name.into(), name.into(), "HTTP", times.0);
        t.status = status;
        t.retry_count = retry;
        t.start_time = times.1;
        t.end_time = times.2;
        t
    }

    #[test]
    fn retries_get_rows_of_their_own_and_running_bars_end_now() {
        let mut i = Instance::new("i1".into(), "w".into(), 1, json!({}), 0);
        i.tasks = vec![
            exec("fetch", TaskStatus::Failed, 0, (0, Some(10), Some(100))),
            exec("fetch", TaskStatus::Completed, 1, (1_100, Some(1_110), Some(1_300))),
            exec("notify", TaskStatus::InProgress, 0, (1_300, Some(1_310), None)),
        ];
        let svg = chart(&i, 2_000).into_string();
        assert_eq!(svg.matches("class=\"row\"").count(), 3);
        assert!(svg.contains("fetch · retry 1"));
        assert!(svg.contains("bar failed") && svg.contains("bar completed") && svg.contains("bar running"));
        assert!(svg.contains("+2.0 s"), "the axis ends at now: {svg}");
        let labels: Vec<String> = ticks(0, 2).into_iter().map(|(_, t)| t).collect();
        assert_eq!(labels, ["+0 ms", "+1 ms", "+2 ms"], "no label twice");
    }
}
