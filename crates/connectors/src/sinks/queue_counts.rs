//! The counts a broker tells of a queue, apart from the reading of them (`depth.rs`), so each
//! broker's reader depends on this leaf and not on the dispatch that calls it.

/// What a queue holds; `None` where its broker does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Messages held: waiting, or delivered and not yet acknowledged.
    pub depth: Option<u64>,
    /// Messages not yet delivered to the consumer.
    pub lag: Option<u64>,
    /// Messages delivered and not yet acknowledged.
    pub unacked: Option<u64>,
    /// Consumers attached.
    pub consumers: Option<u64>,
}
