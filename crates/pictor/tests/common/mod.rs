//! Shared by the binary's black-box tests.

#![allow(dead_code)]

use std::process::Command;

/// The `pictor` binary under test, without the developer's own `PICTOR_*`
/// settings or `RUST_LOG`, and without fetching models at start (each test
/// has a fresh data folder).
pub fn pictor() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pictor"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PICTOR_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd.env("PICTOR_VISION__INSTALL_MODELS", "false");
    cmd
}
