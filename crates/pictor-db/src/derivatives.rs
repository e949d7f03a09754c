//! The LRU ledger of cached derivatives. The objects live in the store; these
//! rows know their sizes and when each was last served, so the cache can be
//! held under its cap across processes.

use sqlx::{FromRow, Row};

use crate::{Db, Result, now_ms};

/// A cached derivative: the blob it came from and its name under that blob.
#[derive(Clone, Debug, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct DerivativeRef {
    pub sha256: String,
    pub name: String,
}

impl Db {
    /// Takes the lease to compute `d` for `holder` until `expires_at` (Unix
    /// ms): true when no one else holds a live one. Other processes wait for
    /// the derivative to appear in the store instead of computing it too.
    pub async fn take_derivative_lease(&self, d: &DerivativeRef, holder: &str, expires_at: i64) -> Result<bool> {
        let taken = sqlx::query(
            "INSERT INTO derivative_leases (sha256, name, holder, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256, name) DO UPDATE SET holder = $3, expires_at = $4
             WHERE derivative_leases.expires_at < $5",
        )
        .bind(&d.sha256)
        .bind(&d.name)
        .bind(holder)
        .bind(expires_at)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Gives the lease back (the derivative is stored, or failed).
    pub async fn release_derivative_lease(&self, d: &DerivativeRef, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM derivative_leases WHERE sha256 = $1 AND name = $2 AND holder = $3")
            .bind(&d.sha256)
            .bind(&d.name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a derivative just written to the store.
    pub async fn record_derivative(&self, d: &DerivativeRef, bytes: i64) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO derivatives (sha256, name, bytes, last_access, created_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (sha256, name) DO UPDATE SET bytes = $3, last_access = $4",
        )
        .bind(&d.sha256)
        .bind(&d.name)
        .bind(bytes)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves derivatives to the young end of the LRU; called in batches.
    pub async fn touch_derivatives(&self, refs: &[DerivativeRef]) -> Result<()> {
        let now = now_ms();
        for d in refs {
            sqlx::query("UPDATE derivatives SET last_access = $1 WHERE sha256 = $2 AND name = $3")
                .bind(now)
                .bind(&d.sha256)
                .bind(&d.name)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Total bytes of cached derivatives.
    pub async fn derivative_bytes(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS total FROM derivatives")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The least recently served derivatives, oldest first.
    pub async fn oldest_derivatives(&self, limit: i64) -> Result<Vec<(DerivativeRef, i64)>> {
        let rows =
            sqlx::query("SELECT sha256, name, bytes FROM derivatives ORDER BY last_access, sha256, name LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok((DerivativeRef::from_row(r)?, r.try_get("bytes")?))).collect()
    }

    /// Drops a derivative's row (its object is deleted by the caller).
    pub async fn forget_derivative(&self, d: &DerivativeRef) -> Result<()> {
        sqlx::query("DELETE FROM derivatives WHERE sha256 = $1 AND name = $2")
            .bind(&d.sha256)
            .bind(&d.name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn r(name: &str) -> DerivativeRef {
        DerivativeRef { sha256: "cc".repeat(32), name: name.into() }
    }

    #[tokio::test]
    async fn lru_order_follows_touches() {
        let (_d, db) = testing::sqlite().await;
        for name in ["a", "b", "c"] {
            db.record_derivative(&r(name), 10).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        assert_eq!(db.derivative_bytes().await.unwrap(), 30);
        db.touch_derivatives(&[r("a")]).await.unwrap();
        let oldest: Vec<_> = db.oldest_derivatives(2).await.unwrap().into_iter().map(|(d, _)| d.name).collect();
        assert_eq!(oldest, ["b", "c"]);
        db.forget_derivative(&r("b")).await.unwrap();
        assert_eq!(db.derivative_bytes().await.unwrap(), 20);
    }

    #[tokio::test]
    async fn a_lease_is_held_once_until_released_or_expired() {
        let (_d, db) = testing::sqlite().await;
        let later = now_ms() + 60_000;
        assert!(db.take_derivative_lease(&r("a"), "p1", later).await.unwrap());
        assert!(!db.take_derivative_lease(&r("a"), "p2", later).await.unwrap(), "held by p1");
        assert!(db.take_derivative_lease(&r("b"), "p2", later).await.unwrap(), "another derivative");
        db.release_derivative_lease(&r("a"), "p2").await.unwrap();
        assert!(!db.take_derivative_lease(&r("a"), "p2", later).await.unwrap(), "only the holder releases");
        db.release_derivative_lease(&r("a"), "p1").await.unwrap();
        assert!(db.take_derivative_lease(&r("a"), "p2", now_ms() - 1).await.unwrap(), "released: free again");
        assert!(db.take_derivative_lease(&r("a"), "p3", later).await.unwrap(), "an expired lease is taken over");
    }
}
