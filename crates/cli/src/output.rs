//! Human output: tables and task progress lines.

use std::io::Write;

use vigil_core::instance::{Instance, TaskExec};

/// Writes to stdout. When the reader has gone (`vigil schedules | head`), the command has nothing
/// left to do: it exits at once, quietly and successfully, instead of panicking as `print!` does.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`write_out`].
macro_rules! outln {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use outln;

/// `print!` through [`write_out`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_out(format_args!($($arg)*)) };
}
pub(crate) use out;
use vigil_core::time::format_millis;

/// One line per task execution for progress and `vigil status`.
pub fn task_line(t: &TaskExec) -> String {
    let took = match (t.start_time, t.end_time) {
        (Some(s), Some(e)) => format!(" {}ms", e - s),
        _ => String::new(),
    };
    let attempt = if t.retry_count > 0 { format!(" attempt {}", t.retry_count + 1) } else { String::new() };
    let reason = t.reason_for_incompletion.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
    format!("{:<28} {:<18} {:<22}{attempt}{took}{reason}", t.reference_task_name, t.task_type, t.status.as_str())
}

/// A summary of an instance and its tasks.
pub fn instance_report(i: &Instance) -> String {
    let mut out = format!(
        "{} {} v{}  {}\ncreated {}  updated {}\n",
        i.workflow_id,
        i.workflow_name,
        i.workflow_version,
        i.status.as_str(),
        format_millis(i.create_time),
        format_millis(i.update_time)
    );
    if let Some(r) = &i.reason_for_incompletion {
        out.push_str(&format!("reason: {r}\n"));
    }
    out.push_str(&format!("{:<28} {:<18} {:<22} {:<24} {}\n", "TASK", "TYPE", "STATUS", "STARTED", "ATTEMPT"));
    for t in &i.tasks {
        let started = t.start_time.map(format_millis).unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<28} {:<18} {:<22} {:<24} {}\n",
            t.reference_task_name,
            t.task_type,
            t.status.as_str(),
            started,
            t.retry_count + 1
        ));
    }
    out
}
