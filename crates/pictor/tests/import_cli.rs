//! `pictor import FOLDER` against a `pictor serve` that imports from the
//! folder's parent (`import.local_roots`): it follows the import to its
//! end and prints the counts; `--detach` prints the id only; a folder
//! outside the roots is refused with the server's reason.

use crate::common;
use common::{pictor, serve_with};

use std::process::Output;

fn png(w: u32, h: u32) -> Vec<u8> {
    let image = pictor_imaging::Image::filled(w, h, pictor_imaging::Rgba { r: 10, g: 200, b: 10, a: 255 });
    pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap()
}

fn import(base: &str, key: &str, source: &std::path::Path, extra: &[&str]) -> Output {
    pictor().args(["import", "--server", base, "--key", key]).args(extra).arg(source).output().unwrap()
}

#[test]
fn a_folder_is_imported_and_followed_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let made = pictor().args(["admin", "create-key", "--owner", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let roots = dir.path().join("roots");
    let folder = roots.join("photos");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("a.png"), png(10, 10)).unwrap();
    std::fs::write(folder.join("sub/b.png"), png(12, 10)).unwrap();
    std::fs::write(folder.join("sub/again.png"), png(10, 10)).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a photo").unwrap();
    let roots_setting = format!("[\"{}\"]", roots.display());
    let (server, base) = serve_with(&data, &[("PICTOR_IMPORT__LOCAL_ROOTS", &roots_setting)]);

    let followed = import(&base, &key, &folder, &["--poll-ms", "100"]);
    let stderr = String::from_utf8_lossy(&followed.stderr);
    assert!(followed.status.success(), "{stderr}");
    assert!(stderr.contains("import done: 2 imported, 1 duplicates, 1 skipped, 0 failed, of 4 files"), "{stderr}");
    assert!(stderr.contains("notes.txt"), "the skipped file is named: {stderr}");
    let id = String::from_utf8(followed.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 36, "the import's id: {id}");

    // Detached: the id at once; the server finishes it on its own.
    let detached = import(&base, &key, &folder, &["--detach"]);
    assert!(detached.status.success(), "{}", String::from_utf8_lossy(&detached.stderr));
    assert_eq!(String::from_utf8(detached.stdout).unwrap().trim().len(), 36);

    // Outside the roots: refused, with the setting to change.
    let refused = import(&base, &key, dir.path(), &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("403") && stderr.contains("import.local_roots"), "{stderr}");
    assert!(server.stop());
}
