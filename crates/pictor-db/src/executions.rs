//! Workflow executions, their history, and the journal a resumed execution
//! replays from.
//!
//! An execution row and the job that runs it are written together, so an
//! execution is never started without being run. History rows and journal
//! entries are keyed by the interpreter's deterministic keys and inserted
//! with `ON CONFLICT DO NOTHING`: replaying after a crash writes nothing
//! twice, and the first recorded result of a task is the one that counts.

use serde::Serialize;
use sqlx::Row;

use crate::columns::{JsonText, NullableJsonText};
use crate::events::{record, record_once};
use crate::jobs::{NewJob, enqueue_in};
use crate::{Db, Result, now_ms, parse_json};

/// One run of a state machine.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ExecutionRecord {
    pub id: String,
    pub image_id: Option<String>,
    pub owner: Option<String>,
    pub workflow: String,
    #[serde(skip)]
    pub definition: String,
    /// What started it: an event id, or `reprocess:<uuid>`. Unique, so a
    /// repeated start is a no-op.
    #[serde(skip)]
    pub cause_id: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub input: serde_json::Value,
    #[sqlx(try_from = "NullableJsonText<serde_json::Value>")]
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started_at: i64,
    pub stopped_at: Option<i64>,
}

/// One history event, as Step Functions records them.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: String,
    pub key: String,
    pub kind: String,
    pub state: Option<String>,
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub details: serde_json::Value,
    pub at: i64,
}

const COLUMNS: &str =
    "id, image_id, owner, workflow, definition, cause_id, status, input, output, error, cause, started_at, stopped_at";

/// What the end of an execution does to its image when no task settled it:
/// the status it takes (`processed`, `failed`) and the event that says so.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOutcome {
    pub status: String,
    pub kind: String,
    pub payload: serde_json::Value,
}

impl Db {
    /// Creates a `RUNNING` execution, its `execution.started` event and
    /// `run` (the job that runs it), unless one with the same `cause_id`
    /// exists. Returns whether it was created.
    pub async fn start_execution(&self, new: &ExecutionRecord, run: &NewJob) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let created = sqlx::query(&format!(
            "INSERT INTO executions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'RUNNING', $7, NULL, NULL, NULL, $8, NULL)
             ON CONFLICT DO NOTHING"
        ))
        .bind(&new.id)
        .bind(&new.image_id)
        .bind(&new.owner)
        .bind(&new.workflow)
        .bind(&new.definition)
        .bind(&new.cause_id)
        .bind(new.input.to_string())
        .bind(new.started_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if created {
            if let Some(image) = &new.image_id {
                sqlx::query("UPDATE images SET status = 'processing' WHERE id = $1")
                    .bind(image)
                    .execute(&mut *tx)
                    .await?;
            }
            let payload = serde_json::json!({ "execution": new.id, "image": new.image_id, "workflow": new.workflow });
            record(&mut tx, &self.outbox(), "execution.started", &new.id, new.owner.as_deref(), payload).await?;
            enqueue_in(&mut tx, &run.kind, &run.payload, run.dedupe.as_deref(), now_ms()).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    pub async fn get_execution(&self, id: &str) -> Result<Option<ExecutionRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM executions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// An image's executions, newest first.
    pub async fn executions_for_image(&self, image: &str) -> Result<Vec<ExecutionRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM executions WHERE image_id = $1 ORDER BY started_at DESC, id DESC"
        ))
        .bind(image)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The newest executions (all owners when `owner` is `None` and `all`).
    pub async fn list_executions(&self, owner: Option<&str>, all: bool, limit: i64) -> Result<Vec<ExecutionRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM executions
             WHERE ($1 = 1 OR (owner IS NULL AND $2 IS NULL) OR owner = $2)
             ORDER BY started_at DESC, id DESC LIMIT $3"
        ))
        .bind(i64::from(all))
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many executions are in each status (`RUNNING`, `SUCCEEDED`…),
    /// every owner's, by status name.
    pub async fn execution_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as("SELECT status, COUNT(*) FROM executions GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records how an execution ended, with its `execution.<status>` event.
    /// Only the first end counts. The image, if any and still `processing`
    /// (no task settled it), takes `image`'s status and event, in the same
    /// transaction.
    pub async fn finish_execution(
        &self,
        id: &str,
        status: &str,
        output: Option<&serde_json::Value>,
        error: Option<&str>,
        cause: Option<&str>,
        image: Option<&ImageOutcome>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let ended: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE executions SET status = $1, output = $2, error = $3, cause = $4, stopped_at = $5
             WHERE id = $6 AND status = 'RUNNING' RETURNING owner, image_id",
        )
        .bind(status)
        .bind(output.map(|o| o.to_string()))
        .bind(error)
        .bind(cause)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((owner, image_id)) = ended else { return Ok(false) };
        if let (Some(image_id), Some(outcome)) = (&image_id, image) {
            let settled = sqlx::query("UPDATE images SET status = $1 WHERE id = $2 AND status = 'processing'")
                .bind(&outcome.status)
                .bind(image_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if settled > 0 {
                let payload = outcome.payload.clone();
                let dedupe = format!("{id}/end");
                record_once(&mut tx, &self.outbox(), &outcome.kind, image_id, owner.as_deref(), payload, Some(&dedupe))
                    .await?;
            }
        }
        let image = image_id;
        let kind = format!("execution.{}", status.to_ascii_lowercase());
        let payload =
            serde_json::json!({ "execution": id, "image": image, "status": status, "error": error, "cause": cause });
        record(&mut tx, &self.outbox(), &kind, id, owner.as_deref(), payload).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Appends a history event unless its key is already there. Events that
    /// enter or leave a state also go to the feed as `execution.step`.
    pub async fn append_history(
        &self,
        execution: &ExecutionRecord,
        key: &str,
        kind: &str,
        state: Option<&str>,
        details: &serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let written = sqlx::query(
            "INSERT INTO execution_history (id, execution_id, key, kind, state, details, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&execution.id)
        .bind(key)
        .bind(kind)
        .bind(state)
        .bind(details.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if written > 0 && (kind.ends_with("StateEntered") || kind.ends_with("StateExited")) {
            let payload = serde_json::json!({
                "execution": execution.id, "image": execution.image_id, "type": kind, "state": state,
            });
            record(&mut tx, &self.outbox(), "execution.step", &execution.id, execution.owner.as_deref(), payload)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An execution's history, in the order it happened.
    pub async fn history(&self, execution: &str) -> Result<Vec<HistoryRow>> {
        Ok(sqlx::query_as(
            "SELECT id, key, kind, state, details, at FROM execution_history WHERE execution_id = $1 ORDER BY id",
        )
        .bind(execution)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a journal entry unless one exists, and returns the entry that
    /// counts (the first one written).
    pub async fn journal(
        &self,
        execution: &str,
        key: &str,
        ok: bool,
        value: &serde_json::Value,
    ) -> Result<(bool, serde_json::Value)> {
        sqlx::query(
            "INSERT INTO execution_journal (execution_id, key, ok, value) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(execution)
        .bind(key)
        .bind(i64::from(ok))
        .bind(value.to_string())
        .execute(&self.pool)
        .await?;
        Ok(self.journal_entry(execution, key).await?.unwrap_or((ok, value.clone())))
    }

    /// The journal entry for `key`, if the execution got that far before.
    pub async fn journal_entry(&self, execution: &str, key: &str) -> Result<Option<(bool, serde_json::Value)>> {
        let row = sqlx::query("SELECT ok, value FROM execution_journal WHERE execution_id = $1 AND key = $2")
            .bind(execution)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let value: String = row.try_get("value")?;
        Ok(Some((row.try_get::<i64, _>("ok")? == 1, parse_json("execution_journal.value", &value)?)))
    }
}
