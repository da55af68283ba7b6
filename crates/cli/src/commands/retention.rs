//! `vigil serve`'s retention flags: how long ended instances, resolved alerts and sent notices
//! are kept (a workflow's `retention` block overrides the instance ages).

use vigil_core::retention::{Policy, parse_keep};
use vigil_runtime::retention::RetentionSettings;

/// Retention flags. Each takes a duration (`7d`, `12h`) or `forever`.
#[derive(clap::Args, Debug, Clone)]
#[group(id = "retention")]
pub struct Args {
    /// How long a completed instance is kept after it ended.
    #[arg(long, env = "VIGIL_RETAIN_COMPLETED", default_value = "7d", value_parser = parse_keep)]
    pub retain_completed: i64,
    /// How long a failed, timed-out or terminated instance is kept after it ended.
    #[arg(long, env = "VIGIL_RETAIN_FAILED", default_value = "30d", value_parser = parse_keep)]
    pub retain_failed: i64,
    /// How long a resolved alert is kept after it resolved (with its sent notices).
    #[arg(long, env = "VIGIL_RETAIN_RESOLVED_ALERTS", default_value = "30d", value_parser = parse_keep)]
    pub retain_resolved_alerts: i64,
    /// How long a sent or failed notice stays in the outbox (unsent ones are never deleted), and a
    /// failed browser check's screenshot and console.
    #[arg(long, env = "VIGIL_RETAIN_NOTICES", default_value = "7d", value_parser = parse_keep)]
    pub retain_notices: i64,
    /// How long a schedule's fire records (its "last runs") are kept.
    #[arg(long, env = "VIGIL_RETAIN_FIRES", default_value = "30d", value_parser = parse_keep)]
    pub retain_fires: i64,
    /// How long a row of the audit log (who changed what) is kept.
    #[arg(long, env = "VIGIL_RETAIN_AUDIT", default_value = "365d", value_parser = parse_keep)]
    pub retain_audit: i64,
    /// Time between two purges of what retention lets go; each deletes in small chunks.
    #[arg(long, env = "VIGIL_RETENTION_EVERY", default_value = "1m", value_parser = parse_keep)]
    pub retention_every: i64,
}

impl Args {
    /// The engine's settings.
    pub fn settings(&self) -> RetentionSettings {
        RetentionSettings {
            instances: Policy { completed: self.retain_completed, failed: self.retain_failed },
            resolved_alerts: self.retain_resolved_alerts,
            notices: self.retain_notices,
            fires: self.retain_fires,
            audit: self.retain_audit,
            every: std::time::Duration::from_millis(self.retention_every.clamp(100, 86_400_000) as u64),
            ..RetentionSettings::default()
        }
    }
}
