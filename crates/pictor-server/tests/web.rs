//! The web app, black-box over HTTP on both backends: signing in (with the
//! double-submit token and throttling), the session cookie's attributes,
//! the gallery showing only the account's photos, thumbnails through the
//! cookie, writes through the API refusing the cookie, and signing out.
//! Albums, live status, settings and the privacy matrix are in
//! `web_library.rs`; the browser journeys in `web-tests/`.

use crate::common;

use common::{Backend, TestApp, jpeg};
use pictor_core::accounts::{Password, Username, create_user};
use pictor_core::auth::create_api_key;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A client that shows redirects instead of following them.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `name=value` of cookie `name` in a response's `Set-Cookie`s, with
/// the whole header.
pub(crate) fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.to_string();
        pair.starts_with(&format!("{name}=")).then(|| (pair, v.to_string()))
    })
}

/// The value of the hidden field `name` in a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} field: {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub(crate) async fn account(app: &TestApp, name: &str) -> String {
    let password = format!("{name}'s long password");
    create_user(&app.state.db, &Username::parse(name).unwrap(), Some(&Password::parse(&password).unwrap()), false)
        .await
        .unwrap();
    password
}

/// Signs in through the form; returns the answer to the form's post.
pub(crate) async fn sign_in(app: &TestApp, name: &str, password: &str, next: &str) -> reqwest::Response {
    post_form(app, &format!("/login?next={next}"), "/login", name, password).await
}

/// Fetches the form at `page`, fills it in and posts it to `action`.
pub(crate) async fn post_form(
    app: &TestApp,
    page: &str,
    action: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let client = browser();
    let form = client.get(app.url(page)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let (login_cookie, _) = set_cookie(&form, "pictor_login").expect("the form sets its token cookie");
    let page = form.text().await.unwrap();
    let fields =
        [("name", name), ("password", password), ("csrf", &hidden(&page, "csrf")), ("next", &hidden(&page, "next"))];
    client.post(app.url(action)).header(COOKIE, login_cookie).form(&fields).send().await.unwrap()
}

pub(crate) async fn upload_as(app: &TestApp, key: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/img"))
        .bearer_auth(key)
        .header("content-type", "image/jpeg")
        .body(jpeg(32, 24));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// Restarts `app` on its data, as an operator would after creating the
/// first accounts: the new server starts closed.
pub(crate) async fn restarted(mut app: TestApp) -> TestApp {
    let config = app.state.config.clone();
    let dir = std::mem::replace(&mut app.dir, tempfile::tempdir().unwrap());
    app.shutdown().await;
    TestApp::start(config, dir).await
}

async fn signing_in_opens_the_gallery_of_ones_own_photos(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let alice_pw = account(&app, "alice").await;
    let bob_pw = account(&app, "bob").await;
    let alice_key = create_api_key(&app.state.db, "alice", "upload read", None).await.unwrap().secret;
    let bob_key = create_api_key(&app.state.db, "bob", "upload read", None).await.unwrap().secret;
    let app = restarted(app).await;
    let alices = upload_as(&app, &alice_key).await;
    let bobs = upload_as(&app, &bob_key).await;
    let client = browser();

    // Without a session, the gallery sends the visitor to sign in.
    let anonymous = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/login?next=/");

    let wrong = sign_in(&app, "alice", "not her password", "/").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("the user name or the password is wrong"));

    let signed_in = sign_in(&app, "alice", &alice_pw, "/").await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/");
    let (session, header) = set_cookie(&signed_in, "pictor_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(attribute), "{header} lacks {attribute}");
    }

    let gallery = client.get(app.url("/")).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(gallery.status(), 200);
    let html = gallery.text().await.unwrap();
    assert!(html.contains(&alices) && !html.contains(&bobs), "alice's gallery shows hers only");
    assert!(html.contains("width=\"256\" height=\"256\""), "tiles have explicit sizes");

    // The tiles' thumbnails load with the cookie; bob's do not exist for her.
    let thumb =
        |id: &str| client.get(app.url(&format!("/api/v1/img/{id}.webp?thumbnail=256"))).header(COOKIE, &session);
    assert_eq!(thumb(&alices).send().await.unwrap().status(), 200);
    assert_eq!(thumb(&bobs).send().await.unwrap().status(), 404);
    // Writes through the API never take the cookie.
    let write = client.post(app.url("/api/v1/img")).header(COOKIE, &session).header("content-type", "image/jpeg");
    assert_eq!(write.body(jpeg(8, 8)).send().await.unwrap().status(), 401);

    // Bob's session sees bob's photo, not alice's.
    let bob_session = set_cookie(&sign_in(&app, "bob", &bob_pw, "/").await, "pictor_session").unwrap().0;
    let html = client.get(app.url("/")).header(COOKIE, &bob_session).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&bobs) && !html.contains(&alices));

    // The photo page: the owner's, and no one else's.
    let photo = |id: &str, cookie: &str| {
        client.get(app.url(&format!("/photos/{id}"))).header(COOKIE, cookie.to_string()).send()
    };
    let page = photo(&alices, &session).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("32 × 24") && html.contains("data-status"), "{html}");
    assert!(html.contains(&format!("/api/v1/img/{alices}.webp?thumbnail=1024")));
    for (id, cookie) in [(&alices, &bob_session), (&"no-such-photo".to_string(), &session)] {
        let refused = photo(id, cookie).await.unwrap();
        assert_eq!(refused.status(), 404);
        assert!(refused.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(refused.text().await.unwrap().contains("no such photo"));
    }

    // Signing out needs the session's CSRF token, and ends the session.
    let no_token = client.post(app.url("/logout")).header(COOKIE, &session).form(&[("csrf", "guess")]);
    assert_eq!(no_token.send().await.unwrap().status(), 403);
    let csrf = hidden(&html_of(&client, &app, &session).await, "csrf");
    let out = client.post(app.url("/logout")).header(COOKIE, &session).form(&[("csrf", csrf.as_str())]);
    let out = out.send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(client.get(app.url("/")).header(COOKIE, &session).send().await.unwrap().status(), 303);
    assert_eq!(thumb(&alices).send().await.unwrap().status(), 401, "the cookie opens nothing any more");
    app.shutdown().await;
}

async fn html_of(client: &reqwest::Client, app: &TestApp, session: &str) -> String {
    client.get(app.url("/")).header(COOKIE, session).send().await.unwrap().text().await.unwrap()
}

async fn the_sign_in_form_refuses_forgeries_and_foreign_redirects(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let password = account(&app, "carol").await;
    // A post without the form's own token (a cross-site form) is refused.
    let forged = browser()
        .post(app.url("/login"))
        .form(&[("name", "carol"), ("password", password.as_str()), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged, "pictor_session").is_none());
    // After signing in, only local paths are followed.
    let signed_in = sign_in(&app, "carol", &password, "https://evil.example/").await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/");
    let signed_in = sign_in(&app, "carol", &password, "/albums").await;
    assert_eq!(signed_in.headers()[LOCATION], "/albums");
    // Five failures lock the account, even against the right password.
    for _ in 0..5 {
        sign_in(&app, "carol", "wrong password", "/").await;
    }
    let locked = sign_in(&app, "carol", &password, "/").await;
    assert_eq!(locked.status(), 429);
    assert!(locked.text().await.unwrap().contains("too many failed sign-ins"));
    app.shutdown().await;
}

async fn tags_count_each_photo_once_and_filter_the_gallery(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let password = account(&app, "gail").await;
    account(&app, "hal").await;
    let gail = create_api_key(&app.state.db, "gail", "upload read", None).await.unwrap().secret;
    let hal = create_api_key(&app.state.db, "hal", "upload read", None).await.unwrap().secret;
    let app = restarted(app).await;
    let label = |name: &str| pictor_db::ImageLabel {
        name: name.into(),
        confidence: 0.9,
        direct: true,
        parents: vec!["landscape".into()],
    };
    let (peak, shore, hals) = (upload_as(&app, &gail).await, upload_as(&app, &gail).await, upload_as(&app, &hal).await);
    let db = &app.state.db;
    db.set_image_labels(&peak, &[label("mountain"), label("lake")]).await.unwrap();
    db.set_image_labels(&shore, &[label("lake")]).await.unwrap();
    db.set_image_labels(&hals, &[label("volcano")]).await.unwrap();
    let session = set_cookie(&sign_in(&app, "gail", &password, "/").await, "pictor_session").unwrap().0;
    let get = |path: &str| browser().get(app.url(path)).header(COOKIE, session.clone()).send();

    let tags = get("/tags").await.unwrap().text().await.unwrap();
    assert!(tags.contains("lake <span class=\"count\">(2)</span>"), "{tags}");
    assert!(tags.contains("mountain <span class=\"count\">(1)</span>"), "{tags}");
    assert!(!tags.contains("volcano"), "hal's tags are not gail's");
    let any = get("/?label=lake").await.unwrap().text().await.unwrap();
    assert!(any.contains(&peak) && any.contains(&shore) && !any.contains(&hals));
    assert!(any.contains("alt=\"A photo of lake, mountain\""), "alt text from labels, best first: {any}");
    let all = get("/?label=mountain&label=lake&match=all").await.unwrap().text().await.unwrap();
    assert!(all.contains(&peak) && !all.contains(&shore), "both tags: only the peak");
    let foreign = get("/?label=volcano").await.unwrap().text().await.unwrap();
    assert!(!foreign.contains(&hals) && foreign.contains("No photos with these tags."));
    app.shutdown().await;
}

async fn pages_load_only_embedded_assets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let page = browser().get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let mut assets = 0;
    for attribute in ["src=\"", "href=\""] {
        for found in page.split(attribute).skip(1) {
            let url = &found[..found.find('"').unwrap()];
            assert!(url.starts_with('/') && !url.starts_with("//"), "{url} is not on this server");
            if url.starts_with("/assets/") {
                let asset = browser().get(app.url(url)).send().await.unwrap();
                assert_eq!(asset.status(), 200, "{url}");
                let kind = asset.headers()["content-type"].to_str().unwrap().to_string();
                let body = asset.bytes().await.unwrap();
                if kind == "image/svg+xml" {
                    assert!(body.starts_with(b"<svg"), "{url} is not an SVG");
                } else {
                    assert!(kind.starts_with("text/css") || kind.starts_with("text/javascript"), "{url}: {kind}");
                    assert!(body.len() > 1000, "{url} is empty");
                }
                assets += 1;
            }
        }
    }
    assert_eq!(assets, 5, "the icon, the stylesheet, htmx, its SSE extension and the gallery's script");
    app.shutdown().await;
}

async fn the_first_visitor_signs_up_as_admin_then_sign_up_closes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else { return };
    let short = post_form(&app, "/signup", "/signup", "dana", "short").await;
    assert_eq!(short.status(), 400);
    assert!(short.text().await.unwrap().contains("10 to 1,024 characters"));
    let made = post_form(&app, "/signup", "/signup", "Dana", "dana's long password").await;
    assert_eq!(made.status(), 303);
    let session = set_cookie(&made, "pictor_session").expect("signed in at once").0;
    let dana = app.state.db.user_by_name("dana").await.unwrap().expect("the account exists");
    assert!(dana.admin, "the first account is the admin");
    // The open server closed with the first account, at once.
    let anonymous = app.upload_raw(jpeg(8, 8), "image/jpeg").await;
    assert_eq!(anonymous.status(), 401);
    let gallery = browser().get(app.url("/")).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(gallery.status(), 200);
    // From now on only an admin makes accounts (`auth.signup = "first"`).
    let closed = browser().get(app.url("/signup")).send().await.unwrap();
    assert_eq!(closed.status(), 403);
    assert!(closed.text().await.unwrap().contains("Sign-up is closed"));
    app.shutdown().await;
}

async fn open_sign_up_makes_ordinary_accounts(backend: Backend) {
    let open = |config: &mut pictor_core::config::Config| config.auth.signup = pictor_core::config::Signup::Open;
    let Some(app) = TestApp::spawn(backend, open).await else { return };
    assert_eq!(post_form(&app, "/signup", "/signup", "erin", "erin's long password").await.status(), 303);
    assert_eq!(post_form(&app, "/signup", "/signup", "finn", "finn's long password").await.status(), 303);
    let taken = post_form(&app, "/signup", "/signup", "FINN", "another long password").await;
    assert_eq!(taken.status(), 400);
    assert!(taken.text().await.unwrap().contains("taken"));
    assert!(!app.state.db.user_by_name("finn").await.unwrap().unwrap().admin);
    assert_eq!(sign_in(&app, "finn", "finn's long password", "/").await.status(), 303);
    app.shutdown().await;
}

both_backends!(
    tags_count_each_photo_once_and_filter_the_gallery,
    pages_load_only_embedded_assets,
    the_first_visitor_signs_up_as_admin_then_sign_up_closes,
    open_sign_up_makes_ordinary_accounts,
    signing_in_opens_the_gallery_of_ones_own_photos,
    the_sign_in_form_refuses_forgeries_and_foreign_redirects,
);
