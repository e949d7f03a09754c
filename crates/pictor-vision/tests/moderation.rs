//! open-nsfw on real photos, and against onnxruntime on the same tensor.
//! Needs `PICTOR_TEST_MODELS` and `PICTOR_TEST_PHOTOS` (skips visibly otherwise).

use crate::reference;

use pictor_vision::moderation::Moderator;

#[test]
fn missing_models_are_reported_as_not_installed() {
    let empty = tempfile::tempdir().unwrap();
    reference::assert_not_installed(Moderator::load(empty.path()));
}

#[test]
fn everyday_photos_score_low() {
    let Some(models) = reference::models("everyday_photos_score_low") else { return };
    let moderator = Moderator::load(&models).unwrap();
    for name in ["astronaut.png", "coffee.png"] {
        let Some(image) = reference::photo(name, "everyday_photos_score_low") else { return };
        let score = moderator.nsfw_score(&image).unwrap();
        eprintln!("{name}: nsfw {score:.4}");
        assert!((0.0..0.05).contains(&score), "{name}: nsfw score {score}");
    }
}

#[test]
fn score_matches_onnxruntime() {
    let Some((models, image)) = reference::setup("astronaut.png", "score_matches_onnxruntime") else { return };
    let moderator = Moderator::load(&models).unwrap();
    let (data, shape) = Moderator::input_tensor(&image);
    let path = pictor_vision::models::path(&models, "nsfw").unwrap();
    let Some(ort) = reference::onnxruntime(&path, "input:0", &data, &shape, &["--data"]) else { return };
    let ours = moderator.nsfw_score(&image).unwrap();
    let theirs = ort[0].data[1];
    eprintln!("nsfw: tract {ours:.5}, onnxruntime {theirs:.5}, difference {:.2e}", (ours - theirs).abs());
    assert!((ours - theirs).abs() <= 0.02, "tract {ours}, onnxruntime {theirs}");
}

#[test]
fn moderator_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Moderator>();
}
