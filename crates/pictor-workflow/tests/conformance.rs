//! Data-driven conformance cases in `tests/cases/*.json`:
//! `{"definition": …, "input": …, "expected": {"status", "output", "error", "cause"}}`.
//!
//! Built-in tasks available to cases: `pictor:echo` returns its input;
//! `pictor:fail` fails with the input's `error` and `cause`; `pictor:work`
//! returns `{"done": <input>}`. An `expected` key that is absent is not checked.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn case_host() -> TestHost {
    TestHost::new(|c| {
        let r = match c.resource.as_str() {
            "pictor:echo" => Ok(c.input.clone()),
            "pictor:fail" => {
                Err(err(c.input["error"].as_str().unwrap_or("Failed"), c.input["cause"].as_str().unwrap_or("")))
            }
            _ => Ok(json!({"done": c.input})),
        };
        (r, Duration::ZERO)
    })
}

#[tokio::test(start_paused = true)]
async fn conformance_cases() {
    // PICTOR_WF_CASES points at another directory of cases (ad-hoc comparisons).
    let dir = match std::env::var_os("PICTOR_WF_CASES") {
        Some(d) => std::path::PathBuf::from(d),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases"),
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(names.len() >= 10, "expected conformance cases in {dir:?}");
    let mut failures = Vec::new();
    for path in names {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let text = case["definition"].to_string();
        let d = match pictor_workflow::Definition::parse(&text, &resources()) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: definition rejected: {e}", path.display()));
                continue;
            }
        };
        let out = run(&d, case["input"].clone(), &case_host()).await;
        let got = json!({
            "status": serde_json::to_value(out.status).unwrap(),
            "output": out.output, "error": out.error, "cause": out.cause,
        });
        for (k, want) in case["expected"].as_object().unwrap() {
            if &got[k] != want {
                failures.push(format!("{}: {k}: expected {want}, got {}", path.display(), got[k]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
