//! Finding photos, black-box over HTTP on both backends: the search page
//! and `GET /api/v1/img` by tag, recognised text, camera, date taken and
//! album, and the map's clusters and zoomed views; each only ever sees
//! the signed-in account's photos. The facts are set through the
//! database as the workflow would (`set_image_metadata` with
//! `pictor_core::search::facts`), so no models or EXIF files are needed.

use crate::common;
use crate::web::upload_as;
use crate::web_library::{Visitor, album_id, two_accounts};

use common::{Backend, TestApp};
use serde_json::{Value, json};

/// Stores metadata as `pictor:store-metadata` would: camera, date, place.
async fn describe(app: &TestApp, id: &str, make: &str, model: &str, date: &str, at: Option<(f64, f64)>) {
    let gps = at.map(|(latitude, longitude)| json!({"latitude": latitude, "longitude": longitude}));
    let metadata =
        json!({"format": "JPEG", "exif": {"make": make, "model": model, "date_time_original": date}, "gps": gps});
    let facts = pictor_core::search::facts(&metadata);
    assert!(app.state.db.set_image_metadata(id, &metadata, &facts).await.unwrap());
}

fn tag(name: &str) -> pictor_db::ImageLabel {
    pictor_db::ImageLabel { name: name.into(), confidence: 0.9, direct: true, parents: vec![] }
}

async fn search_finds_by_tag_text_camera_date_and_album(backend: Backend) {
    let Some((app, (ann_pw, ann_key), (_, bob_key))) = two_accounts(backend).await else { return };
    let (lake, sign, old) =
        (upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await);
    let bobs = upload_as(&app, &bob_key).await;
    let db = &app.state.db;
    describe(&app, &lake, "Canon", "Canon EOS 5D", "2024:03:01 12:00:00", None).await;
    describe(&app, &sign, "Apple", "iPhone 4", "2011:01:13 14:33:39", None).await;
    describe(&app, &old, "FUJIFILM", "FinePixS2Pro", "2002:08:24 13:59:08", None).await;
    describe(&app, &bobs, "Canon", "Canon EOS 5D", "2024:03:01 12:00:00", None).await;
    db.set_image_labels(&lake, &[tag("lakeside")]).await.unwrap();
    db.set_image_labels(&bobs, &[tag("lakeside"), tag("volcano")]).await.unwrap();
    db.set_image_text(&sign, &json!([]), "no parking on sundays").await.unwrap();
    db.set_image_text(&bobs, &json!([]), "no parking on sundays").await.unwrap();
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let trip = album_id(&ann.post("/albums", &[("name", "Trip"), ("description", "")]).await);
    ann.post("/albums/add", &[("album", &trip), ("image", &old)]).await;

    // The empty form offers the account's tags and cameras, and no one else's.
    let form = ann.text("/search").await;
    assert!(form.contains("<option value=\"lakeside\">") && form.contains("<option value=\"Canon EOS 5D\">"), "{form}");
    assert!(form.contains("<option value=\"Apple iPhone 4\">") && !form.contains("volcano"), "{form}");
    assert!(!form.contains(&lake), "no results before a search");
    let only = |page: &str, expected: &[&String], what: &str| {
        for id in [&lake, &sign, &old, &bobs] {
            assert_eq!(page.contains(id.as_str()), expected.contains(&id), "{what}: {id}");
        }
    };
    only(&ann.text("/search?label=lakeside").await, &[&lake], "by tag");
    only(&ann.text("/search?text=PARKING").await, &[&sign], "by text");
    only(&ann.text("/search?camera=eos").await, &[&lake], "by camera");
    only(&ann.text("/search?camera=apple+iphone").await, &[&sign], "by make and model");
    only(&ann.text("/search?from=2011-01-13&to=2011-01-13").await, &[&sign], "by a day");
    only(&ann.text("/search?from=2002-01-01&to=2012-01-01").await, &[&sign, &old], "by a range");
    only(&ann.text(&format!("/search?album={trip}")).await, &[&old], "by album");
    only(&ann.text("/search?camera=eos&text=parking").await, &[], "all criteria at once");
    assert!(ann.text("/search?camera=leica").await.contains("No photos match."));

    // The API takes the same criteria.
    let api = |query: String| {
        let request = app.client.get(app.url(&format!("/api/v1/img?{query}"))).bearer_auth(ann_key.clone());
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let ids = |page: Value| {
        page["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(api("camera=EOS".into()).await), [lake.as_str()]);
    let (after, before) = (1_294_900_000_000_i64, 1_295_000_000_000_i64);
    assert_eq!(ids(api(format!("taken_after={after}&taken_before={before}")).await), [sign.as_str()]);
    let bad = app.client.get(app.url("/api/v1/img?taken_after=yesterday")).bearer_auth(ann_key.clone()).send().await;
    common::assert_problem(bad.unwrap(), 400, "invalid_request").await;
    app.shutdown().await;
}

async fn the_map_clusters_the_owners_placed_photos_and_zooms_in(backend: Backend) {
    let Some((app, (ann_pw, ann_key), (bob_pw, bob_key))) = two_accounts(backend).await else { return };
    let mut paris = vec![];
    for _ in 0..3 {
        paris.push(upload_as(&app, &ann_key).await);
    }
    let (rome, unplaced, bobs) =
        (upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await, upload_as(&app, &bob_key).await);
    for (n, id) in paris.iter().enumerate() {
        describe(&app, id, "Canon", "EOS", "2024:03:01 12:00:00", Some((48.85 + n as f64 * 0.01, 2.35))).await;
    }
    describe(&app, &rome, "Apple", "iPhone 4", "2011:01:13 14:33:39", Some((41.853, 12.4888))).await;
    describe(&app, &unplaced, "Apple", "iPhone 4", "2011:01:13 14:33:39", None).await;
    describe(&app, &bobs, "Nikon", "D5000", "2011:01:13 14:33:39", Some((48.85, 2.35))).await;
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;

    // The world in 15° cells: Paris, Rome; bob's photo counts for nothing.
    let world = ann.text("/map").await;
    assert!(world.contains("/assets/world.svg"), "the embedded world");
    assert!(world.contains("data-clusters=\"2\"") && world.contains("3 photos near 48.86° N, 2.35° E"), "{world}");
    assert!(world.contains("1 photo near 41.85° N, 12.49° E"), "{world}");
    for id in paris.iter().chain([&rome]) {
        assert!(world.contains(id.as_str()), "{id} is listed under the map");
    }
    assert!(!world.contains(&unplaced) && !world.contains(&bobs));
    assert_eq!(ann.get("/assets/world.svg").await.headers()["content-type"], "image/svg+xml");

    // A click on Paris's dot opens its cell, with only its photos.
    let before = &world[..world.find("aria-label=\"3 photos").unwrap()];
    let href = &before[before.rfind("href=\"").unwrap() + 6..];
    let cell = ann.text(&href[..href.find('"').unwrap()].replace("&amp;", "&")).await;
    assert!(cell.contains("data-clusters=\"1\"") && cell.contains("3 photos near 48.86° N, 2.35° E"), "{cell}");
    assert!(paris.iter().all(|id| cell.contains(id.as_str())) && !cell.contains(&rome), "{cell}");
    assert!(cell.contains("Zoom out"));
    let near_rome = ann.text("/map?bbox=41,12,43,13").await;
    assert!(near_rome.contains(&rome) && !paris.iter().any(|id| near_rome.contains(id.as_str())));
    assert!(ann.text("/map?bbox=30,130,40,140").await.contains("No photos in this part of the map."));

    // Bob sees his one photo, none of ann's.
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;
    let his = bob.text("/map").await;
    assert!(his.contains("1 photo near 48.85° N, 2.35° E") && his.contains(&bobs), "{his}");
    assert!(!paris.iter().chain([&rome]).any(|id| his.contains(id.as_str())));

    // The API's place filters agree.
    let api = |query: &str| {
        let request = app.client.get(app.url(&format!("/api/v1/img?{query}"))).bearer_auth(ann_key.clone());
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["images"].as_array().unwrap().len() }
    };
    assert_eq!(api("has_gps=true").await, 4);
    assert_eq!(api("bbox=48,2,49,3").await, 3);
    let bad = app.client.get(app.url("/api/v1/img?bbox=49,2,48,3")).bearer_auth(ann_key.clone()).send().await;
    common::assert_problem(bad.unwrap(), 400, "invalid_request").await;
    app.shutdown().await;
}

both_backends!(search_finds_by_tag_text_camera_date_and_album, the_map_clusters_the_owners_placed_photos_and_zooms_in);
