//! Workspace tidiness checks that run with `cargo test`, as rust-analyzer's
//! `tidy.rs` does: every Rust source file opens with a `//!` header that
//! says what it is for, and every crate is listed in ARCHITECTURE.md.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's first line that is not blank or an attribute.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("#!")).is_some_and(|l| l.starts_with("//!"))
}

#[test]
fn every_source_file_has_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    assert!(files.len() > 100, "found only {} files under crates/", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !opens_with_module_doc(&std::fs::read_to_string(f).unwrap()))
        .map(|f| f.strip_prefix(workspace()).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "these files lack a `//!` header saying what they are for:\n{}", missing.join("\n"));
}

#[test]
fn every_crate_is_in_the_architecture_map() {
    let map = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(workspace().join("crates")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(map.contains(&format!("### `crates/{name}`")), "ARCHITECTURE.md has no section for crates/{name}");
    }
}

#[test]
fn the_header_check_sees_through_attributes_only() {
    assert!(opens_with_module_doc("#![allow(dead_code)]\n//! Why.\n"));
    assert!(opens_with_module_doc("\n//! Why.\n"));
    assert!(!opens_with_module_doc("use std::io;\n//! Late.\n"));
    assert!(!opens_with_module_doc("// A plain comment.\n"));
}
