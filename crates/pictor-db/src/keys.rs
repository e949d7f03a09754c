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

/// A key as its owner's settings page lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ApiKeySummary {
    pub id: String,
    pub name: Option<String>,
    pub scopes: String,
    pub created_at: i64,
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

    /// The owner's live keys, newest first.
    pub async fn list_api_keys(&self, owner: &str) -> Result<Vec<ApiKeySummary>> {
        Ok(sqlx::query_as(
            "SELECT id, name, scopes, created_at FROM api_keys WHERE owner = $1 AND revoked_at IS NULL
             ORDER BY created_at DESC, id",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes one of the owner's live keys (`api_key.revoked`); returns its
    /// hash, or `None` when the owner has no such live key.
    pub async fn revoke_api_key(&self, owner: &str, id: &str) -> Result<Option<String>> {
        let mut tx = self.begin_write().await?;
        let hash: Option<String> = sqlx::query_scalar(
            "UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND owner = $2 AND revoked_at IS NULL RETURNING key_hash",
        )
        .bind(id)
        .bind(owner)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        if hash.is_some() {
            crate::events::record(&mut tx, &self.outbox(), "api_key.revoked", id, Some(owner), serde_json::json!({}))
                .await?;
        }
        tx.commit().await?;
        Ok(hash)
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

        assert_eq!(db.list_api_keys("alice").await.unwrap()[0].id, "k1");
        assert_eq!(db.revoke_api_key("bob", "k1").await.unwrap(), None, "only its owner revokes a key");
        assert_eq!(db.revoke_api_key("alice", "k1").await.unwrap().as_deref(), Some("hash1"));
        assert_eq!(db.revoke_api_key("alice", "k1").await.unwrap(), None);
        assert_eq!(db.find_api_key("hash1").await.unwrap(), None);
        assert!(db.list_api_keys("alice").await.unwrap().is_empty());
    }
}
