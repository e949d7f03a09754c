//! The style shop over HTTP, with real parts: the style models
//! (`PICTOR_TEST_MODELS`), an SMTP server (aiosmtpd), a Stripe stand-in
//! (`.ci/stripe_standin.py`) and, when installed, the db-ip country
//! database (`PICTOR_TEST_GEOIP`). One journey on both backends: a signed
//! form → the photo posted straight to the store → the preview mailed →
//! the price in the visitor's currency → a payment intent → Stripe's
//! signed webhook (a replay does nothing) → the artwork mailed, full size
//! → the address erased. And what the shop refuses.

use crate::common;

use std::path::{Path, PathBuf};

use common::{Backend, TestApp, assert_problem, jpeg, skip};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const WEBHOOK_SECRET: &str = "whsec_pictor_test_secret";
/// Addresses the pinned db-ip database places in Germany and in Japan.
const GERMAN_IP: &str = "193.99.144.80";
const JAPANESE_IP: &str = "133.242.0.3";

struct Parts {
    models: PathBuf,
    smtp: String,
    maildir: PathBuf,
    ca: String,
    stripe: String,
}

fn parts() -> Option<Parts> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(models), Some(smtp), Some(stripe)) =
        (var("PICTOR_TEST_MODELS"), var("PICTOR_TEST_SMTP_URL"), var("PICTOR_TEST_STRIPE_URL"))
    else {
        skip(
            "the shop: PICTOR_TEST_MODELS, PICTOR_TEST_SMTP_URL and PICTOR_TEST_STRIPE_URL are needed (.ci/run sets them)",
        );
        return None;
    };
    Some(Parts {
        models: PathBuf::from(models),
        smtp,
        maildir: PathBuf::from(var("PICTOR_TEST_SMTP_MAILDIR").expect("the Maildir with the URL")),
        ca: var("PICTOR_TEST_SMTP_CA").expect("the CA with the URL"),
        stripe,
    })
}

async fn shop(backend: Backend, parts: &Parts) -> Option<TestApp> {
    shop_with(backend, parts, |_| {}).await
}

async fn shop_with(backend: Backend, parts: &Parts, tweak: impl FnOnce(&mut pictor_server::Config)) -> Option<TestApp> {
    TestApp::spawn(backend, |config| {
        std::os::unix::fs::symlink(parts.models.join("models"), config.data_dir.join("models")).unwrap();
        config.email.smtp_url = parts.smtp.clone();
        config.email.ca_file = parts.ca.clone();
        config.shop.stripe.api_base = parts.stripe.clone();
        config.shop.stripe.secret_key = "sk_test_pictor".into();
        config.shop.stripe.publishable_key = "pk_test_pictor".into();
        config.shop.stripe.webhook_secrets = vec![WEBHOOK_SECRET.into()];
        if let Some(geoip) = std::env::var_os("PICTOR_TEST_GEOIP") {
            config.shop.geo.database = Some(PathBuf::from(geoip));
        }
        tweak(config);
    })
    .await
}

/// A photo to paint: scikit-image's coffee when there, else a gradient.
fn photo() -> Vec<u8> {
    std::env::var_os("PICTOR_TEST_PHOTOS")
        .map(|dir| Path::new(&dir).join("coffee.png"))
        .and_then(|path| std::fs::read(path).ok())
        .unwrap_or_else(|| jpeg(300, 200))
}

/// Asks for a form and posts `bytes` with it, as the page's script does.
async fn post_photo(app: &TestApp, style: &str, email: &str, bytes: &[u8], content_type: &str) -> reqwest::Response {
    let form = upload_form(app, style, email, bytes.len(), content_type).await;
    send_form(app, &form, bytes, content_type).await
}

async fn upload_form(app: &TestApp, style: &str, email: &str, size: usize, content_type: &str) -> Value {
    let request = json!({ "style": style, "email": email, "content_type": content_type, "size": size });
    let response = app.client.post(app.url("/shop/api/uploads")).json(&request).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn send_form(app: &TestApp, form: &Value, bytes: &[u8], content_type: &str) -> reqwest::Response {
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in form["fields"].as_object().unwrap() {
        multipart = multipart.text(name.clone(), value.as_str().unwrap().to_string());
    }
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo").mime_str(content_type).unwrap();
    app.client.post(form["url"].as_str().unwrap()).multipart(multipart.part("file", part)).send().await.unwrap()
}

/// The newest message to `marker`'s address, waited for (without
/// blocking the runtime: the server runs on it too).
async fn mail_to(maildir: &Path, marker: &str, subject: &str) -> String {
    for _ in 0..100 {
        for entry in std::fs::read_dir(maildir.join("new")).into_iter().flatten().flatten() {
            let text =
                std::fs::read_to_string(entry.path()).unwrap_or_default().replace("=\r\n", "").replace("=\n", "");
            if text.contains(marker) && text.contains(subject) {
                return text.replace("=3D", "=");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no message {subject:?} for {marker} in {}/new", maildir.display());
}

/// The order link in a message.
fn link_in(message: &str) -> String {
    let start = message.find("http").expect("a link");
    let link: String = message[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.contains("/shop/o/"), "{link}");
    link
}

/// A `Stripe-Signature` header for `payload`, as Stripe makes it.
fn stripe_signature(payload: &str, secret: &str, at: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{at}.{payload}").as_bytes());
    format!("t={at},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn succeeded(event_id: &str, intent: &Value, order: &str) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": pictor_db::now_ms() / 1000,
        "data": { "object": {
            "id": intent["id"], "object": "payment_intent", "amount": intent["amount"],
            "currency": intent["currency"], "status": "succeeded", "metadata": { "order": order }
        } }
    })
    .to_string()
}

async fn webhook(app: &TestApp, payload: &str, signature: &str) -> reqwest::Response {
    let request = app.client.post(app.url("/shop/stripe/webhook")).header("stripe-signature", signature);
    request.header("content-type", "application/json").body(payload.to_string()).send().await.unwrap()
}

/// Makes the orders of uploads that went straight to S3 (housekeeping
/// does this every few seconds), then runs the queue dry.
async fn arrive_and_drain(app: &TestApp) {
    pictor_core::shop::upload::sweep(&app.state).await;
    app.settle().await;
}

#[tokio::test]
async fn an_order_from_upload_to_artwork_locally() {
    order_journey(Backend::Local).await;
}

#[tokio::test]
async fn an_order_from_upload_to_artwork_on_postgres_and_s3() {
    order_journey(Backend::PostgresS3).await;
}

async fn order_journey(backend: Backend) {
    let Some(parts) = parts() else { return };
    let Some(app) = shop(backend, &parts).await else { return };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("visitor.{marker}@example.com");
    let bytes = photo();
    let (width, height) = pictor_imaging::decode::probe(&bytes).map(|h| (h.width, h.height)).unwrap();
    let content_type = if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
    let sent = post_photo(&app, "ember", &email, &bytes, content_type).await;
    assert!(sent.status().is_success(), "{}: {}", sent.status(), sent.text().await.unwrap());
    arrive_and_drain(&app).await;

    let preview_mail = mail_to(&parts.maildir, &marker, "your preview is ready").await;
    let link = link_in(&preview_mail);
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "private, no-store");
    let page = page.text().await.unwrap();
    assert!(page.contains("preview.jpg") && page.contains("shop-pay"), "{page}");
    let preview = app.client.get(app.url(&format!("/shop/o/{token}/preview.jpg"))).send().await.unwrap();
    let preview = pictor_imaging::decode::probe(&preview.bytes().await.unwrap()).unwrap();
    assert_eq!(preview.width.max(preview.height), 512, "the preview is 512 px on its longest side");
    let early = app.client.get(app.url(&format!("/shop/o/{token}/artwork.jpg"))).send().await.unwrap();
    assert_problem(early, 403, "forbidden").await;

    if std::env::var_os("PICTOR_TEST_GEOIP").is_some() {
        for (ip, currency) in [(GERMAN_IP, "EUR"), (JAPANESE_IP, "JPY")] {
            let view: Value = app
                .client
                .get(app.url(&format!("/shop/api/orders/{token}")))
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(view["price"]["currency"], currency, "{ip}: {view}");
        }
    } else {
        skip("shop prices by country: PICTOR_TEST_GEOIP is not set (.ci/shop.sh installs the db-ip database)");
    }

    let checkout = app
        .client
        .post(app.url(&format!("/shop/api/orders/{token}/checkout")))
        .header("x-forwarded-for", JAPANESE_IP)
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), 200);
    let checkout: Value = checkout.json().await.unwrap();
    assert_eq!(checkout["publishable_key"], "pk_test_pictor");
    let secret = checkout["client_secret"].as_str().unwrap();
    let intent_id = secret.split("_secret_").next().unwrap();
    let order_id = app.state.db.shop_order_by_link(&pictor_core::shop::link_hash(&token)).await.unwrap().unwrap().id;
    let intent = json!({ "id": intent_id, "amount": checkout["amount"], "currency": checkout["currency"].as_str().unwrap().to_lowercase() });

    let now = pictor_db::now_ms() / 1000;
    let payload = succeeded("evt_paid_1", &intent, &order_id);
    let forged = webhook(&app, &payload, &stripe_signature(&payload, "whsec_someone_else", now)).await;
    assert_problem(forged, 400, "signature_mismatch").await;
    let stale = webhook(&app, &payload, &stripe_signature(&payload, WEBHOOK_SECRET, now - 3600)).await;
    assert_eq!(stale.status(), 400, "an old signature is a replay");
    let paid = webhook(&app, &payload, &stripe_signature(&payload, WEBHOOK_SECRET, now)).await;
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.json::<Value>().await.unwrap()["handled"], "paid");
    let again = webhook(&app, &payload, &stripe_signature(&payload, WEBHOOK_SECRET, now)).await;
    assert_eq!(again.json::<Value>().await.unwrap()["handled"], "replayed", "each event id is handled once");
    app.settle().await;

    let artwork_mail = mail_to(&parts.maildir, &marker, "your artwork is ready").await;
    assert_eq!(link_in(&artwork_mail), link, "the same link, now with the artwork");
    let artwork = app.client.get(app.url(&format!("/shop/o/{token}/artwork.jpg"))).send().await.unwrap();
    assert_eq!(artwork.status(), 200);
    assert!(artwork.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let artwork = artwork.bytes().await.unwrap();
    let painted = pictor_imaging::decode(&artwork, &Default::default()).unwrap().image;
    assert_eq!((painted.width(), painted.height()), (width, height), "full resolution");
    let original = pictor_imaging::decode(&bytes, &Default::default()).unwrap().image;
    assert!(mean_difference(&original, &painted) > 10.0, "the artwork is repainted, not the photo");

    let order = app.state.db.get_shop_order(&order_id).await.unwrap().unwrap();
    assert_eq!((order.state.as_str(), order.contact.as_deref()), ("delivered", None), "the address is erased");
    let view: Value =
        app.client.get(app.url(&format!("/shop/api/orders/{token}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!((view["state"].as_str(), view["price"]["currency"].as_str()), (Some("delivered"), Some("JPY")));
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for step in ["upload", "preview_sent", "preview_opened", "checkout", "paid", "delivered"] {
        assert!(
            metrics.contains(&format!("pictor_shop_orders_total{{style=\"ember\",step=\"{step}\"}} 1")),
            "{step}: {metrics}"
        );
    }
    assert!(metrics.contains("pictor_style_render_seconds_count{rendition=\"artwork\"} 1"), "{metrics}");
    assert!(!metrics.contains(&marker), "no address in the metrics");

    // The janitor: once the link lapses the order and its pictures go.
    pictor_core::shop::orders::expire(&app.state, order.expires_at + 1).await.unwrap();
    let gone = app.client.get(&link).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    assert!(app.state.store.list_objects(&format!("shop/orders/{order_id}")).await.unwrap().is_empty());
    app.shutdown().await;
}

/// Mean absolute difference per channel of two same-sized pictures.
fn mean_difference(a: &pictor_imaging::Image, b: &pictor_imaging::Image) -> f64 {
    assert_eq!(a.channels(), b.channels(), "compared as they are laid out");
    let total: u64 = a.data().iter().zip(b.data()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    total as f64 / a.data().len() as f64
}

#[tokio::test]
async fn forms_that_were_changed_or_hold_no_photo_are_refused_and_leave_nothing() {
    let Some(parts) = parts() else { return };
    let Some(app) = shop(Backend::Local, &parts).await else { return };
    let bytes = jpeg(64, 48);
    let form = upload_form(&app, "ink", "someone@example.com", bytes.len(), "image/jpeg").await;
    assert!(form["url"].as_str().unwrap().ends_with("/shop/upload"), "a local store takes the POST itself");
    for (field, value) in
        [("x-amz-meta-style", "mosaic"), ("key", "shop/incoming/0123456789abcdef0123456789abcdef/photo")]
    {
        let mut changed = form.clone();
        changed["fields"][field] = json!(value);
        let refused = send_form(&app, &changed, &bytes, "image/jpeg").await;
        assert_eq!(refused.status(), 403, "{field} changed");
    }
    let too_big = send_form(&app, &form, &jpeg(300, 300), "image/jpeg").await;
    assert_eq!(too_big.status(), 413, "over the size the form was signed for");
    let text = b"this is not a photo at all, only text".to_vec();
    let form = upload_form(&app, "ink", "someone@example.com", text.len(), "image/jpeg").await;
    let not_photo = send_form(&app, &form, &text, "image/jpeg").await;
    assert_eq!(not_photo.status(), 415, "{}", not_photo.text().await.unwrap());
    assert!(app.state.store.list_objects("shop").await.unwrap().is_empty(), "nothing is left behind");
    let unknown =
        json!({ "style": "no-such-style", "email": "a@example.com", "content_type": "image/jpeg", "size": 10 });
    let refused = app.client.post(app.url("/shop/api/uploads")).json(&unknown).send().await.unwrap();
    assert_problem(refused, 404, "not_found").await;
    let bad_mail = json!({ "style": "ink", "email": "not an address", "content_type": "image/jpeg", "size": 10 });
    let refused = app.client.post(app.url("/shop/api/uploads")).json(&bad_mail).send().await.unwrap();
    assert_problem(refused, 400, "invalid_request").await;
    let forged_link =
        app.client.get(app.url("/shop/o/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).send().await.unwrap();
    assert_eq!(forged_link.status(), 404);
    assert!(forged_link.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "a readable page");
    let unsigned = webhook(&app, "{}", "").await;
    assert_eq!(unsigned.status(), 400);
    app.shutdown().await;
}

#[tokio::test]
async fn style_renders_wait_for_a_style_worker() {
    let Some(parts) = parts() else { return };
    // The server's own workers leave style renders to dedicated ones.
    let Some(app) = shop_with(Backend::Local, &parts, |config| {
        config.workflow.run_workers = true;
        config.workflow.except = vec!["style".into()];
    })
    .await
    else {
        return;
    };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let sent = post_photo(&app, "tide", &format!("w.{marker}@example.com"), &jpeg(96, 64), "image/jpeg").await;
    assert_eq!(sent.status(), 204);
    let waiting = "pictor_queue_ready{kind=\"style.render\"} 1";
    let metrics = eventually(&app, |metrics| metrics.contains(waiting)).await;
    assert!(metrics.contains(waiting), "the render waits for a style worker: {metrics}");
    // `pictor worker --only style`, on the same database and store.
    let mut config = app.state.config.clone();
    (config.workflow.only, config.workflow.except) = (vec!["style".into()], vec![]);
    let worker = pictor_jobs::Runtime::open(config).await.unwrap();
    assert_eq!(worker.kinds, pictor_db::KindFilter::Only(vec!["style.render".into()]));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker.clone().run(stopped));
    mail_to(&parts.maildir, &marker, "your preview is ready").await;
    let _ = stop.send(true);
    running.await.unwrap();
    app.shutdown().await;
}

/// The metrics once `done` holds of them, polled (up to a minute).
async fn eventually(app: &TestApp, done: impl Fn(&str) -> bool) -> String {
    let mut metrics = String::new();
    for _ in 0..600 {
        metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if done(&metrics) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    metrics
}

/// "Your own style": the visitor sends a style picture with the photo, in
/// either order; the order is made once both are there, and its preview
/// is painted in that picture's style.
#[tokio::test]
async fn a_visitors_own_style_picture_paints_the_preview() {
    let Some(parts) = parts() else { return };
    let Some(app) = shop(Backend::Local, &parts).await else { return };
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("own.{marker}@example.com");
    let photo = jpeg(160, 120);
    let picture = std::env::var_os("PICTOR_TEST_PHOTOS")
        .and_then(|dir| std::fs::read(Path::new(&dir).join("chelsea.png")).ok())
        .unwrap_or_else(|| common::png(90, 90));
    let picture_type = if picture.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
    let plain = json!({ "style": "yours", "email": email, "content_type": "image/jpeg", "size": photo.len() });
    let refused = app.client.post(app.url("/shop/api/uploads")).json(&plain).send().await.unwrap();
    let said = assert_problem(refused, 400, "invalid_request").await;
    assert!(said["detail"].as_str().unwrap().contains("style_image"), "{said}");
    let mut request = plain.clone();
    request["style_image"] = json!({ "content_type": picture_type, "size": picture.len() });
    let form: Value =
        app.client.post(app.url("/shop/api/uploads")).json(&request).send().await.unwrap().json().await.unwrap();
    let style_form = form["style_form"].clone();
    assert!(style_form["fields"]["key"].as_str().unwrap().ends_with("/style"), "{form}");
    // The photo first: no order until the style picture is there too.
    assert_eq!(send_form(&app, &form, &photo, "image/jpeg").await.status(), 204);
    app.settle().await;
    assert!(app.state.store.list_objects("shop/orders").await.unwrap().is_empty(), "no order yet");
    assert_eq!(send_form(&app, &style_form, &picture, picture_type).await.status(), 204);
    app.settle().await;
    let link = link_in(&mail_to(&parts.maildir, &marker, "your preview is ready").await);
    let token = link.rsplit('/').next().unwrap();
    let preview = app.client.get(app.url(&format!("/shop/o/{token}/preview.jpg"))).send().await.unwrap();
    assert_eq!(preview.status(), 200);
    let painted = pictor_imaging::decode(&preview.bytes().await.unwrap(), &Default::default()).unwrap().image;
    assert_eq!(painted.width(), 160, "a preview is never enlarged");
    app.shutdown().await;
}
