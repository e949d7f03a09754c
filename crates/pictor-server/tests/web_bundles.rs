//! The asset manager's journey in the web app, with a real SMTP server
//! (`.ci/services.sh`'s aiosmtpd, STARTTLS required): the tags page's
//! "Download originals" → how many photos → an email address → the
//! bundles page shows it ready → the mail arrives with the link → the zip
//! holds the originals byte for byte. Afterwards the address is nowhere:
//! not in the database files, the store, the job queue, or any log line
//! the server wrote (captured for the whole test).

use crate::common;

use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{Backend, TestApp, jpeg, skip};
use pictor_core::auth::create_api_key;
use reqwest::header::{COOKIE, LOCATION};

use crate::web::{account, browser, hidden, restarted, set_cookie, sign_in};

#[tokio::test]
async fn tags_to_a_mailed_zip_and_no_address_kept() {
    let Ok(smtp) = std::env::var("PICTOR_TEST_SMTP_URL") else {
        skip("the mailed bundle journey: PICTOR_TEST_SMTP_URL is not set (.ci/services.sh starts aiosmtpd)");
        return;
    };
    let maildir = std::env::var("PICTOR_TEST_SMTP_MAILDIR").expect("the Maildir with the URL");
    let ca = std::env::var("PICTOR_TEST_SMTP_CA").expect("the CA with the URL");
    let logs = Logs::default();
    let _capture = logs.capture();
    let Some(app) = TestApp::spawn(Backend::Local, |config| {
        config.email.smtp_url = smtp;
        config.email.ca_file = ca;
        config.log.filter = "debug".into();
    })
    .await
    else {
        return;
    };
    let password = account(&app, "iris").await;
    let key = create_api_key(&app.state.db, "iris", "upload read", None).await.unwrap().secret;
    let app = restarted(app).await;
    let photos = [jpeg(50, 40), jpeg(51, 40), jpeg(52, 40)];
    let mut ids = Vec::new();
    for bytes in &photos {
        let response = app.client.post(app.url("/api/v1/img")).bearer_auth(&key).header("content-type", "image/jpeg");
        let response = response.body(bytes.clone()).send().await.unwrap();
        ids.push(response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    app.drain().await;
    let label =
        |name: &str| pictor_db::ImageLabel { name: name.into(), confidence: 0.9, direct: true, parents: vec![] };
    app.state.db.set_image_labels(&ids[0], &[label("lake")]).await.unwrap();
    app.state.db.set_image_labels(&ids[1], &[label("lake"), label("mountain")]).await.unwrap();
    app.state.db.set_image_labels(&ids[2], &[label("forest")]).await.unwrap();

    let session = set_cookie(&sign_in(&app, "iris", &password, "/").await, "pictor_session").unwrap().0;
    let get = |path: String| browser().get(app.url(&path)).header(COOKIE, session.clone()).send();
    let tags = get("/tags".into()).await.unwrap().text().await.unwrap();
    assert!(tags.contains("formaction=\"/bundles/new\""), "the tags page has its Download button: {tags}");
    let new = get("/bundles/new?label=lake&match=any".into()).await.unwrap();
    assert_eq!(new.status(), 200);
    let new = new.text().await.unwrap();
    assert!(new.contains("<strong>2 photos</strong>"), "{new}");
    assert!(new.contains("type=\"email\""), "email is offered: the server has SMTP");

    let marker = uuid::Uuid::new_v4().simple().to_string();
    let address = format!("iris.{marker}@example.com");
    let form = [
        ("csrf", hidden(&new, "csrf")),
        ("match", "any".into()),
        ("label", "lake".into()),
        ("notify", "email".into()),
        ("email", address.clone()),
    ];
    let made = browser().post(app.url("/bundles")).header(COOKIE, session.clone()).form(&form).send().await.unwrap();
    assert_eq!((made.status().as_u16(), made.headers()[LOCATION].to_str().unwrap()), (303, "/bundles"));
    let pending = get("/bundles".into()).await.unwrap().text().await.unwrap();
    assert!(pending.contains("hx-trigger=\"every 2s\""), "the list refreshes while one is under way: {pending}");

    app.settle().await;
    let listed = get("/bundles".into()).await.unwrap().text().await.unwrap();
    assert!(listed.contains("data-state=\"ready\"") && listed.contains("ready: 2 photos"), "{listed}");
    assert!(!listed.contains(&marker), "the page never shows the address");

    // The mail: to the address, with the link, which gives the zip.
    let mail = delivered(Path::new(&maildir), &marker);
    let link = mail
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|word| word.starts_with("http://") && word.contains("/zip?"))
        .unwrap_or_else(|| panic!("no link in the mail:\n{mail}"))
        .replace("&amp;", "&");
    let zip = app.client.get(&link).send().await.unwrap();
    assert_eq!(zip.status(), 200, "{link}");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(archive.len(), 2);
    for (i, original) in photos[..2].iter().enumerate() {
        let mut bytes = Vec::new();
        archive.by_index(i).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(&bytes, original, "entry {i} byte for byte");
    }

    // Nothing personal kept: not in the queue, the files, or the logs.
    assert_eq!(app.state.db.queue_stats().await.unwrap().ready, 0, "the notification job is gone");
    let data = app.state.config.data_dir.clone();
    app.shutdown().await;
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        let found = bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
        assert!(!found, "the address is in {}", file.display());
    }
    let written = logs.text();
    assert!(written.contains("bundle notification sent"), "the logs were captured: {written}");
    assert!(!written.contains(&marker), "a log line names the address");
}

/// The delivered message holding `marker`, decoded from quoted-printable.
fn delivered(maildir: &Path, marker: &str) -> String {
    for _ in 0..50 {
        for entry in std::fs::read_dir(maildir.join("new")).into_iter().flatten().flatten() {
            let text =
                std::fs::read_to_string(entry.path()).unwrap_or_default().replace("=\r\n", "").replace("=\n", "");
            if text.contains(marker) {
                return text.replace("=3D", "=");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no message for {marker} in {}/new", maildir.display());
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(files_under(&path)) } else { files.push(path) }
    }
    files
}

/// Every log line the test's tasks write (a current-thread runtime: the
/// server runs on this thread).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(move || logs.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
