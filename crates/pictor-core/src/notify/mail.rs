//! Email through an SMTP relay (`[email]`): lettre's async transport on
//! tokio, TLS by rustls (webpki's roots, plus `email.ca_file`).
//!
//! - `smtp://HOST[:PORT]` upgrades with STARTTLS as `email.starttls` says
//!   (`required`: a relay that does not offer it is refused;
//!   `opportunistic`; `off`: plain text); `smtps://` is TLS from the start.
//!   User and password in the URL authenticate (after TLS); a path names
//!   the client in `EHLO` (`smtp://relay:587/photos.example`; by default
//!   `[127.0.0.1]`).
//! - [`Mailer::new`] reads the configuration and the CA file only: it
//!   connects to nothing, so a relay that is down does not stop the server
//!   from starting. Each [`Mailer::send`] opens a connection, sends one
//!   message and quits.
//! - An [`EmailAddress`] is parsed when built (lettre's RFC 5321/5322
//!   address check, IDNA domains). It has no `Display` and its `Debug` is
//!   `<redacted>`, so that it cannot slip into a log line; errors name no
//!   address either (an SMTP reply's words with an `@` are cut out).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::EmailConfig;
use crate::error::{Error, ErrorKind, Result};

/// The longest address SMTP carries (RFC 5321's path limit, less `<>`).
const MAX_ADDRESS_CHARS: usize = 254;
/// How soon a relay's temporary refusal (4xx) or a dropped connection is
/// worth another try.
const RETRY_AFTER_SECS: u64 = 60;

/// An email address, checked when built; printed by nothing but
/// [`EmailAddress::as_str`].
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(Address);

impl EmailAddress {
    /// Parses `text` (surrounding spaces ignored); the error says what is
    /// wrong without repeating it.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.chars().count() > MAX_ADDRESS_CHARS {
            return Err(Error::bad_request(format!("an email address has at most {MAX_ADDRESS_CHARS} characters")));
        }
        text.parse::<Address>().map(Self).map_err(|e| {
            Error::bad_request(format!("that is not an email address ({e}): give one such as name@example.com"))
        })
    }

    /// The address, for sending (never for logging).
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.as_str().to_string()
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// Sends email through the configured relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `config` describes; `None` when `email.smtp_url` is
    /// empty. Connects to nothing; the error names the setting to fix.
    pub fn new(config: &EmailConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled() {
            return Ok(None);
        }
        let shown = crate::redact(&config.smtp_url);
        let url = url::Url::parse(config.smtp_url.trim())
            .map_err(|e| anyhow::anyhow!("email.smtp_url {shown:?} is not a URL: {e}"))?;
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("email.from {:?} is not an address: {e}", config.from))?;
        let mut tls = TlsParameters::builder(host.clone());
        if !config.ca_file.is_empty() {
            let pem = std::fs::read(&config.ca_file).map_err(|e| {
                anyhow::anyhow!(
                    "email.ca_file {:?} cannot be read ({e}): give a PEM file of root certificates",
                    config.ca_file
                )
            })?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                anyhow::anyhow!("email.ca_file {:?} holds no PEM certificate ({e}): give a PEM file", config.ca_file)
            })?;
            tls = tls.add_root_certificate(certificate);
        }
        let tls = tls.build_rustls().map_err(|e| anyhow::anyhow!("email: TLS settings for {host}: {e}"))?;
        let (tls, default_port) = match (url.scheme(), config.starttls.as_str()) {
            ("smtps", _) => (Tls::Wrapper(tls), 465),
            (_, "off") => (Tls::None, 25),
            (_, "opportunistic") => (Tls::Opportunistic(tls), 587),
            _ => (Tls::Required(tls), 587),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.trim())
            .map_err(|e| anyhow::anyhow!("email.smtp_url {shown:?}: {e}"))?
            .tls(tls)
            .port(url.port().unwrap_or(default_port))
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))))
            .build();
        Ok(Some(Self { transport, from }))
    }

    /// Sends one message to `to`: plain `text`, or `text` and `html` as
    /// alternatives. A relay's temporary refusal (4xx), a timeout or a lost
    /// connection comes back `UpstreamFailed` with `retry_after`; a
    /// permanent refusal (5xx) without. No error names the address.
    pub async fn send(&self, to: &EmailAddress, subject: &str, text: &str, html: Option<&str>) -> Result<()> {
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.0.clone()))
            .subject(subject)
            .message_id(Some(format!("<{}@{}>", uuid::Uuid::new_v4().simple(), self.from.email.domain())));
        let message = match html {
            None => builder.header(ContentType::TEXT_PLAIN).body(text.to_string()),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(text.to_string(), html.to_string())),
        }
        .map_err(|e| Error::bad_request(format!("the message cannot be built: {}", scrub(&e.to_string()))))?;
        self.transport.send(message).await.map(drop).map_err(smtp_error)
    }
}

/// An SMTP failure as the core reports it: what happened, never the
/// address (a reply's words with an `@` are cut out).
fn smtp_error(e: lettre::transport::smtp::Error) -> Error {
    let text = scrub(&e.to_string());
    let detail = format!("sending the email through email.smtp_url failed: {text}");
    if e.is_permanent() {
        Error::new(ErrorKind::UpstreamFailed, detail)
    } else if e.is_tls() || text.contains("certificate") {
        let hint = " (a self-signed or private relay's certificate goes in email.ca_file)";
        Error::new(ErrorKind::UpstreamFailed, format!("{detail}{hint}")).with_retry_after(RETRY_AFTER_SECS)
    } else {
        Error::new(ErrorKind::UpstreamFailed, detail).with_retry_after(RETRY_AFTER_SECS)
    }
}

/// `text` with every word that holds an `@` replaced by `<redacted>`.
fn scrub(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(
            |word| {
                if word.contains('@') { format!("<redacted>{}", &word[word.trim_end().len()..]) } else { word.into() }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_when_built() {
        let address = EmailAddress::parse("  jane.doe+photos@example.com ").unwrap();
        assert_eq!(address.as_str(), "jane.doe+photos@example.com");
        assert_eq!(format!("{address:?}"), "<redacted>");
        assert!(EmailAddress::parse("user@bücher.example").is_ok(), "IDNA domains");
        assert!(EmailAddress::parse("root@localhost").is_ok());
        for bad in ["", "jane", "@mail.test", "jane@", "jane@@mail.test", "jane doe@mail.test", "a@b@c"] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{bad:?}");
            assert!(bad.is_empty() || !err.detail.contains(bad), "the error repeats {bad:?}: {}", err.detail);
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).unwrap_err().detail.contains("254"));
    }

    #[test]
    fn addresses_serialise_as_text_and_are_checked_when_read() {
        let address = EmailAddress::parse("a@example.com").unwrap();
        assert_eq!(serde_json::to_string(&address).unwrap(), "\"a@example.com\"");
        assert_eq!(serde_json::from_str::<EmailAddress>("\"a@example.com\"").unwrap(), address);
        assert!(serde_json::from_str::<EmailAddress>("\"not an address\"").is_err());
    }

    #[test]
    fn replies_lose_their_addresses() {
        assert_eq!(
            scrub("550 5.1.1 <jane@example.com>: Recipient address rejected\nfor jane@example.com."),
            "550 5.1.1 <redacted> Recipient address rejected\nfor <redacted>"
        );
        assert_eq!(scrub("connection refused"), "connection refused");
    }

    #[test]
    fn off_when_no_relay_is_configured_and_built_without_connecting() {
        assert!(Mailer::new(&EmailConfig::default()).unwrap().is_none());
        // Nothing listens on port 9 of a TEST-NET address: building must not care.
        let config = EmailConfig { smtp_url: "smtp://user:pw@192.0.2.1:9".into(), ..EmailConfig::default() };
        assert!(Mailer::new(&config).unwrap().is_some());
        let missing = EmailConfig { ca_file: "/nonexistent/ca.pem".into(), ..config };
        let err = Mailer::new(&missing).unwrap_err().to_string();
        assert!(err.contains("email.ca_file"), "{err}");
    }

    #[tokio::test]
    async fn a_relay_that_is_down_is_worth_retrying() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = EmailConfig { smtp_url: format!("smtp://127.0.0.1:{port}"), ..EmailConfig::default() };
        let mailer = Mailer::new(&config).unwrap().unwrap();
        let to = EmailAddress::parse("jane@example.com").unwrap();
        let err = mailer.send(&to, "s", "t", None).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::UpstreamFailed);
        assert_eq!(err.retry_after, Some(RETRY_AFTER_SECS));
        assert!(err.detail.contains("email.smtp_url") && !err.detail.contains("jane"), "{}", err.detail);
    }
}
