//! The API, black-box over HTTP, on both backends: upload forms, storage,
//! transforms and their cache, limits and errors, and operations.

use crate::common;

use base64::Engine as _;
use common::*;
use serde_json::json;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

both_backends!(
    seed_curl_examples_work_as_written,
    every_upload_form_lands_and_reports_digests,
    identical_bytes_share_one_blob_until_the_last_delete,
    uuid_upload_copies_an_image,
    transforms_are_cached_with_etags_and_304,
    concurrent_identical_misses_compute_once,
    originals_honour_range_and_etag,
    errors_are_problems_with_stable_codes,
    limits_refuse_large_uploads_and_images,
    multipart_is_all_or_nothing,
    hostile_file_names_stay_out_of_paths_and_headers,
    listing_paginates,
    operations_endpoints_answer,
    user_content_is_not_sniffed_and_originals_are_sandboxed,
    derivative_cache_stays_under_its_cap,
    uploads_past_the_rate_limit_get_429,
    a_full_queue_answers_503_not_a_longer_wait,
    shutdown_finishes_requests_in_flight,
    uploads_in_flight_are_bounded,
    two_servers_share_one_database_and_store,
);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn long_side(bytes: &[u8]) -> u32 {
    let header = pictor_imaging::probe(bytes).expect("a readable image");
    header.width.max(header.height)
}

async fn seed_curl_examples_work_as_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    // curl -X POST -H 'Content-Type: application/json' -d '{"type":"base64","data":"…"}' /api/v1/img
    let response = app
        .client
        .post(app.url("/api/v1/img"))
        .header("content-type", "application/json")
        .body(json!({ "type": "base64", "data": b64(&jpeg(640, 480)) }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    // curl /api/v1/img/{id}.jpg?thumbnail=200&rotate=180
    let response =
        app.client.get(app.url(&format!("/api/v1/img/{id}.jpg?thumbnail=200&rotate=180"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let bytes = response.bytes().await.unwrap();
    let header = pictor_imaging::probe(&bytes).unwrap();
    assert_eq!((header.width, header.height), (200, 150));
    // A format Pictor does not write is 400, before any lookup.
    let bad = app.client.get(app.url(&format!("/api/v1/img/{id}.bad"))).send().await.unwrap();
    assert_problem(bad, 400, "unsupported_format").await;
    let bad = app.client.get(app.url("/api/v1/img/no-such-image.bad")).send().await.unwrap();
    assert_problem(bad, 400, "unsupported_format").await;
    app.shutdown().await;
}

async fn every_upload_form_lands_and_reports_digests(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let bytes = png(30, 20);
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let md5 = hex::encode(md5::Md5::digest(&bytes));
    let data_url = format!("data:image/png;base64,{}", b64(&bytes));
    let forms = [
        json!({ "type": "base64", "data": data_url }),
        json!({ "data": { "image": data_url, "name": "a cat", "description": "on a mat" } }),
        json!({ "data": { "image": b64(&bytes) } }),
    ];
    let mut answers = Vec::new();
    for form in forms {
        let response = app.client.post(app.url("/api/v1/img")).json(&form).send().await.unwrap();
        assert!(response.status().is_success(), "{form}");
        assert!(response.headers()["location"].to_str().unwrap().starts_with("/api/v1/img/"));
        answers.push(response.json::<serde_json::Value>().await.unwrap());
    }
    answers.push(app.upload_raw(bytes.clone(), "image/png").await.json().await.unwrap());
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("a.png"));
    let response = app.client.post(app.url("/api/v1/img")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 201);
    answers.push(response.json::<serde_json::Value>().await.unwrap()["images"][0].clone());
    for answer in &answers {
        assert_eq!(answer["sha256"], sha.as_str());
        assert_eq!(answer["md5"], md5.as_str());
        assert_eq!(
            (answer["format"].as_str(), answer["width"].as_i64(), answer["height"].as_i64()),
            (Some("png"), Some(30), Some(20))
        );
        assert_eq!(answer["bytes"], bytes.len());
    }
    let sources: Vec<&str> = answers.iter().map(|a| a["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["base64", "pinster", "pinster", "raw", "multipart"]);
    assert_eq!(answers[1]["name"], "a cat");
    // Pinster's length rule.
    let short = json!({ "data": { "image": b64(&bytes), "name": "ab" } });
    let response = app.client.post(app.url("/api/v1/img")).json(&short).send().await.unwrap();
    assert_problem(response, 400, "invalid_request").await;
    // The record route shows what the upload answered.
    let id = answers[0]["id"].as_str().unwrap();
    let record: serde_json::Value =
        app.client.get(app.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(record["sha256"], sha.as_str());
    app.shutdown().await;
}

async fn identical_bytes_share_one_blob_until_the_last_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let bytes = jpeg(64, 64);
    let first = app.upload_ok(bytes.clone()).await;
    let second = app.upload_ok(bytes.clone()).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["sha256"], second["sha256"]);
    let sha = first["sha256"].as_str().unwrap();
    if backend == Backend::Local {
        let blobs: Vec<_> = walk(&app.dir.path().join("store/blobs"));
        assert_eq!(blobs.len(), 1, "one object for identical bytes");
    }
    // Make a derivative so its deletion is exercised too.
    let id1 = first["id"].as_str().unwrap();
    assert_eq!(
        app.client.get(app.url(&format!("/api/v1/img/{id1}.png?thumbnail=10"))).send().await.unwrap().status(),
        200
    );
    let delete = |id: String| app.client.delete(app.url(&format!("/api/v1/img/{id}"))).send();
    assert_eq!(delete(id1.to_string()).await.unwrap().status(), 204);
    assert!(app.state.store.has_blob(sha).await.unwrap(), "blob kept while an image refers to it");
    assert_eq!(delete(second["id"].as_str().unwrap().to_string()).await.unwrap().status(), 204);
    assert!(!app.state.store.has_blob(sha).await.unwrap(), "last delete removes the blob");
    assert!(app.state.store.get_derivative(sha, "anything").await.unwrap().is_none());
    let gone = app.client.get(app.url(&format!("/api/v1/img/{id1}/original"))).send().await.unwrap();
    assert_problem(gone, 404, "not_found").await;
    assert_problem(delete(id1.to_string()).await.unwrap(), 404, "not_found").await;
    let kinds: Vec<String> = app.state.db.events_for(id1).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["image.created", "image.deleted"]);
    app.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

async fn uuid_upload_copies_an_image(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let original = app.upload_ok(jpeg(32, 16)).await;
    let response = app
        .client
        .post(app.url("/api/v1/img"))
        .json(&json!({ "type": "uuid", "data": original["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let copy: serde_json::Value = response.json().await.unwrap();
    assert_ne!(copy["id"], original["id"]);
    assert_eq!(
        (&copy["sha256"], &copy["width"], &copy["source"]),
        (&original["sha256"], &original["width"], &json!("uuid"))
    );
    let missing = json!({ "type": "uuid", "data": uuid::Uuid::new_v4().to_string() });
    let response = app.client.post(app.url("/api/v1/img")).json(&missing).send().await.unwrap();
    assert_problem(response, 404, "not_found").await;
    app.shutdown().await;
}

async fn transforms_are_cached_with_etags_and_304(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let id = app.upload_ok(jpeg(300, 200)).await["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/v1/img/{id}.webp?thumbnail=100&grayscale"));
    let first = app.client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(first.headers()["content-type"], "image/webp");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong ETag: {etag}");
    let body = first.bytes().await.unwrap();
    assert_eq!(long_side(&body), 100);
    let second = app.client.get(&url).send().await.unwrap();
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(second.bytes().await.unwrap(), body);
    let revalidated = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.bytes().await.unwrap().is_empty());
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"pictor_derivative_cache_total{tier="memory",result="hit"} 2"#), "{metrics}");
    // format=auto negotiates from Accept and says so.
    let auto = app.url(&format!("/api/v1/img/{id}.auto?thumbnail=50"));
    let webp = app.client.get(&auto).header("accept", "image/webp,*/*").send().await.unwrap();
    assert_eq!(
        (webp.headers()["content-type"].to_str().unwrap(), webp.headers()["vary"].to_str().unwrap()),
        ("image/webp", "Accept")
    );
    let plain = app.client.get(&auto).header("accept", "*/*").send().await.unwrap();
    assert_eq!(plain.headers()["content-type"], "image/jpeg");
    assert_ne!(plain.headers()["etag"], webp.headers()["etag"]);
    app.shutdown().await;
}

async fn concurrent_identical_misses_compute_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let id = app.upload_ok(jpeg(1200, 900)).await["id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/api/v1/img/{id}.png?thumbnail=300&blur=2"));
    let requests = (0..8).map(|_| app.client.get(&url).send());
    let responses = futures::future::join_all(requests).await;
    let mut etags = std::collections::HashSet::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        etags.insert(response.headers()["etag"].to_str().unwrap().to_string());
    }
    assert_eq!(etags.len(), 1);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // One load went past memory to the store tier, and it missed: one render.
    assert!(metrics.contains(r#"pictor_derivative_cache_total{tier="store",result="miss"} 1"#), "{metrics}");
    assert!(!metrics.contains(r#"tier="store",result="hit""#), "{metrics}");
    app.shutdown().await;
}

async fn originals_honour_range_and_etag(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let bytes = jpeg(50, 50);
    let answer = app.upload_ok(bytes.clone()).await;
    let url = app.url(&format!("/api/v1/img/{}/original", answer["id"].as_str().unwrap()));
    let full = app.client.get(&url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "image/jpeg");
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", answer["sha256"].as_str().unwrap()));
    assert_eq!(full.bytes().await.unwrap(), bytes);
    let part = app.client.get(&url).header("range", "bytes=2-11").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"].to_str().unwrap(), format!("bytes 2-11/{}", bytes.len()));
    assert_eq!(part.bytes().await.unwrap(), &bytes[2..12]);
    let tail = app.client.get(&url).header("range", "bytes=-5").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), &bytes[bytes.len() - 5..]);
    let outside = app.client.get(&url).header("range", "bytes=999999-").send().await.unwrap();
    assert_eq!(outside.headers()["content-range"].to_str().unwrap(), format!("bytes */{}", bytes.len()));
    assert_problem(outside, 416, "invalid_request").await;
    assert_eq!(app.client.get(&url).header("if-none-match", &etag).send().await.unwrap().status(), 304);
    app.shutdown().await;
}

async fn errors_are_problems_with_stable_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let id = app.upload_ok(jpeg(40, 40)).await["id"].as_str().unwrap().to_string();
    let cases = [
        (format!("/api/v1/img/{id}.jpg?thumbnail=abc"), 400, "invalid_filter"),
        (format!("/api/v1/img/{id}.jpg?explode=1"), 400, "invalid_filter"),
        (format!("/api/v1/img/{id}.jpg?resize=60000x60000:fill:enlarge"), 413, "image_too_large"),
        (format!("/api/v1/img/{}.jpg", uuid::Uuid::new_v4()), 404, "not_found"),
        (format!("/api/v1/img/{}", uuid::Uuid::new_v4()), 404, "not_found"),
        ("/api/v1/img?limit=0".to_string(), 400, "invalid_request"),
        ("/api/v1/img?limit=x".to_string(), 400, "invalid_request"),
        ("/no/such/route".to_string(), 404, "not_found"),
        ("/api/v1/img/%FF%FE.jpg".to_string(), 400, "invalid_request"),
        ("/api/v1/img/%FF/original".to_string(), 400, "invalid_request"),
    ];
    for (path, status, code) in cases {
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_problem(response, status, code).await;
    }
    let uploads = [
        (b"just some text, not an image".to_vec(), "image/png", 415, "unsupported_format"),
        (jpeg(400, 300)[..600].to_vec(), "image/jpeg", 422, "corrupt_image"),
        (Vec::new(), "image/jpeg", 415, "unsupported_format"),
    ];
    for (bytes, content_type, status, code) in uploads {
        assert_problem(app.upload_raw(bytes, content_type).await, status, code).await;
    }
    let bad_json = app
        .client
        .post(app.url("/api/v1/img"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(bad_json, 400, "invalid_request").await;
    let bad_type =
        app.client.post(app.url("/api/v1/img")).json(&json!({ "type": "ftp", "data": "x" })).send().await.unwrap();
    assert_problem(bad_type, 400, "invalid_request").await;
    let bad_b64 =
        app.client.post(app.url("/api/v1/img")).json(&json!({ "type": "base64", "data": "%%%" })).send().await.unwrap();
    assert_problem(bad_b64, 400, "invalid_request").await;
    // Nothing was stored by the failures: only the one good image is listed.
    let list: serde_json::Value = app.client.get(app.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["images"].as_array().unwrap().len(), 1);
    app.shutdown().await;
}

async fn limits_refuse_large_uploads_and_images(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.limits.max_upload_bytes = 20_000;
        c.limits.max_pixels = 250_000;
    })
    .await
    else {
        return;
    };
    // Over the byte limit: refused while streaming, whatever the form.
    let big = vec![0u8; 50_000];
    assert_problem(app.upload_raw(big.clone(), "image/jpeg").await, 413, "payload_too_large").await;
    let chunks =
        futures::stream::iter(big.chunks(1000).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
    let streamed = app
        .client
        .post(app.url("/api/v1/img"))
        .header("content-type", "image/jpeg")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_problem(streamed, 413, "payload_too_large").await;
    let json_big = json!({ "type": "base64", "data": b64(&big) });
    let response = app.client.post(app.url("/api/v1/img")).json(&json_big).send().await.unwrap();
    assert_problem(response, 413, "payload_too_large").await;
    // Over the pixel limit: refused from the header (a 1000×1000 PNG of one colour is small in bytes).
    let wide = flat_png(1000, 1000);
    assert!(wide.len() < 20_000, "fixture fits the byte limit: {}", wide.len());
    assert_problem(app.upload_raw(wide, "image/png").await, 413, "image_too_large").await;
    assert_eq!(app.upload_raw(png(100, 100), "image/png").await.status(), 201);
    app.shutdown().await;
}

async fn multipart_is_all_or_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let part = |bytes: Vec<u8>, name: &str| reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    let good =
        reqwest::multipart::Form::new().part("a", part(jpeg(10, 10), "a.jpg")).part("b", part(png(12, 12), "b.png"));
    let response = app.client.post(app.url("/api/v1/img")).multipart(good).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["images"].as_array().unwrap().len(), 2);
    let mixed = reqwest::multipart::Form::new()
        .part("a", part(jpeg(14, 14), "ok.jpg"))
        .part("b", part(b"not an image".to_vec(), "bad.txt"));
    let response = app.client.post(app.url("/api/v1/img")).multipart(mixed).send().await.unwrap();
    let problem = assert_problem(response, 415, "unsupported_format").await;
    assert!(problem["detail"].as_str().unwrap().starts_with("bad.txt"));
    let list: serde_json::Value = app.client.get(app.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["images"].as_array().unwrap().len(), 2, "the good file of the failed request was rolled back");
    app.shutdown().await;
}

/// A multipart file name that tries to climb out of a folder, and one that
/// tries to smuggle a header line: the stored name is the last segment
/// without control characters, and no answer carries the smuggled header.
async fn hostile_file_names_stay_out_of_paths_and_headers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let multipart = |files: &[(&str, &str, Vec<u8>)]| {
        let mut body = Vec::new();
        for (field, name, bytes) in files {
            let head = format!(
                "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: image/jpeg\r\n\r\n"
            );
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
        app.client
            .post(app.url("/api/v1/img"))
            .header("content-type", format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"))
            .body(body)
            .send()
    };
    // A name that smuggles header lines ends at the first line break (the
    // rest are the part's own headers, not the answer's), or the part is
    // refused whole: never a header in the answer, never a line break kept.
    let smuggled = multipart(&[("c", "x.jpg\"\r\nX-Injected: yes\r\nContent-Type: text/html", jpeg(23, 13))]);
    let response = smuggled.await.unwrap();
    assert!(response.headers().get("x-injected").is_none());
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(status == 201 || (status == 400 && answer["code"] == "invalid_request"), "{status}: {answer}");
    if let Some(id) = answer["images"][0]["id"].as_str() {
        let record: serde_json::Value =
            app.client.get(app.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().json().await.unwrap();
        let name = record["name"].as_str().unwrap_or_default();
        assert!(!name.contains(['\r', '\n']) && !name.contains("Injected"), "stored name {name:?}");
        app.client.delete(app.url(&format!("/api/v1/img/{id}"))).send().await.unwrap();
    }

    let files = [("a", "../../../etc/passwd.jpg", jpeg(21, 13)), ("b", "C:\\Users\\ann\\evil\t.jpg", jpeg(22, 13))];
    let response = multipart(&files).await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut names = Vec::new();
    for image in answer["images"].as_array().unwrap() {
        let id = image["id"].as_str().unwrap();
        let record: serde_json::Value =
            app.client.get(app.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().json().await.unwrap();
        names.push(record["name"].as_str().unwrap_or_default().to_string());
        let original = app.client.get(app.url(&format!("/api/v1/img/{id}/original"))).send().await.unwrap();
        let disposition = original.headers()["content-disposition"].to_str().unwrap();
        assert_eq!(disposition, format!("inline; filename=\"{id}.jpeg\""), "named by the id, never the client");
    }
    names.sort();
    assert_eq!(names, ["evil.jpg", "passwd.jpg"], "the last segment, without control characters");
    app.shutdown().await;
}

const MULTIPART_BOUNDARY: &str = "pictor-hostile-names";

async fn listing_paginates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let mut ids = Vec::new();
    for size in 10..15 {
        ids.push(app.upload_ok(jpeg(size, size)).await["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/img?limit=2");
        if let Some(cursor) = &next {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: serde_json::Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
        seen.extend(page["images"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(cursor) => next = Some(cursor.to_string()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");
    app.shutdown().await;
}

async fn operations_endpoints_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
    let ready: serde_json::Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready, json!({ "database": "ok", "store": "ok" }));
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    assert_problem(app.client.request(odd, app.url("/healthz")).send().await.unwrap(), 405, "invalid_request").await;
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"pictor_http_requests_total{method="GET",route="/readyz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"method="other",route="/healthz",status="405"} 1"#), "{metrics}");
    assert!(metrics.contains("pictor_http_request_duration_seconds_bucket"));
    let doc: serde_json::Value =
        app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/img", "/api/v1/img/{file}", "/api/v1/img/{id}/original", "/readyz"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from OpenAPI");
    }
    assert!(doc["components"]["schemas"]["ImageView"].is_object());
    app.shutdown().await;
}

async fn user_content_is_not_sniffed_and_originals_are_sandboxed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    // A polyglot: a valid JPEG, then an HTML page. It is an image: accepted.
    let mut polyglot = jpeg(64, 48);
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let record = app.upload_ok(polyglot.clone()).await;
    assert_eq!(record["format"], "jpeg");
    let id = record["id"].as_str().unwrap();
    let response = app.client.get(app.url(&format!("/api/v1/img/{id}/original"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    assert_eq!(h["content-disposition"], format!("inline; filename=\"{id}.jpeg\"").as_str());
    let filename = h["content-disposition"].to_str().unwrap().split_once("filename=\"").unwrap().1;
    let filename = filename.strip_suffix('"').unwrap();
    assert!(filename.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{filename}");
    assert_eq!(response.bytes().await.unwrap(), polyglot, "served as uploaded");
    // A range of it, too.
    let part = app.client.get(app.url(&format!("/api/v1/img/{id}/original"))).header("range", "bytes=0-9");
    let part = part.send().await.unwrap();
    assert_eq!(part.status(), 206);
    for (name, value) in
        [("x-content-type-options", "nosniff"), ("content-security-policy", "default-src 'none'; sandbox")]
    {
        assert_eq!(part.headers()[name], value, "{name} on 206");
    }
    // The uploader's file name (kept as the record's name) never reaches
    // the header: it could say .html.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(polyglot.clone()).file_name("page\" a=\\b.html"));
    let response = app.client.post(app.url("/api/v1/img")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let named = response.json::<serde_json::Value>().await.unwrap()["images"][0].clone();
    assert!(named["name"].as_str().unwrap().ends_with(".html"), "{named}");
    let named = named["id"].as_str().unwrap();
    let response = app.client.get(app.url(&format!("/api/v1/img/{named}/original"))).send().await.unwrap();
    assert_eq!(response.headers()["content-disposition"], format!("inline; filename=\"{named}.jpeg\"").as_str());
    // Transforms are sandboxed as well.
    let response = app.client.get(app.url(&format!("/api/v1/img/{id}.png?thumbnail=16"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["content-security-policy"], "default-src 'none'; sandbox");
    // nosniff on every answer: problems, the fallback, operations, JSON.
    let problem = app.client.get(app.url("/api/v1/img/no-such-image")).send().await.unwrap();
    assert_eq!(problem.headers()["x-content-type-options"], "nosniff");
    assert_problem(problem, 404, "not_found").await;
    let problem = app.client.get(app.url("/no/such/route")).send().await.unwrap();
    assert_eq!(problem.headers()["x-content-type-options"], "nosniff");
    assert_problem(problem, 404, "not_found").await;
    for path in ["/healthz", "/readyz", "/metrics", "/api/openapi.json", &format!("/api/v1/img/{id}")] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    app.shutdown().await;
}

async fn derivative_cache_stays_under_its_cap(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.cache.max_bytes = 4_000).await else { return };
    let id = app.upload_ok(jpeg(200, 200)).await["id"].as_str().unwrap().to_string();
    let sha = app.state.db.get_image(&id).await.unwrap().unwrap().sha256;
    let mut names = Vec::new();
    for size in 40..52 {
        let ops = format!("thumbnail={size}");
        let response = app.client.get(app.url(&format!("/api/v1/img/{id}.jpg?{ops}"))).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let canonical = pictor_imaging::Pipeline::parse(&ops).unwrap().to_string();
        names.push(pictor_store::derivative_name(&canonical, "jpg"));
    }
    let total = app.state.db.derivative_bytes().await.unwrap();
    assert!(total <= 4_000, "store tier holds {total} bytes, over its cap");
    let newest = names.last().unwrap();
    let oldest = names.first().unwrap();
    assert!(app.state.store.get_derivative(&sha, newest).await.unwrap().is_some(), "the newest derivative is kept");
    assert!(app.state.store.get_derivative(&sha, oldest).await.unwrap().is_none(), "the oldest derivative was evicted");
    app.shutdown().await;
}

async fn uploads_past_the_rate_limit_get_429(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.limits.uploads_per_minute = 2).await else { return };
    app.upload_ok(jpeg(8, 8)).await;
    app.upload_ok(jpeg(9, 9)).await;
    let refused = app.upload_raw(jpeg(10, 10), "image/jpeg").await;
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_problem(refused, 429, "rate_limited").await;
    // Reads are not limited.
    assert_eq!(app.client.get(app.url("/api/v1/img")).send().await.unwrap().status(), 200);
    app.shutdown().await;
}

/// A transform slow enough to hold a worker while other requests arrive.
fn slow_transform(id: &str, n: u32) -> String {
    format!("/api/v1/img/{id}.png?resize={}x{}:fill:enlarge&blur=30", 2000 + n, 2000 + n)
}

async fn a_full_queue_answers_503_not_a_longer_wait(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| {
        c.limits.workers = 1;
        c.limits.queue = 0;
    })
    .await
    else {
        return;
    };
    let id = app.upload_ok(jpeg(200, 200)).await["id"].as_str().unwrap().to_string();
    let requests = (0..6).map(|n| app.client.get(app.url(&slow_transform(&id, n))).send());
    let mut statuses = Vec::new();
    for response in futures::future::join_all(requests).await {
        let response = response.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            assert_eq!(response.headers()["retry-after"], "1");
            assert_problem(response, 503, "overloaded").await;
        }
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&200) && statuses.contains(&503), "one runs, the rest are turned away: {statuses:?}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let rejected = statuses.iter().filter(|s| **s == 503).count();
    assert!(metrics.contains(&format!("pictor_image_jobs_rejected_total {rejected}")), "{metrics}");
    app.shutdown().await;
}

async fn shutdown_finishes_requests_in_flight(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let id = app.upload_ok(jpeg(200, 200)).await["id"].as_str().unwrap().to_string();
    let request = tokio::spawn(app.client.get(app.url(&slow_transform(&id, 0))).send());
    while app.state.metrics.jobs_running.get() == 0 {
        tokio::task::yield_now().await;
    }
    let base = app.base.clone();
    app.shutdown().await;
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the request in flight was answered");
    assert_eq!(response.bytes().await.unwrap()[..4], [0x89, b'P', b'N', b'G']);
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err(), "no new connections after shutdown");
}

async fn uploads_in_flight_are_bounded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |c| c.limits.concurrent_uploads = 1).await else { return };
    // A slow client on a raw socket: headers and part of the body now, the rest when we say.
    let bytes = jpeg(64, 64);
    let (head, rest) = bytes.split_at(100);
    let address = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /api/v1/img HTTP/1.1\r\nHost: {address}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    slow.write_all(head).await.unwrap();
    // Once the slow upload holds the only slot, others are turned away at
    // once. Wait for that first: an upload sent before it would take the
    // slot itself and have the slow one refused. (The bound only guards
    // against a hang on a loaded machine.)
    for _ in 0..3000 {
        if app.state.upload_slots.available_permits() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.upload_slots.available_permits(), 0, "the slow upload holds the slot");
    let other = app.upload_raw(b"not an image".to_vec(), "image/jpeg").await;
    assert_eq!(other.headers()["retry-after"], "1");
    assert_problem(other, 503, "overloaded").await;
    slow.write_all(rest).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(app.upload_raw(jpeg(8, 8), "image/jpeg").await.status(), 201, "the slot is free again");
    app.shutdown().await;
}

/// Scale-out: a second server over the same database and store serves what
/// the first stored, from the shared derivative cache.
async fn two_servers_share_one_database_and_store(backend: Backend) {
    let Some(first) = TestApp::spawn(backend, |_| {}).await else { return };
    let second = TestApp::start(first.state.config.clone(), tempfile::tempdir().unwrap()).await;
    let id = first.upload_ok(jpeg(120, 80)).await["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/img/{id}.webp?thumbnail=30");
    let made = first.client.get(first.url(&path)).send().await.unwrap();
    let etag = made.headers()["etag"].clone();
    let served = second.client.get(second.url(&path)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["etag"], etag);
    let metrics = second.client.get(second.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"pictor_derivative_cache_total{tier="store",result="hit"} 1"#), "{metrics}");
    assert_eq!(second.client.delete(second.url(&format!("/api/v1/img/{id}"))).send().await.unwrap().status(), 204);
    let page: serde_json::Value =
        first.client.get(first.url("/api/v1/img")).send().await.unwrap().json().await.unwrap();
    assert!(page["images"].as_array().unwrap().is_empty());
    second.shutdown().await;
    first.shutdown().await;
}
