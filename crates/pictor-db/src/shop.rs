//! The style-transfer shop's orders and the payment events already
//! handled. An order and its `shop.order.received` event (which starts its
//! preview workflow) are written in one transaction, as are a payment, its
//! event id (so a replayed webhook does nothing) and `shop.order.paid`.

use crate::events::record;
use crate::{Db, Result, now_ms};

/// One order.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ShopOrder {
    pub id: String,
    pub style: String,
    pub tier: String,
    /// The visitor's address, sealed; `None` once erased.
    pub contact: Option<String>,
    /// `received`, `previewed`, `checkout`, `paid`, `delivered` or `failed`.
    pub state: String,
    /// Where links to the order point (the shop's public address).
    pub link_base: String,
    pub original_key: String,
    pub preview_key: Option<String>,
    pub artwork_key: Option<String>,
    /// The artwork's size once rendered.
    pub width: i64,
    pub height: i64,
    pub link_hash: Option<String>,
    pub opened_at: i64,
    pub currency: Option<String>,
    /// In the currency's minor units.
    pub amount: i64,
    pub payment_intent: Option<String>,
    pub paid_at: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

impl ShopOrder {
    /// A new order, `received`: its photo arrived at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn received(
        id: &str,
        style: &str,
        tier: &str,
        contact: String,
        link_base: String,
        original_key: String,
        now: i64,
        expires_at: i64,
    ) -> Self {
        Self {
            id: id.to_string(),
            style: style.to_string(),
            tier: tier.to_string(),
            contact: Some(contact),
            state: "received".into(),
            link_base,
            original_key,
            preview_key: None,
            artwork_key: None,
            width: 0,
            height: 0,
            link_hash: None,
            opened_at: 0,
            currency: None,
            amount: 0,
            payment_intent: None,
            paid_at: 0,
            error: None,
            created_at: now,
            updated_at: now,
            expires_at,
        }
    }
}

/// Which picture of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rendition {
    Preview,
    Artwork,
}

/// What a payment webhook did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The order is paid now (its `shop.order.paid` event written).
    Paid,
    /// This event id was handled before: nothing done.
    Replayed,
    /// The order was paid already, or is gone, or the intent is not its.
    Ignored,
}

const COLUMNS: &str = "id, style, tier, contact, state, link_base, original_key, preview_key, artwork_key, width, \
                       height, link_hash, opened_at, currency, amount, payment_intent, paid_at, error, created_at, \
                       updated_at, expires_at";

impl Db {
    /// Records a new order and its `shop.order.received` event; false (and
    /// nothing written) if an order with its id exists.
    pub async fn create_shop_order(&self, order: &ShopOrder) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let added = sqlx::query(&format!(
            "INSERT INTO shop_orders ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, 0, 0, NULL, 0, NULL, 0,
             NULL, 0, NULL, $8, $8, $9) ON CONFLICT DO NOTHING"
        ))
        .bind(&order.id)
        .bind(&order.style)
        .bind(&order.tier)
        .bind(&order.contact)
        .bind(&order.state)
        .bind(&order.link_base)
        .bind(&order.original_key)
        .bind(order.created_at)
        .bind(order.expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 0 {
            return Ok(false);
        }
        let payload = serde_json::json!({ "orderId": order.id, "style": order.style });
        record(&mut tx, &self.outbox(), "shop.order.received", &order.id, None, payload).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn get_shop_order(&self, id: &str) -> Result<Option<ShopOrder>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM shop_orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The order whose link token hashes to `link_hash`.
    pub async fn shop_order_by_link(&self, link_hash: &str) -> Result<Option<ShopOrder>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM shop_orders WHERE link_hash = $1"))
            .bind(link_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Records where a rendered picture is (and, for the artwork, its size).
    pub async fn set_shop_rendition(
        &self,
        id: &str,
        which: Rendition,
        key: &str,
        width: i64,
        height: i64,
    ) -> Result<()> {
        let query = match which {
            Rendition::Preview => sqlx::query("UPDATE shop_orders SET preview_key = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(key)
                .bind(now_ms()),
            Rendition::Artwork => sqlx::query(
                "UPDATE shop_orders SET artwork_key = $2, updated_at = $3, width = $4, height = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(key)
            .bind(now_ms())
            .bind(width)
            .bind(height),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Marks the preview sent: the link (by its hash) valid until `expires_at`.
    pub async fn shop_order_previewed(&self, id: &str, link_hash: &str, expires_at: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE shop_orders SET state = 'previewed', link_hash = $2, expires_at = $3, updated_at = $4
             WHERE id = $1 AND state = 'received'",
        )
        .bind(id)
        .bind(link_hash)
        .bind(expires_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// Notes the first opening of the order's link; true the first time.
    pub async fn shop_order_opened(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("UPDATE shop_orders SET opened_at = $2 WHERE id = $1 AND opened_at = 0")
            .bind(id)
            .bind(now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// Records the payment intent made for the order's price; only while
    /// it is unpaid.
    pub async fn shop_order_checkout(&self, id: &str, currency: &str, amount: i64, intent: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE shop_orders SET state = 'checkout', currency = $2, amount = $3, payment_intent = $4, updated_at = $5
             WHERE id = $1 AND state IN ('previewed', 'checkout')",
        )
        .bind(id)
        .bind(currency)
        .bind(amount)
        .bind(intent)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// Handles a payment event once: records `event_id`, and if the order
    /// awaits exactly this intent, marks it paid (downloadable until
    /// `expires_at`) with its `shop.order.paid` event, all in one transaction.
    pub async fn shop_order_paid(
        &self,
        event_id: &str,
        event_kind: &str,
        order_id: &str,
        intent: &str,
        expires_at: i64,
    ) -> Result<PaymentOutcome> {
        let mut tx = self.begin_write().await?;
        let now = now_ms();
        let first = sqlx::query(
            "INSERT INTO shop_payment_events (id, kind, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(event_kind)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if first == 0 {
            return Ok(PaymentOutcome::Replayed);
        }
        let paid = sqlx::query(
            "UPDATE shop_orders SET state = 'paid', paid_at = $3, expires_at = $4, updated_at = $3
             WHERE id = $1 AND payment_intent = $2 AND state = 'checkout'",
        )
        .bind(order_id)
        .bind(intent)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if paid > 0 {
            let payload = serde_json::json!({ "orderId": order_id });
            record(&mut tx, &self.outbox(), "shop.order.paid", order_id, None, payload).await?;
        }
        tx.commit().await?;
        Ok(if paid > 0 { PaymentOutcome::Paid } else { PaymentOutcome::Ignored })
    }

    /// Ends an order's need for the visitor's address: `delivered`, or
    /// `failed` with `error`; the address is erased either way.
    pub async fn finish_shop_order(&self, id: &str, error: Option<&str>) -> Result<()> {
        let state = if error.is_some() { "failed" } else { "delivered" };
        sqlx::query("UPDATE shop_orders SET state = $2, error = $3, contact = NULL, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(state)
            .bind(error)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Orders past their expiry, oldest first.
    pub async fn expired_shop_orders(&self, now: i64, limit: i64) -> Result<Vec<ShopOrder>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM shop_orders WHERE expires_at < $1 ORDER BY expires_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes an order, and payment events older than `events_before`.
    pub async fn delete_shop_order(&self, id: &str, events_before: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM shop_orders WHERE id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM shop_payment_events WHERE received_at < $1")
            .bind(events_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn order(id: &str) -> ShopOrder {
        let original = format!("shop/orders/{id}/original");
        ShopOrder::received(id, "ember", "standard", "sealed".into(), "http://shop".into(), original, 1, i64::MAX)
    }

    #[tokio::test]
    async fn an_order_goes_from_upload_to_delivery_and_its_address_goes() {
        let (_d, db) = testing::sqlite().await;
        assert!(db.create_shop_order(&order("o1")).await.unwrap());
        assert!(!db.create_shop_order(&order("o1")).await.unwrap(), "an order is made once");
        assert!(db.shop_order_previewed("o1", "h1", 99).await.unwrap());
        assert_eq!(db.shop_order_by_link("h1").await.unwrap().unwrap().id, "o1");
        assert!(db.shop_order_opened("o1").await.unwrap());
        assert!(!db.shop_order_opened("o1").await.unwrap());
        assert!(db.shop_order_checkout("o1", "EUR", 490, "pi_1").await.unwrap());
        let paid = |event: &'static str, intent: &'static str| db.shop_order_paid(event, "x", "o1", intent, 500);
        assert_eq!(paid("evt_0", "pi_other").await.unwrap(), PaymentOutcome::Ignored);
        assert_eq!(paid("evt_1", "pi_1").await.unwrap(), PaymentOutcome::Paid);
        assert_eq!(paid("evt_1", "pi_1").await.unwrap(), PaymentOutcome::Replayed);
        assert_eq!(paid("evt_2", "pi_1").await.unwrap(), PaymentOutcome::Ignored, "paid once");
        assert!(!db.shop_order_checkout("o1", "EUR", 1, "pi_2").await.unwrap(), "a paid order takes no new price");
        db.finish_shop_order("o1", None).await.unwrap();
        let done = db.get_shop_order("o1").await.unwrap().unwrap();
        assert_eq!((done.state.as_str(), done.contact, done.expires_at), ("delivered", None, 500));
        assert_eq!(db.expired_shop_orders(501, 10).await.unwrap().len(), 1);
        db.delete_shop_order("o1", 0).await.unwrap();
        assert!(db.get_shop_order("o1").await.unwrap().is_none());
    }
}
