//! Payments through Stripe, without ever touching card data: the shop asks
//! Stripe for a PaymentIntent ([`StripeClient`]), the visitor's browser
//! pays it with Stripe.js, and Stripe tells us the outcome by a signed
//! webhook ([`verify_webhook`]), which is the only news of a payment we
//! believe, since a browser's word can be forged.
//!
//! The signature scheme is Stripe's: `Stripe-Signature: t=…,v1=…` where
//! each `v1` is the hex HMAC-SHA256 of `"{t}.{body}"` keyed by the whole
//! `whsec_…` string. Several secrets may be configured at once, so that a
//! secret can be rolled without refusing the events in flight.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::money::Money;
use crate::error::{Error, ErrorKind, Result};

/// `[shop.stripe]`.
#[derive(Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    /// Stripe's API; a stand-in's in tests.
    pub api_base: String,
    /// `sk_live_…` or `sk_test_…` (a restricted `rk_…` key also works).
    pub secret_key: String,
    /// `pk_…`, given to Stripe.js in the visitor's browser.
    pub publishable_key: String,
    /// The webhook endpoint's signing secrets (`whsec_…`): an event signed
    /// with any of them is accepted, so list the new one beside the old
    /// while rolling it.
    pub webhook_secrets: Vec<String>,
    /// How far a webhook's timestamp may be from now, either way (replays).
    pub tolerance_secs: u64,
    /// Where pages load Stripe.js from.
    pub js_url: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            api_base: "https://api.stripe.com".to_string(),
            secret_key: String::new(),
            publishable_key: String::new(),
            webhook_secrets: Vec::new(),
            tolerance_secs: 300,
            js_url: "https://js.stripe.com/v3/".to_string(),
        }
    }
}

/// Says whether each secret is set, never what it is.
impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .field("secret_key", &redacted(&self.secret_key))
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secrets", &format_args!("[{} redacted]", self.webhook_secrets.len()))
            .field("tolerance_secs", &self.tolerance_secs)
            .field("js_url", &self.js_url)
            .finish()
    }
}

fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() { "(unset)" } else { "(redacted)" }
}

// --- webhooks ---------------------------------------------------------------

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the Stripe-Signature header is malformed (expected t=TIMESTAMP,v1=SIGNATURE): is this request from Stripe?"
    )]
    MalformedHeader,
    #[error("the Stripe-Signature header has no v1 signature: Pictor checks only Stripe's v1 scheme")]
    NoV1Signature,
    #[error(
        "no webhook secret is configured: copy the endpoint's signing secret (whsec_…) into shop.stripe.webhook_secrets"
    )]
    NoSecretConfigured,
    #[error(
        "no v1 signature matches a configured webhook secret: check shop.stripe.webhook_secrets against the endpoint's signing secret in Stripe's dashboard (the body must be passed on unchanged)"
    )]
    Mismatch,
    #[error(
        "the webhook was signed {age_secs} s ago, more than the {tolerance_secs} s allowed: a replay, or this server's clock is wrong"
    )]
    TooOld { age_secs: i64, tolerance_secs: i64 },
    #[error(
        "the webhook's timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s allowed: check this server's clock"
    )]
    InFuture { ahead_secs: i64, tolerance_secs: i64 },
    #[error("the signed body is not a Stripe event: {0}")]
    NotAnEvent(String),
}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        let kind = match e {
            SignatureError::NotAnEvent(_) | SignatureError::MalformedHeader => ErrorKind::InvalidRequest,
            SignatureError::NoSecretConfigured => ErrorKind::Internal,
            _ => ErrorKind::SignatureMismatch,
        };
        Error::new(kind, e.to_string())
    }
}

/// A verified Stripe event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `evt_…`: deliveries may repeat; handle each id once.
    pub id: String,
    /// Stripe's `type`, e.g. `payment_intent.succeeded`.
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    /// `data.object`: the PaymentIntent (or other object) as it is now.
    pub object: serde_json::Value,
}

#[derive(serde::Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: RawEventData,
}

#[derive(serde::Deserialize)]
struct RawEventData {
    object: serde_json::Value,
}

type HmacSha256 = Hmac<Sha256>;

/// Checks a webhook's `Stripe-Signature` header, then parses the event.
/// Accepted when any `v1` signature matches any of `secrets` (compared in
/// constant time) and the timestamp is within `tolerance_secs` of
/// `now_unix`, in the past or in the future.
pub fn verify_webhook(
    payload: &[u8],
    signature_header: &str,
    secrets: &[String],
    now_unix: i64,
    tolerance_secs: i64,
) -> std::result::Result<WebhookEvent, SignatureError> {
    let header = SignatureHeader::parse(signature_header)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecretConfigured);
    }
    let signed = [header.timestamp.as_bytes(), b".", payload].concat();
    if !secrets.iter().any(|secret| header.signed_with(secret, &signed)) {
        return Err(SignatureError::Mismatch);
    }
    check_timestamp(header.unix, now_unix, tolerance_secs)?;
    parse_event(payload)
}

/// `t=…,v1=…[,v1=…][,v0=…]`; unknown schemes are ignored, as Stripe's
/// libraries do.
struct SignatureHeader<'a> {
    /// As sent: it is signed as text.
    timestamp: &'a str,
    unix: i64,
    v1: Vec<Vec<u8>>,
}

impl<'a> SignatureHeader<'a> {
    fn parse(header: &'a str) -> std::result::Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        let mut saw_v1 = false;
        for item in header.split(',') {
            let (key, value) = item.trim().split_once('=').ok_or(SignatureError::MalformedHeader)?;
            match key {
                "t" if timestamp.is_none() => timestamp = Some(value),
                // Not hex cannot match; a wrong signature is not a malformed header.
                "v1" => {
                    saw_v1 = true;
                    v1.extend(hex::decode(value).ok());
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MalformedHeader)?;
        let unix = timestamp.parse::<i64>().map_err(|_| SignatureError::MalformedHeader)?;
        if !saw_v1 {
            return Err(SignatureError::NoV1Signature);
        }
        Ok(SignatureHeader { timestamp, unix, v1 })
    }

    fn signed_with(&self, secret: &str, signed: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(signed);
        self.v1.iter().any(|candidate| mac.clone().verify_slice(candidate).is_ok())
    }
}

fn check_timestamp(signed_at: i64, now: i64, tolerance_secs: i64) -> std::result::Result<(), SignatureError> {
    let age_secs = now.saturating_sub(signed_at);
    if age_secs > tolerance_secs {
        return Err(SignatureError::TooOld { age_secs, tolerance_secs });
    }
    if -age_secs > tolerance_secs {
        return Err(SignatureError::InFuture { ahead_secs: -age_secs, tolerance_secs });
    }
    Ok(())
}

fn parse_event(payload: &[u8]) -> std::result::Result<WebhookEvent, SignatureError> {
    let raw: RawEvent = serde_json::from_slice(payload).map_err(|e| SignatureError::NotAnEvent(e.to_string()))?;
    Ok(WebhookEvent { id: raw.id, kind: raw.kind, created: raw.created, object: raw.data.object })
}

// --- the API ---------------------------------------------------------------

/// A PaymentIntent, as far as the shop reads it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// Handed to Stripe.js in the payer's browser, and to nobody else.
    pub client_secret: String,
    /// `requires_payment_method`, `processing`, `succeeded`, `canceled`…
    pub status: String,
    /// In Stripe's minor units (see [`Money::stripe_amount`]).
    pub amount: i64,
    /// Lower case, as Stripe writes it (`eur`).
    pub currency: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl PaymentIntent {
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }
}

/// The client secret lets anyone confirm the payment: not in logs.
impl std::fmt::Debug for PaymentIntent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentIntent")
            .field("id", &self.id)
            .field("client_secret", &"(redacted)")
            .field("status", &self.status)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// Stripe's error body: `{"error": {"message": …, "type": …}}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Seconds to wait before retrying after Stripe failed or was unreachable.
const RETRY_AFTER_SECS: u64 = 2;

/// Stripe's REST API, with the secret key. Cheap to clone.
#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base_url", &self.base_url)
            .field("secret_key", &redacted(&self.secret_key))
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    /// A client for `base_url` (`https://api.stripe.com`, or a stand-in).
    pub fn new(base_url: &str, secret_key: &str) -> Result<StripeClient> {
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
            return Err(Error::bad_request(
                "shop.stripe.secret_key must be a Stripe secret key (sk_live_… or sk_test_…) from the dashboard's API keys page",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(Error::internal)?;
        Ok(StripeClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
        })
    }

    pub fn from_config(config: &StripeConfig) -> Result<StripeClient> {
        StripeClient::new(&config.api_base, &config.secret_key)
    }

    /// `POST /v1/payment_intents` for `amount`, with automatic payment
    /// methods and `metadata` (e.g. `[("order", id)]`). The same
    /// `idempotency_key` (e.g. the order's id) gives back the same intent,
    /// so a retry never charges twice.
    pub async fn create_payment_intent(
        &self,
        amount: &Money,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<PaymentIntent> {
        if idempotency_key.is_empty() || idempotency_key.len() > 255 {
            return Err(Error::bad_request("a Stripe idempotency key must be 1 to 255 characters"));
        }
        let body = payment_intent_form(amount, metadata)?;
        let request = self
            .http
            .post(format!("{}/v1/payment_intents", self.base_url))
            .header("Idempotency-Key", idempotency_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::bad_request(format!("{id:?} is not a PaymentIntent id (pi_…)")));
        }
        self.send(self.http.get(format!("{}/v1/payment_intents/{id}", self.base_url))).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<PaymentIntent> {
        let response = request.bearer_auth(&self.secret_key).send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Error::new(
                    ErrorKind::UpstreamFailed,
                    format!("Stripe answered a PaymentIntent Pictor cannot read: {e}"),
                )
            });
        }
        Err(refusal(status.as_u16(), &bytes))
    }
}

/// Stripe's form encoding: `amount`, `currency` (lower case),
/// `automatic_payment_methods[enabled]=true`, `metadata[KEY]=VALUE`.
fn payment_intent_form(amount: &Money, metadata: &[(&str, &str)]) -> Result<String> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("amount", &amount.stripe_amount()?.to_string())
        .append_pair("currency", &amount.currency().as_str().to_ascii_lowercase())
        .append_pair("automatic_payment_methods[enabled]", "true");
    for (key, value) in metadata {
        form.append_pair(&format!("metadata[{key}]"), value);
    }
    Ok(form.finish())
}

fn unreachable(e: reqwest::Error) -> Error {
    Error::new(ErrorKind::UpstreamFailed, format!("Stripe could not be reached ({e}); retry shortly"))
        .with_retry_after(RETRY_AFTER_SECS)
}

/// A 4xx is the request's fault (Stripe's message says which part); a 429
/// or 5xx is Stripe's trouble, worth retrying.
fn refusal(status: u16, body: &[u8]) -> Error {
    let detail = serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error);
    let message = detail.as_ref().and_then(|d| d.message.clone()).unwrap_or_else(|| format!("HTTP {status}"));
    if status == 429 || status >= 500 {
        return Error::new(ErrorKind::UpstreamFailed, format!("Stripe failed ({message}); retry shortly"))
            .with_retry_after(RETRY_AFTER_SECS);
    }
    let kind = detail.and_then(|d| d.kind).unwrap_or_else(|| "invalid_request_error".to_string());
    Error::bad_request(format!("Stripe refused the request ({kind}): {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::money::Currency;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_780_000_000;
    const EVENT: &[u8] =
        br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1780000000,"data":{"object":{"id":"pi_1"}}}"#;

    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        hex::encode(mac.finalize().into_bytes())
    }

    fn verify(header: &str) -> std::result::Result<WebhookEvent, SignatureError> {
        verify_webhook(EVENT, header, &[SECRET.to_string()], NOW, 300)
    }

    #[test]
    fn a_signed_event_is_parsed() {
        let event = verify(&format!("t={NOW},v1={},v0=abc", sign(SECRET, NOW, EVENT))).unwrap();
        assert_eq!((event.id.as_str(), event.kind.as_str(), event.created), ("evt_1", "payment_intent.succeeded", NOW));
        assert_eq!(event.object["id"], "pi_1");
    }

    #[test]
    fn headers_without_a_timestamp_or_v1_are_refused() {
        assert_eq!(verify("").unwrap_err(), SignatureError::MalformedHeader);
        assert_eq!(verify("v1=00").unwrap_err(), SignatureError::MalformedHeader);
        assert_eq!(verify("t=soon,v1=00").unwrap_err(), SignatureError::MalformedHeader);
        assert_eq!(verify(&format!("t={NOW},v0=00")).unwrap_err(), SignatureError::NoV1Signature);
        assert_eq!(verify(&format!("t={NOW},v1=zz")).unwrap_err(), SignatureError::Mismatch);
        let none = verify_webhook(EVENT, &format!("t={NOW},v1=00"), &[], NOW, 300).unwrap_err();
        assert_eq!(none, SignatureError::NoSecretConfigured);
    }

    #[test]
    fn timestamps_out_of_tolerance_are_refused_either_way() {
        let at = |t: i64| verify(&format!("t={t},v1={}", sign(SECRET, t, EVENT)));
        assert!(at(NOW - 300).is_ok() && at(NOW + 300).is_ok());
        assert_eq!(at(NOW - 301).unwrap_err(), SignatureError::TooOld { age_secs: 301, tolerance_secs: 300 });
        assert_eq!(at(NOW + 301).unwrap_err(), SignatureError::InFuture { ahead_secs: 301, tolerance_secs: 300 });
    }

    #[test]
    fn a_signed_body_that_is_no_event_is_refused() {
        let body = b"[]";
        let header = format!("t={NOW},v1={}", sign(SECRET, NOW, body));
        let err = verify_webhook(body, &header, &[SECRET.to_string()], NOW, 300).unwrap_err();
        assert!(matches!(err, SignatureError::NotAnEvent(_)));
        assert_eq!(Error::from(err).kind, ErrorKind::InvalidRequest);
        assert_eq!(Error::from(SignatureError::Mismatch).kind, ErrorKind::SignatureMismatch);
    }

    #[test]
    fn debug_output_names_no_secret() {
        let config = StripeConfig {
            secret_key: "sk_test_hidden".into(),
            webhook_secrets: vec!["whsec_hidden".into()],
            ..StripeConfig::default()
        };
        let client = StripeClient::from_config(&config).unwrap();
        for text in [format!("{config:?}"), format!("{client:?}")] {
            assert!(!text.contains("hidden"), "{text}");
        }
        let intent: PaymentIntent = serde_json::from_str(
            r#"{"id":"pi_1","client_secret":"pi_1_secret_hidden","status":"succeeded","amount":490,"currency":"eur"}"#,
        )
        .unwrap();
        assert!(!format!("{intent:?}").contains("hidden") && intent.succeeded());
    }

    #[test]
    fn config_defaults_and_toml() {
        let config: StripeConfig = toml::from_str("secret_key = \"sk_test_1\"").unwrap();
        assert_eq!((config.tolerance_secs, config.api_base.as_str()), (300, "https://api.stripe.com"));
        assert_eq!(config.js_url, "https://js.stripe.com/v3/");
        assert!(toml::from_str::<StripeConfig>("secret = \"x\"").is_err());
        assert!(StripeClient::new("https://api.stripe.com", "pk_test_1").unwrap_err().detail.contains("sk_test_"));
    }

    #[test]
    fn payment_intents_are_form_encoded_like_stripes() {
        let amount = Money::parse_major("4.90", Currency::new("EUR").unwrap()).unwrap();
        let form = payment_intent_form(&amount, &[("order", "ord 1&2")]).unwrap();
        assert_eq!(
            form,
            "amount=490&currency=eur&automatic_payment_methods%5Benabled%5D=true&metadata%5Border%5D=ord+1%262"
        );
    }

    #[test]
    fn stripe_errors_map_to_kinds() {
        let body = br#"{"error":{"message":"Amount must be at least 0.50 eur","type":"invalid_request_error"}}"#;
        let err = refusal(400, body);
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert!(err.detail.contains("Amount must be at least"), "{err}");
        assert_eq!(refusal(503, b"").kind, ErrorKind::UpstreamFailed);
        assert_eq!(refusal(429, b"").retry_after, Some(RETRY_AFTER_SECS));
    }
}
