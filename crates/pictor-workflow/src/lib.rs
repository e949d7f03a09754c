//! Pictor's workflow engine: an interpreter for the Amazon States Language
//! (JSONPath query language), as a pure library.
//!
//! Why: image pipelines (extract metadata, resize, …) are described as Step
//! Functions state machines, so the same definition can run on AWS or here.
//! This crate owns the semantics only; a [`Host`] supplies the side effects:
//! running tasks, recording history events and sleeping. It does no I/O of its
//! own and uses tokio only for time.
//!
//! # Durable replay keys
//!
//! A durable host journals each task result under [`TaskCall::key`] and, after
//! a crash, runs [`execute`] again from the start, answering finished tasks
//! from its journal. Keys therefore depend only on the path taken through the
//! definition, never on timing:
//!
//! * a state visit is `Name#n`, `n` counting visits of that state (from 1) in
//!   its scope; `/`, `#` and `%` in names are percent-escaped;
//! * scopes nest with `/`: a Parallel branch is `<parallel key>/b<i>`, a Map
//!   iteration `<map key>/i<index>` (when a Parallel/Map state is retried,
//!   attempt `n > 1` adds `/a<n>` before the branch or item);
//! * a task attempt is `<state key>/a<attempt>` (attempt counts from 1), e.g.
//!   `Parallel#1/b0/Map#1/i3/Resize#2/a1`;
//! * sleeps use `<state key>/wait` (Wait states) and `<task key>/backoff`
//!   (the delay after a failed attempt);
//! * history events are `<state key>/<EventType>` (or `<task key>/<EventType>`
//!   for per-attempt events, `<map key>/i<index>/<EventType>` for iteration
//!   events), and execution-level events are just the event type, e.g.
//!   `ExecutionStarted`.

mod choice;
mod dataflow;
mod definition;
mod exec;
mod history;
mod intrinsics;
mod path;
mod retry;

pub use definition::Definition;
pub use exec::execute;
pub use history::History;

/// Entry points for `fuzz/` only (cargo-fuzz builds with `--cfg fuzzing`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Parses `expr` as a JSONPath and, when it parses, selects it from
    /// `input` (standing for `$`, `$$` and every variable).
    pub fn select(expr: &str, input: &serde_json::Value) -> Option<serde_json::Value> {
        let path = crate::path::Path::parse(expr).ok()?;
        let vars = |_: &str| Some(input.clone());
        path.select(&crate::path::Sources { input, context: input, vars: &vars })
    }
}

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The task implementations a definition may name, and aliases for them.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    builtins: BTreeSet<String>,
    map: BTreeMap<String, String>,
}

impl Resources {
    /// Built-in task names, e.g. `pictor:extract-metadata`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(builtins: I) -> Self {
        Resources { builtins: builtins.into_iter().map(Into::into).collect(), map: BTreeMap::new() }
    }

    /// Adds aliases (placeholders like `${ResizeLambdaArn}`, Lambda ARNs, …).
    /// Map targets must be built-in names, else Err naming the entry.
    pub fn with_map(mut self, map: BTreeMap<String, String>) -> Result<Self, String> {
        for (from, to) in &map {
            if !self.builtins.contains(to) {
                return Err(format!("resource map entry {from:?} points to {to:?}, which is not a built-in task"));
            }
        }
        self.map.extend(map);
        Ok(self)
    }

    /// The built-in a resource string stands for (identity for built-ins).
    pub fn resolve(&self, resource: &str) -> Option<&str> {
        if let Some(b) = self.builtins.get(resource) {
            return Some(b);
        }
        self.map.get(resource).map(String::as_str)
    }
}

/// Everything wrong with a definition, one message per problem.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionErrors(pub Vec<String>);

impl fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DefinitionErrors {}

/// One invocation of a built-in task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCall {
    /// Deterministic, unique within the execution (see the module docs).
    pub key: String,
    /// The resolved built-in name.
    pub resource: String,
    /// The Task state's name.
    pub state: String,
    /// The task's input (after InputPath and Parameters; the Payload for lambda:invoke).
    pub input: serde_json::Value,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
}

/// A task failure: an error name (matched by Retry/Catch) and a cause.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

/// An execution history event, in AWS's vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// Deterministic, unique within the execution (see the module docs).
    pub key: String,
    /// AWS history event type, e.g. "TaskStateEntered".
    pub kind: String,
    /// The state the event belongs to, if any.
    pub state: Option<String>,
    /// The event's details, shaped like AWS's `…EventDetails`.
    pub details: serde_json::Value,
}

/// What the interpreter needs from its environment.
pub trait Host: Send + Sync {
    /// Runs a built-in task.
    fn run_task(
        &self,
        call: TaskCall,
    ) -> impl std::future::Future<Output = Result<serde_json::Value, TaskError>> + Send;

    /// Records a history event.
    fn record(&self, event: HistoryEvent) -> impl std::future::Future<Output = ()> + Send;

    /// Wait states and retry back-off. A durable host may remember the first deadline per key.
    fn sleep(&self, key: &str, duration: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        let _ = key;
        tokio::time::sleep(duration)
    }
}

/// Facts about the execution, exposed through the context object (`$$`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionContext {
    pub id: String,
    pub name: String,
    pub state_machine_id: String,
    pub state_machine_name: String,
    /// RFC3339 with milliseconds and `Z`, e.g. `2024-05-01T12:00:00.000Z`.
    pub start_time: String,
    pub role_arn: String,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// The result of [`execute`].
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_resolve_and_validate_map() {
        let r = Resources::new(["pictor:resize"]);
        assert_eq!(r.resolve("pictor:resize"), Some("pictor:resize"));
        assert_eq!(r.resolve("x"), None);
        let map = BTreeMap::from([("${ResizeArn}".to_string(), "pictor:resize".to_string())]);
        let r = r.with_map(map).unwrap();
        assert_eq!(r.resolve("${ResizeArn}"), Some("pictor:resize"));
        let bad = BTreeMap::from([("arn:x".to_string(), "pictor:nope".to_string())]);
        let err = Resources::new(["pictor:resize"]).with_map(bad).unwrap_err();
        assert!(err.contains("arn:x") && err.contains("pictor:nope"), "{err}");
    }

    #[test]
    fn status_serializes_like_aws() {
        assert_eq!(serde_json::to_value(Status::TimedOut).unwrap(), "TIMED_OUT");
        assert_eq!(serde_json::to_value(Status::Succeeded).unwrap(), "SUCCEEDED");
    }

    #[test]
    fn errors_display_one_per_line() {
        let e = DefinitionErrors(vec!["a".into(), "b".into()]);
        assert_eq!(e.to_string(), "a\nb");
    }
}
