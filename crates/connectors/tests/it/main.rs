//! The connectors crate's integration tests, as one binary: each file of this folder is a module
//! (one per former test binary), so the whole stack is linked once. Run one file's tests with
//! `cargo test -p <package> --test it <module>::`.

mod browser;
mod channels;
mod depth;
mod dns;
mod gatus_conditions;
mod icmp;
mod providers;
mod sinks;
