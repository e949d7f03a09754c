//! Accounts, web sessions and failed sign-ins (OIDC identities and
//! sign-ins in flight are in `oidc.rs`).
//!
//! Only hashes are kept: argon2id for passwords (made above, in the core),
//! sha256 for session tokens. Deleting an account deletes its sessions.

use crate::{Db, Result, now_ms};

/// An account (never its password).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    /// The owner name recorded on what the account uploads.
    pub name: String,
    #[sqlx(try_from = "crate::columns::Flag")]
    pub admin: bool,
    pub created_at: i64,
}

/// A live session and its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub csrf: String,
}

/// An account as the admin's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserSummary {
    #[sqlx(flatten)]
    pub user: UserRecord,
    pub photos: i64,
}

pub(crate) const USER_COLUMNS: &str = "users.id, users.name, users.admin, users.created_at";

impl Db {
    /// Adds an account; false when the name is taken.
    pub async fn insert_user(&self, id: &str, name: &str, password_hash: Option<&str>, admin: bool) -> Result<bool> {
        let added = sqlx::query(
            "INSERT INTO users (id, name, password_hash, admin, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(password_hash)
        .bind(i64::from(admin))
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added > 0)
    }

    /// The account `name` and its password hash (none for OIDC-only ones).
    pub async fn user_with_password(&self, name: &str) -> Result<Option<(UserRecord, Option<String>)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, users.password_hash FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = <UserRecord as sqlx::FromRow<_>>::from_row(&row)?;
        Ok(Some((user, sqlx::Row::try_get(&row, "password_hash")?)))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every account with how many photos it owns, by name.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS}, (SELECT COUNT(*) FROM images WHERE images.owner = users.name) AS photos
             FROM users ORDER BY users.name"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Makes `name` an admin or not; never takes the last admin's role
    /// away. `None` when there is no such account, `Some(false)` when it
    /// is the last admin.
    pub async fn set_admin(&self, name: &str, admin: bool) -> Result<Option<bool>> {
        let changed = sqlx::query(
            "UPDATE users SET admin = $1 WHERE name = $2
               AND ($1 = 1 OR EXISTS (SELECT 1 FROM users others WHERE others.admin = 1 AND others.name <> $2))",
        )
        .bind(i64::from(admin))
        .bind(name)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed > 0 {
            return Ok(Some(true));
        }
        Ok(self.user_by_name(name).await?.map(|_| false))
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    pub async fn insert_session(&self, token_hash: &str, user_id: &str, csrf: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unexpired session with this token hash, and its account.
    pub async fn find_session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, sessions.csrf FROM sessions
             JOIN users ON users.id = sessions.user_id
             WHERE sessions.token_hash = $1 AND sessions.expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: <UserRecord as sqlx::FromRow<_>>::from_row(&row)?,
            csrf: sqlx::Row::try_get(&row, "csrf")?,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Records a failed sign-in for `name`; returns how many it has had
    /// since `since` (Unix ms), this one included. Older ones are pruned.
    pub async fn record_login_failure(&self, name: &str, since: i64) -> Result<i64> {
        sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(since).execute(&self.pool).await?;
        sqlx::query("INSERT INTO login_failures (name, at) VALUES ($1, $2)")
            .bind(name)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        self.login_failures_since(name, since).await
    }

    pub async fn login_failures_since(&self, name: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE name = $1 AND at >= $2")
            .bind(name)
            .bind(since)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn clear_login_failures(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(())
    }
}
