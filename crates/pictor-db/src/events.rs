//! The event feed: one row for everything that happens, written in the same
//! transaction as the change it describes.
//!
//! Events that something reacts to (workflows, webhooks) also enqueue a
//! dispatch job in that transaction: the transactional outbox, so no
//! accepted upload can miss its workflow, even if the process dies right
//! after the commit. Which kinds, and the job's name, come from the layer
//! above through [`Outbox`]: this crate does not know who reacts to what.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::columns::JsonText;
use crate::jobs::enqueue_in;
use crate::{Db, Outbox, Result, now_ms};

/// Something that happened, e.g. `image.created` for an image id.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub owner: Option<String>,
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// Appends an event inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    outbox: &Outbox,
    kind: &str,
    subject: &str,
    owner: Option<&str>,
    payload: serde_json::Value,
) -> Result<()> {
    record_once(conn, outbox, kind, subject, owner, payload, None).await.map(|_| ())
}

/// Appends an event unless one with the same `dedupe` key exists; returns
/// its id when it was written.
pub(crate) async fn record_once(
    conn: &mut AnyConnection,
    outbox: &Outbox,
    kind: &str,
    subject: &str,
    owner: Option<&str>,
    payload: serde_json::Value,
    dedupe: Option<&str>,
) -> Result<Option<String>> {
    let id = uuid::Uuid::now_v7().to_string();
    let written = sqlx::query(
        "INSERT INTO events (id, kind, subject, owner, payload, created_at, dedupe) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(kind)
    .bind(subject)
    .bind(owner)
    .bind(payload.to_string())
    .bind(now_ms())
    .bind(dedupe)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if written == 0 {
        return Ok(None);
    }
    if outbox.dispatches(kind) {
        let job = outbox.job_for(&id);
        enqueue_in(conn, &job.kind, &job.payload, job.dedupe.as_deref(), now_ms()).await?;
    }
    Ok(Some(id))
}

const COLUMNS: &str = "id, kind, subject, owner, payload, created_at";

/// Who may see which events in [`Db::events_after`].
#[derive(Clone, Copy, Debug)]
pub enum Audience<'a> {
    /// Everything (admins).
    All,
    /// One owner's events; `None` is the open server's anonymous owner.
    Owner(Option<&'a str>),
}

impl<'a> Audience<'a> {
    /// The `(all, owner)` pair queries bind: `all = 1` sees everything.
    pub(crate) fn bind(self) -> (i64, Option<&'a str>) {
        match self {
            Audience::All => (1, None),
            Audience::Owner(owner) => (0, owner),
        }
    }
}

impl Db {
    /// The events about `subject`, oldest first.
    pub async fn events_for(&self, subject: &str) -> Result<Vec<Event>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM events WHERE subject = $1 ORDER BY id"))
            .bind(subject)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn get_event(&self, id: &str) -> Result<Option<Event>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM events WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Up to `limit` events newer than `after` (an event id; ids sort by
    /// time), oldest first, that `audience` may see.
    pub async fn events_after(&self, audience: Audience<'_>, after: &str, limit: i64) -> Result<Vec<Event>> {
        let (all, owner) = audience.bind();
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM events
             WHERE id > $1 AND ($2 = 1 OR (owner IS NULL AND $3 IS NULL) OR owner = $3)
             ORDER BY id LIMIT $4"
        ))
        .bind(after)
        .bind(all)
        .bind(owner)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The id of the newest event, or "" when there is none.
    pub async fn latest_event_id(&self) -> Result<String> {
        let id: Option<String> = sqlx::query_scalar("SELECT MAX(id) AS id FROM events").fetch_one(&self.pool).await?;
        Ok(id.unwrap_or_default())
    }

    /// Records an event outside any other change (e.g. a workflow step).
    pub async fn record_event(
        &self,
        kind: &str,
        subject: &str,
        owner: Option<&str>,
        payload: serde_json::Value,
        dedupe: Option<&str>,
    ) -> Result<Option<String>> {
        let mut tx = self.begin_write().await?;
        let id = record_once(&mut tx, &self.outbox(), kind, subject, owner, payload, dedupe).await?;
        tx.commit().await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn dedupe_keys_write_once_and_dispatched_kinds_enqueue() {
        let (_d, db) = testing::sqlite().await;
        db.set_outbox(Outbox::new("event.dispatch", ["image.processed".to_string()]));
        let first = db.record_event("image.processed", "i1", Some("al"), json!({}), Some("k")).await.unwrap();
        let again = db.record_event("image.processed", "i1", Some("al"), json!({}), Some("k")).await.unwrap();
        assert!(first.is_some());
        assert_eq!(again, None, "the same key records nothing twice");
        db.record_event("execution.started", "e1", Some("al"), json!({}), None).await.unwrap();
        let job = db.claim("w", std::time::Duration::from_secs(5)).await.unwrap().expect("a dispatch job");
        assert_eq!(job.kind, "event.dispatch");
        assert_eq!(job.payload["event"], first.unwrap());
        assert!(db.claim("w", std::time::Duration::from_secs(5)).await.unwrap().is_none(), "only dispatched kinds");
    }

    /// Writers that read before they write (the dedupe check) must wait for
    /// one another on SQLite, not fail with "database is locked".
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_all_land() {
        let (_d, db) = testing::sqlite().await;
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        let key = format!("{w}-{i}");
                        db.record_event("image.processed", &key, None, json!({}), Some(&key)).await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(db.events_after(Audience::All, "", 500).await.unwrap().len(), 200);
    }

    #[tokio::test]
    async fn events_after_filters_by_owner() {
        let (_d, db) = testing::sqlite().await;
        for (owner, kind) in [(Some("al"), "a"), (Some("bo"), "b"), (None, "c"), (Some("al"), "d")] {
            db.record_event(kind, "s", owner, json!({}), None).await.unwrap();
        }
        let kinds = |events: Vec<Event>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
        assert_eq!(kinds(db.events_after(Audience::Owner(Some("al")), "", 10).await.unwrap()), ["a", "d"]);
        assert_eq!(kinds(db.events_after(Audience::Owner(None), "", 10).await.unwrap()), ["c"]);
        let all = db.events_after(Audience::All, "", 10).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(kinds(db.events_after(Audience::All, &all[1].id, 1).await.unwrap()), ["c"]);
        assert_eq!(db.latest_event_id().await.unwrap(), all[3].id);
    }
}
