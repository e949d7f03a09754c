//! Shares: links to an album or a photo for people without an account, and
//! the log of their use. Looked up by the sha256 of the link's token only;
//! ownership and liveness are checked a layer up; this is the SQL.

use serde::Serialize;

use crate::columns::Flag;
use crate::events::record;
use crate::{Db, Result, now_ms};

/// A share as stored (never its token).
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ShareRecord {
    pub id: String,
    #[serde(skip)]
    pub owner: Option<String>,
    /// `album` or `photo`.
    pub kind: String,
    pub target: String,
    /// The argon2id PHC string of its password, if it has one.
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub expires_at: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub show_metadata: bool,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A share with what its owner's list shows: its target's name and use.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ShareSummary {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub share: ShareRecord,
    /// The album's name or the photo's, if it has one.
    pub target_name: Option<String>,
    /// Pages shown to visitors who got in.
    pub views: i64,
    pub last_access: Option<i64>,
}

/// One visit to a share's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ShareAccess {
    pub at: i64,
    /// The visitor's network (IPv4 /24, IPv6 /48), not their address.
    pub network: Option<String>,
    pub user_agent: Option<String>,
    /// `viewed`, `wrong_password`, `expired` or `revoked`.
    pub outcome: String,
}

/// What a new share is made of.
pub struct NewShare<'a> {
    pub id: &'a str,
    pub owner: Option<&'a str>,
    pub kind: &'a str,
    pub target: &'a str,
    pub token_hash: &'a str,
    pub password_hash: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub show_metadata: bool,
}

const COLUMNS: &str =
    "s.id, s.owner, s.kind, s.target, s.password_hash, s.expires_at, s.show_metadata, s.created_at, s.revoked_at";

impl Db {
    /// Makes a share and its `share.created` event.
    pub async fn insert_share(&self, new: &NewShare<'_>) -> Result<ShareRecord> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO shares (id, owner, kind, target, token_hash, password_hash, expires_at, show_metadata,
                                 created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(new.id)
        .bind(new.owner)
        .bind(new.kind)
        .bind(new.target)
        .bind(new.token_hash)
        .bind(new.password_hash)
        .bind(new.expires_at)
        .bind(i64::from(new.show_metadata))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let payload = serde_json::json!({ "kind": new.kind, "target": new.target });
        record(&mut tx, &self.outbox(), "share.created", new.id, new.owner, payload).await?;
        tx.commit().await?;
        Ok(ShareRecord {
            id: new.id.to_string(),
            owner: new.owner.map(str::to_string),
            kind: new.kind.to_string(),
            target: new.target.to_string(),
            password_hash: new.password_hash.map(str::to_string),
            expires_at: new.expires_at,
            show_metadata: new.show_metadata,
            created_at: now,
            revoked_at: None,
        })
    }

    /// The share whose token has this hash, revoked or not.
    pub async fn share_by_token(&self, token_hash: &str) -> Result<Option<ShareRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM shares s WHERE s.token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn get_share(&self, id: &str) -> Result<Option<ShareRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM shares s WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The owner's shares, newest first, with their use.
    pub async fn list_shares(&self, owner: Option<&str>) -> Result<Vec<ShareSummary>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS},
                CASE WHEN s.kind = 'album' THEN (SELECT a.name FROM albums a WHERE a.id = s.target)
                     ELSE (SELECT i.name FROM images i WHERE i.id = s.target) END AS target_name,
                (SELECT COUNT(*) FROM share_access x WHERE x.share_id = s.id AND x.outcome = 'viewed') AS views,
                (SELECT MAX(x.at) FROM share_access x WHERE x.share_id = s.id) AS last_access
             FROM shares s WHERE (s.owner IS NULL AND $1 IS NULL) OR s.owner = $1
             ORDER BY s.created_at DESC, s.id DESC"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes a live share (`share.revoked`); false when gone or revoked.
    pub async fn revoke_share(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE shares SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING owner",
        )
        .bind(id)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner) = owner else { return Ok(false) };
        record(&mut tx, &self.outbox(), "share.revoked", id, owner.as_deref(), serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Logs one visit to a share's page.
    pub async fn record_share_access(&self, share_id: &str, access: &ShareAccess) -> Result<()> {
        sqlx::query(
            "INSERT INTO share_access (share_id, at, network, user_agent, outcome) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(share_id)
        .bind(access.at)
        .bind(&access.network)
        .bind(&access.user_agent)
        .bind(&access.outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A share's latest visits, newest first.
    pub async fn share_access(&self, share_id: &str, limit: i64) -> Result<Vec<ShareAccess>> {
        Ok(sqlx::query_as(
            "SELECT at, network, user_agent, outcome FROM share_access WHERE share_id = $1
             ORDER BY at DESC LIMIT $2",
        )
        .bind(share_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many visits to a share since `since` had this outcome.
    pub async fn count_share_access(&self, share_id: &str, outcome: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM share_access WHERE share_id = $1 AND outcome = $2 AND at >= $3",
        )
        .bind(share_id)
        .bind(outcome)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Whether `image_id` is in the album `album_id`.
    pub async fn album_holds(&self, album_id: &str, image_id: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 AS one FROM album_images WHERE album_id = $1 AND image_id = $2")
                .bind(album_id)
                .bind(image_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn shares_are_found_by_hash_revoked_once_and_logged() {
        let (_d, db) = testing::sqlite().await;
        db.insert_album("a1", Some("ann"), "Trip", "").await.unwrap();
        let new = NewShare {
            id: "s1",
            owner: Some("ann"),
            kind: "album",
            target: "a1",
            token_hash: "h1",
            password_hash: None,
            expires_at: Some(5),
            show_metadata: true,
        };
        let made = db.insert_share(&new).await.unwrap();
        assert_eq!(db.share_by_token("h1").await.unwrap(), Some(made.clone()));
        assert_eq!(db.share_by_token("s1").await.unwrap(), None);
        let access = |outcome: &str, at| ShareAccess { at, network: None, user_agent: None, outcome: outcome.into() };
        db.record_share_access("s1", &access("viewed", 10)).await.unwrap();
        db.record_share_access("s1", &access("wrong_password", 11)).await.unwrap();
        let listed = db.list_shares(Some("ann")).await.unwrap();
        assert_eq!(listed[0].target_name.as_deref(), Some("Trip"));
        assert_eq!((listed[0].views, listed[0].last_access, listed[0].share.show_metadata), (1, Some(11), true));
        assert!(db.list_shares(Some("bob")).await.unwrap().is_empty());
        assert_eq!(db.share_access("s1", 10).await.unwrap()[0].outcome, "wrong_password");
        assert_eq!(db.count_share_access("s1", "wrong_password", 0).await.unwrap(), 1);
        assert_eq!(db.count_share_access("s1", "wrong_password", 12).await.unwrap(), 0);
        assert!(db.revoke_share("s1").await.unwrap());
        assert!(!db.revoke_share("s1").await.unwrap());
        assert!(db.get_share("s1").await.unwrap().unwrap().revoked_at.is_some());
        let kinds: Vec<_> = db.events_for("s1").await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["share.created", "share.revoked"]);
    }
}
