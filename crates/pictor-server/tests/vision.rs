//! The vision tasks end to end, black-box over HTTP with the real models:
//! the label index and label search, moderation holding an image back until
//! an admin approves it, the face steps of the transform API, and text
//! search. Needs `PICTOR_TEST_MODELS` (a data folder holding `models/`) and
//! `PICTOR_TEST_PHOTOS` (the scikit-image photos), which `.ci/run` sets.

use crate::common;

use std::path::PathBuf;

use common::*;
use serde_json::Value;

both_backends!(
    labels_build_an_index_that_counts_each_image_once,
    flagged_images_are_held_until_an_admin_approves,
    face_steps_crop_to_and_blur_the_faces,
    recognised_text_is_searchable,
);

/// The models and photos, or `None` after a visible skip line.
fn fixtures() -> Option<(PathBuf, PathBuf)> {
    let dir = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_dir());
    match (dir("PICTOR_TEST_MODELS"), dir("PICTOR_TEST_PHOTOS")) {
        (Some(models), Some(photos)) => Some((models, photos)),
        _ => {
            skip("vision: PICTOR_TEST_MODELS and PICTOR_TEST_PHOTOS are not set (.ci/run sets them)");
            None
        }
    }
}

/// A server (its queue run by `drain`), the models linked into its data folder.
async fn spawn(backend: Backend, tweak: impl FnOnce(&mut pictor_server::Config)) -> Option<(TestApp, PathBuf)> {
    let (models, photos) = fixtures()?;
    let app = TestApp::spawn(backend, |config| {
        config.workflow.thumbnail_sizes = vec![64];
        std::os::unix::fs::symlink(models.join("models"), config.data_dir.join("models")).unwrap();
        tweak(config);
    })
    .await?;
    Some((app, photos))
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// Uploads a photo and waits until its workflow has finished.
async fn processed(app: &TestApp, photos: &std::path::Path, name: &str) -> Value {
    let id = app.upload_ok(std::fs::read(photos.join(name)).unwrap()).await["id"].as_str().unwrap().to_string();
    settled(app, &id).await
}

/// Runs the queue dry; the image must then be processed.
async fn settled(app: &TestApp, id: &str) -> Value {
    app.drain().await;
    let image = json(app, &format!("/api/v1/img/{id}")).await;
    assert_eq!(image["status"], "processed", "{image}");
    image
}

fn ids(page: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = page["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    ids
}

fn count(index: &Value, label: &str) -> i64 {
    index["labels"].as_array().unwrap().iter().find(|l| l["name"] == label).map_or(0, |l| l["count"].as_i64().unwrap())
}

async fn labels_build_an_index_that_counts_each_image_once(backend: Backend) {
    let Some((app, photos)) = spawn(backend, |_| {}).await else { return };
    let cat = processed(&app, &photos, "chelsea.png").await;
    let cat_again = processed(&app, &photos, "chelsea.png").await;
    let coffee = processed(&app, &photos, "coffee.png").await;
    let (cat, cat_again, coffee) =
        (cat["id"].as_str().unwrap(), cat_again["id"].as_str().unwrap(), coffee["id"].as_str().unwrap());

    let labels = json(&app, &format!("/api/v1/img/{coffee}/labels")).await;
    let top = &labels["labels"][0];
    assert!(top["name"].as_str().unwrap().contains("espresso"), "{labels}");
    assert_eq!(top["direct"], true);
    assert!(top["confidence"].as_f64().unwrap() > 0.8, "{labels}");
    let of_cat = json(&app, &format!("/api/v1/img/{cat}/labels")).await;
    let names: Vec<&str> = of_cat["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    for parent in ["cat", "mammal", "animal"] {
        assert!(names.contains(&parent), "{parent} missing from {names:?}");
    }
    for internal in ["feline", "carnivore", "placental", "chordate", "vertebrate"] {
        assert!(!names.contains(&internal), "WordNet's {internal} is no word to browse by: {names:?}");
    }

    let index = json(&app, "/api/v1/labels").await;
    assert_eq!(count(&index, "animal"), 2, "two cat photos, each once, however many cat labels: {index}");
    assert_eq!(count(&index, "cat"), 2);
    let espresso = top["name"].as_str().unwrap();
    assert_eq!(count(&index, espresso), 1);
    let feline = index["labels"].as_array().unwrap().iter().find(|l| l["name"] == "cat").unwrap();
    assert!(feline["parents"].as_array().unwrap().contains(&Value::from("animal")), "{feline}");

    let mut both_cats = vec![cat, cat_again];
    both_cats.sort();
    assert_eq!(ids(&json(&app, "/api/v1/img?label=animal").await), both_cats);
    let any = json(&app, &format!("/api/v1/img?label=animal&label={espresso}&match=any")).await;
    assert_eq!(ids(&any).len(), 3);
    assert!(ids(&json(&app, &format!("/api/v1/img?label=animal,{espresso}&match=all")).await).is_empty());
    assert_problem(app.client.get(app.url("/api/v1/img?match=some")).send().await.unwrap(), 400, "invalid_request")
        .await;

    // Processing again changes no count.
    let again = app.client.post(app.url(&format!("/api/v1/img/{cat}/reprocess"))).send().await.unwrap();
    assert!(again.status().is_success(), "{}", again.status());
    settled(&app, cat).await;
    assert_eq!(count(&json(&app, "/api/v1/labels").await, "animal"), 2);
    // Deleting one takes it out.
    let deleted = app.client.delete(app.url(&format!("/api/v1/img/{cat_again}"))).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(count(&json(&app, "/api/v1/labels").await, "animal"), 1);
    app.shutdown().await;
}

async fn flagged_images_are_held_until_an_admin_approves(backend: Backend) {
    // Every image scores at least 0, so a threshold of 0 flags them all:
    // the whole path, with no explicit picture in the repository.
    let Some((app, photos)) = spawn(backend, |c| c.vision.nsfw_threshold = 0.0).await else { return };
    let image = processed(&app, &photos, "astronaut.png").await;
    let id = image["id"].as_str().unwrap();
    assert_eq!(image["moderation"], "flagged", "{image}");
    let score = image["nsfwScore"].as_f64().unwrap();
    assert!((0.0..0.05).contains(&score), "the astronaut is safe: {score}");
    let kinds: Vec<String> = app.state.db.events_for(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"image.flagged".to_string()), "{kinds:?}");

    let transform = app.url(&format!("/api/v1/img/{id}.webp?thumbnail=32"));
    assert_problem(app.client.get(&transform).send().await.unwrap(), 403, "image_flagged").await;
    let original = app.url(&format!("/api/v1/img/{id}/original"));
    assert_problem(app.client.get(&original).send().await.unwrap(), 403, "image_flagged").await;
    let queue = json(&app, "/api/v1/admin/flagged").await;
    assert_eq!(queue["images"][0]["id"], id);
    assert_eq!(queue["images"][0]["nsfwScore"].as_f64(), Some(score));

    let approved = app.client.post(app.url(&format!("/api/v1/admin/flagged/{id}/approve"))).send().await.unwrap();
    assert_eq!(approved.status(), 200);
    assert_eq!(app.client.get(&transform).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(&original).send().await.unwrap().status(), 200);
    assert!(json(&app, "/api/v1/admin/flagged").await["images"].as_array().unwrap().is_empty());

    let rejected = app.client.post(app.url(&format!("/api/v1/admin/flagged/{id}/reject"))).send().await.unwrap();
    assert_eq!(rejected.status(), 200);
    assert_problem(app.client.get(&transform).send().await.unwrap(), 403, "image_flagged").await;
    let never = app.client.post(app.url("/api/v1/admin/flagged/nope/approve")).send().await.unwrap();
    assert_problem(never, 404, "not_found").await;
    let kinds: Vec<String> = app.state.db.events_for(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.ends_with(&["moderation.approved".into(), "moderation.rejected".into()]), "{kinds:?}");
    app.shutdown().await;
}

async fn png_pixels(app: &TestApp, path: &str) -> pictor_imaging::Image {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}: {}", response.text().await.unwrap());
    pictor_imaging::decode(&response.bytes().await.unwrap(), &Default::default()).unwrap().image
}

async fn face_steps_crop_to_and_blur_the_faces(backend: Backend) {
    let Some((app, photos)) = spawn(backend, |_| {}).await else { return };
    let image = processed(&app, &photos, "astronaut.png").await;
    let id = image["id"].as_str().unwrap();
    let faces = image["faces"].as_array().expect("faces stored");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let labels = json(&app, &format!("/api/v1/img/{id}/labels")).await;
    let person = labels["labels"].as_array().unwrap().iter().find(|l| l["name"] == "person");
    assert!(person.is_some(), "a photo with a face is tagged person: {labels}");
    let (fx, fw) = (faces[0]["x"].as_f64().unwrap(), faces[0]["width"].as_f64().unwrap());
    assert!(fx > 100.0 && fx + fw < 350.0, "her face, not the flag or the shuttle: {faces:?}");

    // A 1:4 window of the 512-px square: the face decides where it goes.
    let face = png_pixels(&app, &format!("/api/v1/img/{id}.png?crop=1:4:face")).await;
    let centre = png_pixels(&app, &format!("/api/v1/img/{id}.png?crop=1:4:centre")).await;
    let full = png_pixels(&app, &format!("/api/v1/img/{id}.png")).await;
    assert_eq!((face.width(), face.height()), (128, 512));
    let column = |img: &pictor_imaging::Image, x: u32| -> Vec<u8> {
        (0..img.height()).flat_map(|y| img.data()[((y * img.width() + x) * 3) as usize..][..3].to_vec()).collect()
    };
    let face_centre = (fx + fw / 2.0) as u32;
    let expected_left = face_centre.saturating_sub(64).min(512 - 128);
    assert_eq!(column(&face, 0), column(&full, expected_left), "the window is centred on the face");
    assert_ne!(column(&face, 0), column(&centre, 0));
    // A cover resize that needs no scaling keeps the same window.
    let cover = png_pixels(&app, &format!("/api/v1/img/{id}.png?resize=128x512:cover:face")).await;
    assert_eq!(cover.data(), face.data(), "resize=…:cover:face crops where crop=…:face does");

    let blurred = png_pixels(&app, &format!("/api/v1/img/{id}.png?blur_faces")).await;
    let at = |img: &pictor_imaging::Image, x: u32, y: u32| img.data()[((y * 512 + x) * 3) as usize];
    let (fy, fh) = (faces[0]["y"].as_f64().unwrap(), faces[0]["height"].as_f64().unwrap());
    let changed =
        (0..fh as u32).filter(|dy| at(&blurred, face_centre, fy as u32 + dy) != at(&full, face_centre, fy as u32 + dy));
    assert!(changed.count() as f64 > fh * 0.5, "the face is blurred");
    assert_eq!(at(&blurred, 500, 500), at(&full, 500, 500), "far from the face nothing changes");
    app.shutdown().await;
}

async fn recognised_text_is_searchable(backend: Backend) {
    let Some((app, photos)) = spawn(backend, |_| {}).await else { return };
    let page = processed(&app, &photos, "page.png").await;
    let coffee = processed(&app, &photos, "coffee.png").await;
    let lines = page["text"].as_array().expect("text lines stored");
    assert!(lines.len() >= 4, "{lines:?}");
    assert!(lines.iter().all(|l| l["quad"].as_array().unwrap().len() == 4));
    assert!(coffee["text"].as_array().is_some_and(|l| l.is_empty()), "no text in a coffee cup: {}", coffee["text"]);
    let found = json(&app, "/api/v1/img?text=Segmentation").await;
    assert_eq!(ids(&found), [page["id"].as_str().unwrap()]);
    assert!(ids(&json(&app, "/api/v1/img?text=espresso").await).is_empty());
    app.shutdown().await;
}
