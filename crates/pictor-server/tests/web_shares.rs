//! Sharing, black-box over HTTP on both backends: a link with a password
//! guards its page, thumbnails and originals; the pass is a cookie scoped to
//! the link; expiry and revocation close the page and every image URL at
//! once; guests get no owner, and no camera or place (in the page or the
//! bytes) unless the owner opted in; strangers cannot list, read or revoke
//! another's shares; the access log records each visit.

use std::time::Duration;

use crate::common;
use crate::web::{browser, set_cookie, upload_as};
use crate::web_library::{Visitor, album_id, two_accounts};

use common::{Backend, TestApp, corpus, skip};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};

/// The `/s/{token}` link the shares page shows once, after its form.
fn new_link(page: &str) -> String {
    let at = page.find("id=\"new-link\"").unwrap_or_else(|| panic!("no new link: {page}"));
    let value = &page[at..];
    let value = &value[value.find("value=\"").unwrap() + 7..];
    let url = &value[..value.find('"').unwrap()];
    url[url.find("/s/").expect("a share link")..].to_string()
}

/// A guest's browser: a fresh client, and the cookies it was given.
struct Guest<'a> {
    app: &'a TestApp,
    link: String,
    cookies: Vec<String>,
}

impl<'a> Guest<'a> {
    fn new(app: &'a TestApp, link: &str) -> Self {
        Self { app, link: link.to_string(), cookies: Vec::new() }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let request = browser().get(self.app.url(&format!("{}{path}", self.link)));
        let request = if self.cookies.is_empty() { request } else { request.header(COOKIE, self.cookies.join("; ")) };
        request.send().await.unwrap()
    }

    async fn status(&self, path: &str) -> u16 {
        self.get(path).await.status().as_u16()
    }

    /// Fills in the password form; returns the answer to its post.
    async fn give_password(&mut self, password: &str) -> reqwest::Response {
        let form = self.get("").await;
        let (token_cookie, _) = set_cookie(&form, "pictor_share_form").expect("the form sets its token cookie");
        let csrf = crate::web::hidden(&form.text().await.unwrap(), "csrf");
        let request = browser().post(self.app.url(&self.link)).header(COOKIE, token_cookie);
        let answer = request.form(&[("password", password), ("csrf", &csrf)]).send().await.unwrap();
        if let Some((pass, _)) = set_cookie(&answer, "pictor_share") {
            self.cookies.push(pass);
        }
        answer
    }
}

/// The share's id, from the owner's API listing (the newest).
async fn newest_share(app: &TestApp, key: &str) -> Value {
    let listed: Value =
        app.client.get(app.url("/api/v1/shares")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
    listed["shares"][0].clone()
}

async fn access_outcomes(app: &TestApp, key: &str, share: &str) -> Vec<String> {
    let response = app.client.get(app.url(&format!("/api/v1/shares/{share}/access"))).bearer_auth(key).send();
    let log: Value = response.await.unwrap().json().await.unwrap();
    log["access"].as_array().unwrap().iter().map(|v| v["outcome"].as_str().unwrap().to_string()).collect()
}

async fn a_password_guards_the_page_and_every_image_until_revoked(backend: Backend) {
    let Some((app, (ann_pw, ann_key), _)) = two_accounts(backend).await else { return };
    let (first, second, outside) =
        (upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await);
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    let album = album_id(&ann.post("/albums", &[("name", "Alps trip"), ("description", "Summer")]).await);
    ann.post("/albums/add", &[("album", &album), ("image", &first), ("image", &second)]).await;
    assert!(ann.text(&format!("/albums/{album}")).await.contains("Create link"), "the album page has a Share form");

    let made = ann
        .post("/shares", &[("kind", "album"), ("target", &album), ("password", "open sesame"), ("expires", "7")])
        .await;
    assert_eq!(made.status(), 200);
    let link = new_link(&made.text().await.unwrap());
    let share = newest_share(&app, &ann_key).await;
    let share_id = share["id"].as_str().unwrap().to_string();
    assert_eq!((share["has_password"].as_bool(), share["kind"].as_str()), (Some(true), Some("album")));
    assert!(share["expires_at"].as_i64().unwrap() > pictor_db::now_ms() + 6 * 86_400_000);
    assert!(!share.to_string().contains(&link[3..]), "the token is never listed");

    // A guest without the password sees the form, and no photo or image.
    let mut guest = Guest::new(&app, &link);
    let form = guest.get("").await;
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains("type=\"password\"") && !form.contains(&first) && !form.contains("Alps"), "{form}");
    let thumb = format!("/img/{first}.webp?thumbnail=256");
    let original = format!("/original/{first}");
    assert_eq!((guest.status(&thumb).await, guest.status(&original).await), (401, 401));

    // A wrong password: refused, no pass; the right one: a pass scoped to the link.
    let wrong = guest.give_password("open says me").await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "pictor_share").is_none());
    assert!(wrong.text().await.unwrap().contains("not the password"));
    let right = guest.give_password("open sesame").await;
    assert_eq!((right.status().as_u16(), right.headers()[LOCATION].to_str().unwrap()), (303, link.as_str()));
    let (_, attributes) = set_cookie(&right, "pictor_share").expect("a pass");
    for part in ["HttpOnly", "SameSite=Lax", &format!("Path={link}")] {
        assert!(attributes.contains(part), "{attributes} lacks {part}");
    }

    // With the pass: the album's photos and nothing else, nothing of the owner's.
    let page = guest.get("").await;
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let page = page.text().await.unwrap();
    assert!(page.contains("Alps trip") && page.contains(&first) && page.contains(&second), "{page}");
    assert!(!page.contains(&outside) && !page.contains(">ann<") && !page.contains("/api/v1/"), "{page}");
    assert!(!page.contains("Sign out") && !page.contains("sha256"), "{page}");
    let image = guest.get(&thumb).await;
    assert_eq!(image.status(), 200);
    assert_eq!(
        (image.headers()[CONTENT_TYPE].to_str().unwrap(), image.headers()[CACHE_CONTROL].to_str().unwrap()),
        ("image/webp", "private, no-cache")
    );
    assert_eq!(guest.status(&original).await, 200);
    assert_eq!(guest.status(&format!("/photos/{second}")).await, 200);
    for elsewhere in
        [format!("/img/{outside}.webp?thumbnail=256"), format!("/original/{outside}"), format!("/photos/{outside}")]
    {
        assert_eq!(guest.status(&elsewhere).await, 404, "{elsewhere}: not in the album");
    }
    assert_eq!(guest.status(&format!("/img/{first}.webp?thumbnail=300")).await, 400, "only fixed sizes");
    assert_eq!(guest.status(&format!("/img/{first}.webp?thumbnail=256&metadata=keep")).await, 200);
    // The pass opens this link only.
    let other = ann
        .post("/shares", &[("kind", "photo"), ("target", &outside), ("password", "other one"), ("expires", "never")])
        .await;
    let other = new_link(&other.text().await.unwrap());
    let stranger = Guest { app: &app, link: other, cookies: guest.cookies.clone() };
    assert_eq!(stranger.status(&format!("/original/{outside}")).await, 401);

    // The owner's page lists it with its use; the log has each visit.
    let listed = ann.text("/shares").await;
    assert!(listed.contains(&share_id) && listed.contains("Alps trip") && listed.contains("Revoke"), "{listed}");
    let outcomes = access_outcomes(&app, &ann_key, &share_id).await;
    assert!(outcomes.contains(&"wrong_password".into()) && outcomes.contains(&"viewed".into()), "{outcomes:?}");
    let log: Value = app
        .client
        .get(app.url(&format!("/api/v1/shares/{share_id}/access")))
        .bearer_auth(&ann_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let network = log["access"][0]["network"].as_str().unwrap();
    assert_eq!(network, "127.0.0.0/24", "the network, not the address");

    // Revoked: the page and every image URL die at once.
    let revoked = ann.post(&format!("/shares/{share_id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), 303);
    let gone = guest.get("").await;
    assert_eq!(gone.status(), 410);
    assert!(gone.text().await.unwrap().contains("revoked"));
    assert_eq!((guest.status(&thumb).await, guest.status(&original).await), (410, 410));
    assert_eq!(guest.status(&format!("/photos/{first}")).await, 410);
    assert!(access_outcomes(&app, &ann_key, &share_id).await.contains(&"revoked".into()));
    assert!(ann.text("/shares").await.contains("data-state=\"revoked\""));
    app.shutdown().await;
}

async fn expired_links_die_and_strangers_cannot_touch_shares(backend: Backend) {
    let Some((app, (_, ann_key), (bob_pw, bob_key))) = two_accounts(backend).await else { return };
    let (photo, other) = (upload_as(&app, &ann_key).await, upload_as(&app, &ann_key).await);
    let create = |key: &str, body: Value| {
        app.client.post(app.url("/api/v1/shares")).bearer_auth(key.to_string()).json(&body).send()
    };
    let made = create(&ann_key, json!({"kind": "photo", "target": photo, "expires_in_secs": 3})).await.unwrap();
    let expires = std::time::Instant::now() + Duration::from_millis(3100);
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let (share_id, link) = (made["id"].as_str().unwrap().to_string(), made["url"].as_str().unwrap().to_string());

    // Without a password it opens at once: the photo, and only it.
    let guest = Guest::new(&app, &link);
    let page = guest.get("").await.text().await.unwrap();
    assert!(page.contains(&photo) && !page.contains(&other), "{page}");
    assert_eq!(guest.status(&format!("/img/{photo}.jpg?thumbnail=512")).await, 200);
    assert_eq!(guest.status(&format!("/img/{other}.jpg?thumbnail=512")).await, 404);

    // Strangers: nothing listed, nothing to read, revoke or share.
    let bob = Visitor::sign_in(&app, "bob", &bob_pw).await;
    let api = |method: reqwest::Method, path: String| {
        app.client.request(method, app.url(&path)).bearer_auth(bob_key.clone()).send()
    };
    let bobs: Value = api(reqwest::Method::GET, "/api/v1/shares".into()).await.unwrap().json().await.unwrap();
    assert_eq!(bobs["shares"].as_array().unwrap().len(), 0);
    assert_eq!(api(reqwest::Method::GET, format!("/api/v1/shares/{share_id}/access")).await.unwrap().status(), 404);
    assert_eq!(api(reqwest::Method::DELETE, format!("/api/v1/shares/{share_id}")).await.unwrap().status(), 404);
    assert_eq!(create(&bob_key, json!({"kind": "photo", "target": photo})).await.unwrap().status(), 404);
    assert_eq!(bob.post(&format!("/shares/{share_id}/revoke"), &[]).await.status(), 404);
    assert_eq!(bob.post("/shares", &[("kind", "photo"), ("target", &photo), ("expires", "1")]).await.status(), 404);
    assert!(!bob.text("/shares").await.contains(&share_id));
    assert_eq!(create(&ann_key, json!({"kind": "user", "target": photo})).await.unwrap().status(), 400);
    assert_eq!(
        create(&ann_key, json!({"kind": "photo", "target": photo, "password": "abc"})).await.unwrap().status(),
        400
    );
    // No credentials at all: the owner's pages and API are closed.
    assert_eq!(browser().get(app.url("/shares")).send().await.unwrap().status(), 303);
    assert_eq!(app.client.get(app.url("/api/v1/shares")).send().await.unwrap().status(), 401);
    // Unknown and malformed links are simply not there.
    for bad in ["/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/s/x%3B%0Aevil", "/s/short/img/x.webp?thumbnail=256"]
    {
        assert_eq!(browser().get(app.url(bad)).send().await.unwrap().status(), 404, "{bad}");
    }

    // Expired: the page and images answer 410, and the log says why.
    tokio::time::sleep_until(expires.into()).await;
    assert_eq!(guest.status("").await, 410);
    assert_eq!(guest.status(&format!("/img/{photo}.jpg?thumbnail=512")).await, 410);
    assert!(access_outcomes(&app, &ann_key, &share_id).await.contains(&"expired".into()));
    app.shutdown().await;
}

/// The corpus's iPhone photo with GPS, or `None` (skipped visibly).
fn camera_photo() -> Option<Vec<u8>> {
    let path = corpus()?.join("camera_exif/exiftool-t/Apple.jpg");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            skip("camera_exif/exiftool-t/Apple.jpg is absent from the corpus");
            None
        }
    }
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn guests_see_camera_and_place_only_when_the_owner_opts_in(backend: Backend) {
    let Some(bytes) = camera_photo() else { return };
    let Some((app, (ann_pw, ann_key), _)) = two_accounts(backend).await else { return };
    assert!(holds(&bytes, b"iPhone 7"), "the file names its camera");
    let uploaded = app.client.post(app.url("/api/v1/img")).bearer_auth(&ann_key).header(CONTENT_TYPE, "image/jpeg");
    let uploaded: Value = uploaded.body(bytes.clone()).send().await.unwrap().json().await.unwrap();
    let photo = uploaded["id"].as_str().unwrap().to_string();
    app.drain().await;
    let ann = Visitor::sign_in(&app, "ann", &ann_pw).await;
    assert!(ann.text(&format!("/photos/{photo}")).await.contains("iPhone 7"), "the owner sees the camera");

    let mut links = Vec::new();
    for opted_in in [false, true] {
        let mut fields = vec![("kind", "photo"), ("target", photo.as_str()), ("expires", "1")];
        if opted_in {
            fields.push(("show_metadata", "1"));
        }
        links.push(new_link(&ann.post("/shares", &fields).await.text().await.unwrap()));
    }
    let plain = Guest::new(&app, &links[0]);
    let page = plain.get("").await.text().await.unwrap();
    assert!(page.contains(&photo), "{page}");
    for private in ["iPhone", "Apple", "53.38", "Place", "Camera"] {
        assert!(!page.contains(private), "the plain share shows {private}: {page}");
    }
    let full = plain.get(&format!("/original/{photo}")).await.bytes().await.unwrap();
    assert!(!holds(&full, b"iPhone") && !holds(&full, b"Apple") && !holds(&full, b"GPS"), "the full size has no EXIF");
    let thumb = plain.get(&format!("/img/{photo}.jpg?thumbnail=256")).await.bytes().await.unwrap();
    assert!(!holds(&thumb, b"iPhone"), "the thumbnail has no EXIF");

    let opted = Guest::new(&app, &links[1]);
    let page = opted.get("").await.text().await.unwrap();
    assert!(page.contains("Apple iPhone 7") && page.contains("53.3828"), "{page}");
    assert!(!page.contains(">ann<"), "still no owner");
    assert_eq!(
        opted.get(&format!("/original/{photo}")).await.bytes().await.unwrap(),
        bytes,
        "the original as uploaded"
    );
    app.shutdown().await;
}

both_backends!(
    a_password_guards_the_page_and_every_image_until_revoked,
    expired_links_die_and_strangers_cannot_touch_shares,
    guests_see_camera_and_place_only_when_the_owner_opts_in,
);
