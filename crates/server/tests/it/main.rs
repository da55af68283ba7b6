//! The server crate's integration tests, as one binary: each file of this folder is a module
//! (one per former test binary), so the whole stack is linked once. Run one file's tests with
//! `cargo test -p <package> --test it <module>::`.

mod accounts;
mod auth;
mod conductor;
mod definitions;
mod durable;
mod instances;
mod sso;
mod support;
mod teams;
