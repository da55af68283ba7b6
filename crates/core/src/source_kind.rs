//! The closed set of monitor sources, and what each declares about itself in one line: its name
//! in a monitor's `source:` block, the workflow task type that asks it (if any), and whether it
//! sets each series' tier itself (so a monitor of it needs no `warning`/`critical`).
//!
//! Everything else that differs per source matches on [`SourceKind`] exhaustively (reading its
//! settings and asking it, in the connectors), so adding a line here makes the compiler point at
//! each place still to write. No list of names or task types is kept anywhere else.

/// Declares [`SourceKind`] and what each kind says of itself, one line per source.
macro_rules! source_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, task: $task:expr, asks_query: $query:literal, sets_tiers: $tiers:literal, in_source_block: $block:literal;)*) => {
        /// A monitor source.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SourceKind {
            $($(#[$doc])* $variant,)*
        }

        impl SourceKind {
            /// Every source, in the order they are listed.
            pub const ALL: &'static [SourceKind] = &[$(SourceKind::$variant),*];

            /// Its name: the key of a monitor's `source:` block (`http`, `influxdb`, ...).
            pub const fn name(self) -> &'static str {
                match self {
                    $(SourceKind::$variant => $name,)*
                }
            }

            /// The workflow task type that asks this source (`PROMETHEUS_QUERY`, ...), if one does.
            pub const fn task_type(self) -> Option<&'static str> {
                match self {
                    $(SourceKind::$variant => $task,)*
                }
            }

            /// Whether its task needs a `query` (an SQL task: a `query` or a `statement`); a
            /// check's task (HTTP, TCP) is its address and conditions.
            pub const fn asks_query(self) -> bool {
                match self {
                    $(SourceKind::$variant => $query,)*
                }
            }

            /// Whether the source decides each series' tier itself (conditions, a heartbeat's
            /// grace, a job's latency limits), so a monitor of it needs no thresholds.
            pub const fn sets_tiers(self) -> bool {
                match self {
                    $(SourceKind::$variant => $tiers,)*
                }
            }

            /// Whether a monitor names it in its `source:` block (a heartbeat has a block of its
            /// own instead).
            pub const fn in_source_block(self) -> bool {
                match self {
                    $(SourceKind::$variant => $block,)*
                }
            }
        }
    };
}

source_kinds! {
    /// An HTTP endpoint judged by conditions (Gatus' syntax).
    Http = "http", task: Some("HTTP_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// An InfluxDB query (InfluxQL or Flux).
    Influxdb = "influxdb", task: Some("INFLUXDB_QUERY"), asks_query: true, sets_tiers: false, in_source_block: true;
    /// A Prometheus instant query.
    Prometheus = "prometheus", task: Some("PROMETHEUS_QUERY"), asks_query: true, sets_tiers: false, in_source_block: true;
    /// A read-only SQL query.
    Sql = "sql", task: Some("SQL_QUERY"), asks_query: true, sets_tiers: false, in_source_block: true;
    /// A job status endpoint judged by its runs' latency.
    JobLatency = "job_latency", task: None, asks_query: false, sets_tiers: true, in_source_block: true;
    /// An IMAP inbox: a report that should arrive by a time of day.
    Email = "email", task: None, asks_query: false, sets_tiers: true, in_source_block: true;
    /// A TCP port: open, and answering as it should.
    Tcp = "tcp", task: Some("TCP_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A queue's depth or its consumer's lag (RabbitMQ, JetStream, Redis streams).
    Queue = "queue", task: None, asks_query: false, sets_tiers: false, in_source_block: true;
    /// A UDP service: does it answer a datagram, and how.
    Udp = "udp", task: Some("UDP_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A host that should answer ping (ICMP echo, IPv4 or IPv6).
    Icmp = "icmp", task: Some("ICMP_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A resolver's answer to a name: its code and records.
    Dns = "dns", task: Some("DNS_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A domain's registration: when it expires (RDAP).
    Domain = "domain", task: Some("DOMAIN_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A WebSocket endpoint: the upgrade, and the answer to a message.
    Websocket = "websocket", task: Some("WEBSOCKET_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A gRPC server's standard health service.
    Grpc = "grpc", task: Some("GRPC_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A scripted visit in headless Chromium: open, wait, fill, click, check a text.
    Browser = "browser", task: Some("BROWSER_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// A login to an SSH server with a key, and a command run there.
    Ssh = "ssh", task: Some("SSH_CHECK"), asks_query: false, sets_tiers: true, in_source_block: true;
    /// Pings that should arrive (a `heartbeat:` block, not a source that is asked).
    Heartbeat = "heartbeat", task: None, asks_query: false, sets_tiers: true, in_source_block: false;
}

impl SourceKind {
    /// The source a monitor's `source:` block names.
    pub fn from_block_name(name: &str) -> Option<SourceKind> {
        Self::ALL.iter().copied().find(|k| k.in_source_block() && k.name() == name)
    }

    /// The source a workflow task type asks (`PROMETHEUS_QUERY` → Prometheus).
    pub fn from_task_type(task_type: &str) -> Option<SourceKind> {
        Self::ALL.iter().copied().find(|k| k.task_type() == Some(task_type))
    }

    /// The names a `source:` block may hold.
    pub fn block_names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().filter(|k| k.in_source_block()).map(|k| k.name())
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_task_types_are_unique_and_round_trip() {
        for kind in SourceKind::ALL {
            if kind.in_source_block() {
                assert_eq!(SourceKind::from_block_name(kind.name()), Some(*kind));
            }
            if let Some(task) = kind.task_type() {
                assert_eq!(SourceKind::from_task_type(task), Some(*kind), "{task}");
            }
        }
        assert_eq!(SourceKind::from_block_name("heartbeat"), None, "a heartbeat has its own block");
        assert_eq!(SourceKind::from_task_type("HTTP"), None);
    }

    /// The task types vigil lists (its own and the sources') name each type once.
    #[test]
    fn every_task_type_is_listed_once() {
        let all: Vec<&str> = crate::def::fields::task_types().collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(all.len(), unique.len(), "{all:?}");
        assert!(crate::def::fields::is_task_type("PROMETHEUS_QUERY") && crate::def::fields::is_task_type("JDBC"));
        // A type vigil runs is not also refused as one it does not run yet.
        let refused: Vec<&&str> =
            crate::def::fields::TASK_TYPES_UNSUPPORTED.iter().filter(|t| all.contains(t)).collect();
        assert!(refused.is_empty(), "run and refused at once: {refused:?}");
    }
}
