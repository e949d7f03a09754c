//! SMS through an HTTP gateway (`[sms]`): each text is one `POST` of
//! `{"to": "+15551234567", "text": "…"}` to `sms.url`, signed exactly like
//! Pictor's webhook deliveries ([`crate::webhook_signing`], Standard
//! Webhooks): `webhook-id`, `webhook-timestamp` and `webhook-signature`
//! (HMAC-SHA256 under `sms.secret`). A small relay in front of a provider
//! (Twilio, an SMPP bridge…) checks the signature with any Standard
//! Webhooks library and sends the text on.
//!
//! 2xx is sent; any other status, a timeout or a connection error is an
//! error that names the status or the failure, never the number (the
//! gateway's answer is not read: it may repeat it). Redirects are not
//! followed. A [`PhoneNumber`] is E.164 (`+`, then 8 to 15 digits), with
//! spaces, dashes, dots and parentheses in the input dropped; it has no
//! `Display` and its `Debug` is `<redacted>`.

use std::time::Duration;

use crate::config::SmsConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::webhook_signing;

/// The digits an E.164 number has after its `+`.
const DIGITS: std::ops::RangeInclusive<usize> = 8..=15;
/// How soon a failed request is worth another try.
const RETRY_AFTER_SECS: u64 = 60;

/// A phone number in E.164 form (`+15551234567`), checked when built;
/// printed by nothing but [`PhoneNumber::as_str`].
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `text`: `+`, the country code and the number, 8 to 15 digits
    /// in all; spaces, dashes, dots and parentheses between them are
    /// dropped. The error says what is wrong without repeating it.
    pub fn parse(text: &str) -> Result<Self> {
        let hint = "give it in international form: + then the country code and number, e.g. +44 20 7946 0958";
        let text = text.trim();
        let Some(rest) = text.strip_prefix('+') else {
            return Err(Error::bad_request(format!("a phone number starts with +: {hint}")));
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(Error::bad_request(format!("a phone number holds only digits after the +: {hint}"))),
            }
        }
        if !DIGITS.contains(&digits.len()) {
            return Err(Error::bad_request(format!(
                "a phone number has {} to {} digits after the +, not {}: {hint}",
                DIGITS.start(),
                DIGITS.end(),
                digits.len()
            )));
        }
        if digits.starts_with('0') {
            return Err(Error::bad_request(format!("no country code starts with 0: {hint}")));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The number, `+` and digits, for sending (never for logging).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<PhoneNumber> for String {
    fn from(number: PhoneNumber) -> Self {
        number.0
    }
}

impl std::str::FromStr for PhoneNumber {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// Sends texts through the configured gateway.
pub struct SmsGateway {
    client: reqwest::Client,
    url: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway").field("url", &crate::redact(&self.url)).finish_non_exhaustive()
    }
}

impl SmsGateway {
    /// The gateway `config` describes; `None` when `sms.url` is empty.
    /// Connects to nothing; the error names the setting to fix.
    pub fn new(config: &SmsConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled() {
            return Ok(None);
        }
        let key = webhook_signing::secret_key(&config.secret).map_err(|e| anyhow::anyhow!("sms.secret: {e}"))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("pictor/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| anyhow::anyhow!("sms: building the HTTP client: {e}"))?;
        Ok(Some(Self { client, url: config.url.trim().to_string(), key }))
    }

    /// Sends `text` to `to`. `id` is the request's `webhook-id`: give the
    /// same one when trying again (a job's id, say), so that the gateway
    /// can drop the repeat. A failure names the status, never the number;
    /// all but a 4xx answer (other than 408 and 429) carry `retry_after`.
    pub async fn send(&self, id: &str, to: &PhoneNumber, text: &str) -> Result<()> {
        let body =
            serde_json::to_vec(&serde_json::json!({ "to": to.as_str(), "text": text })).expect("JSON of two strings");
        let timestamp = pictor_db::now_ms() / 1000;
        let signature = webhook_signing::sign(&self.key, id, timestamp, &body);
        let answer = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() { "timed out" } else { "failed" };
                Error::new(
                    ErrorKind::UpstreamFailed,
                    format!("the request to the SMS gateway (sms.url) {what}: {}", e.without_url()),
                )
                .with_retry_after(RETRY_AFTER_SECS)
            })?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let error = Error::new(
            ErrorKind::UpstreamFailed,
            format!("the SMS gateway (sms.url) answered {status}: the text was not sent"),
        );
        let retry = !status.is_client_error() || matches!(status.as_u16(), 408 | 429);
        Err(if retry { error.with_retry_after(RETRY_AFTER_SECS) } else { error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_e164_after_dropping_separators() {
        for (input, number) in [
            ("+15551234567", "+15551234567"),
            (" +1 555-123-4567 ", "+15551234567"),
            ("+44 (20) 7946.0958", "+442079460958"),
            ("+4930123456", "+4930123456"),
        ] {
            let parsed = PhoneNumber::parse(input).unwrap();
            assert_eq!(parsed.as_str(), number, "{input:?}");
            assert_eq!(format!("{parsed:?}"), "<redacted>");
        }
        for (bad, says) in [
            ("15551234567", "starts with +"),
            ("+1555", "8 to 15"),
            ("+1234567890123456", "8 to 15"),
            ("+1 555 CALL NOW", "only digits"),
            ("+0 555 123 4567", "country code"),
            ("", "starts with +"),
        ] {
            let err = PhoneNumber::parse(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidRequest);
            assert!(err.detail.contains(says), "{bad:?}: {}", err.detail);
            assert!(bad.len() < 8 || !err.detail.contains(bad.trim()), "the error repeats {bad:?}");
        }
    }

    #[test]
    fn numbers_serialise_as_text_and_are_checked_when_read() {
        let number = PhoneNumber::parse("+1 555 123 4567").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"+15551234567\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>("\"+1-555-123-4567\"").unwrap(), number);
        assert!(serde_json::from_str::<PhoneNumber>("\"5551234567\"").is_err());
    }

    #[test]
    fn off_without_a_url_and_the_secret_is_checked() {
        assert!(SmsGateway::new(&SmsConfig::default()).unwrap().is_none());
        let bad = SmsConfig { url: "https://sms.example/send".into(), secret: "plain".into(), ..SmsConfig::default() };
        assert!(SmsGateway::new(&bad).unwrap_err().to_string().contains("sms.secret"));
    }
}
