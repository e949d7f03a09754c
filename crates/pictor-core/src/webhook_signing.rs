//! Webhook signing per the Standard Webhooks spec
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>).
//!
//! Each delivery attempt (the `webhook.deliver` job of `pictor-jobs`) is a
//! `POST` of the delivery's payload (`{"type", "timestamp", "data"}`) with
//! - `webhook-id`: the delivery id, the same on every retry (the receiver's
//!   idempotency key);
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
//!   under the subscription's secret (`whsec_` + base64 of the key).
//!
//! 2xx is delivered; 410 disables the endpoint; any other answer, a timeout
//! or a connection error is retried after the next step of
//! `webhooks.retry_schedule_secs` (plus jitter) until the schedule runs out.
//! Requests go through the SSRF guard of [`crate::fetch`], so private
//! addresses are reached only when `fetch.allow` lists them. This module
//! holds the pure parts: secrets, signatures (made, and checked as a
//! receiver does: [`verify`]) and the retry schedule. The SMS gateway
//! ([`crate::notify::sms`]) signs its requests the same way.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::WebhookConfig;

/// The prefix of a serialized symmetric signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bounds on the decoded secret that the spec sets (24 to 64 bytes).
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Base64 as receivers' libraries read it: standard alphabet, padding optional.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A fresh secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The signing key inside a `whsec_…` secret; the error says what is wrong.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| format!("a webhook secret starts with `{SECRET_PREFIX}` followed by base64"))?;
    let key = LENIENT
        .decode(encoded)
        .map_err(|e| format!("the part of the secret after `{SECRET_PREFIX}` is not valid base64: {e}"))?;
    if !SECRET_BYTES.contains(&key.len()) {
        return Err(format!(
            "the secret's key is {} bytes; it must be {} to {} bytes (base64-encoded after `{SECRET_PREFIX}`)",
            key.len(),
            SECRET_BYTES.start(),
            SECRET_BYTES.end()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` value: `v1,` + base64(HMAC-SHA256(key, `{id}.{timestamp}.{body}`)).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(format!(".{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether a `webhook-signature` header value (space-separated `v1,…`
/// signatures, as during a secret's rotation) holds one that `key` made
/// over `{id}.{timestamp}.{body}`; compared in constant time. The caller
/// checks that `timestamp` is recent (the spec suggests 5 minutes).
pub fn verify(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    header.split_whitespace().filter_map(|s| s.strip_prefix("v1,")).filter_map(|s| LENIENT.decode(s).ok()).any(
        |signature| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(id.as_bytes());
            mac.update(format!(".{timestamp}.").as_bytes());
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        },
    )
}

/// The wait before the attempt after attempt number `attempt` (1-based),
/// with up to `jitter` × the step added; `None` when the schedule is spent.
pub fn retry_delay(config: &WebhookConfig, attempt: i64, random: f64) -> Option<Duration> {
    let step = *config.retry_schedule_secs.get(usize::try_from(attempt.max(1) - 1).ok()?)?;
    let factor = 1.0 + random.clamp(0.0, 1.0) * config.jitter.max(0.0);
    Some(Duration::from_secs(step).mul_f64(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Python library's published vector (standard-webhooks/standard-webhooks,
    /// libraries/python/tests/test_webhooks.py, `test_sign_function`).
    #[test]
    fn signs_the_python_librarys_vector() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// The Rust library's vector (libraries/rust/src/lib.rs, `test_sign`).
    #[test]
    fn signs_the_rust_librarys_vector() {
        let key = secret_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body);
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn verifies_its_own_signatures_and_no_others() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, ts, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        let good = sign(&key, id, ts, body);
        assert!(verify(&key, id, ts, body, &good));
        assert!(verify(&key, id, ts, body, &format!("v1,bm90IGl0 {good}")), "one of several");
        assert!(!verify(&key, id, ts + 1, body, &good));
        assert!(!verify(&key, "msg_other", ts, body, &good));
        assert!(!verify(&key, id, ts, b"{}", &good));
        assert!(!verify(&[1u8; 24], id, ts, body, &good));
        assert!(!verify(&key, id, ts, body, &good.replace("v1,", "v2,")));
        assert!(!verify(&key, id, ts, body, ""));
    }

    #[test]
    fn secrets_are_checked() {
        let fresh = new_secret();
        assert!(fresh.starts_with(SECRET_PREFIX));
        assert_eq!(secret_key(&fresh).unwrap().len(), 24);
        assert_ne!(fresh, new_secret());
        // Padding is optional, as receivers' libraries read it.
        let padded = format!("{SECRET_PREFIX}{}", STANDARD.encode([7u8; 32]));
        assert_eq!(secret_key(&padded).unwrap(), [7u8; 32]);
        assert_eq!(secret_key(padded.trim_end_matches('=')).unwrap(), [7u8; 32]);
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ=", "whsec_"] {
            assert!(secret_key(bad).is_err(), "{bad}");
        }
        let long = format!("{SECRET_PREFIX}{}", STANDARD.encode([1u8; 65]));
        assert!(secret_key(&long).unwrap_err().contains("24 to 64"));
    }

    #[test]
    fn retries_follow_the_schedule_with_jitter() {
        let config = WebhookConfig { retry_schedule_secs: vec![5, 300], jitter: 0.1, timeout_secs: 1 };
        assert_eq!(retry_delay(&config, 1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(&config, 1, 1.0), Some(Duration::from_millis(5500)));
        assert_eq!(retry_delay(&config, 2, 0.5), Some(Duration::from_secs(315)));
        assert_eq!(retry_delay(&config, 3, 0.0), None, "three attempts in all");
        let none = WebhookConfig { retry_schedule_secs: vec![], ..config };
        assert_eq!(retry_delay(&none, 1, 0.0), None);
    }
}
