//! Accounts: names that validate when built, argon2id passwords, sign-in
//! with throttling, and server-side sessions, each with its CSRF token.
//!
//! Why sessions live in the database: any process can check or revoke one,
//! and signing out everywhere is one delete. The cookie carries a random
//! 256-bit token; only its sha256 is stored, so a copy of the table opens
//! nothing. An account's name is the owner recorded on what it uploads, so
//! API keys and JWT subjects of the same name act for the same account.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use pictor_db::{Db, SessionRecord, UserRecord};
use sha2::Digest as _;

use crate::auth::{Principal, Scope};
use crate::config::Signup;
use crate::error::{Error, ErrorKind, Result};

/// How long a session lasts without signing in again.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Failed sign-ins per account within [`THROTTLE_WINDOW`] before sign-in
/// is refused for the rest of the window.
pub const MAX_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// An account name: 1-64 of `a-z 0-9 . _ -`, starting with a letter or a
/// digit; stored lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim().to_ascii_lowercase();
        let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if name.len() > 64 || !valid_chars || !starts_well {
            return Err(Error::bad_request(
                "a user name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 1,024 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.chars().count() {
            10..=1024 => Ok(Self(raw.to_string())),
            _ => Err(Error::bad_request("a password is 10 to 1,024 characters long")),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The argon2id PHC string of `password`, with a fresh salt (OWASP's
/// parameters: the crate's defaults, 19 MiB, 2 passes).
pub async fn hash_password(password: &Password) -> Result<String> {
    hash_secret(password.0.clone()).await
}

/// The argon2id PHC string of any secret (a password, a share's password).
pub(crate) async fn hash_secret(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(Error::internal)?;
        Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(Error::internal)?.to_string())
    })
    .await
    .map_err(Error::internal)?
}

/// Whether `password` matches the PHC string `hash`.
pub(crate) async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Creates an account; `InvalidRequest` naming the name when it is taken.
pub async fn create_user(db: &Db, name: &Username, password: Option<&Password>, admin: bool) -> Result<UserRecord> {
    let hash = match password {
        Some(password) => Some(hash_password(password).await?),
        None => None,
    };
    let id = uuid::Uuid::now_v7().to_string();
    if !db.insert_user(&id, name.as_str(), hash.as_deref(), admin).await? {
        return Err(Error::new(ErrorKind::InvalidRequest, format!("the user name {:?} is taken", name.as_str())));
    }
    db.user_by_name(name.as_str()).await?.ok_or_else(|| Error::internal("the new account was not found"))
}

/// Whether the sign-up page may make an account now.
pub async fn signup_open(db: &Db, policy: Signup) -> Result<bool> {
    Ok(match policy {
        Signup::Closed => false,
        Signup::Open => true,
        Signup::First => db.count_users().await? == 0,
    })
}

/// Makes an account from the sign-up page, as `policy` allows, and signs
/// it in. The first account of a server is its admin.
pub async fn sign_up(db: &Db, policy: Signup, name: &str, password: &str) -> Result<NewSession> {
    if !signup_open(db, policy).await? {
        return Err(Error::new(
            ErrorKind::Forbidden,
            "sign-up is closed here: ask an admin for an account (`pictor admin create-user`)",
        ));
    }
    let (name, password) = (Username::parse(name)?, Password::parse(password)?);
    let first = db.count_users().await? == 0;
    let user = create_user(db, &name, Some(&password), first).await?;
    start_session(db, user).await
}

/// A session just started: `token` goes in the cookie, once.
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub user: UserRecord,
}

/// Checks a name and password; starts a session. After [`MAX_FAILURES`]
/// failures within [`THROTTLE_WINDOW`] the account is refused with
/// `RateLimited` (even with the right password) until the window passes.
/// Unknown names cost the same hashing as known ones.
pub async fn sign_in(db: &Db, name: &str, password: &str) -> Result<NewSession> {
    let name = name.trim().to_ascii_lowercase();
    let since = pictor_db::now_ms() - THROTTLE_WINDOW.as_millis() as i64;
    if db.login_failures_since(&name, since).await? >= MAX_FAILURES {
        return Err(throttled());
    }
    let found = db.user_with_password(&name).await?;
    let hash = match found.as_ref().and_then(|(_, hash)| hash.clone()) {
        Some(hash) => hash,
        None => dummy_hash().await?,
    };
    let matches = verify_password(password, &hash).await;
    match found {
        Some((user, Some(_))) if matches => {
            db.clear_login_failures(&name).await?;
            start_session(db, user).await
        }
        _ => {
            let failures = db.record_login_failure(&name, since).await?;
            Err(if failures >= MAX_FAILURES {
                throttled()
            } else {
                Error::new(ErrorKind::Unauthorized, "the user name or the password is wrong")
            })
        }
    }
}

fn throttled() -> Error {
    Error::new(
        ErrorKind::RateLimited,
        format!("too many failed sign-ins for this account: try again in {} minutes", THROTTLE_WINDOW.as_secs() / 60),
    )
    .with_retry_after(THROTTLE_WINDOW.as_secs())
}

/// A hash of no one's password, made once per process, verified against
/// when the name is unknown, so that timing does not tell which names exist.
async fn dummy_hash() -> Result<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let made = DUMMY.get_or_try_init(|| async { hash_password(&Password(random_token())).await }).await?;
    Ok(made.clone())
}

/// Starts a session for `user` (after a password or an OIDC sign-in).
pub async fn start_session(db: &Db, user: UserRecord) -> Result<NewSession> {
    let token = random_token();
    let csrf = random_token();
    let expires_at = pictor_db::now_ms() + SESSION_LIFETIME.as_millis() as i64;
    db.insert_session(&token_hash(&token), &user.id, &csrf, expires_at).await?;
    Ok(NewSession { token, csrf, user })
}

/// The live session a cookie's token stands for.
pub async fn session(db: &Db, token: &str) -> Result<Option<SessionRecord>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(db.find_session(&token_hash(token)).await?)
}

/// Ends the session a token stands for (nothing if it is unknown).
pub async fn sign_out(db: &Db, sessions: &Sessions, token: &str) -> Result<()> {
    sessions.forget(token);
    Ok(db.delete_session(&token_hash(token)).await?)
}

/// How long [`Sessions`] trusts a looked-up session.
pub const SESSION_RECHECK: Duration = Duration::from_secs(5);

/// Recently looked-up sessions as API callers, so that a page's dozens of
/// thumbnail requests do not each read the database. A sign-out in this
/// process takes effect at once; in another, within [`SESSION_RECHECK`].
pub struct Sessions(quick_cache::sync::Cache<String, (Option<Principal>, std::time::Instant)>);

impl Default for Sessions {
    fn default() -> Self {
        Self(quick_cache::sync::Cache::new(10_000))
    }
}

impl Sessions {
    /// The caller a session cookie's token stands for, if it is live.
    pub async fn principal(&self, db: &Db, token: &str) -> Result<Option<Principal>> {
        let key = token_hash(token);
        if let Some((found, at)) = self.0.get(&key)
            && at.elapsed() < SESSION_RECHECK
        {
            return Ok(found);
        }
        let found = session(db, token).await?.map(|s| principal(&s.user));
        self.0.insert(key, (found.clone(), std::time::Instant::now()));
        Ok(found)
    }

    fn forget(&self, token: &str) {
        self.0.remove(&token_hash(token));
    }
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session: &SessionRecord, presented: &str) -> bool {
    let (a, b) = (sha2::Sha256::digest(session.csrf.as_bytes()), sha2::Sha256::digest(presented.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && !presented.is_empty()
}

/// What a signed-in account may do through the API.
pub fn principal(user: &UserRecord) -> Principal {
    let scopes = if user.admin { vec![Scope::Admin] } else { vec![Scope::Upload, Scope::Read] };
    Principal::new(Some(user.name.clone()), scopes)
}

/// 256 random bits, URL-safe base64: session, CSRF and form tokens.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_validate_when_built() {
        assert_eq!(Username::parse(" Alice.B-2 ").unwrap().as_str(), "alice.b-2");
        for bad in ["", "-alice", "a b", "ålice", &"a".repeat(65), "a/b"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert_eq!(format!("{:?}", Password::parse("long enough").unwrap()), "Password(…)");
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password(&Password::parse("correct horse").unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash).await);
        assert!(!verify_password("wrong horse!", &hash).await);
        assert!(!verify_password("correct horse", &dummy_hash().await.unwrap()).await);
    }

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (dir, Db::connect(&url).await.unwrap())
    }

    #[tokio::test]
    async fn sessions_start_resolve_and_end() {
        let (_dir, db) = db().await;
        let alice = Username::parse("alice").unwrap();
        let user = create_user(&db, &alice, Some(&Password::parse("alice's secret").unwrap()), false).await.unwrap();
        let taken = create_user(&db, &alice, None, false).await.unwrap_err();
        assert!(taken.detail.contains("taken"), "{}", taken.detail);
        let started = sign_in(&db, " Alice ", "alice's secret").await.unwrap();
        assert_eq!(started.user, user);
        assert_ne!(started.token, started.csrf);
        let found = session(&db, &started.token).await.unwrap().expect("the session is live");
        assert_eq!(found.user.name, "alice");
        assert!(csrf_matches(&found, &started.csrf));
        assert!(!csrf_matches(&found, "") && !csrf_matches(&found, &started.token));
        assert_eq!(principal(&found.user).owner.as_deref(), Some("alice"));
        assert!(session(&db, "not a token").await.unwrap().is_none());
        let sessions = Sessions::default();
        let caller = sessions.principal(&db, &started.token).await.unwrap().expect("a caller");
        assert_eq!(caller.owner.as_deref(), Some("alice"));
        sign_out(&db, &sessions, &started.token).await.unwrap();
        assert!(session(&db, &started.token).await.unwrap().is_none(), "signed out means gone");
        assert!(sessions.principal(&db, &started.token).await.unwrap().is_none(), "and forgotten here at once");
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_account_for_a_while() {
        let (_dir, db) = db().await;
        let bob = Username::parse("bob").unwrap();
        create_user(&db, &bob, Some(&Password::parse("bob's secret").unwrap()), false).await.unwrap();
        for _ in 1..MAX_FAILURES {
            let err = sign_in(&db, "bob", "guess guess").await.err().unwrap();
            assert_eq!(err.kind, ErrorKind::Unauthorized);
        }
        let err = sign_in(&db, "bob", "guess guess").await.err().unwrap();
        assert_eq!(err.kind, ErrorKind::RateLimited, "the fifth failure locks");
        let err = sign_in(&db, "bob", "bob's secret").await.err().unwrap();
        assert_eq!(err.kind, ErrorKind::RateLimited, "even the right password waits");
        assert!(err.retry_after.is_some());
        // Unknown names fail the same way, and are throttled too.
        let err = sign_in(&db, "nobody", "bob's secret").await.err().unwrap();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
    }

    #[tokio::test]
    async fn sign_up_follows_the_policy_and_the_first_account_is_admin() {
        let (_dir, db) = db().await;
        let closed = sign_up(&db, Signup::Closed, "eve", "a long password").await.err().unwrap();
        assert_eq!(closed.kind, ErrorKind::Forbidden);
        let bad = sign_up(&db, Signup::First, "a b", "a long password").await.err().unwrap();
        assert_eq!(bad.kind, ErrorKind::InvalidRequest);
        let first = sign_up(&db, Signup::First, "ann", "a long password").await.unwrap();
        assert!(first.user.admin, "the first account runs the server");
        assert!(!signup_open(&db, Signup::First).await.unwrap());
        let late = sign_up(&db, Signup::First, "ben", "a long password").await.err().unwrap();
        assert_eq!(late.kind, ErrorKind::Forbidden);
        let open = sign_up(&db, Signup::Open, "ben", "a long password").await.unwrap();
        assert!(!open.user.admin);
        let taken = sign_up(&db, Signup::Open, "BEN", "a long password").await.err().unwrap();
        assert!(taken.detail.contains("taken"));
    }
}
