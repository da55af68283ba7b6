//! One module per subcommand.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod bench;
pub mod check;
pub mod cluster;
pub mod generate;
pub mod import;
pub mod incident;
pub mod inspect;
pub mod maintenance;
pub mod monitors;
pub mod reload;
pub mod remote;
pub mod retention;
pub mod run;
pub mod schedule_names;
pub mod secret;
pub mod secret_watch;
pub mod serve;
pub mod shared_config;
pub mod test;
pub mod token;
pub mod user;
pub mod validate;
