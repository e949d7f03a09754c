//! Scale-out, black-box (issue 17): two `pictor serve --role api` and two
//! `pictor serve --role worker` processes over one PostgreSQL database and
//! one S3 bucket prefix take 500 uploads, spread over both APIs, with a
//! webhook subscribed. One worker is SIGKILLed mid-batch, in the middle of
//! its steps; its leases lapse and the other worker finishes. Every image is
//! then processed exactly once: one execution, one `image.processed`, one
//! delivery id (`crash::assert_each_processed_exactly_once`).
//!
//! With the suite's models and photos (`PICTOR_TEST_MODELS`,
//! `PICTOR_TEST_PHOTOS`, which `.ci/run` sets) the workers label every
//! upload, and the label index must count each image exactly once: the
//! uploads are then three real photos, each under many copies whose bytes
//! (a JPEG comment) and so ids differ while their pixels, and so labels,
//! do not. Each label's count must be the sum of the copies of the photos
//! that carry it.
//!
//! Needs `PICTOR_TEST_DATABASE_URL` and `PICTOR_TEST_S3_URL`
//! (`source .ci/services.sh`); SKIPPED otherwise.

use crate::crash::{
    DumpLogOnPanic, ONE_AT_A_TIME, Receiver, assert_each_processed_exactly_once, distinct_jpeg, fresh_scale_out,
    serve_as, start_worker, upload, write_config,
};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const IMAGES: usize = 500;
const UPLOADERS: usize = 8;
/// The worker is killed once this many images have been processed.
const KILL_AFTER_NOTICES: usize = 100;
/// A hang guard, not a speed bound: on a busy 2-core machine, with the
/// other CLI tests running beside it, the first 100 once took over 300 s.
const PATIENCE: Duration = Duration::from_secs(900);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apis_and_two_workers_process_500_uploads_exactly_once_through_a_worker_kill() {
    let Some(scale_out) = fresh_scale_out("cluster", "cluster test").await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = (dir.path().join("pictor.toml"), dir.path().join("cluster.log"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let photos = labelled_photos(&data);
    write_config(&config, &data, Some(&scale_out));
    let _dump = DumpLogOnPanic(log.clone());
    let (hook_url, received) = Receiver::start().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();

    // The first API migrates the database; the others find it ready.
    let apis = [serve_as(&config, &log, "api").await, serve_as(&config, &log, "api").await];
    let mut doomed = start_worker(&config, &log);
    let _survivor = start_worker(&config, &log);
    let subscribe = client.post(format!("{}/api/v1/webhooks", apis[0].base));
    let response = subscribe.json(&json!({ "url": hook_url, "events": ["image.processed"] })).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());

    let bases: Arc<Vec<String>> = Arc::new(apis.iter().map(|api| api.base.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    // Each accepted id, with the photo it is a copy of (when labelling).
    let accepted: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let photos = Arc::new(photos);
    let uploaders: Vec<_> = (0..UPLOADERS)
        .map(|_| {
            let (client, bases, next, accepted) = (client.clone(), bases.clone(), next.clone(), accepted.clone());
            let photos = photos.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= IMAGES {
                        break;
                    }
                    let (photo, body) = match photos.as_ref() {
                        Some(photos) => (i % photos.len(), copy_of(&photos[i % photos.len()], i)),
                        None => (0, distinct_jpeg(i)),
                    };
                    let id = upload(&client, &bases[i % bases.len()], &body).await.expect("an upload");
                    assert!(accepted.lock().unwrap().insert(id, photo).is_none(), "two uploads got one id");
                }
            })
        })
        .collect();

    let start = Instant::now();
    while received.processed_images().len() < KILL_AFTER_NOTICES {
        assert!(start.elapsed() < PATIENCE, "{KILL_AFTER_NOTICES} images were not processed within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill();
    eprintln!(
        "a worker was SIGKILLed after {} image.processed notices and {} accepted uploads",
        received.processed_images().len(),
        accepted.lock().unwrap().len()
    );
    for task in uploaders {
        task.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), IMAGES);
    // Read back through the other API: both see one database.
    let ids: BTreeSet<String> = accepted.keys().cloned().collect();
    assert_each_processed_exactly_once(&client, &apis[1].base, &ids, 0, &received).await;
    if photos.is_some() {
        assert_each_label_counts_each_image_once(&client, &apis[1].base, &accepted).await;
    }
}

/// With the suite's models linked into `data`: three photos from
/// `PICTOR_TEST_PHOTOS`, made 320 px wide JPEGs (small, so that 500 go
/// through every model quickly). `None`, saying so, without them.
fn labelled_photos(data: &std::path::Path) -> Option<Vec<Vec<u8>>> {
    let photos = std::env::var_os("PICTOR_TEST_PHOTOS").map(std::path::PathBuf::from);
    let Some(photos) = photos.filter(|p| p.is_dir()) else {
        eprintln!("note: PICTOR_TEST_PHOTOS is not set: the cluster test runs without labels (.ci/run sets it)");
        return None;
    };
    if !crate::common::link_models(data) {
        eprintln!("note: PICTOR_TEST_MODELS is not set: the cluster test runs without labels (.ci/run sets it)");
        return None;
    }
    let small = pictor_imaging::Pipeline::parse("thumbnail=320").unwrap();
    let limits = pictor_imaging::Limits::default();
    let photos = ["astronaut.png", "chelsea.png", "coffee.png"].map(|name| {
        let bytes = std::fs::read(photos.join(name)).unwrap_or_else(|e| panic!("{name} in PICTOR_TEST_PHOTOS: {e}"));
        small.run(&bytes, pictor_imaging::OutputFormat::Jpeg, "", &limits).unwrap().bytes
    });
    Some(photos.into())
}

/// `jpeg` with a comment naming `i` right after its start marker: other
/// bytes, the same pixels.
fn copy_of(jpeg: &[u8], i: usize) -> Vec<u8> {
    let comment = format!("pictor cluster copy {i}");
    let length = u16::try_from(comment.len() + 2).unwrap().to_be_bytes();
    let mut copy = Vec::with_capacity(jpeg.len() + comment.len() + 4);
    copy.extend_from_slice(&jpeg[..2]);
    copy.extend_from_slice(&[0xFF, 0xFE, length[0], length[1]]);
    copy.extend_from_slice(comment.as_bytes());
    copy.extend_from_slice(&jpeg[2..]);
    copy
}

/// Every copy of a photo got the same labels, at least one photo has some,
/// and the index counts each label once per image carrying it: the copies
/// of the photos with that label, summed.
async fn assert_each_label_counts_each_image_once(
    client: &reqwest::Client,
    base: &str,
    accepted: &BTreeMap<String, usize>,
) {
    let get = async |path: String| -> Value {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    };
    let mut labels_of_photo: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut copies: BTreeMap<usize, i64> = BTreeMap::new();
    for (id, photo) in accepted {
        let answer = get(format!("/api/v1/img/{id}/labels")).await;
        let names: BTreeSet<String> =
            answer["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap().to_string()).collect();
        let first = labels_of_photo.entry(*photo).or_insert_with(|| names.clone());
        assert_eq!(*first, names, "image {id}, a copy of photo {photo}, got other labels than its first copy");
        *copies.entry(*photo).or_default() += 1;
    }
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for (photo, names) in &labels_of_photo {
        for name in names {
            *expected.entry(name.clone()).or_default() += copies[photo];
        }
    }
    assert!(!expected.is_empty(), "no photo got a label: the models did not run");
    let index = get("/api/v1/labels".to_string()).await;
    let counted: BTreeMap<String, i64> = index["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_string(), l["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counted, expected, "the label index does not count each image once");
    eprintln!("{} labels over {} photos, each image counted once: {counted:?}", counted.len(), labels_of_photo.len());
}
