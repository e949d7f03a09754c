//! Parsing and load-time validation of state machine definitions.
//!
//! Why hand-rolled instead of `#[derive(Deserialize)]`: AWS rejects a bad
//! definition with messages that name the state and the field, and reports
//! every problem at once. Walking the JSON ourselves lets each check push a
//! message like `state "Resize": unknown field "Foo" for a Task state` and
//! carry on, so `validate` can list them all.

use crate::choice::{self, Rule};
use crate::dataflow::{self, Filter, ResultPath, Template};
use crate::intrinsics::{self, Call};
use crate::path::{Path, Root};
use crate::{DefinitionErrors, Resources};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The optimised Lambda integration resource.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// A parsed and validated state machine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) machine: Arc<Machine>,
    pub(crate) timeout_seconds: Option<u64>,
    /// Kept for `FunctionName.$` resolved at run time.
    pub(crate) resources: Arc<Resources>,
}

/// A set of states with a start: the top level, a Parallel branch, or a Map processor.
#[derive(Debug)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub name: String,
    pub input_path: Option<Filter>,
    pub output_path: Option<Filter>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: Option<ResultPath>,
    pub assign: Option<Template>,
    pub next: Option<String>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Task(Task),
    Pass { result: Option<Value> },
    Choice { choices: Vec<ChoiceBranch>, default: Option<String> },
    Wait(WaitFor),
    Succeed,
    Fail { error: Option<Text>, cause: Option<Text> },
    Parallel { branches: Vec<Arc<Machine>> },
    Map(Box<MapSpec>),
}

impl Kind {
    /// The prefix of AWS history event types for this state, e.g. "Task".
    pub fn event_prefix(&self) -> &'static str {
        match self {
            Kind::Task(_) => "Task",
            Kind::Pass { .. } => "Pass",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// A Fail state's Error/Cause: literal, path, or intrinsic call.
#[derive(Debug)]
pub(crate) enum Text {
    Literal(String),
    Path(Path, &'static str),
    Call(Call),
}

#[derive(Debug)]
pub(crate) struct Task {
    pub resource: TaskResource,
    pub timeout: Option<Seconds>,
    /// Parsed for validation; heartbeats are the host's business.
    #[allow(dead_code)]
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug)]
pub(crate) enum TaskResource {
    /// A built-in, already resolved.
    Builtin(String),
    /// `arn:aws:states:::lambda:invoke`; a static FunctionName is resolved at load.
    LambdaInvoke { function: Option<String> },
}

/// A number of seconds, literal or read from a path.
#[derive(Debug)]
pub(crate) enum Seconds {
    Literal(u64),
    Path(Path),
}

#[derive(Debug)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(String),
    TimestampPath(Path),
}

#[derive(Debug)]
pub(crate) struct ChoiceBranch {
    pub rule: Rule,
    pub next: String,
    pub assign: Option<Template>,
}

#[derive(Debug)]
pub(crate) struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter_full: bool,
}

#[derive(Debug)]
pub(crate) struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    pub result_path: Option<ResultPath>,
    pub assign: Option<Template>,
}

#[derive(Debug)]
pub(crate) struct MapSpec {
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub processor: Arc<Machine>,
    pub max_concurrency: Option<u64>,
    pub max_concurrency_path: Option<Path>,
    pub batcher: Option<Batcher>,
    pub tolerated_percentage: Option<Percentage>,
    pub tolerated_count: Option<Seconds>,
}

/// ToleratedFailurePercentage: a literal (may be fractional) or a path.
#[derive(Debug)]
pub(crate) enum Percentage {
    Literal(f64),
    Path(Path),
}

#[derive(Debug)]
pub(crate) struct Batcher {
    pub max_items: Option<Seconds>,
    pub max_bytes: Option<Seconds>,
    pub batch_input: Option<Template>,
}

/// Fields every state may have, and the extra ones per type.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const IO: &[&str] = &["InputPath", "OutputPath"];
const FLOW: &[&str] = &["Next", "End", "Assign"];
const RESULT: &[&str] = &["Parameters", "ResultPath", "ResultSelector", "Retry", "Catch"];

fn allowed_fields(ty: &str) -> Option<Vec<&'static str>> {
    let extra: Vec<&[&str]> = match ty {
        "Task" => vec![
            IO,
            FLOW,
            RESULT,
            &["Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath"],
        ],
        "Pass" => vec![IO, FLOW, &["Parameters", "ResultPath", "Result"]],
        "Choice" => vec![IO, &["Choices", "Default", "Assign"]],
        "Wait" => vec![IO, FLOW, &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]],
        "Succeed" => vec![IO],
        "Fail" => vec![&["Error", "Cause", "ErrorPath", "CausePath"]],
        "Parallel" => vec![IO, FLOW, RESULT, &["Branches"]],
        "Map" => vec![
            IO,
            FLOW,
            RESULT,
            &[
                "ItemsPath",
                "ItemSelector",
                "ItemProcessor",
                "Iterator",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ItemBatcher",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                "ItemReader",
                "ResultWriter",
                "Label",
            ],
        ],
        _ => return None,
    };
    Some(COMMON.iter().copied().chain(extra.into_iter().flatten().copied()).collect())
}

impl Definition {
    /// Parses a definition in JSON or YAML and validates it.
    pub fn parse(text: &str, resources: &Resources) -> Result<Definition, DefinitionErrors> {
        let doc = parse_document(text).map_err(|e| DefinitionErrors(vec![e]))?;
        let mut errs = Vec::new();
        let def = Loader { resources, errs: &mut errs }.top(&doc);
        match def {
            Some(def) if errs.is_empty() => Ok(def),
            _ => Err(DefinitionErrors(errs)),
        }
    }
}

/// JSON first (the common case, exact numbers), then YAML.
fn parse_document(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => match serde_yaml::from_str::<Value>(text) {
            Ok(v) => Ok(v),
            Err(yaml_err) => Err(format!("definition is neither valid JSON ({json_err}) nor valid YAML ({yaml_err})")),
        },
    }
}

/// Walks the document, collecting errors.
struct Loader<'a> {
    resources: &'a Resources,
    errs: &'a mut Vec<String>,
}

/// Names a state in messages.
fn at(state: &str) -> String {
    format!("state {state:?}")
}

impl Loader<'_> {
    fn top(&mut self, doc: &Value) -> Option<Definition> {
        let Some(obj) = doc.as_object() else {
            self.errs.push("the definition must be a JSON object".into());
            return None;
        };
        let known = ["StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"];
        for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.errs.push(format!("top level: unknown field {k:?}"));
        }
        self.query_language(obj, "top level");
        if let Some(v) = obj.get("Version").filter(|v| !v.is_string()) {
            self.errs.push(format!("top level: field \"Version\" must be a string, got {v}"));
        }
        let timeout_seconds = match obj.get("TimeoutSeconds") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n),
                _ => {
                    self.errs.push(format!("top level: field \"TimeoutSeconds\" must be a positive integer, got {v}"));
                    None
                }
            },
        };
        let machine = self.machine(obj, "top level", &BTreeSet::new())?;
        Some(Definition { machine: Arc::new(machine), timeout_seconds, resources: Arc::new(self.resources.clone()) })
    }

    /// Only JSONPath is supported.
    fn query_language(&mut self, obj: &Map<String, Value>, whose: &str) {
        match obj.get("QueryLanguage") {
            None => {}
            Some(Value::String(s)) if s == "JSONPath" => {}
            Some(v) => self.errs.push(format!(
                "{whose}: field \"QueryLanguage\" is {v}, but only \"JSONPath\" is supported (JSONata is not)"
            )),
        }
    }

    /// StartAt + States, with cross-reference and reachability checks.
    /// `outer_vars` are variables assigned in enclosing scopes (read-only here).
    fn machine(&mut self, obj: &Map<String, Value>, whose: &str, outer_vars: &BTreeSet<String>) -> Option<Machine> {
        let start_at = match obj.get("StartAt").and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => {
                self.errs.push(format!("{whose}: missing required field \"StartAt\" (a string)"));
                String::new()
            }
        };
        let Some(states_obj) = obj.get("States").and_then(Value::as_object).filter(|o| !o.is_empty()) else {
            self.errs.push(format!("{whose}: missing required field \"States\" (a non-empty object)"));
            return None;
        };
        let nested = assigned_in(outer_vars, states_obj);
        let mut states = BTreeMap::new();
        for (name, v) in states_obj {
            if name.is_empty() || name.chars().count() > 80 {
                self.errs.push(format!("{}: state names must be 1 to 80 characters", at(name)));
            }
            if let Some(state) = self.state(name, v, outer_vars, &nested) {
                states.insert(name.clone(), state);
            }
        }
        if !start_at.is_empty() && !states_obj.contains_key(&start_at) {
            self.errs.push(format!("{whose}: field \"StartAt\" names {start_at:?}, which is not a state"));
        }
        self.check_transitions(&states, states_obj);
        self.check_reachable(&start_at, &states);
        Some(Machine { start_at, states })
    }

    /// Every Next/Default/Catch target must exist in the same scope.
    fn check_transitions(&mut self, states: &BTreeMap<String, State>, all: &Map<String, Value>) {
        for s in states.values() {
            for (field, target) in targets(s) {
                if !all.contains_key(target) {
                    self.errs.push(format!("{}: field {field:?} names {target:?}, which is not a state", at(&s.name)));
                }
            }
        }
    }

    fn check_reachable(&mut self, start: &str, states: &BTreeMap<String, State>) {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.to_string()];
        while let Some(name) = todo.pop() {
            let Some(s) = states.get(&name) else { continue };
            if seen.insert(name) {
                todo.extend(targets(s).into_iter().map(|(_, t)| t.to_string()));
            }
        }
        for name in states.keys().filter(|n| !seen.contains(*n)) {
            self.errs.push(format!("{}: the state is not reachable from \"StartAt\"", at(name)));
        }
    }

    fn state(
        &mut self,
        name: &str,
        v: &Value,
        outer_vars: &BTreeSet<String>,
        nested: &BTreeSet<String>,
    ) -> Option<State> {
        let Some(obj) = v.as_object() else {
            self.errs.push(format!("{}: a state must be a JSON object", at(name)));
            return None;
        };
        let Some(ty) = obj.get("Type").and_then(Value::as_str) else {
            self.errs.push(format!("{}: missing required field \"Type\"", at(name)));
            return None;
        };
        let Some(allowed) = allowed_fields(ty) else {
            self.errs.push(format!("{}: unknown state type {ty:?} in field \"Type\"", at(name)));
            return None;
        };
        for k in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.errs.push(format!("{}: unknown field {k:?} for a {ty} state", at(name)));
        }
        self.query_language(obj, &at(name));
        let mut st = State {
            name: name.to_string(),
            input_path: self.filter(name, obj, "InputPath"),
            output_path: self.filter(name, obj, "OutputPath"),
            parameters: self.template(name, obj, "Parameters"),
            result_selector: self.template(name, obj, "ResultSelector"),
            result_path: self.result_path(name, obj.get("ResultPath"), "ResultPath"),
            assign: self.assign(name, obj.get("Assign"), "Assign", outer_vars),
            next: None,
            retry: self.retriers(name, obj),
            catch: self.catchers(name, obj, outer_vars),
            kind: Kind::Succeed,
        };
        if matches!(ty, "Task" | "Pass" | "Wait" | "Parallel" | "Map") {
            st.next = self.next_or_end(name, obj);
        }
        // A state whose body failed to parse stays as a placeholder (the error
        // is recorded) so that its transitions are still checked.
        st.kind = match ty {
            "Task" => self.task(name, obj).map_or(Kind::Succeed, Kind::Task),
            "Pass" => Kind::Pass { result: obj.get("Result").cloned() },
            "Choice" => self.choice(name, obj, outer_vars),
            "Wait" => self.wait(name, obj).map_or(Kind::Succeed, Kind::Wait),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.fail_text(name, obj, "Error", "ErrorPath"),
                cause: self.fail_text(name, obj, "Cause", "CausePath"),
            },
            "Parallel" => self.parallel(name, obj, nested).unwrap_or(Kind::Succeed),
            _ => self.map(name, obj, nested).map_or(Kind::Succeed, |m| Kind::Map(Box::new(m))),
        };
        Some(st)
    }

    fn next_or_end(&mut self, name: &str, obj: &Map<String, Value>) -> Option<String> {
        let end = obj.get("End");
        match (obj.get("Next"), end) {
            (Some(Value::String(n)), None) => Some(n.clone()),
            (None, Some(Value::Bool(true))) => None,
            (Some(_), Some(_)) => {
                self.errs.push(format!("{}: fields \"Next\" and \"End\" cannot both be set", at(name)));
                None
            }
            (Some(v), None) => {
                self.errs.push(format!("{}: field \"Next\" must be a string, got {v}", at(name)));
                None
            }
            (None, Some(v)) => {
                self.errs.push(format!("{}: field \"End\" must be true, got {v}", at(name)));
                None
            }
            (None, None) => {
                self.errs.push(format!("{}: missing required field \"Next\" or \"End\"", at(name)));
                None
            }
        }
    }

    fn filter(&mut self, name: &str, obj: &Map<String, Value>, field: &str) -> Option<Filter> {
        match obj.get(field)? {
            Value::Null => Some(Filter::Null),
            Value::String(s) => match Path::parse(s) {
                Ok(p) => Some(Filter::Path(p)),
                Err(e) => self.fail(name, field, &e),
            },
            v => self.fail(name, field, &format!("must be a JSONPath string or null, got {v}")),
        }
    }

    /// Turns a parse result into an Option, recording the error.
    fn ok<T>(&mut self, r: Result<T, String>, name: &str, field: &str) -> Option<T> {
        r.or_else(|e| self.fail(name, field, &e).ok_or(())).ok()
    }

    /// Records an error about a field and yields nothing.
    fn fail<T>(&mut self, name: &str, field: &str, msg: &str) -> Option<T> {
        self.errs.push(format!("{}: field {field:?}: {msg}", at(name)));
        None
    }

    fn template(&mut self, name: &str, obj: &Map<String, Value>, field: &str) -> Option<Template> {
        let v = obj.get(field)?;
        if field == "ResultSelector" && !v.is_object() {
            return self.fail(name, field, "must be a JSON object");
        }
        self.ok(Template::parse(v), name, field)
    }

    fn result_path(&mut self, name: &str, v: Option<&Value>, field: &str) -> Option<ResultPath> {
        match v? {
            Value::Null => Some(ResultPath::Discard),
            Value::String(s) => match Path::parse_reference(s) {
                Ok(p) if *p.root() == Root::Input => Some(ResultPath::At(p)),
                Ok(_) => self.fail(name, field, "must start with \"$\" (not a context path or a variable)"),
                Err(e) => self.fail(name, field, &e),
            },
            v => self.fail(name, field, &format!("must be a reference path string or null, got {v}")),
        }
    }

    fn assign(&mut self, name: &str, v: Option<&Value>, field: &str, outer: &BTreeSet<String>) -> Option<Template> {
        let v = v?;
        if let Some(obj) = v.as_object() {
            for key in obj.keys().map(|k| k.strip_suffix(".$").unwrap_or(k)) {
                if outer.contains(key) {
                    self.errs.push(format!(
                        "{}: field {field:?}: variable {key:?} belongs to an outer scope and is read-only here",
                        at(name)
                    ));
                }
            }
        }
        self.ok(dataflow::parse_assign(v), name, field)
    }

    fn retriers(&mut self, name: &str, obj: &Map<String, Value>) -> Vec<Retrier> {
        let Some(list) = self.list(name, obj, "Retry") else { return vec![] };
        let last = list.len().saturating_sub(1);
        let mut out = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let field = format!("Retry[{i}]");
            let Some(o) = r.as_object() else {
                self.fail::<()>(name, &field, "must be an object");
                continue;
            };
            let known = [
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ];
            for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
                self.fail::<()>(name, &field, &format!("unknown field {k:?}"));
            }
            let errors = self.error_equals(name, &field, o, i == last);
            let num = |k: &str| o.get(k).map(|v| v.as_f64().ok_or(k.to_string()));
            let interval = self.positive(name, &field, "IntervalSeconds", num("IntervalSeconds"), 1.0, true);
            let max_attempts = match o.get("MaxAttempts") {
                None => 3,
                Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => n,
                    None => self.fail(name, &field, "MaxAttempts must be a non-negative integer").unwrap_or(3),
                },
            };
            let backoff_rate = self.positive(name, &field, "BackoffRate", num("BackoffRate"), 2.0, false);
            if backoff_rate < 1.0 {
                self.fail::<()>(name, &field, "BackoffRate must be at least 1.0");
            }
            let max_delay = o
                .get("MaxDelaySeconds")
                .map(|_| self.positive(name, &field, "MaxDelaySeconds", num("MaxDelaySeconds"), 1.0, true));
            let jitter_full = match o.get("JitterStrategy").map(|v| v.as_str()) {
                None | Some(Some("NONE")) => false,
                Some(Some("FULL")) => true,
                _ => self.fail(name, &field, "JitterStrategy must be \"FULL\" or \"NONE\"").unwrap_or(false),
            };
            out.push(Retrier {
                errors,
                interval_seconds: interval,
                max_attempts,
                backoff_rate,
                max_delay_seconds: max_delay,
                jitter_full,
            });
        }
        out
    }

    /// A positive number field with a default.
    fn positive(
        &mut self,
        name: &str,
        field: &str,
        key: &str,
        v: Option<Result<f64, String>>,
        default: f64,
        integer: bool,
    ) -> f64 {
        match v {
            None => default,
            Some(Ok(n)) if n > 0.0 && (!integer || n.fract() == 0.0) => n,
            _ => {
                let what = if integer { "a positive integer" } else { "a positive number" };
                self.fail(name, field, &format!("{key} must be {what}")).unwrap_or(default)
            }
        }
    }

    fn list<'v>(&mut self, name: &str, obj: &'v Map<String, Value>, field: &str) -> Option<&'v Vec<Value>> {
        match obj.get(field)? {
            Value::Array(a) => Some(a),
            _ => self.fail(name, field, "must be an array"),
        }
    }

    /// ErrorEquals: non-empty strings; States.ALL alone and in the last entry.
    fn error_equals(&mut self, name: &str, field: &str, o: &Map<String, Value>, is_last: bool) -> Vec<String> {
        let list: Vec<String> = match o.get("ErrorEquals").and_then(Value::as_array) {
            Some(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
                a.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }
            _ => {
                self.fail::<()>(name, field, "missing required field \"ErrorEquals\" (a non-empty array of strings)");
                return vec![];
            }
        };
        if list.iter().any(|e| e == "States.ALL") {
            if list.len() > 1 {
                self.fail::<()>(name, field, "\"States.ALL\" must appear alone in ErrorEquals");
            }
            if !is_last {
                self.fail::<()>(name, field, "\"States.ALL\" must be in the last retrier/catcher");
            }
        }
        list
    }

    fn catchers(&mut self, name: &str, obj: &Map<String, Value>, outer: &BTreeSet<String>) -> Vec<Catcher> {
        let Some(list) = self.list(name, obj, "Catch") else { return vec![] };
        let last = list.len().saturating_sub(1);
        let mut out = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let field = format!("Catch[{i}]");
            let Some(o) = c.as_object() else {
                self.fail::<()>(name, &field, "must be an object");
                continue;
            };
            for k in
                o.keys().filter(|k| !["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"].contains(&k.as_str()))
            {
                self.fail::<()>(name, &field, &format!("unknown field {k:?}"));
            }
            let errors = self.error_equals(name, &field, o, i == last);
            let Some(next) = o.get("Next").and_then(Value::as_str) else {
                self.fail::<()>(name, &field, "missing required field \"Next\"");
                continue;
            };
            let result_path = self.result_path(name, o.get("ResultPath"), &format!("{field}.ResultPath"));
            let assign = self.assign(name, o.get("Assign"), &format!("{field}.Assign"), outer);
            out.push(Catcher { errors, next: next.to_string(), result_path, assign });
        }
        out
    }

    fn task(&mut self, name: &str, obj: &Map<String, Value>) -> Option<Task> {
        let Some(resource) = obj.get("Resource").and_then(Value::as_str) else {
            return self.fail(name, "Resource", "missing required field (a string)");
        };
        let resource = if resource == LAMBDA_INVOKE {
            self.lambda_function(name, obj)?
        } else if resource.starts_with(LAMBDA_INVOKE) {
            return self.fail(name, "Resource", &format!("{resource:?} is not supported (use {LAMBDA_INVOKE:?})"));
        } else {
            match self.resources.resolve(resource) {
                Some(b) => TaskResource::Builtin(b.to_string()),
                None => return self.fail(name, "Resource", &format!("unknown task resource {resource:?}")),
            }
        };
        let timeout = self.seconds(name, obj, "TimeoutSeconds");
        let heartbeat = self.seconds(name, obj, "HeartbeatSeconds");
        Some(Task { resource, timeout, heartbeat })
    }

    /// For lambda:invoke, Parameters.FunctionName (static) must resolve now.
    fn lambda_function(&mut self, name: &str, obj: &Map<String, Value>) -> Option<TaskResource> {
        let params = obj.get("Parameters").and_then(Value::as_object);
        let Some(params) = params else {
            return self.fail(name, "Parameters", "lambda:invoke needs Parameters with a \"FunctionName\"");
        };
        if params.contains_key("FunctionName.$") {
            return Some(TaskResource::LambdaInvoke { function: None });
        }
        let Some(function) = params.get("FunctionName").and_then(Value::as_str) else {
            return self.fail(name, "Parameters", "lambda:invoke needs a \"FunctionName\" string");
        };
        // `arn:…:function:name:alias` falls back to `arn:…:function:name`.
        let unaliased = function.rsplit_once(':').map(|(base, _)| base).unwrap_or(function);
        match self.resources.resolve(function).or_else(|| self.resources.resolve(unaliased)) {
            Some(b) => Some(TaskResource::LambdaInvoke { function: Some(b.to_string()) }),
            None => self.fail(name, "Parameters.FunctionName", &format!("unknown function {function:?}")),
        }
    }

    /// `Field` (positive integer) or `FieldPath` (reference path).
    fn seconds(&mut self, name: &str, obj: &Map<String, Value>, field: &str) -> Option<Seconds> {
        let path_field = format!("{field}Path");
        match (obj.get(field), obj.get(&path_field)) {
            (Some(_), Some(_)) => self.fail(name, field, &format!("cannot be combined with {path_field:?}")),
            (Some(v), None) => match v.as_u64() {
                Some(n) if n > 0 => Some(Seconds::Literal(n)),
                _ => self.fail(name, field, &format!("must be a positive integer, got {v}")),
            },
            (None, Some(v)) => self.reference(name, &path_field, v).map(Seconds::Path),
            (None, None) => None,
        }
    }

    fn reference(&mut self, name: &str, field: &str, v: &Value) -> Option<Path> {
        let Some(s) = v.as_str() else {
            return self.fail(name, field, &format!("must be a reference path string, got {v}"));
        };
        self.ok(Path::parse_reference(s), name, field)
    }

    fn choice(&mut self, name: &str, obj: &Map<String, Value>, outer: &BTreeSet<String>) -> Kind {
        let default = match obj.get("Default") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => self.fail(name, "Default", &format!("must be a state name, got {v}")),
        };
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Value::as_array).filter(|a| !a.is_empty()) {
            None => self.errs.push(format!("{}: missing required field \"Choices\" (a non-empty array)", at(name))),
            Some(list) => {
                for (i, r) in list.iter().enumerate() {
                    let field = format!("Choices[{i}]");
                    let rule = self.ok(choice::parse_rule(r, true), name, &field);
                    let next = r.get("Next").and_then(Value::as_str);
                    if next.is_none() {
                        self.fail::<()>(name, &field, "missing required field \"Next\"");
                    }
                    let assign = self.assign(name, r.get("Assign"), &format!("{field}.Assign"), outer);
                    if let (Some(rule), Some(next)) = (rule, next) {
                        choices.push(ChoiceBranch { rule, next: next.to_string(), assign });
                    }
                }
            }
        }
        Kind::Choice { choices, default }
    }

    fn wait(&mut self, name: &str, obj: &Map<String, Value>) -> Option<WaitFor> {
        let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.len() != 1 {
            return self.fail(
                name,
                "Seconds",
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            );
        }
        let v = &obj[present[0]];
        match present[0] {
            "Seconds" => match v.as_u64() {
                Some(n) => Some(WaitFor::Seconds(n)),
                None => self.fail(name, "Seconds", &format!("must be a non-negative integer, got {v}")),
            },
            "Timestamp" => match v.as_str().filter(|s| choice::timestamp(s).is_some()) {
                Some(s) => Some(WaitFor::Timestamp(s.to_string())),
                None => self.fail(name, "Timestamp", &format!("must be an RFC3339 timestamp, got {v}")),
            },
            "SecondsPath" => self.reference(name, "SecondsPath", v).map(WaitFor::SecondsPath),
            _ => self.reference(name, "TimestampPath", v).map(WaitFor::TimestampPath),
        }
    }

    fn fail_text(
        &mut self,
        name: &str,
        obj: &Map<String, Value>,
        field: &str,
        path_field: &'static str,
    ) -> Option<Text> {
        match (obj.get(field), obj.get(path_field)) {
            (Some(_), Some(_)) => self.fail(name, field, &format!("cannot be combined with {path_field:?}")),
            (Some(Value::String(s)), None) => Some(Text::Literal(s.clone())),
            (Some(v), None) => self.fail(name, field, &format!("must be a string, got {v}")),
            (None, Some(Value::String(s))) if intrinsics::looks_like_call(s) => {
                self.ok(Call::parse(s).map(Text::Call), name, path_field)
            }
            (None, Some(Value::String(s))) => {
                self.ok(Path::parse(s).map(|p| Text::Path(p, path_field)), name, path_field)
            }
            (None, Some(v)) => self.fail(name, path_field, &format!("must be a path string, got {v}")),
            (None, None) => None,
        }
    }

    fn parallel(&mut self, name: &str, obj: &Map<String, Value>, vars: &BTreeSet<String>) -> Option<Kind> {
        let Some(list) = obj.get("Branches").and_then(Value::as_array).filter(|a| !a.is_empty()) else {
            return self.fail(name, "Branches", "missing required field (a non-empty array)");
        };
        let mut branches = Vec::new();
        for (i, b) in list.iter().enumerate() {
            let whose = format!("{} branch {i}", at(name));
            let Some(bo) = b.as_object() else {
                self.errs.push(format!("{whose}: must be an object"));
                continue;
            };
            self.sub_fields(&whose, bo, &["StartAt", "States", "Comment", "QueryLanguage"]);
            if let Some(m) = self.machine(bo, &whose, vars) {
                branches.push(Arc::new(m));
            }
        }
        Some(Kind::Parallel { branches })
    }

    fn sub_fields(&mut self, whose: &str, obj: &Map<String, Value>, known: &[&str]) {
        for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            self.errs.push(format!("{whose}: unknown field {k:?}"));
        }
        self.query_language(obj, whose);
    }

    fn map(&mut self, name: &str, obj: &Map<String, Value>, vars: &BTreeSet<String>) -> Option<MapSpec> {
        for field in ["ItemReader", "ResultWriter"] {
            if obj.contains_key(field) {
                self.fail::<()>(name, field, "distributed Map (ItemReader/ResultWriter) is not supported");
            }
        }
        let processor = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(_), Some(_)) => return self.fail(name, "Iterator", "cannot be combined with \"ItemProcessor\""),
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            (None, None) => return self.fail(name, "ItemProcessor", "missing required field"),
        };
        let Some(po) = processor.1.as_object() else {
            return self.fail(name, processor.0, "must be an object");
        };
        let whose = format!("{} {}", at(name), processor.0);
        self.sub_fields(&whose, po, &["StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"]);
        // DISTRIBUTED without an ItemReader/ResultWriter behaves like INLINE
        // as far as results go (child executions are an AWS-side detail).
        let mode = po.get("ProcessorConfig").and_then(|c| c.get("Mode"));
        if let Some(mode) = mode.filter(|m| *m != "INLINE" && *m != "DISTRIBUTED") {
            self.errs.push(format!(
                "{whose}: ProcessorConfig.Mode {mode} is not supported (only \"INLINE\" or \"DISTRIBUTED\")"
            ));
        }
        let machine = self.machine(po, &whose, vars);
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.fail::<()>(name, "ItemSelector", "cannot be combined with \"Parameters\"");
        }
        let item_selector = self.template(name, obj, "ItemSelector").or_else(|| self.template(name, obj, "Parameters"));
        let items_path = obj.get("ItemsPath").and_then(|v| self.reference(name, "ItemsPath", v));
        let max_concurrency = match obj.get("MaxConcurrency") {
            None => None,
            Some(v) => v.as_u64().or_else(|| self.fail(name, "MaxConcurrency", "must be a non-negative integer")),
        };
        let max_concurrency_path =
            obj.get("MaxConcurrencyPath").and_then(|v| self.reference(name, "MaxConcurrencyPath", v));
        let batcher = obj.get("ItemBatcher").and_then(|b| self.batcher(name, b));
        let tolerated_percentage = self.percentage(name, obj);
        let tolerated_count = self.tolerance(name, obj, "ToleratedFailureCount");
        Some(MapSpec {
            items_path,
            item_selector,
            processor: Arc::new(machine?),
            max_concurrency,
            max_concurrency_path,
            batcher,
            tolerated_percentage,
            tolerated_count,
        })
    }

    /// ToleratedFailurePercentage (a number from 0 to 100) or its Path form.
    fn percentage(&mut self, name: &str, obj: &Map<String, Value>) -> Option<Percentage> {
        let field = "ToleratedFailurePercentage";
        if let Some(v) = obj.get("ToleratedFailurePercentagePath") {
            return self.reference(name, "ToleratedFailurePercentagePath", v).map(Percentage::Path);
        }
        let v = obj.get(field)?;
        match v.as_f64().filter(|n| (0.0..=100.0).contains(n)) {
            Some(n) => Some(Percentage::Literal(n)),
            None => self.fail(name, field, &format!("must be a number between 0 and 100, got {v}")),
        }
    }

    /// ToleratedFailureCount (a non-negative integer) or its Path form.
    fn tolerance(&mut self, name: &str, obj: &Map<String, Value>, field: &str) -> Option<Seconds> {
        let path_field = format!("{field}Path");
        if let Some(v) = obj.get(&path_field) {
            return self.reference(name, &path_field, v).map(Seconds::Path);
        }
        let v = obj.get(field)?;
        let max = if field.ends_with("Percentage") { 100 } else { u64::MAX };
        match v.as_u64().filter(|n| *n <= max) {
            Some(n) => Some(Seconds::Literal(n)),
            None => self.fail(name, field, &format!("must be an integer between 0 and {max}, got {v}")),
        }
    }

    fn batcher(&mut self, name: &str, b: &Value) -> Option<Batcher> {
        let Some(o) = b.as_object() else {
            return self.fail(name, "ItemBatcher", "must be an object");
        };
        let known = [
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ];
        for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
            self.fail::<()>(name, "ItemBatcher", &format!("unknown field {k:?}"));
        }
        let max_items = self.seconds(name, o, "MaxItemsPerBatch");
        let max_bytes = self.seconds(name, o, "MaxInputBytesPerBatch");
        if max_items.is_none() && max_bytes.is_none() {
            self.fail::<()>(name, "ItemBatcher", "needs MaxItemsPerBatch or MaxInputBytesPerBatch");
        }
        let batch_input = match o.get("BatchInput") {
            Some(v) => self.ok(Template::parse(v), name, "ItemBatcher"),
            None => None,
        };
        Some(Batcher { max_items, max_bytes, batch_input })
    }
}

/// The variables a nested scope sees as read-only: those of enclosing scopes
/// plus every variable assigned by a state of this scope.
fn assigned_in(outer: &BTreeSet<String>, states: &Map<String, Value>) -> BTreeSet<String> {
    let mut out = outer.clone();
    let mut add = |assign: Option<&Value>| {
        if let Some(o) = assign.and_then(Value::as_object) {
            out.extend(o.keys().map(|k| k.strip_suffix(".$").unwrap_or(k).to_string()));
        }
    };
    for st in states.values() {
        add(st.get("Assign"));
        for list in ["Catch", "Choices"] {
            for item in st.get(list).and_then(Value::as_array).into_iter().flatten() {
                add(item.get("Assign"));
            }
        }
    }
    out
}

/// The transitions out of a state, with the field that names each.
fn targets(s: &State) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    if let Some(n) = &s.next {
        out.push(("Next".into(), n));
    }
    for (i, c) in s.catch.iter().enumerate() {
        out.push((format!("Catch[{i}].Next"), &c.next));
    }
    if let Kind::Choice { choices, default } = &s.kind {
        for (i, c) in choices.iter().enumerate() {
            out.push((format!("Choices[{i}].Next"), &c.next));
        }
        if let Some(d) = default {
            out.push(("Default".into(), d));
        }
    }
    out
}
