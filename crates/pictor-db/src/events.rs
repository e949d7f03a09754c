//! The event feed: one row for everything that happens, written in the same
//! transaction as the change it describes.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, now_ms};

/// Something that happened, e.g. `image.created` for an image id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub owner: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

/// Appends an event inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    kind: &str,
    subject: &str,
    owner: Option<&str>,
    payload: serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO events (id, kind, subject, owner, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(kind)
        .bind(subject)
        .bind(owner)
        .bind(payload.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(())
}

impl Db {
    /// The events about `subject`, oldest first.
    pub async fn events_for(&self, subject: &str) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT id, kind, subject, owner, payload, created_at FROM events WHERE subject = $1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Event {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    subject: row.try_get("subject")?,
                    owner: row.try_get("owner")?,
                    payload: serde_json::from_str(&row.try_get::<String, _>("payload")?).unwrap_or_default(),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
