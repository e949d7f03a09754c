//! Shared by the binary's black-box tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

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

/// Links the suite's models (`PICTOR_TEST_MODELS`) into a data folder;
/// false when there are none.
pub fn link_models(data: &Path) -> bool {
    let models = std::env::var_os("PICTOR_TEST_MODELS").map(|m| std::path::PathBuf::from(m).join("models"));
    models.filter(|m| m.is_dir()).is_some_and(|m| std::os::unix::fs::symlink(m, data.join("models")).is_ok())
}

/// A running `pictor serve`, killed if a failing test leaves it behind.
pub struct Served(Child);

impl Served {
    /// Sends SIGTERM and waits: a graceful stop exits 0.
    pub fn stop(mut self) -> bool {
        Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status().unwrap();
        self.0.wait().unwrap().success()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pictor serve` on port 0 and returns it with its base URL, read
/// from the one line it prints once serving.
pub fn serve(data: &Path) -> (Served, String) {
    serve_with(data, &[])
}

/// `serve` with extra `PICTOR_*` settings.
pub fn serve_with(data: &Path, settings: &[(&str, &str)]) -> (Served, String) {
    let data = data.display().to_string();
    serve_args(&["--listen", "127.0.0.1:0", "--data-dir", &data], settings)
}

/// `pictor serve ARGS` (which must listen on a free port) with `settings`
/// in its environment; the process and its URL.
pub fn serve_args(args: &[&str], settings: &[(&str, &str)]) -> (Served, String) {
    let mut child = pictor()
        .arg("serve")
        .args(args)
        .envs(settings.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    (Served(child), base)
}
