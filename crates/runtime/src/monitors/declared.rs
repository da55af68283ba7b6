//! What the monitors' files say that is read away from the monitors' actors: which monitors are
//! paused (status pages show them so) and each monitor's maintenance windows (the alert manager
//! holds its alerts by them, and the pages that show it list them). Set with the monitors.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use vigil_core::monitor::MonitorDef;
use vigil_core::status_page::Maintenance;

/// The monitors' declared facts, replaced as a whole when the monitors are.
#[derive(Debug, Default, Clone)]
pub struct DeclaredMonitors {
    /// The monitors paused in their files, by name.
    pub paused: HashSet<String>,
    /// Each monitor with maintenance windows, and its windows.
    pub maintenance: Vec<(String, Vec<Maintenance>)>,
}

/// The facts in force, shared by the engine and the alert manager.
pub type SharedDeclared = Arc<RwLock<Arc<DeclaredMonitors>>>;

impl DeclaredMonitors {
    /// The facts of `defs`.
    pub fn of(defs: &[MonitorDef]) -> Self {
        DeclaredMonitors {
            paused: defs.iter().filter(|d| d.paused).map(|d| d.name.clone()).collect(),
            maintenance: defs
                .iter()
                .filter(|d| !d.maintenance().is_empty())
                .map(|d| (d.name.clone(), d.maintenance().to_vec()))
                .collect(),
        }
    }
}
