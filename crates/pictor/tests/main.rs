//! The `pictor` binary, black-box: each module starts the real executable
//! (one test binary for the crate). Run one area with
//! `cargo test -p pictor --test cli crash::`.

mod common;

mod browser;
mod cluster;
mod crash;
mod import_cli;
mod serve;
mod upload_dir;
mod vision_cli;
mod workflow_cli;
