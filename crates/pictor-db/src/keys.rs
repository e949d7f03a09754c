//! API keys. Only a sha256 of each key is stored; the key itself is shown
//! once, when it is created.

use crate::{Db, Result, now_ms};

/// A stored API key (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub owner: String,
    /// Space-separated scopes: `upload`, `read`, `admin`.
    pub scopes: String,
    pub name: Option<String>,
}

impl Db {
    pub async fn insert_api_key(&self, key: &ApiKeyRecord, key_hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, owner, scopes, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(key_hash)
        .bind(&key.owner)
        .bind(&key.scopes)
        .bind(&key.name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let payload = serde_json::json!({ "scopes": key.scopes, "name": key.name });
        crate::events::record(&mut tx, &self.outbox(), "api_key.created", &key.id, Some(&key.owner), payload).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live key with this hash, if any.
    pub async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>> {
        Ok(sqlx::query_as("SELECT id, owner, scopes, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// How many keys are live: with none (and no JWT issuer) a server is open.
    pub async fn count_api_keys(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn keys_are_found_by_hash_only() {
        let (_d, db) = testing::sqlite().await;
        assert_eq!(db.count_api_keys().await.unwrap(), 0);
        let key = ApiKeyRecord { id: "k1".into(), owner: "alice".into(), scopes: "upload read".into(), name: None };
        db.insert_api_key(&key, "hash1").await.unwrap();
        assert_eq!(db.find_api_key("hash1").await.unwrap(), Some(key));
        assert_eq!(db.find_api_key("k1").await.unwrap(), None);
        assert_eq!(db.count_api_keys().await.unwrap(), 1);
        assert_eq!(db.events_for("k1").await.unwrap()[0].kind, "api_key.created");
    }
}
