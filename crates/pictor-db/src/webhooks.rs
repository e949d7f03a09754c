//! Webhook subscriptions and their deliveries.
//!
//! A subscription belongs to an owner and receives the events about that
//! owner's images. Fanning an event out writes one delivery row per matching
//! endpoint and one `webhook.deliver` job per delivery, in one transaction;
//! `(webhook_id, event_id)` is unique, so a repeated fan-out adds nothing and
//! a delivery keeps its id (the `webhook-id` header) across retries.

use serde::Serialize;

use crate::columns::{Flag, JsonText};
use crate::events::Event;
use crate::jobs::{NewJob, enqueue_in};
use crate::{Db, Result, now_ms};

/// The job kind that sends one delivery.

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Webhook {
    pub id: String,
    pub owner: Option<String>,
    pub url: String,
    /// Event kinds, or `*` for all.
    #[sqlx(try_from = "JsonText<Vec<String>>")]
    pub events: Vec<String>,
    #[serde(skip)]
    pub secret: String,
    #[sqlx(try_from = "Flag")]
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_kind: String,
    #[sqlx(try_from = "JsonText<serde_json::Value>")]
    pub payload: serde_json::Value,
    /// `pending`, `delivered`, `failed` (gave up) or `gone` (the endpoint answered 410).
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_at: Option<i64>,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

/// How one delivery attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    Delivered,
    /// Try again at this time (Unix ms).
    RetryAt(i64),
    /// Out of retries.
    GaveUp,
    /// 410 Gone: the endpoint is disabled.
    Gone,
}

const HOOK_COLUMNS: &str = "id, owner, url, events, secret, enabled, disabled_reason, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_kind, payload, status, attempts, last_status, last_error, next_at, created_at, done_at";

impl Db {
    pub async fn create_webhook(&self, hook: &Webhook) -> Result<()> {
        sqlx::query(&format!("INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(&hook.id)
            .bind(&hook.owner)
            .bind(&hook.url)
            .bind(serde_json::to_string(&hook.events).unwrap_or_default())
            .bind(&hook.secret)
            .bind(i64::from(hook.enabled))
            .bind(&hook.disabled_reason)
            .bind(hook.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn get_webhook(&self, id: &str) -> Result<Option<Webhook>> {
        Ok(sqlx::query_as(&format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// An owner's subscriptions, oldest first.
    pub async fn list_webhooks(&self, owner: Option<&str>) -> Result<Vec<Webhook>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE (owner IS NULL AND $1 IS NULL) OR owner = $1 ORDER BY created_at, id"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes a subscription and its delivery log; false when it was not there.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Writes a delivery, and the job `deliver` makes for its id, for every
    /// enabled subscription of the event's owner that wants its kind.
    /// Returns how many were added.
    pub async fn fan_out(&self, event: &Event, deliver: impl Fn(&str) -> NewJob) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let hooks: Vec<Webhook> = sqlx::query_as(&format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE enabled = 1 AND ((owner IS NULL AND $1 IS NULL) OR owner = $1)"
        ))
        .bind(&event.owner)
        .fetch_all(&mut *tx)
        .await?;
        let mut added = 0;
        for hook in hooks {
            if !hook.events.iter().any(|k| k == "*" || *k == event.kind) {
                continue;
            }
            let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
            let payload = serde_json::json!({
                "type": event.kind,
                "timestamp": rfc3339_ms(event.created_at),
                "data": with_subject(&event.payload, &event.subject),
            });
            let inserted = sqlx::query(&format!(
                "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, NULL, NULL, $6, $6, NULL) ON CONFLICT DO NOTHING"
            ))
            .bind(&id)
            .bind(&hook.id)
            .bind(&event.id)
            .bind(&event.kind)
            .bind(payload.to_string())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted > 0 {
                let job = deliver(&id);
                enqueue_in(&mut tx, &job.kind, &job.payload, job.dedupe.as_deref(), now_ms()).await?;
                added += 1;
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    pub async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        Ok(sqlx::query_as(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A subscription's deliveries, newest first.
    pub async fn deliveries(&self, webhook: &str, limit: i64) -> Result<Vec<Delivery>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(webhook)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records one attempt and its outcome; `Gone` also disables the endpoint.
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        http_status: Option<u16>,
        error: Option<&str>,
        outcome: &Attempt,
    ) -> Result<()> {
        let now = now_ms();
        let (status, next_at, done_at) = match outcome {
            Attempt::Delivered => ("delivered", None, Some(now)),
            Attempt::RetryAt(at) => ("pending", Some(*at), None),
            Attempt::GaveUp => ("failed", None, Some(now)),
            Attempt::Gone => ("gone", None, Some(now)),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
             next_at = $4, done_at = $5 WHERE id = $6",
        )
        .bind(status)
        .bind(http_status.map(i64::from))
        .bind(error)
        .bind(next_at)
        .bind(done_at)
        .bind(&delivery.id)
        .execute(&mut *tx)
        .await?;
        if *outcome == Attempt::Gone {
            sqlx::query("UPDATE webhooks SET enabled = 0, disabled_reason = $1 WHERE id = $2")
                .bind("the endpoint answered 410 Gone")
                .bind(&delivery.webhook_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The event's payload with its subject as `id` (when it is an object).
fn with_subject(payload: &serde_json::Value, subject: &str) -> serde_json::Value {
    let mut data = payload.clone();
    if let Some(object) = data.as_object_mut() {
        object.entry("id").or_insert_with(|| subject.into());
    }
    data
}

/// Unix milliseconds as RFC 3339 UTC, e.g. `2026-11-23T10:00:00.123Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    let (y, m, d, hour, minute, second) = utc_fields(ms);
    format!("{y:04}-{m:02}-{d:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z", ms.rem_euclid(1000))
}

/// Unix ms as UTC (year, month, day, hour, minute, second).
pub fn utc_fields(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, (rem / 3600) as u32, (rem / 60 % 60) as u32, (rem % 60) as u32)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing;

    fn hook(id: &str, owner: Option<&str>, events: &[&str]) -> Webhook {
        Webhook {
            id: id.into(),
            owner: owner.map(Into::into),
            url: "http://127.0.0.1:9/h".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: "whsec_x".into(),
            enabled: true,
            disabled_reason: None,
            created_at: 1,
        }
    }

    fn deliver(id: &str) -> NewJob {
        NewJob { kind: "webhook.deliver".into(), payload: json!({ "delivery": id }), dedupe: Some(id.into()) }
    }

    #[test]
    fn unix_times_become_calendar_fields() {
        assert_eq!(utc_fields(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc_fields(1_294_925_619_000), (2011, 1, 13, 13, 33, 39));
        assert_eq!(utc_fields(951_782_400_000), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc_fields(4_102_444_799_000), (2099, 12, 31, 23, 59, 59));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_795_435_200_123), "2026-11-23T12:00:00.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[tokio::test]
    async fn fan_out_matches_owner_and_kind_once() {
        let (_d, db) = testing::sqlite().await;
        db.create_webhook(&hook("h1", Some("al"), &["image.processed"])).await.unwrap();
        db.create_webhook(&hook("h2", Some("al"), &["*"])).await.unwrap();
        db.create_webhook(&hook("h3", Some("bo"), &["*"])).await.unwrap();
        let id = db.record_event("image.processed", "i1", Some("al"), json!({"a": 1}), None).await.unwrap().unwrap();
        let event = db.get_event(&id).await.unwrap().unwrap();
        assert_eq!(db.fan_out(&event, deliver).await.unwrap(), 2);
        assert_eq!(db.fan_out(&event, deliver).await.unwrap(), 0, "a repeated fan-out adds nothing");
        let delivery = db.deliveries("h1", 10).await.unwrap().remove(0);
        assert_eq!(delivery.payload["type"], "image.processed");
        assert_eq!(delivery.payload["data"], json!({"a": 1, "id": "i1"}));
        db.record_attempt(&delivery, Some(410), None, &Attempt::Gone).await.unwrap();
        let h1 = db.get_webhook("h1").await.unwrap().unwrap();
        assert!(!h1.enabled && h1.disabled_reason.is_some());
        assert_eq!(db.get_delivery(&delivery.id).await.unwrap().unwrap().status, "gone");
        let other = db.record_event("image.processed", "i2", Some("al"), json!({}), None).await.unwrap().unwrap();
        assert_eq!(
            db.fan_out(&db.get_event(&other).await.unwrap().unwrap(), deliver).await.unwrap(),
            1,
            "h1 is disabled"
        );
    }
}
