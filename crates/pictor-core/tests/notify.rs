//! Notifications against real servers, no mocks: an email through the
//! aiosmtpd server of `.ci/services.sh` with STARTTLS required, read back
//! from its Maildir (skipped, saying so, without `PICTOR_TEST_SMTP_URL`);
//! an SMS to a small HTTP gateway started here, which checks the Standard
//! Webhooks signature as a receiver does. Each test captures every log
//! line and checks that none names the recipient.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pictor_core::config::{Config, EmailConfig, SmsConfig};
use pictor_core::notify::{Channel, EmailAddress, Mailer, Message, Notifier, PhoneNumber, Recipient};
use pictor_core::server_key::ServerKey;
use pictor_core::{ErrorKind, webhook_signing};

/// Prints a skip line that test output capture cannot hide.
fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// Every log line written while the guard lives (this thread's, which on
/// a current-thread runtime is all of the test's tasks).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber =
            tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(self.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The test SMTP server: its URL, Maildir and CA file.
fn smtp_server() -> Option<(String, PathBuf, String)> {
    let Ok(url) = std::env::var("PICTOR_TEST_SMTP_URL") else {
        skip("PICTOR_TEST_SMTP_URL is not set (source .ci/services.sh): the SMTP tests did not run");
        return None;
    };
    let maildir = std::env::var("PICTOR_TEST_SMTP_MAILDIR").expect("PICTOR_TEST_SMTP_MAILDIR with the URL");
    let ca = std::env::var("PICTOR_TEST_SMTP_CA").expect("PICTOR_TEST_SMTP_CA with the URL");
    Some((url, maildir.into(), ca))
}

/// The delivered message holding `marker`, waiting a little for it.
fn delivered(maildir: &Path, marker: &str) -> String {
    for _ in 0..50 {
        for entry in std::fs::read_dir(maildir.join("new")).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            if text.contains(marker) {
                return text.replace("\r\n", "\n");
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no message with {marker} in {}/new", maildir.display());
}

/// The value of the first header `name` in a message's head.
fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\n\n").next().unwrap_or_default();
    head.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
}

/// `text` with quoted-printable's soft breaks and `=XX` escapes undone
/// (lettre sends a part with long lines that way).
fn quoted_printable_decoded(text: &str) -> String {
    let text = text.replace("=\n", "");
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'=' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let escaped = std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(escaped.expect("=XX in quoted-printable"));
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn an_email_goes_through_starttls_and_arrives_whole() {
    let Some((url, maildir, ca)) = smtp_server() else { return };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let dir = tempfile::tempdir().unwrap();
    let email = EmailConfig { smtp_url: url, ca_file: ca, timeout_secs: 10, ..EmailConfig::default() };
    assert_eq!(email.starttls, "required");
    let config = Config { data_dir: dir.path().into(), email, ..Config::default() };
    let notifier = Notifier::new(&config, ServerKey::new("", dir.path())).unwrap();
    notifier.check(Channel::Email).unwrap();

    // As a job holds it: sealed, opened just before sending.
    let address = format!("jane.{marker}@example.com");
    let sealed = notifier.seal(&Recipient::Email(EmailAddress::parse(&address).unwrap())).unwrap();
    assert!(!sealed.contains(&marker) && !sealed.contains("jane"), "{sealed}");
    let recipient = notifier.open(&sealed).unwrap();
    let link = format!("https://photos.example/bundles/{marker}");
    let message = Message {
        subject: format!("Your photos are ready {marker}"),
        text: format!("Your download is ready:\n{link}\nThe link works for 24 hours."),
        html: Some(format!("<p>Your download is <a href=\"{link}\">ready</a>.</p>")),
        id: None,
    };
    let logs = Logs::default();
    {
        let _capture = logs.capture();
        notifier.send(&recipient, &message).await.unwrap();
    }

    let mail = delivered(&maildir, &marker);
    assert_eq!(header(&mail, "Subject"), Some(message.subject.as_str()), "{mail}");
    assert_eq!(header(&mail, "To"), Some(address.as_str()), "{mail}");
    assert_eq!(header(&mail, "X-Envelope-To"), Some(address.as_str()), "{mail}");
    assert_eq!(header(&mail, "From"), Some("Pictor <pictor@localhost>"), "{mail}");
    assert!(header(&mail, "Content-Type").unwrap().starts_with("multipart/alternative"), "{mail}");
    assert!(header(&mail, "Message-ID").unwrap().ends_with("@localhost>"), "{mail}");
    assert!(mail.contains(&message.text), "the plain text, unchanged:\n{mail}");
    let html = message.html.as_deref().unwrap();
    let html_part = mail.split("Content-Type: text/html").nth(1).expect("an HTML part");
    let html_body = html_part.split("\n\n").nth(1).unwrap().split("\n--").next().unwrap();
    let html_body = if html_part.contains("quoted-printable") {
        quoted_printable_decoded(html_body)
    } else {
        html_body.to_string()
    };
    assert_eq!(html_body.trim_end(), html, "the HTML, unchanged:\n{mail}");

    let logs = logs.text();
    assert!(logs.contains("notification sent") && logs.contains("email"), "{logs}");
    assert!(!logs.contains(&marker) && !logs.contains("jane"), "a log line names the recipient:\n{logs}");
}

#[tokio::test]
async fn a_relay_is_refused_without_its_ca_and_refuses_plain_text() {
    let Some((url, maildir, ca)) = smtp_server() else { return };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let to = EmailAddress::parse(&format!("jane.{marker}@example.com")).unwrap();
    let logs = Logs::default();
    let _capture = logs.capture();

    // Its certificate is checked: without the CA, webpki's roots do not know it.
    let untrusted = EmailConfig { smtp_url: url.clone(), timeout_secs: 10, ..EmailConfig::default() };
    let err = Mailer::new(&untrusted).unwrap().unwrap().send(&to, &marker, "t", None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamFailed);
    assert!(err.detail.contains("email.ca_file") && err.retry_after.is_some(), "{}", err.detail);
    assert!(!err.detail.contains(&marker), "{}", err.detail);

    // Without STARTTLS the server refuses the message (530): permanent.
    let plain = EmailConfig { smtp_url: url, ca_file: ca, starttls: "off".into(), ..EmailConfig::default() };
    let err = Mailer::new(&plain).unwrap().unwrap().send(&to, &marker, "t", None).await.unwrap_err();
    assert_eq!((err.kind, err.retry_after), (ErrorKind::UpstreamFailed, None), "{}", err.detail);
    assert!(err.detail.contains("530") && !err.detail.contains(&marker), "{}", err.detail);

    std::thread::sleep(Duration::from_millis(200));
    let arrived = std::fs::read_dir(maildir.join("new")).unwrap().flatten();
    assert!(arrived.into_iter().all(|e| !std::fs::read_to_string(e.path()).unwrap().contains(&marker)));
    assert!(!logs.text().contains(&marker), "{}", logs.text());
}

/// What the test gateway received.
#[derive(Debug)]
struct Received {
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
}

/// A small SMS gateway on 127.0.0.1: it records each request and answers
/// with the status in `answer`.
async fn gateway(answer: Arc<Mutex<u16>>) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use axum::extract::State;
    type Shared = (Arc<Mutex<u16>>, tokio::sync::mpsc::UnboundedSender<Received>);
    async fn receive(
        State((answer, sent)): State<Shared>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let _ = sent.send(Received { headers, body });
        axum::http::StatusCode::from_u16(*answer.lock().unwrap()).unwrap()
    }
    let (sent, received) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route("/sms", axum::routing::post(receive)).with_state((answer, sent));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn an_sms_is_posted_signed_like_a_webhook() {
    let answer = Arc::new(Mutex::new(202));
    let (url, mut received) = gateway(answer.clone()).await;
    let secret = webhook_signing::new_secret();
    let dir = tempfile::tempdir().unwrap();
    let sms = SmsConfig { url, secret: secret.clone(), timeout_secs: 5 };
    let config = Config { data_dir: dir.path().into(), sms, ..Config::default() };
    let notifier = Notifier::new(&config, ServerKey::new("", dir.path())).unwrap();
    let sealed = notifier.seal(&Recipient::Sms(PhoneNumber::parse("+44 20 7946 0958").unwrap())).unwrap();
    assert!(!sealed.contains("7946"), "{sealed}");
    let recipient = notifier.open(&sealed).unwrap();
    let text = "Your photos are ready: https://photos.example/b/x7 (24 h)";
    let message = Message { text: text.into(), id: Some("job_42".into()), ..Message::default() };
    let logs = Logs::default();
    let _capture = logs.capture();

    notifier.send(&recipient, &message).await.unwrap();
    let request = received.recv().await.unwrap();
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("webhook-id"), "job_42");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((timestamp - pictor_db::now_ms() / 1000).abs() < 60, "a current timestamp: {timestamp}");
    let key = webhook_signing::secret_key(&secret).unwrap();
    assert!(webhook_signing::verify(&key, "job_42", timestamp, &request.body, &header("webhook-signature")));
    let other = webhook_signing::secret_key(&webhook_signing::new_secret()).unwrap();
    assert!(!webhook_signing::verify(&other, "job_42", timestamp, &request.body, &header("webhook-signature")));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, serde_json::json!({ "to": "+442079460958", "text": text }));

    // Without an id, each request gets a fresh one.
    let fresh = Message { id: None, ..message.clone() };
    notifier.send(&recipient, &fresh).await.unwrap();
    let id = received.recv().await.unwrap().headers["webhook-id"].to_str().unwrap().to_string();
    assert!(id.starts_with("msg_") && id.len() > 20, "{id}");

    // Refusals name the status, never the number; a 5xx is worth a retry.
    *answer.lock().unwrap() = 503;
    let err = notifier.send(&recipient, &message).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamFailed);
    assert!(err.detail.contains("503") && err.detail.contains("sms.url"), "{}", err.detail);
    assert!(err.retry_after.is_some());
    *answer.lock().unwrap() = 400;
    let err = notifier.send(&recipient, &message).await.unwrap_err();
    assert!(err.detail.contains("400") && err.retry_after.is_none(), "{}", err.detail);
    assert!(!err.detail.contains("7946") && !err.detail.contains("0958"), "{}", err.detail);

    let logs = logs.text();
    assert!(logs.contains("notification sent") && logs.contains("sms"), "{logs}");
    assert!(!logs.contains("7946") && !logs.contains("0958"), "a log line names the number:\n{logs}");
}
