//! The served OpenAPI document: complete (every route of the router is in
//! it, and every operation in it is routed) and valid for an independent
//! validator, PyPI's `openapi-spec-validator`. The document does not depend
//! on the backend, so these run on SQLite only.

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

/// The router's source: the routes are read from its `.route(…)` calls.
const ROUTER_SOURCE: &str = include_str!("../src/routes/mod.rs");
/// The asset manager's routes, nested under `pam.prefix` (`/pam` here).
const PAM_SOURCE: &str = include_str!("../src/routes/pam.rs");

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// `"METHOD path"` for every method of every `.route(path, …)` call in the
/// router's source: `get(a).post(b)`, `axum::routing::post(c)`.
fn routed_operations() -> BTreeSet<String> {
    let mut operations = routes_in(ROUTER_SOURCE, "");
    operations.extend(routes_in(PAM_SOURCE, "/pam"));
    operations
}

/// The `.route(…)` calls of `source`, their paths under `prefix`.
fn routes_in(source: &str, prefix: &str) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for call in source.split(".route(").skip(1) {
        // The call's own text, up to its closing parenthesis.
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a .route( call closes");
        let call = &call[..end];
        let path = call.split('"').nth(1).expect("a route's path is its first argument, a string literal");
        let mut found = false;
        for method in METHODS {
            let needle = format!("{method}(");
            for (at, _) in call.match_indices(&needle) {
                let before = call[..at].chars().next_back();
                if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    operations.insert(format!("{} {prefix}{path}", method.to_uppercase()));
                    found = true;
                }
            }
        }
        assert!(found, "no method found in .route({call})");
    }
    operations
}

fn documented_operations(doc: &Value) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    operations
}

async fn served_document(app: &TestApp) -> String {
    let response = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_document() {
    let app = TestApp::spawn(Backend::Local, |_| {}).await.unwrap();
    let doc: Value = serde_json::from_str(&served_document(&app).await).unwrap();
    let routed = routed_operations();
    // The parser saw the routes (the merged event stream router too).
    assert!(routed.len() >= 20, "{routed:?}");
    assert!(routed.contains("GET /api/v1/events") && routed.contains("DELETE /api/v1/img/{file}"), "{routed:?}");
    let documented = documented_operations(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not in /api/openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "in /api/openapi.json but not routed: {unrouted:?}");
    // And over HTTP: each documented operation reaches a handler, neither
    // the "no such route" fallback nor the 405 one.
    for operation in &documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete: String =
            path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.client.request(method, app.url(&concrete)).send().await.unwrap();
        let status = response.status();
        assert_ne!(status, 405, "{operation}");
        if status == 404 {
            let body: Value = response.json().await.unwrap();
            assert!(!body["detail"].as_str().unwrap().starts_with("no such route"), "{operation}: {body}");
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_passes_openapi_spec_validator() {
    let app = TestApp::spawn(Backend::Local, |_| {}).await.unwrap();
    // Kept after the run, to read what the validator refused.
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi.json");
    std::fs::write(&file, served_document(&app).await).unwrap();
    let probe = std::process::Command::new("python3").args(["-c", "import openapi_spec_validator"]).output();
    match probe {
        Err(_) => {
            skip("OpenAPI validation skipped: python3 is not installed (then pip install openapi-spec-validator)");
            return;
        }
        Ok(probe) if !probe.status.success() => {
            skip("OpenAPI validation skipped: pip install openapi-spec-validator");
            return;
        }
        Ok(_) => {}
    }
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "openapi-spec-validator refused /api/openapi.json ({}):\n{said}", file.display());
    assert!(said.contains("OK"), "{said}");
    app.shutdown().await;
}
