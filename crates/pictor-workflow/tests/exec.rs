//! Interpreter behaviour end to end, through the public API.

mod common;

use common::*;
use pictor_workflow::{Definition, Status};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[tokio::test]
async fn data_flow_fields_and_null_cases() {
    let d = def(r#"{
      "StartAt": "T",
      "States": {
        "T": {"Type": "Task", "Resource": "pictor:echo", "InputPath": "$.in",
              "Parameters": {"x.$": "$.v", "ctx.$": "$$.Execution.Name", "state.$": "$$.State.Name", "k": "lit"},
              "ResultSelector": {"got.$": "$.x", "all.$": "$"},
              "ResultPath": "$.res.deep", "OutputPath": "$.res", "Next": "Nulls"},
        "Nulls": {"Type": "Pass", "InputPath": null, "Result": {"r": 1}, "ResultPath": null, "Next": "Out"},
        "Out": {"Type": "Pass", "OutputPath": null, "End": true}
      }}"#);
    let host = TestHost::echo();
    let out = run(&d, json!({"in": {"v": 7}, "keep": true}), &host).await;
    assert_eq!(out.status, Status::Succeeded, "{out:?}");
    assert_eq!(out.output, Some(json!({})));
    let call = host.calls.lock().unwrap()[0].clone();
    assert_eq!(call.input, json!({"x": 7, "ctx": "run-1", "state": "T", "k": "lit"}));
    assert_eq!(call.key, "T#1/a1");
    // ResultPath merged into the raw input, then OutputPath selected it: check via history.
    let exited: Vec<_> = host.history.events().into_iter().filter(|e| e.kind == "TaskStateExited").collect();
    let output: Value = serde_json::from_str(exited[0].details["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"deep": {"got": 7, "all": {"x": 7, "ctx": "run-1", "state": "T", "k": "lit"}}}));
    let pass_exit: Vec<_> = host.history.events().into_iter().filter(|e| e.kind == "PassStateExited").collect();
    let nulls: Value = serde_json::from_str(pass_exit[0].details["output"].as_str().unwrap()).unwrap();
    assert_eq!(nulls, output, "ResultPath null keeps the input");
}

#[tokio::test]
async fn missing_input_path_is_a_runtime_error_with_aws_cause() {
    let d =
        def(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}}}"#);
    let out = run(&d, json!({}), &TestHost::echo()).await;
    assert_eq!(out.status, Status::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        out.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_timing_then_success() {
    let d = def(r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "pictor:work", "End": true,
        "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 5},
                  {"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3},
                  {"ErrorEquals": ["States.ALL"], "MaxAttempts": 9}]}}}"#);
    let attempts = AtomicU32::new(0);
    let host = TestHost::new(move |c| {
        let n = attempts.fetch_add(1, Ordering::SeqCst);
        assert_eq!(c.attempt, n + 1);
        if n < 2 { (Err(err("Boom", "bad")), Duration::ZERO) } else { (Ok(json!({"ok": n})), Duration::ZERO) }
    });
    let start = tokio::time::Instant::now();
    let out = run(&d, json!({}), &host).await;
    assert_eq!(out.output, Some(json!({"ok": 2})));
    assert_eq!(start.elapsed(), Duration::from_secs(2 + 6));
    let sleeps = host.sleeps.lock().unwrap().clone();
    assert_eq!(
        sleeps,
        vec![
            ("T#1/a1/backoff".to_string(), Duration::from_secs(2)),
            ("T#1/a2/backoff".to_string(), Duration::from_secs(6))
        ]
    );
    assert_eq!(host.keys(), vec!["T#1/a1", "T#1/a2", "T#1/a3"]);
}

#[tokio::test(start_paused = true)]
async fn retries_exhausted_then_first_matching_catcher() {
    let d = def(r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "pictor:fail", "Next": "Done",
              "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 1, "MaxDelaySeconds": 1}],
              "Catch": [{"ErrorEquals": ["Nope"], "Next": "Wrong"},
                        {"ErrorEquals": ["Boom", "Other"], "ResultPath": "$.error", "Next": "Handled"},
                        {"ErrorEquals": ["States.ALL"], "Next": "Wrong"}]},
        "Handled": {"Type": "Pass", "End": true},
        "Wrong": {"Type": "Fail"},
        "Done": {"Type": "Succeed"}}}"#);
    let host = TestHost::new(|_| (Err(err("Boom", "it broke")), Duration::ZERO));
    let start = tokio::time::Instant::now();
    let out = run(&d, json!({"keep": 1}), &host).await;
    assert_eq!(out.status, Status::Succeeded);
    assert_eq!(out.output, Some(json!({"keep": 1, "error": {"Error": "Boom", "Cause": "it broke"}})));
    assert_eq!(host.calls.lock().unwrap().len(), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(2), "capped by MaxDelaySeconds");
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_uncaught_fails() {
    let d = def(r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "pictor:fail", "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]}}}"#);
    let host = TestHost::new(|_| (Err(err("Boom", "c")), Duration::ZERO));
    let out = run(&d, json!({}), &host).await;
    assert_eq!((out.status, out.error.as_deref(), out.cause.as_deref()), (Status::Failed, Some("Boom"), Some("c")));
    assert_eq!(host.calls.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn task_timeout_is_states_timeout_and_not_task_failed() {
    let d = def(r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "pictor:work", "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 1, "Next": "Ok",
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                        {"ErrorEquals": ["States.Timeout"], "Next": "Timed"}]},
        "Ok": {"Type": "Succeed"}, "Wrong": {"Type": "Fail"}, "Timed": {"Type": "Pass", "End": true}}}"#);
    let host = TestHost::new(|_| (Ok(json!(1)), Duration::from_secs(10)));
    let start = tokio::time::Instant::now();
    let out = run(&d, json!({"t": 3}), &host).await;
    assert_eq!(out.output, Some(json!({"Error": "States.Timeout", "Cause": ""})));
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(host.event_kinds().contains(&"TaskTimedOut".to_string()));
}

#[tokio::test(start_paused = true)]
async fn execution_timeout() {
    let d =
        def(r#"{"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}"#);
    let out = run(&d, json!({}), &TestHost::echo()).await;
    assert_eq!((out.status, out.error.as_deref(), out.cause), (Status::TimedOut, Some("States.Timeout"), None));
}

#[tokio::test(start_paused = true)]
async fn wait_variants() {
    let d = def(r#"{"StartAt": "A", "States": {
        "A": {"Type": "Wait", "SecondsPath": "$.s", "Next": "B"},
        "B": {"Type": "Wait", "Timestamp": "2000-01-01T00:00:00Z", "Next": "C"},
        "C": {"Type": "Wait", "TimestampPath": "$.ts", "End": true}}}"#);
    let host = TestHost::echo();
    let out = run(&d, json!({"s": 4, "ts": "2001-01-01T00:00:00+02:00"}), &host).await;
    assert_eq!(out.status, Status::Succeeded);
    let sleeps = host.sleeps.lock().unwrap().clone();
    assert_eq!(sleeps[0], ("A#1/wait".to_string(), Duration::from_secs(4)));
    assert_eq!(sleeps[1].1, Duration::ZERO, "a past timestamp does not wait");
    let out = run(&d, json!({"s": -1}), &TestHost::echo()).await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert!(out.cause.unwrap().ends_with("The SecondsPath parameter references a negative value: $.s == -1"));
    let out = run(&d, json!({"s": 0, "ts": "2016-12-05 21:29:29Z"}), &TestHost::echo()).await;
    assert!(out.cause.unwrap().ends_with(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.ts == 2016-12-05 21:29:29Z"
    ));
}

#[tokio::test(start_paused = true)]
async fn parallel_output_in_branch_order_and_failure_cancels() {
    let d = def(r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "pictor:work", "Parameters": {"d": 5, "v": "slow"}, "End": true}}},
        {"StartAt": "Fast", "States": {"Fast": {"Type": "Task", "Resource": "pictor:work", "Parameters": {"d": 1, "v": "fast"}, "End": true}}}
    ]}}}"#);
    let host = TestHost::new(|c| (Ok(c.input["v"].clone()), Duration::from_secs(c.input["d"].as_u64().unwrap())));
    let out = run(&d, json!({}), &host).await;
    assert_eq!(out.output, Some(json!(["slow", "fast"])));
    let mut keys = host.keys();
    keys.sort();
    assert_eq!(keys, vec!["P#1/b0/Slow#1/a1", "P#1/b1/Fast#1/a1"]);

    // A failing branch fails the state with its error, and the slow branch is dropped.
    let host = TestHost::new(|c| {
        if c.input["v"] == "fast" {
            (Err(err("Bad", "fast failed")), Duration::from_secs(1))
        } else {
            (Ok(json!(1)), Duration::from_secs(100))
        }
    });
    let start = tokio::time::Instant::now();
    let out = run(&d, json!({}), &host).await;
    assert_eq!((out.error.as_deref(), out.cause.as_deref()), (Some("Bad"), Some("fast failed")));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert!(host.event_kinds().contains(&"ParallelStateFailed".to_string()));
}

#[tokio::test(start_paused = true)]
async fn map_concurrency_context_and_order() {
    let d = def(r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "W", "States": {
            "W": {"Type": "Task", "Resource": "pictor:work", "End": true}}},
        "End": true}}}"#);
    let host = TestHost::new(|c| (Ok(c.input.clone()), Duration::from_secs(5 - c.input["index"].as_u64().unwrap())));
    let out = run(&d, json!({"items": ["a", "b", "c", "d", "e"], "tag": "t"}), &host).await;
    let expected: Vec<Value> = ["a", "b", "c", "d", "e"]
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"index": i, "value": v, "tag": "t"}))
        .collect();
    assert_eq!(out.output, Some(Value::Array(expected)));
    assert_eq!(host.max_in_flight.load(Ordering::SeqCst), 2);
    assert!(host.keys().contains(&"M#1/i3/W#1/a1".to_string()));

    // MaxConcurrency 0 means unlimited; legacy Iterator and Parameters still work.
    let d = def(r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0,
        "Parameters": {"n.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "pictor:work", "End": true}}},
        "End": true}}}"#);
    let host = TestHost::new(|c| (Ok(c.input["n"].clone()), Duration::from_secs(1)));
    let out = run(&d, json!([1, 2, 3, 4]), &host).await;
    assert_eq!(out.output, Some(json!([1, 2, 3, 4])));
    assert_eq!(host.max_in_flight.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn map_errors_tolerance_and_batching() {
    let failing = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", TOL
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "pictor:work", "End": true}}},
        "End": true}}}"#;
    let host = || {
        TestHost::new(|c| {
            if c.input == json!(0) {
                (Err(err("Odd", "zero")), Duration::ZERO)
            } else {
                (Ok(c.input.clone()), Duration::ZERO)
            }
        })
    };
    let out = run(&def(&failing.replace("TOL", "")), json!([1, 0, 2]), &host()).await;
    assert_eq!(out.error.as_deref(), Some("Odd"));
    let tolerant = def(&failing.replace("TOL", r#""ToleratedFailureCount": 1,"#));
    let out = run(&tolerant, json!([1, 0, 2]), &host()).await;
    assert_eq!(out.output, Some(json!([1, {"Error": "Odd", "Cause": "zero"}, 2])));
    let out = run(&tolerant, json!([0, 0, 2]), &host()).await;
    assert_eq!(out.error.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    let pct = def(&failing.replace("TOL", r#""ToleratedFailurePercentage": 50,"#));
    assert_eq!(run(&pct, json!([0, 1]), &host()).await.status, Status::Succeeded);
    assert_eq!(run(&pct, json!([0, 0, 1]), &host()).await.status, Status::Failed);
    let out = run(&def(&failing.replace("TOL", "")), json!({"a": 1}), &host()).await;
    assert!(out.cause.unwrap().ends_with("Map state input must be an array but was: {\"a\":1}"));

    let batched = def(&failing.replace("TOL", r#""ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"b": 1}},"#));
    let out = run(&batched, json!([1, 2, 3]), &host()).await;
    assert_eq!(
        out.output,
        Some(json!([{"Items": [1, 2], "BatchInput": {"b": 1}}, {"Items": [3], "BatchInput": {"b": 1}}]))
    );
}

#[tokio::test]
async fn variables_assign_scoping_and_timing() {
    let d = def(r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1, "who.$": "$.name"}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Parameters": {"seen.$": "$x"}, "Next": "C"},
        "C": {"Type": "Parallel", "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass",
                "Assign": {"inner": true}, "Parameters": {"x.$": "$x", "who.$": "$who"}, "End": true}}}],
              "ResultSelector": {"branch.$": "$[0]"}, "Assign": {"fromResult.$": "$[0].x"}, "Next": "D"},
        "D": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old", "b.$": "$.branch", "r.$": "$fromResult"}, "End": true}}}"#);
    let host = TestHost::echo();
    let out = run(&d, json!({"name": "ada"}), &host).await;
    assert_eq!(out.output, Some(json!({"x": 2, "old": 1, "b": {"x": 2, "who": "ada"}, "r": 2})));
    let b_exit = host
        .history
        .events()
        .into_iter()
        .find(|e| e.kind == "PassStateExited" && e.state.as_deref() == Some("B"))
        .unwrap();
    assert_eq!(b_exit.details["output"], "{\"seen\":1}", "new values are visible from the next state on");

    // A nested scope may not assign an outer variable.
    let bad = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "P"},
        "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "Assign": {"x": 2}, "End": true}}}]}}}"#;
    let errs = Definition::parse(bad, &resources()).unwrap_err();
    assert!(errs.0.iter().any(|e| e.contains("state \"In\"") && e.contains("\"x\"")), "{errs}");

    // Catch Assign sees the error output.
    let d = def(r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "pictor:fail", "Next": "E",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error"}, "Next": "E"}]},
        "E": {"Type": "Pass", "Parameters": {"e.$": "$err"}, "End": true}}}"#);
    let out = run(&d, json!({}), &TestHost::new(|_| (Err(err("Boom", "")), Duration::ZERO))).await;
    assert_eq!(out.output, Some(json!({"e": "Boom"})));
}

#[tokio::test]
async fn fail_state_error_and_cause_paths() {
    let d = def(
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('because {}', $.c)"}}}"#,
    );
    let out = run(&d, json!({"e": "MyError", "c": "reasons"}), &TestHost::echo()).await;
    assert_eq!((out.error.as_deref(), out.cause.as_deref()), (Some("MyError"), Some("because reasons")));
    let out = run(&d, json!({"c": "x"}), &TestHost::echo()).await;
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
    assert!(out.cause.unwrap().ends_with(
        "The JSONPath '$.e' specified for the field 'ErrorPath' could not be found in the input '{\"c\":\"x\"}'"
    ));
    let d = def(r#"{"StartAt": "F", "States": {"F": {"Type": "Fail"}}}"#);
    let out = run(&d, json!({}), &TestHost::echo()).await;
    assert_eq!((out.status, out.error, out.cause), (Status::Failed, None, None));
}

#[tokio::test]
async fn choice_default_and_no_match() {
    let d = def(r#"{"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big", "Assign": {"size": "big"}}], "Default": "Small", "Assign": {"size": "small"}},
        "Big": {"Type": "Pass", "Parameters": {"s.$": "$size"}, "End": true},
        "Small": {"Type": "Pass", "Parameters": {"s.$": "$size"}, "End": true}}}"#);
    assert_eq!(run(&d, json!({"n": 11}), &TestHost::echo()).await.output, Some(json!({"s": "big"})));
    assert_eq!(run(&d, json!({"n": 1}), &TestHost::echo()).await.output, Some(json!({"s": "small"})));
    let d = def(
        r#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "IsPresent": true, "Next": "E"}]}, "E": {"Type": "Succeed"}}}"#,
    );
    let out = run(&d, json!({}), &TestHost::echo()).await;
    assert_eq!(out.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn lambda_invoke_shape_and_payload() {
    let resources = pictor_workflow::Resources::new(["pictor:resize"])
        .with_map([("arn:aws:lambda:us-east-1:1:function:resize".to_string(), "pictor:resize".to_string())].into())
        .unwrap();
    let text = r#"{"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:resize", "Payload": {"w.$": "$.w"}},
        "ResultSelector": {"p.$": "$.Payload", "code.$": "$.StatusCode", "v.$": "$.ExecutedVersion"}, "End": true}}}"#;
    let d = Definition::parse(text, &resources).unwrap();
    let host = TestHost::new(|c| {
        assert_eq!(c.resource, "pictor:resize");
        (Ok(json!({"done": c.input["w"]})), Duration::ZERO)
    });
    let out = run(&d, json!({"w": 10}), &host).await;
    assert_eq!(out.output, Some(json!({"p": {"done": 10}, "code": 200, "v": "$LATEST"})));
    let bad = text.replace("function:resize\"", "function:other\"");
    let errs = Definition::parse(&bad, &resources).unwrap_err();
    assert!(errs.0[0].contains("state \"L\"") && errs.0[0].contains("FunctionName"), "{errs}");
}

#[tokio::test]
async fn replay_keys_are_deterministic() {
    let d = def(r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "Loop", "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Resize",
            "States": {"Resize": {"Type": "Task", "Resource": "pictor:work", "End": true}}}}}}]},
        "Loop": {"Type": "Task", "Resource": "pictor:echo", "Next": "Check", "ResultPath": null},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$[0][0]", "NumericEquals": 1, "Next": "Done"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}}"#);
    let mk = || TestHost::new(|c| (Ok(c.input.clone()), Duration::from_millis(c.input.as_u64().unwrap_or(0) % 7)));
    let (h1, h2) = (mk(), mk());
    let o1 = run(&d, json!([3, 1, 4, 1, 5]), &h1).await;
    let o2 = run(&d, json!([3, 1, 4, 1, 5]), &h2).await;
    assert_eq!(o1, o2);
    let (mut k1, mut k2) = (h1.keys(), h2.keys());
    k1.sort();
    k2.sort();
    assert_eq!(k1, k2);
    assert!(k1.contains(&"P#1/b0/M#1/i3/Resize#1/a1".to_string()), "{k1:?}");
    let ev: Vec<String> = h1.history.events().into_iter().map(|e| e.key).collect();
    let unique: std::collections::BTreeSet<_> = ev.iter().collect();
    assert_eq!(unique.len(), ev.len(), "event keys are unique");
    let json = h1.history.to_json();
    assert_eq!(json["events"][0]["type"], "ExecutionStarted");
    assert_eq!(json["events"].as_array().unwrap().last().unwrap()["type"], "ExecutionSucceeded");
}

#[test]
fn validation_lists_every_error_with_state_and_field() {
    let text = r#"{"StartAt": "Resize", "States": {
        "Resize": {"Type": "Task", "Resource": "pictor:nope", "Foo": 1, "Next": "Missing"},
        "Orphan": {"Type": "Pass", "End": true},
        "Loose": {"Type": "Pass"},
        "Odd": {"Type": "Banana"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": 1, "Next": "Orphan"}]},
        "R": {"Type": "Task", "Resource": "pictor:echo", "End": true, "ResultPath": "$.a[*]",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Orphan"}, {"ErrorEquals": ["X"], "Next": "Orphan"}]}
    }}"#;
    let errs = Definition::parse(text, &resources()).unwrap_err();
    let all = errs.to_string();
    for expected in [
        r#"state "Resize": unknown field "Foo" for a Task state"#,
        r#"state "Resize": field "Resource": unknown task resource "pictor:nope""#,
        r#"state "Resize": field "Next" names "Missing", which is not a state"#,
        r#"state "Loose": missing required field "Next" or "End""#,
        r#"state "Odd": unknown state type "Banana" in field "Type""#,
        r#"state "Orphan": the state is not reachable from "StartAt""#,
        r#"state "C": field "Choices[0]": StringEquals must be a string"#,
        r#"state "R": field "ResultPath""#,
        r#"state "R": field "Catch[0]": "States.ALL" must be in the last retrier/catcher"#,
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    assert_eq!(errs.0.len(), all.lines().count());
}

#[test]
fn definition_formats_and_unsupported_features() {
    let yaml = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {x: 1}\n    End: true\n";
    assert!(Definition::parse(yaml, &resources()).is_ok());
    let jsonata = r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;
    let e = Definition::parse(jsonata, &resources()).unwrap_err().to_string();
    assert!(e.contains("QueryLanguage") && e.contains("JSONata"), "{e}");
    let dist = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemReader": {},
        "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}}}}"#;
    let e = Definition::parse(dist, &resources()).unwrap_err().to_string();
    assert!(e.contains("state \"M\": field \"ItemReader\""), "{e}");
    assert!(Definition::parse("{nope", &resources()).is_err());
    let intrinsic =
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}, "End": true}}}"#;
    assert!(
        Definition::parse(intrinsic, &resources())
            .unwrap_err()
            .to_string()
            .contains("state \"A\": field \"Parameters\"")
    );
}

#[test]
fn definition_and_execute_future_are_send() {
    fn send_sync<T: Send + Sync + Clone>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let d = def(r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#);
    send_sync(&d);
    let host = TestHost::echo();
    send(pictor_workflow::execute(&d, json!({}), context(), &host));
}
