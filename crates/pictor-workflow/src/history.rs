//! An in-memory event log shaped like AWS's GetExecutionHistory.
//!
//! Why: CLIs and tests want to show or assert on an execution's history
//! without a database. Events with a key already seen are ignored, like a
//! durable host's `ON CONFLICT DO NOTHING`, so a replayed execution does not
//! duplicate its history.

use crate::HistoryEvent;
use serde_json::{Value, json};
use std::sync::Mutex;

/// Collected history events, in arrival order.
#[derive(Debug, Default)]
pub struct History {
    events: Mutex<Vec<(HistoryEvent, String)>>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an event (stamped now) unless its key was seen before.
    pub fn push(&self, e: HistoryEvent) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.iter().any(|(old, _)| old.key == e.key) {
            return;
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        events.push((e, now));
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(e, _)| e.clone()).collect()
    }

    /// `{"events": [{"id":1,"previousEventId":0,"timestamp":…,"type":…,"…EventDetails":{…}}, …]}`.
    pub fn to_json(&self) -> Value {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let list: Vec<Value> = events
            .iter()
            .enumerate()
            .map(|(i, (e, ts))| {
                let mut obj = json!({"id": i + 1, "previousEventId": i, "timestamp": ts, "type": e.kind});
                if !e.details.is_null() && e.details != json!({}) {
                    obj[details_field(&e.kind)] = e.details.clone();
                }
                obj
            })
            .collect();
        json!({ "events": list })
    }
}

/// AWS's details field for an event type: `TaskStateEntered` →
/// `stateEnteredEventDetails`, `TaskScheduled` → `taskScheduledEventDetails`.
fn details_field(kind: &str) -> String {
    if kind.ends_with("StateEntered") {
        return "stateEnteredEventDetails".into();
    }
    if kind.ends_with("StateExited") {
        return "stateExitedEventDetails".into();
    }
    let mut chars = kind.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase()).unwrap_or_default();
    format!("{first}{}EventDetails", chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(key: &str, kind: &str, details: Value) -> HistoryEvent {
        HistoryEvent { key: key.into(), kind: kind.into(), state: None, details }
    }

    #[test]
    fn aws_shape_and_dedup() {
        let h = History::new();
        h.push(ev("ExecutionStarted", "ExecutionStarted", json!({"input": "{}"})));
        h.push(ev("A#1/PassStateEntered", "PassStateEntered", json!({"name": "A"})));
        h.push(ev("A#1/PassStateEntered", "PassStateEntered", json!({"name": "A"})));
        h.push(ev("A#1/a1/TaskScheduled", "TaskScheduled", json!({"resource": "x"})));
        h.push(ev("B/ParallelStateStarted", "ParallelStateStarted", Value::Null));
        let j = h.to_json();
        let events = j["events"].as_array().unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(events[0]["id"], 1);
        assert_eq!(events[0]["previousEventId"], 0);
        assert_eq!(events[0]["type"], "ExecutionStarted");
        assert_eq!(events[0]["executionStartedEventDetails"]["input"], "{}");
        assert_eq!(events[1]["stateEnteredEventDetails"]["name"], "A");
        assert_eq!(events[2]["taskScheduledEventDetails"]["resource"], "x");
        assert!(events[3].get("parallelStateStartedEventDetails").is_none());
        assert!(events[3]["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
