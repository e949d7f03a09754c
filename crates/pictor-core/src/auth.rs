//! Who is calling, and what they may do.
//!
//! A credential (the HTTP layer reads it from `Authorization: Bearer …` or
//! `X-API-Key`) is:
//! - an API key (`pk_…`), looked up by its sha256 in the database;
//! - a JWT: HS256 with a shared secret, or RS256/ES256 checked against a
//!   JWKS (file or URL) from an identity provider. Its `sub` becomes the
//!   owner; `scope` (space-separated) limits it, defaulting to upload+read.
//!
//! With no API key in the database and no JWT configured the server is
//! *open*, as the seed API is: everyone may do everything, anonymously.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pictor_db::{ApiKeyRecord, Db};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use crate::config::AuthConfig;
use crate::error::{Error, ErrorKind, Result};

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Upload,
    Read,
    Admin,
}

impl Scope {
    fn parse_list(text: &str) -> Vec<Scope> {
        text.split([' ', ','])
            .filter_map(|s| match s.trim() {
                "upload" | "write" => Some(Scope::Upload),
                "read" => Some(Scope::Read),
                "admin" => Some(Scope::Admin),
                _ => None,
            })
            .collect()
    }
}

/// An authenticated (or, on an open server, anonymous) caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Recorded as the owner of what they upload; `None` when anonymous.
    pub owner: Option<String>,
    scopes: Vec<Scope>,
}

impl Principal {
    pub fn new(owner: Option<String>, scopes: Vec<Scope>) -> Self {
        Self { owner, scopes }
    }

    fn anonymous_everything() -> Self {
        Self { owner: None, scopes: vec![Scope::Upload, Scope::Read, Scope::Admin] }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// Whether this caller may list or delete `owner`'s images.
    pub fn may_manage(&self, owner: Option<&str>) -> bool {
        self.is_admin() && self.owner.is_some() || self.owner.as_deref() == owner
    }
}

/// Whether any API key or account exists: once one does, callers must say
/// who they are.
async fn credentials_exist(db: &Db) -> Result<bool> {
    Ok(db.count_api_keys().await? > 0 || db.count_users().await? > 0)
}

/// A freshly made API key: the secret is shown once and only its hash kept.
pub struct NewApiKey {
    pub secret: String,
    pub record: ApiKeyRecord,
}

/// Issues an API key for `owner` with `scopes` (e.g. "upload read").
pub async fn create_api_key(db: &Db, owner: &str, scopes: &str, name: Option<String>) -> anyhow::Result<NewApiKey> {
    let scope_list = Scope::parse_list(scopes);
    anyhow::ensure!(!scope_list.is_empty(), "scopes {scopes:?} name none of: upload, read, admin");
    anyhow::ensure!(!owner.trim().is_empty(), "an API key needs an owner");
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("pk_{}", hex::encode(raw));
    let record =
        ApiKeyRecord { id: uuid::Uuid::new_v4().to_string(), owner: owner.into(), scopes: scopes.into(), name };
    db.insert_api_key(&record, &hash_key(&secret)).await?;
    Ok(NewApiKey { secret, record })
}

/// How long a key's lookup is trusted: a key revoked by another process
/// stops working here within this.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
}

/// Verifies bearer JWTs.
struct JwtVerifier {
    secret: Option<DecodingKey>,
    jwks: Option<Jwks>,
    issuer: String,
    audience: String,
}

/// A JWKS and where it came from, reloaded when a token names an unknown key.
struct Jwks {
    source: String,
    keys: RwLock<(JwkSet, Instant)>,
}

const JWKS_RELOAD_INTERVAL: Duration = Duration::from_secs(30);

impl Jwks {
    async fn load(source: &str) -> anyhow::Result<JwkSet> {
        let text = if source.starts_with("http://") || source.starts_with("https://") {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?
                .get(source)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?
        } else {
            tokio::fs::read_to_string(source).await.map_err(|e| anyhow::anyhow!("reading JWKS file {source}: {e}"))?
        };
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("JWKS from {source} is not a valid key set: {e}"))
    }

    async fn key(&self, kid: Option<&str>) -> Option<DecodingKey> {
        if let Some(key) = Self::find(&self.keys.read().await.0, kid) {
            return Some(key);
        }
        let mut guard = self.keys.write().await;
        if guard.1.elapsed() >= JWKS_RELOAD_INTERVAL {
            match Self::load(&self.source).await {
                Ok(set) => *guard = (set, Instant::now()),
                Err(e) => tracing::warn!(error = %e, "reloading JWKS failed"),
            }
        }
        Self::find(&guard.0, kid)
    }

    fn find(set: &JwkSet, kid: Option<&str>) -> Option<DecodingKey> {
        let jwk = match kid {
            Some(kid) => set.find(kid)?,
            None => set.keys.first()?,
        };
        DecodingKey::from_jwk(jwk).ok()
    }
}

impl JwtVerifier {
    async fn verify(&self, token: &str) -> Result<Principal> {
        let invalid = |why: String| Error::new(ErrorKind::Unauthorized, format!("bearer token rejected: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => {
                self.secret.clone().ok_or_else(|| invalid("HS256 tokens are not accepted here".into()))?
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self.jwks.as_ref().ok_or_else(|| invalid("no JWKS is configured for RS256/ES256".into()))?;
                jwks.key(header.kid.as_deref()).await.ok_or_else(|| invalid("signing key not in the JWKS".into()))?
            }
            other => return Err(invalid(format!("algorithm {other:?} is not accepted; use HS256, RS256 or ES256"))),
        };
        // The algorithm comes from the key's kind above, never from a
        // token alone; `nbf` is checked too, with the default 60 s leeway
        // for clocks apart.
        let mut validation = Validation::new(header.alg);
        validation.validate_nbf = true;
        // A configured issuer or audience must be present, not just match
        // when present.
        if !self.issuer.is_empty() {
            validation.set_issuer(&[&self.issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        validation.validate_aud = !self.audience.is_empty();
        if !self.audience.is_empty() {
            validation.set_audience(&[&self.audience]);
            validation.required_spec_claims.insert("aud".into());
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| invalid(e.to_string()))?;
        let scopes = match data.claims.scope.as_deref() {
            Some(text) => Scope::parse_list(text),
            None => vec![Scope::Upload, Scope::Read],
        };
        Ok(Principal { owner: Some(data.claims.sub), scopes })
    }
}

/// The authenticator shared by all requests.
pub struct Auth {
    db: Db,
    jwt: Option<JwtVerifier>,
    anonymous_reads: bool,
    /// Whether API keys exist, as last read from the database, and when.
    /// Re-read at most once a second while none exist; once some do, the
    /// server stays closed. Only a successful read updates it.
    keys_exist: RwLock<(bool, Instant)>,
    key_cache: quick_cache::sync::Cache<String, (Option<Principal>, std::time::Instant)>,
}

const OPEN_RECHECK: Duration = Duration::from_secs(1);

impl Auth {
    pub async fn new(config: &AuthConfig, db: Db) -> anyhow::Result<Arc<Self>> {
        let jwt = if config.jwt_secret.is_empty() && config.jwks.is_empty() {
            None
        } else {
            let jwks = if config.jwks.is_empty() {
                None
            } else {
                let set = Jwks::load(&config.jwks).await?;
                Some(Jwks { source: config.jwks.clone(), keys: RwLock::new((set, Instant::now())) })
            };
            Some(JwtVerifier {
                secret: (!config.jwt_secret.is_empty()).then(|| DecodingKey::from_secret(config.jwt_secret.as_bytes())),
                jwks,
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
            })
        };
        let keys_exist = credentials_exist(&db).await?;
        Ok(Arc::new(Self {
            db,
            jwt,
            anonymous_reads: config.anonymous_reads,
            keys_exist: RwLock::new((keys_exist, Instant::now())),
            key_cache: quick_cache::sync::Cache::new(10_000),
        }))
    }

    /// Open means no credentials are configured at all. When that needs a
    /// fresh look at the database and it cannot be read, the answer is the
    /// error (503 `database_unavailable` when it is down): neither open nor
    /// closed is guessed, and nothing is remembered from the failure.
    pub async fn check_open(&self) -> Result<bool> {
        if self.jwt.is_some() {
            return Ok(false);
        }
        {
            let (exist, at) = *self.keys_exist.read().await;
            if exist || at.elapsed() < OPEN_RECHECK {
                return Ok(!exist);
            }
        }
        let exist = credentials_exist(&self.db).await?;
        *self.keys_exist.write().await = (exist, Instant::now());
        Ok(!exist)
    }

    /// Closes the server at once: an account or key was just made in this
    /// process (others see it within a second).
    pub async fn close_now(&self) {
        *self.keys_exist.write().await = (true, Instant::now());
    }

    /// As [`Auth::check_open`], falling back to the last successful read
    /// when the database cannot be read: for messages and for narrowing
    /// what an authenticated admin may see, never for letting anyone in.
    pub async fn is_open(&self) -> bool {
        match self.check_open().await {
            Ok(open) => open,
            Err(_) => !self.keys_exist.read().await.0,
        }
    }

    /// The caller presenting `credential` (or none), who must hold `scope`.
    pub async fn require(&self, credential: Option<&str>, scope: Scope) -> Result<Principal> {
        let principal = match credential {
            Some(token) => self.verify(token).await?,
            None if self.check_open().await? => Principal::anonymous_everything(),
            None if scope == Scope::Read && self.anonymous_reads => {
                Principal { owner: None, scopes: vec![Scope::Read] }
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    "credentials required: send `Authorization: Bearer <API key or JWT>`",
                ));
            }
        };
        if !principal.has(scope) {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!("these credentials lack the {scope:?} scope").to_lowercase(),
            ));
        }
        Ok(principal)
    }

    async fn verify(&self, token: &str) -> Result<Principal> {
        if token.starts_with("pk_") {
            return self.verify_key(token).await;
        }
        match &self.jwt {
            Some(jwt) => jwt.verify(token).await,
            None => Err(Error::new(
                ErrorKind::Unauthorized,
                "unknown credentials: no JWT issuer is configured, and this is not an API key",
            )),
        }
    }

    /// Revokes one of `owner`'s keys: refused here at once, and by other
    /// processes once their cache entry lapses. False when no such live key.
    pub async fn revoke_key(&self, owner: &str, id: &str) -> Result<bool> {
        let Some(hash) = self.db.revoke_api_key(owner, id).await? else { return Ok(false) };
        self.key_cache.remove(&hash);
        Ok(true)
    }

    async fn verify_key(&self, secret: &str) -> Result<Principal> {
        let hash = hash_key(secret);
        let found = match self.key_cache.get(&hash) {
            Some((found, at)) if at.elapsed() < KEY_CACHE_TTL => found,
            _ => {
                let found = self
                    .db
                    .find_api_key(&hash)
                    .await?
                    .map(|k| Principal { owner: Some(k.owner), scopes: Scope::parse_list(&k.scopes) });
                self.key_cache.insert(hash, (found.clone(), std::time::Instant::now()));
                found
            }
        };
        found.ok_or_else(|| Error::new(ErrorKind::Unauthorized, "API key not recognised (revoked or mistyped)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_admin_implies_all() {
        assert_eq!(Scope::parse_list("upload, read bogus"), [Scope::Upload, Scope::Read]);
        let admin = Principal { owner: Some("a".into()), scopes: vec![Scope::Admin] };
        assert!(admin.has(Scope::Upload) && admin.may_manage(Some("b")));
        let user = Principal { owner: Some("a".into()), scopes: vec![Scope::Read] };
        assert!(!user.has(Scope::Upload));
        assert!(user.may_manage(Some("a")) && !user.may_manage(Some("b")) && !user.may_manage(None));
    }
}
