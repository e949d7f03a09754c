//! Sign-in through an OpenID Connect provider: the authorization code flow
//! with PKCE, for the web app.
//!
//! [`Oidc::start`] makes a random state, nonce and PKCE verifier, keeps them
//! in the database (so that any process can finish the sign-in) and returns
//! the provider's authorization URL. [`Oidc::finish`] takes the state back
//! once, exchanges the code with the verifier, verifies the ID token
//! (signature, issuer, audience, nonce, expiry) and signs the identity
//! (issuer, subject) in as its account, making one when the sign-up policy
//! allows. The provider's discovery document and keys are cached for
//! [`DISCOVERY_TTL`], and fetched again once when a token names an unknown
//! key. Knows no HTTP server: the web app passes the callback URL in.
//!
//! [`Oidc::bearer`] takes the provider's JWTs as API credentials (the asset
//! manager's API, whose original clients send a Cognito ID token): the
//! same checks but the nonce (there was no sign-in here), and the same
//! identity → account as a web sign-in ([`Oidc::account`]), so a token and
//! the web app name one owner.

use std::time::{Duration, Instant};

use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, NonceVerifier, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use pictor_db::{Db, NewIdentity, OidcLogin, UserRecord};
use serde_json::{Map, Value};
use sha2::Digest as _;
use tokio::sync::RwLock;

use crate::accounts::{NewSession, Username, random_token, signup_open, start_session};
use crate::config::{OidcConfig, Signup};
use crate::error::{Error, ErrorKind, Result};

/// How long a sign-in may stay at the provider before its state expires.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long the provider's discovery document and keys are trusted.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(60 * 60);
/// A bearer token that fails verification fetches the provider's keys
/// again only when they are older than this (a rotation), not per token.
const REFRESH_AFTER: Duration = Duration::from_secs(60);
/// Requests to the provider give up after this long.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The configured provider, with its discovery document once fetched.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovered: RwLock<Option<(CoreProviderMetadata, Instant)>>,
}

/// Where to send the visitor, and the state their browser must present
/// again (the web app keeps it in a cookie, binding the flow to it).
pub struct Started {
    pub url: String,
    pub state: String,
}

/// The caller behind a verified bearer token of the provider's.
pub struct Bearer {
    /// The account the identity signs in as.
    pub user: UserRecord,
    /// The `email` claim, if any.
    pub email: Option<String>,
    /// The `email_verified` claim, if present.
    pub email_verified: Option<bool>,
}

/// A finished sign-in.
pub struct Finished {
    pub session: NewSession,
    /// The local path the visitor was headed to.
    pub next: String,
    /// Whether this sign-in made the account.
    pub created: bool,
}

impl Oidc {
    /// The provider `config` names, or `None` when OIDC is off. Contacts
    /// nothing: discovery waits for the first sign-in.
    pub fn new(config: &OidcConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled() {
            return Ok(None);
        }
        // No redirects: a provider's endpoints answer directly (and a
        // redirect must not take the code elsewhere).
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(PROVIDER_TIMEOUT).build()?;
        Ok(Some(Self { config: config.clone(), http, discovered: RwLock::new(None) }))
    }

    /// What the sign-in button names: "Sign in with {name}".
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The configured callback URL, if one is set.
    pub fn configured_redirect_url(&self) -> Option<&str> {
        Some(self.config.redirect_url.as_str()).filter(|url| !url.is_empty())
    }

    /// Starts a sign-in that returns to `redirect_url`, then to `next`.
    pub async fn start(&self, db: &Db, next: &str, redirect_url: &str) -> Result<Started> {
        let redirect = RedirectUrl::new(redirect_url.to_string())
            .map_err(|e| Error::bad_request(format!("the sign-in callback URL {redirect_url:?} is invalid: {e}")))?;
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (random_token(), random_token());
        let (state_sent, nonce_sent) = (CsrfToken::new(state.clone()), Nonce::new(nonce.clone()));
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || state_sent, move || nonce_sent)
            .set_pkce_challenge(challenge)
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        for scope in self.config.scopes.split_whitespace().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let (url, _, _) = request.url();
        let login = OidcLogin {
            nonce,
            verifier: verifier.secret().clone(),
            next: next.to_string(),
            redirect_url: redirect_url.to_string(),
            expires_at: pictor_db::now_ms() + LOGIN_LIFETIME.as_millis() as i64,
        };
        db.insert_oidc_login(&state_hash(&state), &login).await?;
        Ok(Started { url: url.to_string(), state })
    }

    /// Finishes the sign-in that `state` stands for with the provider's
    /// `code`: the account signed in, made if new and `policy` allows.
    pub async fn finish(&self, db: &Db, policy: Signup, state: &str, code: &str) -> Result<Finished> {
        let login = self.take(db, state).await?;
        let claims = self.redeem(&login, code).await?;
        let (user, created) = self.account(db, policy, &claims).await?;
        Ok(Finished { session: start_session(db, user).await?, next: login.next, created })
    }

    /// The account verified `claims` sign in as: their subject's at this
    /// issuer, made if new and `policy` allows; and whether it was made.
    async fn account(&self, db: &Db, policy: Signup, claims: &Map<String, Value>) -> Result<(UserRecord, bool)> {
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(match db.user_by_identity(&self.config.issuer, &subject).await? {
            Some(user) => (user, false),
            None => (self.sign_up(db, policy, &subject, claims).await?, true),
        })
    }

    /// Whether `token` looks like a JWT this provider issued (its `iss`,
    /// unverified: only to choose the verifier; [`Oidc::bearer`] checks).
    pub fn issued_here(&self, token: &str) -> bool {
        let Some(body) = token.split('.').nth(1) else { return false };
        let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')) else {
            return false;
        };
        let claims: Map<String, Value> = serde_json::from_slice(&bytes).unwrap_or_default();
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
        !issuer.is_empty() && issuer.trim_end_matches('/') == self.config.issuer.trim_end_matches('/')
    }

    /// Verifies a bearer JWT of the provider's (an ID token, or an access
    /// token shaped like one): signature against the provider's keys,
    /// `iss`, `aud` (the configured client id), `exp`; then its identity's
    /// account, made when `policy` allows, as a web sign-in would.
    pub async fn bearer(&self, db: &Db, policy: Signup, token: &str) -> Result<Bearer> {
        let parsed: CoreIdToken = token
            .parse()
            .map_err(|e| Error::new(ErrorKind::Unauthorized, format!("bearer token rejected: not a JWT ({e})")))?;
        // No sign-in was started here, so there is no nonce to expect.
        let any_nonce = |_: Option<&Nonce>| Ok(());
        let client = self.client(false).await?;
        if let Err(first) = self.verify(&client, &parsed, any_nonce) {
            let stale = self.discovered.read().await.as_ref().is_none_or(|(_, at)| at.elapsed() >= REFRESH_AFTER);
            if !stale {
                return Err(first);
            }
            let fresh = self.client(true).await?;
            self.verify(&fresh, &parsed, any_nonce).map_err(|_| first)?;
        }
        let claims = payload(&parsed)?;
        let (user, _) = self.account(db, policy, &claims).await?;
        let email = claims.get("email").and_then(Value::as_str).map(str::to_string);
        let email_verified = claims.get("email_verified").and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            // Some providers (Cognito among them) send it as a string.
            Value::String(s) => Some(s == "true"),
            _ => None,
        });
        Ok(Bearer { user, email, email_verified })
    }

    /// Forgets the sign-in `state` stands for (the provider answered with
    /// an error): it cannot be finished afterwards.
    pub async fn abandon(&self, db: &Db, state: &str) -> Result<()> {
        db.take_oidc_login(&state_hash(state)).await?;
        Ok(())
    }

    async fn take(&self, db: &Db, state: &str) -> Result<OidcLogin> {
        let expired = || {
            Error::bad_request("this sign-in expired or was already used: go back to the sign-in page and start again")
        };
        if state.is_empty() || state.len() > 128 {
            return Err(expired());
        }
        db.take_oidc_login(&state_hash(state)).await?.ok_or_else(expired)
    }

    /// Exchanges the code and returns the verified ID token's claims.
    async fn redeem(&self, login: &OidcLogin, code: &str) -> Result<Map<String, Value>> {
        let client = self.client(false).await?;
        let redirect = RedirectUrl::new(login.redirect_url.clone()).map_err(Error::internal)?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| upstream(format!("it has no token endpoint ({e})")))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        let response = request.request_async(&self.http).await.map_err(token_error)?;
        let token = response.id_token().ok_or_else(|| upstream("its token answer has no ID token".to_string()))?;
        let nonce = Nonce::new(login.nonce.clone());
        if let Err(first) = self.verify(&client, token, &nonce) {
            // The provider may have rotated its keys since discovery.
            let fresh = self.client(true).await?;
            self.verify(&fresh, token, &nonce).map_err(|_| first)?;
        }
        payload(token)
    }

    fn verify(&self, client: &Client, token: &CoreIdToken, nonce: impl NonceVerifier) -> Result<()> {
        token.claims(&client.id_token_verifier(), nonce).map(|_| ()).map_err(|e| {
            Error::new(ErrorKind::Unauthorized, format!("the provider's ID token failed verification: {e}"))
        })
    }

    /// Makes the account for a new identity, as `policy` allows: named from
    /// its claims, with a suffix when the name is taken.
    async fn sign_up(&self, db: &Db, policy: Signup, subject: &str, claims: &Map<String, Value>) -> Result<UserRecord> {
        if !signup_open(db, policy).await? {
            return Err(Error::new(
                ErrorKind::Forbidden,
                "there is no account here for this sign-in, and sign-up is closed: ask an admin to let you in",
            ));
        }
        let base = account_name(claims, &self.config.username_claim);
        let admin = db.count_users().await? == 0;
        for attempt in 1..=20 {
            let user = UserRecord {
                id: uuid::Uuid::now_v7().to_string(),
                name: candidate(&base, attempt),
                admin,
                created_at: pictor_db::now_ms(),
            };
            match db.insert_user_with_identity(&user, &self.config.issuer, subject).await? {
                NewIdentity::Created(user) | NewIdentity::AlreadyLinked(user) => return Ok(user),
                NewIdentity::NameTaken => continue,
            }
        }
        Err(Error::new(ErrorKind::InvalidRequest, format!("no free account name like {base:?}: ask an admin")))
    }

    /// A client over the discovery document, fetched when missing, older
    /// than [`DISCOVERY_TTL`], or when `refresh` asks.
    async fn client(&self, refresh: bool) -> Result<Client> {
        let metadata = self.metadata(refresh).await?;
        let secret = Some(self.config.client_secret.clone()).filter(|s| !s.is_empty()).map(ClientSecret::new);
        Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(self.config.client_id.clone()), secret))
    }

    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata> {
        if !refresh
            && let Some((metadata, at)) = self.discovered.read().await.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let mut cached = self.discovered.write().await;
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(Error::internal)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| upstream(format!("its discovery document could not be read ({e})")))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }
}

/// The provider failed or could not be reached.
fn upstream(why: String) -> Error {
    tracing::warn!(%why, "OIDC provider");
    Error::new(ErrorKind::UpstreamFailed, format!("the sign-in provider failed: {why}; try again later"))
}

/// The token endpoint refused the code (the visitor may start again), or
/// could not be reached.
fn token_error<E: std::error::Error + 'static>(
    e: RequestTokenError<E, openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(refused) => Error::new(
            ErrorKind::Unauthorized,
            format!("the sign-in provider refused this sign-in ({}): start again", refused.error()),
        ),
        other => upstream(format!("its token endpoint did not answer properly ({other})")),
    }
}

/// The claims of an ID token whose signature was verified: the payload,
/// so that any claim (`cognito:username`, …) can name the account.
fn payload(token: &CoreIdToken) -> Result<Map<String, Value>> {
    let text = token.to_string();
    let body = text.split('.').nth(1).ok_or_else(|| Error::internal("an ID token without a payload"))?;
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).map_err(Error::internal)?;
    serde_json::from_slice(&bytes).map_err(Error::internal)
}

fn state_hash(state: &str) -> String {
    hex::encode(sha2::Sha256::digest(state.as_bytes()))
}

/// The longest base name, leaving room for a suffix.
const BASE_MAX: usize = 56;

/// A new account's name from the ID token: the configured claim, then
/// `preferred_username`, then the part of `email` before the `@`, made
/// into a valid [`Username`]; `user` when none gives one.
pub fn account_name(claims: &Map<String, Value>, claim: &str) -> String {
    let local_part = |c: &str| c.split('@').next().unwrap_or_default().to_string();
    let candidates = [claim, "preferred_username"]
        .into_iter()
        .filter_map(|name| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(|v| if name == "email" { local_part(v) } else { v.to_string() })
        })
        .chain(claims.get("email").and_then(Value::as_str).map(local_part));
    candidates
        .map(|raw| sanitise(&raw))
        .find(|name| Username::parse(name).is_ok())
        .unwrap_or_else(|| "user".to_string())
}

/// Lower-cased, other characters as `-`, runs collapsed, starting and
/// ending with a letter or digit, at most [`BASE_MAX`] long.
fn sanitise(raw: &str) -> String {
    let mut name = String::new();
    for c in raw.trim().to_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name: String = name.chars().take(BASE_MAX).collect();
    name.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

/// The `attempt`th name to try: `base`, then `base-2`, `base-3`…
fn candidate(base: &str, attempt: u32) -> String {
    if attempt == 1 { base.to_string() } else { format!("{base}-{attempt}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: Value) -> Map<String, Value> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn account_names_come_from_claims_and_are_made_valid() {
        let c = claims(serde_json::json!({"preferred_username": "Ann Lee", "email": "ann@example.com"}));
        assert_eq!(account_name(&c, "preferred_username"), "ann-lee");
        assert_eq!(account_name(&c, "email"), "ann");
        let cognito = claims(serde_json::json!({"cognito:username": "Bob.Smith", "email": "b@x.io"}));
        assert_eq!(account_name(&cognito, "cognito:username"), "bob.smith");
        assert_eq!(account_name(&cognito, "preferred_username"), "b", "then the email's local part");
        let odd = claims(serde_json::json!({"preferred_username": "--José!!", "email": "@"}));
        assert_eq!(account_name(&odd, "preferred_username"), "jos");
        assert_eq!(account_name(&claims(serde_json::json!({"sub": "x"})), "preferred_username"), "user");
        let long = claims(serde_json::json!({"preferred_username": "a".repeat(100)}));
        assert_eq!(account_name(&long, "preferred_username").len(), BASE_MAX);
        for name in [account_name(&odd, "x"), candidate(&"a".repeat(BASE_MAX), 20)] {
            assert!(Username::parse(&name).is_ok(), "{name}");
        }
        assert_eq!((candidate("ann", 1), candidate("ann", 2)), ("ann".to_string(), "ann-2".to_string()));
    }

    #[test]
    fn off_without_an_issuer() {
        assert!(Oidc::new(&OidcConfig::default()).unwrap().is_none());
        let on = OidcConfig { issuer: "https://idp.example".into(), client_id: "app".into(), ..Default::default() };
        let oidc = Oidc::new(&on).unwrap().unwrap();
        assert_eq!(oidc.name(), "single sign-on");
        assert_eq!(oidc.configured_redirect_url(), None);
    }
}
