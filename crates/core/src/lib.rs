//! vigil's pure core: definitions in Conductor's format, their validation, parameter references,
//! jq and JavaScript evaluation, cron fire times and the workflow interpreter.
//!
//! Nothing here performs I/O or reads the clock (except the wall-time guard on scripts): the
//! runtime passes the time in and performs the actions the interpreter returns.

pub mod alert;
pub mod alertmanager;
pub mod audit;
pub mod config;
pub mod cron;
pub mod def;
pub mod diagnostic;
pub mod event_handler;
pub mod gotemplate;
pub mod identity;
pub mod instance;
pub mod interpreter;
pub mod jq;
pub mod locate;
pub mod memory;
pub mod monitor;
pub mod params;
pub mod principal;
pub mod retention;
pub mod schedule;
pub mod script;
pub mod sink;
pub mod slim;
pub mod source_kind;
pub mod status_event;
pub mod status_page;
pub mod task_types;
pub mod team;
pub mod time;
pub mod varint;

/// Unit tests count allocations as the `vigil` binary does, so jq's memory limit is tested.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::COUNTING_SYSTEM;
