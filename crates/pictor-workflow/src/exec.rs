//! The interpreter: walks states, applies data flow, retries and catches,
//! and runs Parallel branches and Map iterations concurrently.
//!
//! Why futures instead of spawned tasks: the host is borrowed (`&H`), so
//! branches are joined within one task (`try_join_all`, `buffer_unordered`),
//! and dropping the joined future cancels the rest when one fails. Nothing
//! needs to be `'static`.

use crate::dataflow::{self, INTRINSIC_FAILURE, RUNTIME};
use crate::definition::{
    Batcher, Definition, Kind, Machine, MapSpec, Percentage, Seconds, State, Task, TaskResource, Text, WaitFor,
};
use crate::path::Sources;
use crate::{ExecutionContext, HistoryEvent, Host, Outcome, Status, TaskCall, TaskError, choice, retry};
use futures::future::{BoxFuture, try_join_all};
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Runs a definition to completion.
pub async fn execute<H: Host>(definition: &Definition, input: Value, context: ExecutionContext, host: &H) -> Outcome {
    let resources = &definition.resources;
    let run = Run { host, ctx: &context, resources, input: input.clone(), events: AtomicU64::new(0) };
    let started =
        json!({"input": input.to_string(), "inputDetails": {"truncated": false}, "roleArn": context.role_arn});
    run.record("ExecutionStarted".into(), "ExecutionStarted", None, started).await;
    let body = run.machine(&definition.machine, input, Scope::root());
    let result = match definition.timeout_seconds {
        Some(secs) => tokio::time::timeout(Duration::from_secs(secs), body).await.ok(),
        None => Some(body.await),
    };
    match result {
        None => {
            let details = json!({"error": "States.Timeout"});
            run.record("ExecutionTimedOut".into(), "ExecutionTimedOut", None, details).await;
            Outcome { status: Status::TimedOut, output: None, error: Some("States.Timeout".into()), cause: None }
        }
        Some(Ok(output)) => {
            let details = json!({"output": output.to_string(), "outputDetails": {"truncated": false}});
            run.record("ExecutionSucceeded".into(), "ExecutionSucceeded", None, details).await;
            Outcome { status: Status::Succeeded, output: Some(output), error: None, cause: None }
        }
        Some(Err(e)) => {
            let mut details = Map::new();
            if !e.error.is_empty() {
                details.insert("error".into(), json!(e.error));
            }
            if !e.cause.is_empty() {
                details.insert("cause".into(), json!(e.cause));
            }
            run.record("ExecutionFailed".into(), "ExecutionFailed", None, Value::Object(details)).await;
            let some = |s: String| (!s.is_empty()).then_some(s);
            Outcome { status: Status::Failed, output: None, error: some(e.error), cause: some(e.cause) }
        }
    }
}

/// One execution in progress.
struct Run<'a, H> {
    host: &'a H,
    ctx: &'a ExecutionContext,
    /// For FunctionName.$ resolved at run time.
    resources: &'a crate::Resources,
    /// `$$.Execution.Input`.
    input: Value,
    /// History event ids, for AWS's "entered at the event id #N" causes.
    events: AtomicU64,
}

/// Variables: read-only ones from enclosing scopes, and this scope's own.
#[derive(Clone, Default)]
struct Vars {
    outer: Arc<BTreeMap<String, Value>>,
    local: BTreeMap<String, Value>,
}

impl Vars {
    fn get(&self, name: &str) -> Option<Value> {
        self.local.get(name).or_else(|| self.outer.get(name)).cloned()
    }

    /// What a nested scope (branch, iteration) sees: everything, read-only.
    fn nested(&self) -> Vars {
        let mut all = (*self.outer).clone();
        all.extend(self.local.clone());
        Vars { outer: Arc::new(all), local: BTreeMap::new() }
    }
}

/// Where a machine runs: its key prefix, variables and Map item.
#[derive(Clone, Default)]
struct Scope {
    prefix: String,
    vars: Vars,
    map_item: Option<(usize, Value)>,
}

impl Scope {
    fn root() -> Scope {
        Scope::default()
    }

    fn key(&self, part: &str) -> String {
        if self.prefix.is_empty() { part.to_string() } else { format!("{}/{part}", self.prefix) }
    }
}

/// Per-state facts needed while evaluating it.
struct Cx<'s> {
    st: &'s State,
    key: &'s str,
    entered_id: u64,
    entered_time: String,
}

impl Cx<'_> {
    /// AWS prefixes data-flow errors with the state and its entry event.
    fn wrap(&self, mut e: TaskError) -> TaskError {
        if e.error == RUNTIME || e.error == INTRINSIC_FAILURE {
            e.cause = format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
                self.st.name, self.entered_id, e.cause
            );
        }
        e
    }
}

/// Escapes characters that structure keys.
fn escape(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F").replace('#', "%23")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn runtime(cause: String) -> TaskError {
    TaskError { error: RUNTIME.into(), cause }
}

/// What a state's body produced: its output and the variables it assigns.
struct Produced {
    output: Value,
    assigns: Option<Map<String, Value>>,
}

impl<H: Host> Run<'_, H> {
    async fn record(&self, key: String, kind: &str, state: Option<&str>, details: Value) -> u64 {
        let id = self.events.fetch_add(1, Ordering::SeqCst) + 1;
        let event = HistoryEvent { key, kind: kind.into(), state: state.map(str::to_string), details };
        self.host.record(event).await;
        id
    }

    /// The context object `$$` for a state.
    /// `retry_count` is absent for states that cannot retry (AWS omits
    /// `State.RetryCount` for Pass, Choice, Wait, Succeed and Fail).
    fn context(&self, cx: &Cx, scope: &Scope, retry_count: Option<u32>, token: Option<&str>) -> Value {
        let c = self.ctx;
        let mut v = json!({
            "Execution": {
                "Id": c.id, "Input": self.input, "Name": c.name, "RoleArn": c.role_arn,
                "StartTime": c.start_time, "RedriveCount": 0
            },
            "State": {"Name": cx.st.name, "EnteredTime": cx.entered_time},
            "StateMachine": {"Id": c.state_machine_id, "Name": c.state_machine_name},
        });
        if let Some(n) = retry_count {
            v["State"]["RetryCount"] = json!(n);
        }
        if let Some(t) = token {
            v["Task"] = json!({ "Token": t });
        }
        if let Some((index, value)) = &scope.map_item {
            v["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        v
    }

    /// Runs a machine from StartAt until a terminal state.
    fn machine<'s>(&'s self, m: &'s Machine, input: Value, scope: Scope) -> BoxFuture<'s, Result<Value, TaskError>> {
        async move {
            let mut scope = scope;
            let mut visits: HashMap<&str, u32> = HashMap::new();
            let mut name = m.start_at.as_str();
            let mut input = input;
            loop {
                let st = &m.states[name];
                let n = visits.entry(name).or_insert(0);
                *n += 1;
                let key = scope.key(&format!("{}#{n}", escape(name)));
                let (next, output) = self.state(st, input, &key, &mut scope).await?;
                match next {
                    Some(next) => {
                        name = m.states.get_key_value(next.as_str()).map(|(k, _)| k.as_str()).unwrap_or(name);
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        }
        .boxed()
    }

    /// Runs one state visit, recording entry and exit.
    async fn state(
        &self,
        st: &State,
        raw: Value,
        key: &str,
        scope: &mut Scope,
    ) -> Result<(Option<String>, Value), TaskError> {
        let prefix = st.kind.event_prefix();
        let entered = json!({"name": st.name, "input": raw.to_string(), "inputDetails": {"truncated": false}});
        let kind = format!("{prefix}StateEntered");
        let entered_id = self.record(format!("{key}/{kind}"), &kind, Some(&st.name), entered).await;
        let cx = Cx { st, key, entered_id, entered_time: now() };
        let (next, output) = match &st.kind {
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => self.executing(&cx, &raw, scope).await?,
            _ => self.simple(&cx, &raw, scope).await.map_err(|e| cx.wrap(e))?,
        };
        let exited = json!({"name": st.name, "output": output.to_string(), "outputDetails": {"truncated": false}});
        let kind = format!("{prefix}StateExited");
        self.record(format!("{key}/{kind}"), &kind, Some(&st.name), exited).await;
        Ok((next, output))
    }

    /// Builds the Sources for a path evaluation.
    fn eval_with<T>(&self, input: &Value, ctx: &Value, scope: &Scope, f: impl FnOnce(&Sources) -> T) -> T {
        let vars = |n: &str| scope.vars.get(n);
        f(&Sources { input, context: ctx, vars: &vars })
    }

    /// Evaluates an Assign template with `$` bound to `input`.
    fn assigns(
        &self,
        t: Option<&dataflow::Template>,
        input: &Value,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<Option<Map<String, Value>>, TaskError> {
        let Some(t) = t else { return Ok(None) };
        match self.eval_with(input, ctx, scope, |s| t.eval(s))? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    /// Pass, Choice, Wait, Succeed, Fail: no retries, no catchers.
    async fn simple(&self, cx: &Cx<'_>, raw: &Value, scope: &mut Scope) -> Result<(Option<String>, Value), TaskError> {
        let st = cx.st;
        let ctx = self.context(cx, scope, None, None);
        if let Kind::Fail { error, cause } = &st.kind {
            let error = self.fail_text(error.as_ref(), raw, &ctx, scope)?;
            let cause = self.fail_text(cause.as_ref(), raw, &ctx, scope)?;
            let kind = "FailStateFailed";
            let mut details = Map::new();
            details.insert("error".into(), json!(error));
            details.insert("cause".into(), json!(cause));
            self.record(format!("{}/{kind}", cx.key), kind, Some(&st.name), Value::Object(details)).await;
            return Err(TaskError { error, cause });
        }
        let effective = self.eval_with(raw, &ctx, scope, |s| dataflow::filter(st.input_path.as_ref(), s))?;
        let (next, result, assigns) = match &st.kind {
            Kind::Pass { result } => {
                let result = match (result, &st.parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => self.eval_with(&effective, &ctx, scope, |s| p.eval(s))?,
                    (None, None) => effective.clone(),
                };
                let assigns = self.assigns(st.assign.as_ref(), &result, &ctx, scope)?;
                let combined = dataflow::result_path(st.result_path.as_ref(), raw, result)?;
                (st.next.clone(), combined, assigns)
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for c in choices {
                    if self.eval_with(&effective, &ctx, scope, |s| c.rule.eval(s))? {
                        chosen = Some((c.next.clone(), c.assign.as_ref()));
                        break;
                    }
                }
                let (next, assign) = match (chosen, default) {
                    (Some(c), _) => c,
                    (None, Some(d)) => (d.clone(), st.assign.as_ref()),
                    (None, None) => {
                        return Err(TaskError {
                            error: "States.NoChoiceMatched".into(),
                            cause: format!("No Matches! No choice rule of the state '{}' matched the input", st.name),
                        });
                    }
                };
                let assigns = self.assigns(assign, &effective, &ctx, scope)?;
                (Some(next), effective, assigns)
            }
            Kind::Wait(wait) => {
                let duration = self.wait_duration(wait, &effective, &ctx, scope)?;
                self.host.sleep(&format!("{}/wait", cx.key), duration).await;
                let assigns = self.assigns(st.assign.as_ref(), &effective, &ctx, scope)?;
                (st.next.clone(), effective, assigns)
            }
            _ => (None, effective, None), // Succeed
        };
        let output = self.eval_with(&result, &ctx, scope, |s| dataflow::filter(st.output_path.as_ref(), s))?;
        commit(scope, assigns);
        Ok((next, output))
    }

    /// Error/Cause of a Fail state: literal, path, or intrinsic; "" when absent.
    fn fail_text(&self, t: Option<&Text>, raw: &Value, ctx: &Value, scope: &Scope) -> Result<String, TaskError> {
        let value = match t {
            None => return Ok(String::new()),
            Some(Text::Literal(s)) => return Ok(s.clone()),
            Some(Text::Path(p, field)) => self.eval_with(raw, ctx, scope, |s| p.select(s)).ok_or_else(|| {
                runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{raw}'",
                    p.text()
                ))
            })?,
            Some(Text::Call(c)) => self
                .eval_with(raw, ctx, scope, |s| c.eval(s))
                .map_err(|cause| TaskError { error: INTRINSIC_FAILURE.into(), cause })?,
        };
        Ok(match value {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// How long a Wait state waits, with AWS's error causes.
    fn wait_duration(&self, wait: &WaitFor, input: &Value, ctx: &Value, scope: &Scope) -> Result<Duration, TaskError> {
        let d = self.wait_for(wait, input, ctx, scope)?;
        // AWS: a delay past 2^31 - 1 seconds (about 24855 days) is refused.
        if d.as_secs() > i32::MAX as u64 {
            return Err(runtime("Wait state delay is too long.".into()));
        }
        Ok(d)
    }

    fn wait_for(&self, wait: &WaitFor, input: &Value, ctx: &Value, scope: &Scope) -> Result<Duration, TaskError> {
        let until = |ts: chrono::DateTime<chrono::FixedOffset>| {
            (ts.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO)
        };
        match wait {
            WaitFor::Seconds(n) => Ok(Duration::from_secs(*n)),
            WaitFor::Timestamp(s) => Ok(choice::timestamp(s).map(until).unwrap_or(Duration::ZERO)),
            WaitFor::SecondsPath(p) => {
                let v = self.eval_with(input, ctx, scope, |s| p.select(s)).ok_or_else(|| {
                    runtime(format!("The SecondsPath parameter does not reference an input value: {}", p.text()))
                })?;
                if let Some(n) = v.as_u64() {
                    return Ok(Duration::from_secs(n));
                }
                if v.as_i64().is_some_and(|n| n < 0) {
                    return Err(runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {v}",
                        p.text()
                    )));
                }
                Err(runtime(format!("The SecondsPath parameter cannot be parsed as a long value: {} == {v}", p.text())))
            }
            WaitFor::TimestampPath(p) => {
                let v = self.eval_with(input, ctx, scope, |s| p.select(s));
                match v.as_ref().and_then(Value::as_str).and_then(choice::timestamp) {
                    Some(ts) => Ok(until(ts)),
                    None => Err(runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        p.text(),
                        v.map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string())).unwrap_or_default()
                    ))),
                }
            }
        }
    }

    /// Task, Parallel, Map: InputPath, then attempts with Retry, then Catch.
    async fn executing(
        &self,
        cx: &Cx<'_>,
        raw: &Value,
        scope: &mut Scope,
    ) -> Result<(Option<String>, Value), TaskError> {
        let st = cx.st;
        let ctx = self.context(cx, scope, Some(0), None);
        let effective = self
            .eval_with(raw, &ctx, scope, |s| dataflow::filter(st.input_path.as_ref(), s))
            .map_err(|e| cx.wrap(e))?;
        let mut retries = vec![0u32; st.retry.len()];
        let mut attempt = 1u32;
        loop {
            let err = match self.attempt(cx, raw, &effective, attempt, scope).await {
                Ok(p) => {
                    commit(scope, p.assigns);
                    return Ok((st.next.clone(), p.output));
                }
                Err(e) => e,
            };
            // The first retrier whose ErrorEquals matches decides.
            if let Some(i) = st.retry.iter().position(|r| retry::matches(&r.errors, &err.error)) {
                let r = &st.retry[i];
                if retries[i] < r.max_attempts {
                    let delay = retry::delay(r, retries[i]);
                    retries[i] += 1;
                    self.host.sleep(&format!("{}/a{attempt}/backoff", cx.key), delay).await;
                    attempt += 1;
                    continue;
                }
            }
            let Some(c) = st.catch.iter().find(|c| retry::matches(&c.errors, &err.error)) else {
                return Err(err);
            };
            let error_output = json!({"Error": err.error, "Cause": err.cause});
            let caught = (|| {
                let assigns = self.assigns(c.assign.as_ref(), &error_output, &ctx, scope)?;
                let output = dataflow::result_path(c.result_path.as_ref(), raw, error_output.clone())?;
                Ok((assigns, output))
            })();
            let (assigns, output) = caught.map_err(|e| cx.wrap(e))?;
            commit(scope, assigns);
            return Ok((Some(c.next.clone()), output));
        }
    }

    /// One attempt of an executing state, through ResultSelector/ResultPath/OutputPath.
    async fn attempt(
        &self,
        cx: &Cx<'_>,
        raw: &Value,
        effective: &Value,
        attempt: u32,
        scope: &Scope,
    ) -> Result<Produced, TaskError> {
        let st = cx.st;
        let task_key = format!("{}/a{attempt}", cx.key);
        let token = matches!(st.kind, Kind::Task(_)).then(|| task_token(&self.ctx.id, &task_key));
        let ctx = self.context(cx, scope, Some(attempt - 1), token.as_deref());
        let params = match &st.parameters {
            Some(p) if !matches!(st.kind, Kind::Map(_)) => {
                self.eval_with(effective, &ctx, scope, |s| p.eval(s)).map_err(|e| cx.wrap(e))?
            }
            _ => effective.clone(),
        };
        // Parallel/Map scopes carry the attempt only when retried, keeping keys short.
        let sub = if attempt > 1 { task_key.clone() } else { cx.key.to_string() };
        let result = match &st.kind {
            Kind::Task(task) => self.task(cx, task, &task_key, attempt, params, effective, &ctx).await?,
            Kind::Parallel { branches } => self.parallel(cx, branches, params, &sub, scope).await?,
            Kind::Map(spec) => self.map(cx, spec, effective, &ctx, &sub, scope).await?,
            _ => unreachable!("only executing states have attempts"),
        };
        let finish = || {
            let assigns = self.assigns(st.assign.as_ref(), &result, &ctx, scope)?;
            let selected = match &st.result_selector {
                Some(t) => self.eval_with(&result, &ctx, scope, |s| t.eval(s))?,
                None => result.clone(),
            };
            let combined = dataflow::result_path(st.result_path.as_ref(), raw, selected)?;
            let output = self.eval_with(&combined, &ctx, scope, |s| dataflow::filter(st.output_path.as_ref(), s))?;
            Ok(Produced { output, assigns })
        };
        finish().map_err(|e| cx.wrap(e))
    }

    /// Invokes a task through the host, with its timeout.
    #[allow(clippy::too_many_arguments)]
    async fn task(
        &self,
        cx: &Cx<'_>,
        task: &Task,
        task_key: &str,
        attempt: u32,
        params: Value,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Value, TaskError> {
        let st = cx.st;
        let (resource, input, lambda) = match &task.resource {
            TaskResource::Builtin(b) => (b.clone(), params.clone(), false),
            TaskResource::LambdaInvoke { function } => {
                let name = match function {
                    Some(f) => f.clone(),
                    None => {
                        let given = params.get("FunctionName").and_then(Value::as_str).unwrap_or_default();
                        self.resolve_dynamic(given).ok_or_else(|| TaskError {
                            error: "Lambda.ResourceNotFoundException".into(),
                            cause: format!("Function not found: {given}"),
                        })?
                    }
                };
                let payload = params.get("Payload").cloned().unwrap_or_else(|| effective.clone());
                (name, payload, true)
            }
        };
        let timeout = match &task.timeout {
            None => None,
            Some(Seconds::Literal(n)) => Some(*n),
            Some(Seconds::Path(p)) => {
                let v = self.eval_with(effective, ctx, &Scope::default(), |s| dataflow::select_or_invalid(p, s));
                let v = v.map_err(|e| cx.wrap(e))?;
                Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    cx.wrap(runtime(format!(
                        "The TimeoutSecondsPath parameter must reference a positive integer: {} == {v}",
                        p.text()
                    )))
                })?)
            }
        };
        let (resource_type, resource_name) = if lambda { ("lambda", "invoke") } else { ("pictor", resource.as_str()) };
        let scheduled = json!({
            "resource": resource_name, "resourceType": resource_type,
            "parameters": (if lambda { params.clone() } else { input.clone() }).to_string(),
            "timeoutInSeconds": timeout,
        });
        self.record(format!("{task_key}/TaskScheduled"), "TaskScheduled", Some(&st.name), scheduled).await;
        let base = json!({"resource": resource_name, "resourceType": resource_type});
        self.record(format!("{task_key}/TaskStarted"), "TaskStarted", Some(&st.name), base.clone()).await;
        let call = TaskCall { key: task_key.to_string(), resource, state: st.name.clone(), input, attempt };
        let outcome = match timeout {
            Some(secs) => tokio::time::timeout(Duration::from_secs(secs), self.host.run_task(call))
                .await
                .unwrap_or_else(|_| Err(TaskError { error: "States.Timeout".into(), cause: String::new() })),
            None => self.host.run_task(call).await,
        };
        let with = |extra: Value| {
            let mut d = base.clone();
            if let Some(o) = d.as_object_mut() {
                o.extend(extra.as_object().cloned().unwrap_or_default());
            }
            d
        };
        match outcome {
            Ok(v) => {
                let v = if lambda { lambda_response(v, &self.ctx.id, task_key) } else { v };
                let details = with(json!({"output": v.to_string(), "outputDetails": {"truncated": false}}));
                self.record(format!("{task_key}/TaskSucceeded"), "TaskSucceeded", Some(&st.name), details).await;
                Ok(v)
            }
            Err(e) => {
                let kind = if e.error == "States.Timeout" { "TaskTimedOut" } else { "TaskFailed" };
                let details = with(json!({"error": e.error, "cause": e.cause}));
                self.record(format!("{task_key}/{kind}"), kind, Some(&st.name), details).await;
                Err(e)
            }
        }
    }

    /// Resolves a run-time FunctionName; ARNs with a version/alias suffix are tried without it.
    fn resolve_dynamic(&self, name: &str) -> Option<String> {
        if let Some(b) = self.resources.resolve(name) {
            return Some(b.to_string());
        }
        // `arn:…:function:name:alias` → `arn:…:function:name`.
        let (base, _) = name.rsplit_once(':')?;
        self.resources.resolve(base).map(str::to_string)
    }

    /// Runs every branch on the same input; output in branch order.
    async fn parallel(
        &self,
        cx: &Cx<'_>,
        branches: &[Arc<Machine>],
        input: Value,
        sub: &str,
        scope: &Scope,
    ) -> Result<Value, TaskError> {
        let name = Some(cx.st.name.as_str());
        self.record(format!("{sub}/ParallelStateStarted"), "ParallelStateStarted", name, Value::Null).await;
        let vars = scope.vars.nested();
        let runs = branches.iter().enumerate().map(|(i, b)| {
            let branch_scope =
                Scope { prefix: format!("{sub}/b{i}"), vars: vars.clone(), map_item: scope.map_item.clone() };
            self.machine(b, input.clone(), branch_scope)
        });
        match try_join_all(runs).await {
            Ok(outputs) => {
                self.record(format!("{sub}/ParallelStateSucceeded"), "ParallelStateSucceeded", name, Value::Null).await;
                Ok(Value::Array(outputs))
            }
            Err(e) => {
                self.record(format!("{sub}/ParallelStateFailed"), "ParallelStateFailed", name, Value::Null).await;
                Err(e)
            }
        }
    }

    /// Runs the item processor over each item (or batch), at most MaxConcurrency at once.
    async fn map(
        &self,
        cx: &Cx<'_>,
        spec: &MapSpec,
        effective: &Value,
        ctx: &Value,
        sub: &str,
        scope: &Scope,
    ) -> Result<Value, TaskError> {
        let st = cx.st;
        let items = match &spec.items_path {
            Some(p) => {
                self.eval_with(effective, ctx, scope, |s| dataflow::select_or_invalid(p, s)).map_err(|e| cx.wrap(e))?
            }
            None => effective.clone(),
        };
        let Value::Array(items) = items else {
            return Err(cx.wrap(runtime(format!("Map state input must be an array but was: {items}"))));
        };
        // AWS shows a string value bare in these causes, anything else as JSON.
        let shown = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        let value_at = |p: &crate::path::Path| {
            self.eval_with(effective, ctx, scope, |s| dataflow::select_or_invalid(p, s)).map_err(|e| cx.wrap(e))
        };
        let int_at = |p: &crate::path::Path, field: &str| -> Result<i64, TaskError> {
            let v = value_at(p)?;
            // A numeric string counts (AWS parses the text).
            let n = v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            n.ok_or_else(|| {
                cx.wrap(runtime(format!(
                    "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                    shown(&v),
                    p.text()
                )))
            })
        };
        let limit = match &spec.max_concurrency_path {
            Some(p) => int_at(p, "MaxConcurrencyPath")?.max(0) as u64,
            None => spec.max_concurrency.unwrap_or(0),
        };
        let count = match &spec.tolerated_count {
            None => None,
            Some(Seconds::Literal(n)) => Some(*n as i64),
            Some(Seconds::Path(p)) => Some(int_at(p, "ToleratedFailureCountPath")?),
        };
        if count.is_some_and(|c| c < 0) {
            return Err(cx.wrap(runtime("ToleratedFailureCount cannot be negative.".into())));
        }
        let pct = match &spec.tolerated_percentage {
            None => None,
            Some(Percentage::Literal(n)) => Some(*n),
            Some(Percentage::Path(p)) => {
                let v = value_at(p)?;
                let n = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
                Some(n.filter(|n| n.is_finite()).ok_or_else(|| {
                    cx.wrap(runtime(format!(
                        "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                        shown(&v),
                        p.text()
                    )))
                })?)
            }
        };
        if pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(cx.wrap(runtime("ToleratedFailurePercentage must be between 0 and 100.".into())));
        }
        // Per-item input: ItemSelector (or legacy Parameters) sees the state input and $$.Map.Item.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_scope = Scope { map_item: Some((i, item.clone())), ..scope.clone() };
            let item_ctx = self.context(cx, &item_scope, Some(0), None);
            let input = match &spec.item_selector {
                Some(t) => self.eval_with(effective, &item_ctx, scope, |s| t.eval(s)).map_err(|e| cx.wrap(e))?,
                None => item.clone(),
            };
            inputs.push((i, item.clone(), input));
        }
        if let Some(b) = &spec.batcher {
            inputs = self.batch(cx, b, inputs, effective, ctx, scope)?;
        }
        let total = inputs.len();
        let name = Some(st.name.as_str());
        self.record(format!("{sub}/MapStateStarted"), "MapStateStarted", name, json!({"length": total})).await;
        let vars = scope.vars.nested();
        let runs = futures::stream::iter(inputs).map(|(i, item, input)| {
            let item_scope = Scope { prefix: format!("{sub}/i{i}"), vars: vars.clone(), map_item: Some((i, item)) };
            let details = json!({"name": st.name, "index": i});
            async move {
                let k = format!("{sub}/i{i}");
                self.record(format!("{k}/MapIterationStarted"), "MapIterationStarted", name, details.clone()).await;
                let r = self.machine(&spec.processor, input, item_scope).await;
                let kind = if r.is_ok() { "MapIterationSucceeded" } else { "MapIterationFailed" };
                self.record(format!("{k}/{kind}"), kind, name, details).await;
                (i, r)
            }
        });
        let mut runs = runs.buffer_unordered(if limit == 0 { total.max(1) } else { limit as usize });
        let tolerant = pct.is_some() || count.is_some();
        let mut outputs = vec![Value::Null; total];
        let mut failed = 0u64;
        while let Some((i, r)) = runs.next().await {
            match r {
                Ok(v) => outputs[i] = v,
                Err(e) if !tolerant => {
                    drop(runs);
                    self.record(format!("{sub}/MapStateFailed"), "MapStateFailed", name, Value::Null).await;
                    return Err(e);
                }
                Err(e) => {
                    failed += 1;
                    outputs[i] = json!({"Error": e.error, "Cause": e.cause});
                    let over_count = count.is_some_and(|c| failed as i64 > c);
                    let over_pct = pct.is_some_and(|p| failed as f64 * 100.0 > p * total as f64);
                    if over_count || over_pct {
                        drop(runs);
                        self.record(format!("{sub}/MapStateFailed"), "MapStateFailed", name, Value::Null).await;
                        return Err(TaskError {
                            error: "States.ExceedToleratedFailureThreshold".into(),
                            cause: "The specified tolerated failure threshold was exceeded".into(),
                        });
                    }
                }
            }
        }
        self.record(format!("{sub}/MapStateSucceeded"), "MapStateSucceeded", name, Value::Null).await;
        Ok(Value::Array(outputs))
    }

    /// Groups item inputs into `{"Items": [...], "BatchInput": ...}` batches.
    fn batch(
        &self,
        cx: &Cx<'_>,
        b: &Batcher,
        inputs: Vec<(usize, Value, Value)>,
        effective: &Value,
        ctx: &Value,
        scope: &Scope,
    ) -> Result<Vec<(usize, Value, Value)>, TaskError> {
        let num = |s: &Option<Seconds>| -> Result<Option<u64>, TaskError> {
            match s {
                None => Ok(None),
                Some(Seconds::Literal(n)) => Ok(Some(*n)),
                Some(Seconds::Path(p)) => {
                    let v = self.eval_with(effective, ctx, scope, |s| dataflow::select_or_invalid(p, s));
                    let v = v.map_err(|e| cx.wrap(e))?;
                    v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                        cx.wrap(runtime(format!(
                            "The ItemBatcher field {} must reference a positive integer",
                            p.text()
                        )))
                    })
                }
            }
        };
        let max_items = num(&b.max_items)?.unwrap_or(u64::MAX) as usize;
        let max_bytes = num(&b.max_bytes)?.unwrap_or(u64::MAX) as usize;
        let batch_input = match &b.batch_input {
            Some(t) => Some(self.eval_with(effective, ctx, scope, |s| t.eval(s)).map_err(|e| cx.wrap(e))?),
            None => None,
        };
        let mut batches: Vec<Vec<Value>> = Vec::new();
        let mut bytes = 0usize;
        for (_, _, input) in inputs {
            let size = input.to_string().len();
            let full =
                batches.last().is_none_or(|l| l.len() >= max_items || (bytes + size > max_bytes && !l.is_empty()));
            if full {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += size;
            if let Some(l) = batches.last_mut() {
                l.push(input);
            }
        }
        Ok(batches
            .into_iter()
            .enumerate()
            .map(|(i, items)| {
                let mut obj = json!({ "Items": items });
                if let Some(bi) = &batch_input {
                    obj["BatchInput"] = bi.clone();
                }
                (i, obj.clone(), obj)
            })
            .collect())
    }
}

/// Applies assignments after the state's output is computed (AWS: new values
/// are visible from the next state on).
fn commit(scope: &mut Scope, assigns: Option<Map<String, Value>>) {
    if let Some(m) = assigns {
        scope.vars.local.extend(m);
    }
}

/// A stable task token derived from the execution and the task key.
fn task_token(execution: &str, key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{execution}\n{key}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// AWS's lambda:invoke result shape around the function's payload.
fn lambda_response(payload: Value, execution: &str, key: &str) -> Value {
    let t = task_token(execution, key);
    let request_id = format!("{}-{}-{}-{}-{}", &t[0..8], &t[8..12], &t[12..16], &t[16..20], &t[20..32]);
    let length = payload.to_string().len().to_string();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Content-Length": length,
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}
