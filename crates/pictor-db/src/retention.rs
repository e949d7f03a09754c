//! Retention: the event feed and the webhook delivery log are kept for a
//! while (the web app's live view and a subscriber's catch-up read them),
//! then deleted, so that neither table grows without bound; so are finished
//! executions with their history and journal, the largest growth per photo
//! (as Step Functions keeps a finished execution for 90 days).
//!
//! The tables' ids are UUIDv7 (a millisecond timestamp first), so "older
//! than" is a range on the primary key: no extra index, and each call
//! deletes one bounded batch, oldest first, for housekeeping to repeat.

use crate::{Db, Result};

impl Db {
    /// Deletes up to `batch` events recorded before `before_ms` (Unix ms),
    /// oldest first; returns how many.
    pub async fn delete_events_before(&self, before_ms: i64, batch: i64) -> Result<u64> {
        let bound = uuid_v7_floor(before_ms);
        let deleted =
            sqlx::query("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < $1 ORDER BY id LIMIT $2)")
                .bind(bound)
                .bind(batch)
                .execute(&self.pool)
                .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes up to `batch` finished webhook deliveries (delivered or
    /// failed for good) created before `before_ms`; returns how many.
    /// Pending ones are kept whatever their age.
    pub async fn delete_deliveries_before(&self, before_ms: i64, batch: i64) -> Result<u64> {
        let bound = format!("msg_{}", uuid_v7_floor(before_ms).replace('-', ""));
        let deleted = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries WHERE id < $1 AND status <> 'pending' ORDER BY id LIMIT $2)",
        )
        .bind(bound)
        .bind(batch)
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes up to `batch` executions that started and stopped before
    /// `before_ms`, with their history and journal; returns how many.
    /// Running ones are kept whatever their age.
    pub async fn delete_executions_before(&self, before_ms: i64, batch: i64) -> Result<u64> {
        let bound = uuid_v7_floor(before_ms);
        // The same rows for the three deletes: old finished executions do
        // not change, and all three run in one transaction.
        let old = "SELECT id FROM executions WHERE id < $1 AND stopped_at IS NOT NULL AND stopped_at < $2 ORDER BY id LIMIT $3";
        let mut tx = self.begin_write().await?;
        for table in ["execution_history", "execution_journal"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE execution_id IN ({old})"))
                .bind(&bound)
                .bind(before_ms)
                .bind(batch)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = sqlx::query(&format!("DELETE FROM executions WHERE id IN ({old})"))
            .bind(&bound)
            .bind(before_ms)
            .bind(batch)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected())
    }
}

/// The smallest UUIDv7 of millisecond `ms`, hyphenated and lower-case as
/// `Uuid::to_string` writes it: every id made at or after `ms` sorts after it.
fn uuid_v7_floor(ms: i64) -> String {
    let ms = ms.clamp(0, (1 << 48) - 1) as u64;
    format!("{:08x}-{:04x}-7000-8000-000000000000", ms >> 16, ms & 0xffff)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::Audience;
    use crate::testing;

    #[test]
    fn the_floor_sorts_between_ids_of_earlier_and_later_milliseconds() {
        let id_at = |ms: u64| {
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
            uuid::Uuid::new_v7(ts).to_string()
        };
        let ms = 1_764_000_000_123u64;
        let floor = uuid_v7_floor(ms as i64);
        assert!(id_at(ms - 1) < floor && floor <= id_at(ms) && floor < id_at(ms + 1));
    }

    #[tokio::test]
    async fn old_events_go_in_batches_and_new_ones_stay() {
        let (_d, db) = testing::sqlite().await;
        for i in 0..5 {
            db.record_event("image.processed", &format!("i{i}"), None, json!({}), None).await.unwrap();
        }
        let cutoff = crate::now_ms() + 1;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        db.record_event("image.processed", "new", None, json!({}), None).await.unwrap();
        assert_eq!(db.delete_events_before(cutoff, 3).await.unwrap(), 3, "one batch at a time");
        assert_eq!(db.delete_events_before(cutoff, 3).await.unwrap(), 2);
        assert_eq!(db.delete_events_before(cutoff, 3).await.unwrap(), 0);
        let left = db.events_after(Audience::All, "", 10).await.unwrap();
        assert_eq!(left.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(), ["new"]);
    }

    #[tokio::test]
    async fn finished_deliveries_go_and_pending_ones_stay() {
        let (_d, db) = testing::sqlite().await;
        let old = 1_700_000_000_000i64;
        let id_at = |ms: i64, n: u8| format!("msg_{}{n:02x}", &uuid_v7_floor(ms).replace('-', "")[..30]);
        for (id, status) in [(id_at(old, 1), "delivered"), (id_at(old, 2), "pending"), (id_at(old, 3), "failed")] {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_kind, payload, status, attempts, created_at)
                 VALUES ($1, 'wh', $1, 'image.processed', '{}', $2, 1, $3)",
            )
            .bind(id)
            .bind(status)
            .bind(old)
            .execute(&db.pool)
            .await
            .unwrap();
        }
        assert_eq!(db.delete_deliveries_before(old + 1, 10).await.unwrap(), 2);
        let left: Vec<String> =
            sqlx::query_scalar("SELECT status FROM webhook_deliveries").fetch_all(&db.pool).await.unwrap();
        assert_eq!(left, ["pending"]);
    }

    #[tokio::test]
    async fn finished_executions_go_with_their_history_and_running_ones_stay() {
        let (_d, db) = testing::sqlite().await;
        let old = 1_700_000_000_000i64;
        let id_at = |n: u8| format!("{}{n:02x}", &uuid_v7_floor(old)[..34]);
        for (n, stopped) in [(1, Some(old + 10)), (2, None), (3, Some(old + 20))] {
            let id = id_at(n);
            sqlx::query(
                "INSERT INTO executions (id, workflow, definition, cause_id, status, input, started_at, stopped_at)
                 VALUES ($1, 'w', '{}', $1, $2, '{}', $3, $4)",
            )
            .bind(&id)
            .bind(if stopped.is_some() { "SUCCEEDED" } else { "RUNNING" })
            .bind(old)
            .bind(stopped)
            .execute(&db.pool)
            .await
            .unwrap();
            for key in ["a", "b"] {
                sqlx::query("INSERT INTO execution_history (id, execution_id, key, kind, details, at) VALUES ($1, $2, $3, 'TaskStateEntered', '{}', $4)")
                    .bind(format!("{id}-{key}"))
                    .bind(&id)
                    .bind(key)
                    .bind(old)
                    .execute(&db.pool)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO execution_journal (execution_id, key, ok, value) VALUES ($1, $2, 1, '{}')")
                    .bind(&id)
                    .bind(key)
                    .execute(&db.pool)
                    .await
                    .unwrap();
            }
        }
        // Not before they stopped.
        assert_eq!(db.delete_executions_before(old + 5, 10).await.unwrap(), 0);
        assert_eq!(db.delete_executions_before(old + 100, 1).await.unwrap(), 1, "one batch at a time");
        assert_eq!(db.delete_executions_before(old + 100, 10).await.unwrap(), 1);
        assert_eq!(db.delete_executions_before(old + 100, 10).await.unwrap(), 0);
        let count = async |table: &str| -> Vec<String> {
            sqlx::query_scalar(&format!(
                "SELECT DISTINCT {} FROM {table} ORDER BY 1",
                if table == "executions" { "id" } else { "execution_id" }
            ))
            .fetch_all(&db.pool)
            .await
            .unwrap()
        };
        for table in ["executions", "execution_history", "execution_journal"] {
            assert_eq!(count(table).await, [id_at(2)], "{table}: only the running execution's rows stay");
        }
    }
}
