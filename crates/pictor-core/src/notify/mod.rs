//! Notifications to a person: an email through an SMTP relay ([`mail`]) or
//! a text through a signed HTTP gateway ([`sms`]), for what a product
//! sends once (a download bundle's link, say). Knows no jobs: a job calls
//! [`Notifier::send`]. (A Standard Webhooks event to the owner's
//! subscriptions needs none of this: it is an event like any other.)
//!
//! **Personal data.** A [`Recipient`] (an [`EmailAddress`] or a
//! [`PhoneNumber`]) is the only personal datum here, and it is kept only
//! sealed ([`seal`]: ChaCha20-Poly1305 under a key derived from the
//! server's key): a job's payload holds [`Recipient::seal`]'s text, opened
//! with [`Recipient::open`] just before sending, and the job erases it
//! once the message is sent or the job ends. Nothing here logs or reports
//! an address or a number: the types have no `Display`, their `Debug` is
//! `<redacted>`, errors name the channel and what failed, and the log
//! names only the channel.
//!
//! A channel that is not configured (`email.smtp_url`, `sms.url` empty) is
//! refused with an error naming the setting ([`Notifier::check`]), so a
//! request can be refused before any work is queued.

pub mod mail;
pub mod seal;
pub mod sms;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::server_key::ServerKey;

pub use mail::{EmailAddress, Mailer};
pub use seal::SealKey;
pub use sms::{PhoneNumber, SmsGateway};

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The channel's name, as logs and errors show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Whom a message goes to. Serialised (`{"email": "…"}` or
/// `{"sms": "+…"}`) only to be sealed: keep [`Recipient::seal`]'s text,
/// never this.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipient {
    Email(EmailAddress),
    Sms(PhoneNumber),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient::{:?}(<redacted>)", self.channel())
    }
}

impl Recipient {
    /// The channel it is reached through.
    pub fn channel(&self) -> Channel {
        match self {
            Recipient::Email(_) => Channel::Email,
            Recipient::Sms(_) => Channel::Sms,
        }
    }

    /// The recipient sealed under `key` (`v1.…`, text for a JSON payload).
    pub fn seal(&self, key: &SealKey) -> String {
        seal::seal(key, &serde_json::to_string(self).expect("a recipient serialises"))
    }

    /// The recipient inside `sealed`, if `key` sealed it unchanged.
    pub fn open(key: &SealKey, sealed: &str) -> Result<Self> {
        serde_json::from_str(&seal::open(key, sealed)?)
            .map_err(|_| Error::new(crate::ErrorKind::Internal, "a sealed value opened, but holds no recipient"))
    }
}

/// What is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// An email's subject (an SMS has none).
    pub subject: String,
    /// The text: an email's plain-text body, or the whole SMS.
    pub text: String,
    /// An email's HTML body, sent as an alternative to `text`.
    pub html: Option<String>,
    /// The SMS request's `webhook-id`: give the same one when trying again
    /// (a job's id, say) so that the gateway drops the repeat; `None`, a
    /// fresh one.
    pub id: Option<String>,
}

impl Message {
    /// A plain-text message.
    pub fn new(subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self { subject: subject.into(), text: text.into(), ..Self::default() }
    }
}

/// The configured channels and the sealing key (on [`crate::AppState`]).
#[derive(Debug)]
pub struct Notifier {
    mailer: Option<Mailer>,
    sms: Option<SmsGateway>,
    key: ServerKey,
}

impl Notifier {
    /// The channels `config` turns on, sealing under `key`'s derived key.
    /// Connects to nothing (a relay that is down fails a send, not this);
    /// the error names the setting to fix.
    pub fn new(config: &Config, key: ServerKey) -> anyhow::Result<Self> {
        Ok(Self { mailer: Mailer::new(&config.email)?, sms: SmsGateway::new(&config.sms)?, key })
    }

    /// The email channel, if configured.
    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    /// The SMS channel, if configured.
    pub fn sms(&self) -> Option<&SmsGateway> {
        self.sms.as_ref()
    }

    /// `Ok` when `channel` is configured; else an `InvalidRequest` that
    /// names the setting (to refuse a request before queueing work).
    pub fn check(&self, channel: Channel) -> Result<()> {
        match channel {
            Channel::Email if self.mailer.is_none() => Err(Error::bad_request(
                "this server sends no email: its operator must set email.smtp_url (smtp://HOST:PORT) first",
            )),
            Channel::Sms if self.sms.is_none() => {
                Err(Error::bad_request("this server sends no SMS: its operator must set sms.url and sms.secret first"))
            }
            _ => Ok(()),
        }
    }

    /// The key recipients are sealed under (derived from the server's key;
    /// the first use may make the kept key).
    pub fn seal_key(&self) -> Result<SealKey> {
        SealKey::derive(&self.key)
    }

    /// `recipient` sealed for a job's payload.
    pub fn seal(&self, recipient: &Recipient) -> Result<String> {
        Ok(recipient.seal(&self.seal_key()?))
    }

    /// The recipient a payload's sealed text holds.
    pub fn open(&self, sealed: &str) -> Result<Recipient> {
        Recipient::open(&self.seal_key()?, sealed)
    }

    /// Sends `message` to `recipient` through its channel. Logs the channel
    /// only; errors name the channel and what failed (see
    /// [`Mailer::send`], [`SmsGateway::send`] for which are worth a retry).
    pub async fn send(&self, recipient: &Recipient, message: &Message) -> Result<()> {
        let channel = recipient.channel();
        self.check(channel)?;
        let sent = match recipient {
            Recipient::Email(to) => {
                let mailer = self.mailer.as_ref().expect("checked");
                mailer.send(to, &message.subject, &message.text, message.html.as_deref()).await
            }
            Recipient::Sms(to) => {
                let id = message.id.clone().unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
                self.sms.as_ref().expect("checked").send(&id, to, &message.text).await
            }
        };
        match &sent {
            Ok(()) => tracing::info!(channel = channel.as_str(), "notification sent"),
            Err(e) => tracing::warn!(channel = channel.as_str(), error = %e.detail, "notification failed"),
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_seal_and_open_and_never_show() {
        let key = SealKey::from_bytes([3; 32]);
        let email = Recipient::Email(EmailAddress::parse("jane@example.com").unwrap());
        let sms = Recipient::Sms(PhoneNumber::parse("+1 555 123 4567").unwrap());
        for recipient in [&email, &sms] {
            let sealed = recipient.seal(&key);
            assert!(!sealed.contains("jane") && !sealed.contains("555"), "{sealed}");
            assert_eq!(&Recipient::open(&key, &sealed).unwrap(), recipient);
            assert!(Recipient::open(&SealKey::from_bytes([4; 32]), &sealed).is_err());
        }
        assert_eq!(format!("{email:?}"), "Recipient::Email(<redacted>)");
        assert_eq!(format!("{sms:?}"), "Recipient::Sms(<redacted>)");
        assert_eq!(
            format!("{:?}", (&email, Some(&sms))),
            "(Recipient::Email(<redacted>), Some(Recipient::Sms(<redacted>)))"
        );
        assert_eq!(serde_json::to_string(&sms).unwrap(), r#"{"sms":"+15551234567"}"#);
        // What is opened is checked again.
        let forged = seal::seal(&key, r#"{"email":"not an address"}"#);
        assert!(Recipient::open(&key, &forged).is_err());
    }

    #[tokio::test]
    async fn a_channel_that_is_off_names_its_setting() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = Notifier::new(&Config::default(), ServerKey::new("", dir.path())).unwrap();
        let err = notifier.check(Channel::Email).unwrap_err();
        assert!(err.detail.contains("email.smtp_url"), "{}", err.detail);
        let to = Recipient::Sms(PhoneNumber::parse("+15551234567").unwrap());
        let err = notifier.send(&to, &Message::new("", "hi")).await.unwrap_err();
        assert!(err.detail.contains("sms.url"), "{}", err.detail);
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no key made before one is needed");
        let sealed = notifier.seal(&to).unwrap();
        assert_eq!(notifier.open(&sealed).unwrap(), to);
    }
}
