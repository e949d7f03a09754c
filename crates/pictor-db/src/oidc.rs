//! OIDC sign-in: the flows in flight (`oidc_logins`, each taken once) and
//! the identities (`identities`: an issuer's subject → an account).
//!
//! A flow row is written when the visitor leaves for the provider and
//! deleted by the callback that presents its state, in the same statement
//! that reads it: a replayed or raced callback finds nothing.

use crate::accounts::{USER_COLUMNS, UserRecord};
use crate::{Db, Result, now_ms};

/// A sign-in in flight, as the callback needs it back.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OidcLogin {
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// Where to go once signed in (a local path).
    pub next: String,
    pub redirect_url: String,
    pub expires_at: i64,
}

/// What [`Db::insert_user_with_identity`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewIdentity {
    Created(UserRecord),
    /// The account name is taken: try another.
    NameTaken,
    /// Another sign-in linked this identity first: it is this account's.
    AlreadyLinked(UserRecord),
}

impl Db {
    /// Records a flow under the hash of its state; drops expired ones.
    pub async fn insert_oidc_login(&self, state_hash: &str, login: &OidcLogin) -> Result<()> {
        let now = now_ms();
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO oidc_logins (state_hash, nonce, verifier, next, redirect_url, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(state_hash)
        .bind(&login.nonce)
        .bind(&login.verifier)
        .bind(&login.next)
        .bind(&login.redirect_url)
        .bind(now)
        .bind(login.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the unexpired flow with this state hash: deleted as it is read,
    /// so only one caller ever gets it.
    pub async fn take_oidc_login(&self, state_hash: &str) -> Result<Option<OidcLogin>> {
        let taken: Option<OidcLogin> = sqlx::query_as(
            "DELETE FROM oidc_logins WHERE state_hash = $1
             RETURNING nonce, verifier, next, redirect_url, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.filter(|login| login.expires_at > now_ms()))
    }

    /// The account an issuer's subject signs in as.
    pub async fn user_by_identity(&self, issuer: &str, subject: &str) -> Result<Option<UserRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM identities JOIN users ON users.id = identities.user_id
             WHERE identities.issuer = $1 AND identities.subject = $2"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Adds an account without a password and links the identity to it, in
    /// one transaction: never an account without its identity.
    pub async fn insert_user_with_identity(
        &self,
        user: &UserRecord,
        issuer: &str,
        subject: &str,
    ) -> Result<NewIdentity> {
        let mut tx = self.begin_write().await?;
        if let Some(linked) = self.identity_in(&mut tx, issuer, subject).await? {
            return Ok(NewIdentity::AlreadyLinked(linked));
        }
        let added = sqlx::query(
            "INSERT INTO users (id, name, password_hash, admin, created_at) VALUES ($1, $2, NULL, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&user.id)
        .bind(&user.name)
        .bind(i64::from(user.admin))
        .bind(user.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 0 {
            return Ok(NewIdentity::NameTaken);
        }
        sqlx::query("INSERT INTO identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind(issuer)
            .bind(subject)
            .bind(&user.id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(NewIdentity::Created(user.clone()))
    }

    async fn identity_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UserRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM identities JOIN users ON users.id = identities.user_id
             WHERE identities.issuer = $1 AND identities.subject = $2"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut **tx)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sqlite;

    fn login(expires_at: i64) -> OidcLogin {
        OidcLogin {
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/tags".into(),
            redirect_url: "http://127.0.0.1/login/oidc/callback".into(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn a_flow_is_taken_once_and_never_after_it_expires() {
        let (_dir, db) = sqlite().await;
        db.insert_oidc_login("live", &login(now_ms() + 60_000)).await.unwrap();
        db.insert_oidc_login("old", &login(now_ms() - 1)).await.unwrap();
        assert_eq!(db.take_oidc_login("live").await.unwrap().unwrap().next, "/tags");
        assert_eq!(db.take_oidc_login("live").await.unwrap(), None, "single use");
        assert_eq!(db.take_oidc_login("old").await.unwrap(), None, "expired");
        assert_eq!(db.take_oidc_login("unknown").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_identity_makes_one_account() {
        let (_dir, db) = sqlite().await;
        let user =
            |id: &str, name: &str| UserRecord { id: id.into(), name: name.into(), admin: false, created_at: now_ms() };
        let ann = user("1", "ann");
        let made = db.insert_user_with_identity(&ann, "https://idp", "sub-1").await.unwrap();
        assert_eq!(made, NewIdentity::Created(ann));
        let again = db.insert_user_with_identity(&user("2", "ann2"), "https://idp", "sub-1").await.unwrap();
        assert!(matches!(again, NewIdentity::AlreadyLinked(u) if u.name == "ann"));
        let taken = db.insert_user_with_identity(&user("3", "ann"), "https://idp", "sub-2").await.unwrap();
        assert_eq!(taken, NewIdentity::NameTaken);
        assert_eq!(db.user_by_identity("https://idp", "sub-1").await.unwrap().unwrap().name, "ann");
        assert_eq!(db.user_by_identity("https://other", "sub-1").await.unwrap(), None);
        let (_, hash) = db.user_with_password("ann").await.unwrap().unwrap();
        assert_eq!(hash, None, "an OIDC account has no password");
        assert_eq!(db.count_users().await.unwrap(), 1);
    }
}
