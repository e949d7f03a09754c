//! Which workflow each event starts, and the definitions, loaded and
//! checked once at start.
//!
//! `[workflows.NAME] on = [...]` in the configuration maps event kinds to a
//! named definition (a file, or the built-in default) with its resource map;
//! `image-processing` on `image.created` is built in. The dispatcher asks
//! [`Workflows::started_by`] and starts each one, so a new product adds a
//! workflow by configuration, without touching the dispatcher.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use pictor_core::config::WorkflowSpec;
use pictor_core::domain::EventKind;
use pictor_core::{AppState, Config};
use pictor_db::{Event, ExecutionRecord, ImageRecord, now_ms};
use pictor_workflow::{Definition, Resources};
use serde_json::{Value, json};

use crate::tasks;
use crate::{Job, RunExecution};

/// The default workflow, shipped with Pictor.
pub const DEFAULT_DEFINITION: &str = include_str!("default_workflow.json");
/// The download bundles' workflow, shipped with Pictor.
pub const BUNDLE_DEFINITION: &str = include_str!("bundle_workflow.json");

/// The built-in definitions a `[workflows.*]` table can name: its
/// `definition` value, the name its executions show, and the text.
const BUILTINS: &[(&str, &str, &str)] = &[
    (pictor_core::config::BUILTIN_BUNDLES, "bundles", BUNDLE_DEFINITION),
    (pictor_core::config::BUILTIN_SHOP_PREVIEW, "shop-preview", include_str!("shop_preview_workflow.json")),
    (pictor_core::config::BUILTIN_SHOP_ARTWORK, "shop-artwork", include_str!("shop_artwork_workflow.json")),
];

/// One named workflow, validated at start.
pub struct Workflow {
    /// Its key in `[workflows]`, e.g. `image-processing`.
    pub key: String,
    /// The definition's name, shown on its executions: `default`, or the
    /// file's stem.
    pub name: String,
    pub text: String,
    pub resources: Resources,
    pub definition: Definition,
    /// The event kinds that start it.
    pub on: Vec<EventKind>,
}

impl Workflow {
    /// Loads `spec`'s definition (or the default) and checks it against the
    /// built-in tasks and its resource map.
    pub fn load(key: &str, spec: &WorkflowSpec) -> anyhow::Result<Self> {
        let resources = resources(&spec.resource_map)?;
        let (name, text) = if spec.definition.is_empty() {
            ("default".to_string(), DEFAULT_DEFINITION.to_string())
        } else if let Some((_, name, text)) = BUILTINS.iter().find(|(d, _, _)| *d == spec.definition) {
            (name.to_string(), text.to_string())
        } else {
            let path = std::path::Path::new(&spec.definition);
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("reading the definition of workflow {key:?}, {}: check the path", path.display())
            })?;
            let name = path.file_stem().map_or("custom".into(), |s| s.to_string_lossy().into_owned());
            (name, text)
        };
        let definition = Definition::parse(&text, &resources)
            .map_err(|e| anyhow::anyhow!("the definition of workflow {key:?} ({name}) is invalid:\n{e}"))?;
        let on = spec
            .on
            .iter()
            .map(|k| EventKind::parse(k).map_err(|e| anyhow::anyhow!("workflows.{key}.on: {}", e.detail)));
        Ok(Self { key: key.to_string(), name, text, resources, definition, on: on.collect::<anyhow::Result<_>>()? })
    }

    /// The parsed definition an execution runs: this one when its text is
    /// the same, else the execution's own (started under an older config).
    pub fn definition_for(&self, text: &str) -> Result<Definition, String> {
        if text == self.text {
            Ok(self.definition.clone())
        } else {
            Definition::parse(text, &self.resources).map_err(|e| e.to_string())
        }
    }
}

/// Every configured workflow.
pub struct Workflows {
    list: Vec<Workflow>,
}

impl Workflows {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let list = config
            .workflow_specs()
            .iter()
            .map(|(key, spec)| Workflow::load(key, spec))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { list })
    }

    /// The workflow named `key` in `[workflows]`.
    pub fn get(&self, key: &str) -> Option<&Workflow> {
        self.list.iter().find(|w| w.key == key)
    }

    /// The workflow an image's upload starts (and reprocessing starts again).
    pub fn for_images(&self) -> Option<&Workflow> {
        self.get(pictor_core::config::IMAGE_PROCESSING)
            .filter(|w| !w.on.is_empty())
            .or_else(|| self.list.iter().find(|w| w.on.contains(&EventKind::ImageCreated)))
    }

    /// The workflows an event of `kind` starts.
    pub fn started_by(&self, kind: &str) -> impl Iterator<Item = &Workflow> {
        self.list.iter().filter(move |w| w.on.iter().any(|k| k.as_str() == kind))
    }

    /// The event kinds the dispatcher must see: those that start a workflow
    /// and those webhook subscribers can receive.
    pub fn dispatched_kinds(&self) -> Vec<String> {
        let started = self.list.iter().flat_map(|w| w.on.iter().copied());
        let mut kinds: Vec<String> =
            started.chain(EventKind::DELIVERABLE.iter().copied()).map(|k| k.to_string()).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The workflow an execution was started from (by its definition's
    /// name), for resource maps; the image workflow when none matches.
    pub fn of_execution(&self, execution: &ExecutionRecord) -> Option<&Workflow> {
        self.list
            .iter()
            .find(|w| w.text == execution.definition)
            .or_else(|| self.list.iter().find(|w| w.name == execution.workflow))
            .or_else(|| self.for_images())
    }
}

/// The built-in tasks plus the configured aliases.
pub fn resources(map: &BTreeMap<String, String>) -> anyhow::Result<Resources> {
    Resources::new(tasks::BUILTINS.iter().copied())
        .with_map(map.clone())
        .map_err(|e| anyhow::anyhow!("workflow.resource_map: {e}; built-in tasks are {}", tasks::BUILTINS.join(", ")))
}

/// The input an upload's execution starts with.
pub fn input_for(image: &ImageRecord) -> Value {
    json!({
        "imageId": image.id,
        "owner": image.owner,
        "sha256": image.sha256,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "source": image.source,
        "uploadTime": image.created_at,
    })
}

/// The input of an execution started by any event but `image.created`: the
/// event's payload, with the event's id, kind, subject and owner added (and
/// `imageId`, for an image's events, so the built-in tasks find it).
pub fn input_for_event(event: &Event) -> Value {
    let mut input = match &event.payload {
        Value::Object(map) => Value::Object(map.clone()),
        Value::Null => json!({}),
        other => json!({ "payload": other }),
    };
    input["eventId"] = json!(event.id);
    input["eventKind"] = json!(event.kind);
    input["subject"] = json!(event.subject);
    input["owner"] = json!(event.owner);
    if event.kind.starts_with("image.") {
        input["imageId"] = json!(event.subject);
    }
    input
}

/// Starts `workflow` for an image; `cause` (an event id, or `reprocess:…`)
/// makes a repeated start a no-op. Returns the execution, or `None` when
/// the image is gone or the cause already started one.
pub async fn start_for_image(
    state: &Arc<AppState>,
    workflow: &Workflow,
    image: &str,
    cause: &str,
) -> anyhow::Result<Option<ExecutionRecord>> {
    let Some(record) = state.db.get_image(image).await? else { return Ok(None) };
    let execution = new_execution(workflow, Some(record.id.clone()), record.owner.clone(), cause, input_for(&record));
    start(state, execution).await
}

/// Starts `workflow` because of `event`, once per (event, workflow).
pub async fn start_for_event(
    state: &Arc<AppState>,
    workflow: &Workflow,
    event: &Event,
) -> anyhow::Result<Option<ExecutionRecord>> {
    let cause = format!("{}/{}", event.id, workflow.key);
    // An upload's workflow owns the image's status; any other event's
    // workflow only reads the image (else an `image.processed` workflow
    // would set it back to processing, and its end fire it again).
    if event.kind == EventKind::ImageCreated.as_str() {
        return start_for_image(state, workflow, &event.subject, &cause).await;
    }
    let execution = new_execution(workflow, None, event.owner.clone(), &cause, input_for_event(event));
    start(state, execution).await
}

fn new_execution(
    workflow: &Workflow,
    image: Option<String>,
    owner: Option<String>,
    cause: &str,
    input: Value,
) -> ExecutionRecord {
    ExecutionRecord {
        id: uuid::Uuid::now_v7().to_string(),
        image_id: image,
        owner,
        workflow: workflow.name.clone(),
        definition: workflow.text.clone(),
        cause_id: cause.to_string(),
        status: "RUNNING".into(),
        input,
        output: None,
        error: None,
        cause: None,
        started_at: now_ms(),
        stopped_at: None,
    }
}

async fn start(state: &AppState, execution: ExecutionRecord) -> anyhow::Result<Option<ExecutionRecord>> {
    let run = RunExecution { execution: execution.id.clone() }.queued(Some(execution.id.clone()));
    let created = state.db.start_execution(&execution, &run).await?;
    state.job_signal.notify_waiters();
    Ok(created.then_some(execution))
}
