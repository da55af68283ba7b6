//! The runtime crate's integration tests, as one binary: each file of this folder is a module
//! (one per former test binary), so the whole stack is linked once. Run one file's tests with
//! `cargo test -p <package> --test it <module>::`.

mod cluster;
mod dependencies;
mod engine;
mod escalation;
mod group_members;

/// Watches for `window` that `holds` stays true, looking every 50 ms, and fails at once saying
/// `what` when it does not: for what must not happen, which no condition can be waited on for.
pub async fn stays(window: std::time::Duration, what: &str, mut holds: impl AsyncFnMut() -> bool) {
    let end = std::time::Instant::now() + window;
    loop {
        assert!(holds().await, "{what}");
        if std::time::Instant::now() >= end {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
