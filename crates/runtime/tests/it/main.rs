//! The runtime crate's integration tests, as one binary: each file of this folder is a module
//! (one per former test binary), so the whole stack is linked once. Run one file's tests with
//! `cargo test -p <package> --test it <module>::`.

mod cluster;
mod dependencies;
mod engine;
mod escalation;
mod group_members;
