//! A test host: tasks answered by a closure, optional per-call delay, and
//! bookkeeping of calls, sleeps and concurrency.

#![allow(dead_code)]

use pictor_workflow::{
    Definition, ExecutionContext, History, HistoryEvent, Host, Outcome, Resources, TaskCall, TaskError,
};
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub type TaskFn = dyn Fn(&TaskCall) -> (Result<Value, TaskError>, Duration) + Send + Sync;

pub struct TestHost {
    pub task: Box<TaskFn>,
    pub history: History,
    pub calls: Mutex<Vec<TaskCall>>,
    pub sleeps: Mutex<Vec<(String, Duration)>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl TestHost {
    pub fn new(task: impl Fn(&TaskCall) -> (Result<Value, TaskError>, Duration) + Send + Sync + 'static) -> Self {
        TestHost {
            task: Box::new(task),
            history: History::new(),
            calls: Mutex::new(vec![]),
            sleeps: Mutex::new(vec![]),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// Tasks that return their input immediately.
    pub fn echo() -> Self {
        Self::new(|c| (Ok(c.input.clone()), Duration::ZERO))
    }

    pub fn keys(&self) -> Vec<String> {
        self.calls.lock().unwrap().iter().map(|c| c.key.clone()).collect()
    }

    pub fn event_kinds(&self) -> Vec<String> {
        self.history.events().into_iter().map(|e: HistoryEvent| e.kind).collect()
    }
}

impl Host for TestHost {
    fn run_task(&self, call: TaskCall) -> impl std::future::Future<Output = Result<Value, TaskError>> + Send {
        self.calls.lock().unwrap().push(call.clone());
        let (result, delay) = (self.task)(&call);
        async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        }
    }

    fn record(&self, event: HistoryEvent) -> impl std::future::Future<Output = ()> + Send {
        self.history.push(event);
        async {}
    }

    fn sleep(&self, key: &str, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        self.sleeps.lock().unwrap().push((key.to_string(), duration));
        tokio::time::sleep(duration)
    }
}

pub fn resources() -> Resources {
    Resources::new(["pictor:echo", "pictor:work", "pictor:fail"])
}

pub fn def(text: &str) -> Definition {
    Definition::parse(text, &resources()).unwrap_or_else(|e| panic!("definition errors:\n{e}"))
}

pub fn context() -> ExecutionContext {
    ExecutionContext {
        id: "arn:aws:states:local:0:execution:sm:run-1".into(),
        name: "run-1".into(),
        state_machine_id: "arn:aws:states:local:0:stateMachine:sm".into(),
        state_machine_name: "sm".into(),
        start_time: "2024-05-01T12:00:00.000Z".into(),
        role_arn: "arn:aws:iam::0:role/pictor".into(),
    }
}

pub async fn run(def: &Definition, input: Value, host: &TestHost) -> Outcome {
    pictor_workflow::execute(def, input, context(), host).await
}

pub fn err(error: &str, cause: &str) -> TaskError {
    TaskError { error: error.into(), cause: cause.into() }
}
