//! The web app's admin pages, black-box over HTTP on both backends: guests
//! and ordinary accounts get nothing from `/admin` (pages or forms); an
//! admin approves and rejects flagged photos whose pixels the owner cannot
//! see meanwhile; accounts an admin makes can sign in; the last admin
//! stays one; the counts render.

use crate::common;

use common::{Backend, TestApp};
use pictor_core::accounts::{Password, Username, create_user};
use pictor_core::auth::create_api_key;
use reqwest::header::{COOKIE, LOCATION};

use crate::web::{account, browser, hidden, restarted, set_cookie, sign_in, upload_as};

const ADMIN_PAGES: [&str; 4] = ["/admin", "/admin/counts", "/admin/moderation", "/admin/users"];
const ADMIN_FORMS: [&str; 3] = ["/admin/moderation/x/approve", "/admin/users", "/admin/users/x/role"];

/// A running server with an admin (`root`) and an ordinary account
/// (`olga`, with an upload key): their session cookies and olga's key.
struct Setup {
    app: TestApp,
    root: String,
    olga: String,
    olga_key: String,
}

async fn setup(backend: Backend) -> Option<Setup> {
    let app = TestApp::spawn(backend, |_| {}).await?;
    let (name, password) = (Username::parse("root").unwrap(), Password::parse("root's long password").unwrap());
    create_user(&app.state.db, &name, Some(&password), true).await.unwrap();
    let olga_pw = account(&app, "olga").await;
    let olga_key = create_api_key(&app.state.db, "olga", "upload read", None).await.unwrap().secret;
    let app = restarted(app).await;
    let root = session(&app, "root", "root's long password").await;
    let olga = session(&app, "olga", &olga_pw).await;
    Some(Setup { app, root, olga, olga_key })
}

async fn session(app: &TestApp, name: &str, password: &str) -> String {
    set_cookie(&sign_in(app, name, password, "/").await, "pictor_session").expect("signed in").0
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    browser().get(app.url(path)).header(COOKIE, cookie).send().await.unwrap()
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    browser().post(app.url(path)).header(COOKIE, cookie).form(fields).send().await.unwrap()
}

/// The page's CSRF token for `cookie`'s session.
async fn csrf(app: &TestApp, cookie: &str) -> String {
    hidden(&get(app, "/settings", cookie).await.text().await.unwrap(), "csrf")
}

/// Uploads a photo as olga and lets moderation flag it.
async fn flagged_photo(s: &Setup) -> String {
    let id = upload_as(&s.app, &s.olga_key).await;
    s.app.drain().await;
    let record = s.app.state.db.get_image(&id).await.unwrap().unwrap();
    let held = s.app.state.db.set_moderation(&record, 0.97, 0.8, serde_json::json!({}), &id).await.unwrap();
    assert_eq!(held, Some(true));
    s.app.state.forget_record(&id);
    id
}

async fn thumbnail_status(app: &TestApp, id: &str, cookie: &str) -> u16 {
    get(app, &format!("/api/v1/img/{id}.webp?thumbnail=256"), cookie).await.status().as_u16()
}

async fn only_admins_reach_the_admin_pages(backend: Backend) {
    let Some(s) = setup(backend).await else { return };
    let olga_csrf = csrf(&s.app, &s.olga).await;
    for path in ADMIN_PAGES {
        let guest = browser().get(s.app.url(path)).send().await.unwrap();
        assert_eq!(guest.status(), 303, "{path}");
        assert!(guest.headers()[LOCATION].to_str().unwrap().starts_with("/login?next=/admin"), "{path}");
        let refused = get(&s.app, path, &s.olga).await;
        assert_eq!(refused.status(), 404, "{path}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("There is no such page.") && !html.contains("data-counts"), "{path}: {html}");
        assert_eq!(get(&s.app, path, &s.root).await.status(), 200, "{path}");
    }
    for path in ADMIN_FORMS {
        let fields =
            [("csrf", olga_csrf.as_str()), ("name", "mallory"), ("password", "a long password"), ("admin", "1")];
        assert_eq!(post(&s.app, path, &s.olga, &fields).await.status(), 404, "{path}");
        let guest = browser().post(s.app.url(path)).form(&fields).send().await.unwrap();
        assert_eq!(guest.status(), 303, "{path}");
    }
    assert!(s.app.state.db.user_by_name("mallory").await.unwrap().is_none());
    assert!(!s.app.state.db.user_by_name("olga").await.unwrap().unwrap().admin);
    // Only an admin's menu links to the admin pages.
    assert!(get(&s.app, "/", &s.root).await.text().await.unwrap().contains("href=\"/admin\""));
    assert!(!get(&s.app, "/", &s.olga).await.text().await.unwrap().contains("href=\"/admin\""));
    s.app.shutdown().await;
}

async fn an_admin_approves_and_rejects_flagged_photos(backend: Backend) {
    let Some(s) = setup(backend).await else { return };
    let (approved, rejected) = (flagged_photo(&s).await, flagged_photo(&s).await);
    let queue = get(&s.app, "/admin/moderation", &s.root).await.text().await.unwrap();
    assert!(queue.contains(&approved) && queue.contains(&rejected), "{queue}");
    assert!(queue.contains("0.97"), "the score shows: {queue}");
    // The admin's session sees the pixels; the owner sees none, by cookie or key.
    assert_eq!(thumbnail_status(&s.app, &approved, &s.root).await, 200);
    assert_eq!(thumbnail_status(&s.app, &approved, &s.olga).await, 403);
    let by_key = s.app.client.get(s.app.url(&format!("/api/v1/img/{approved}/original"))).bearer_auth(&s.olga_key);
    assert_eq!(by_key.send().await.unwrap().status(), 403);

    let token = csrf(&s.app, &s.root).await;
    let forged = post(&s.app, &format!("/admin/moderation/{approved}/approve"), &s.root, &[("csrf", "guess")]).await;
    assert_eq!(forged.status(), 403);
    let decide = |id: &str, action: &str| format!("/admin/moderation/{id}/{action}");
    let done = post(&s.app, &decide(&approved, "approve"), &s.root, &[("csrf", &token)]).await;
    assert_eq!((done.status().as_u16(), done.headers()[LOCATION].to_str().unwrap()), (303, "/admin/moderation"));
    let done = post(&s.app, &decide(&rejected, "reject"), &s.root, &[("csrf", &token)]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(post(&s.app, &decide(&approved, "explode"), &s.root, &[("csrf", &token)]).await.status(), 404);
    assert_eq!(post(&s.app, &decide("no-such", "approve"), &s.root, &[("csrf", &token)]).await.status(), 404);

    assert_eq!(thumbnail_status(&s.app, &approved, &s.olga).await, 200, "approved: served again");
    assert_eq!(thumbnail_status(&s.app, &rejected, &s.olga).await, 403, "rejected: held for good");
    let queue = get(&s.app, "/admin/moderation", &s.root).await.text().await.unwrap();
    assert!(!queue.contains(&approved) && !queue.contains(&rejected) && queue.contains("Nothing is waiting"));
    s.app.shutdown().await;
}

async fn admins_make_accounts_and_keep_one_admin(backend: Backend) {
    let Some(s) = setup(backend).await else { return };
    let token = csrf(&s.app, &s.root).await;
    let made = post(
        &s.app,
        "/admin/users",
        &s.root,
        &[("csrf", &token), ("name", "Dora"), ("password", "dora's long password")],
    )
    .await;
    assert_eq!(made.status(), 303);
    let dora = sign_in(&s.app, "dora", "dora's long password", "/").await;
    assert_eq!(dora.status(), 303, "an account the admin made signs in");
    let fields = [("csrf", token.as_str()), ("name", "olga"), ("password", "x y z w v u")];
    assert_eq!(post(&s.app, "/admin/users", &s.root, &fields).await.status(), 400);

    upload_as(&s.app, &s.olga_key).await;
    let users = get(&s.app, "/admin/users", &s.root).await.text().await.unwrap();
    for name in ["root", "olga", "dora"] {
        assert!(users.contains(&format!("data-user=\"{name}\"")), "{users}");
    }
    assert!(users.contains("<td>1</td>"), "olga's photo is counted: {users}");

    let role = |name: &str| format!("/admin/users/{name}/role");
    let last = post(&s.app, &role("root"), &s.root, &[("csrf", &token), ("admin", "0")]).await;
    assert_eq!(last.status(), 400);
    assert!(last.text().await.unwrap().contains("at least one admin"));
    assert_eq!(post(&s.app, &role("dora"), &s.root, &[("csrf", &token), ("admin", "1")]).await.status(), 303);
    assert_eq!(post(&s.app, &role("root"), &s.root, &[("csrf", &token), ("admin", "0")]).await.status(), 303);
    assert!(s.app.state.db.user_by_name("dora").await.unwrap().unwrap().admin);
    assert_eq!(get(&s.app, "/admin", &s.root).await.status(), 404, "root is no longer an admin");
    assert_eq!(post(&s.app, &role("nobody"), &s.root, &[("csrf", &token), ("admin", "1")]).await.status(), 404);
    s.app.shutdown().await;
}

async fn the_overview_counts_jobs_and_executions(backend: Backend) {
    let Some(s) = setup(backend).await else { return };
    upload_as(&s.app, &s.olga_key).await;
    s.app.drain().await;
    let overview = get(&s.app, "/admin", &s.root).await.text().await.unwrap();
    assert!(overview.contains("hx-trigger=\"every 3s\""), "the counts refresh: {overview}");
    let fragment = get(&s.app, "/admin/counts", &s.root).await.text().await.unwrap();
    assert!(fragment.starts_with("<div") && fragment.contains("id=\"counts\"") && !fragment.contains("<html"));
    let executions = s.app.state.db.execution_counts().await.unwrap();
    assert!(!executions.is_empty());
    for (status, n) in executions {
        let row = format!("<tr data-state=\"{status}\"><th scope=\"row\">{status}</th><td>{n}</td></tr>");
        assert!(fragment.contains(&row), "{row} in {fragment}");
    }
    let jobs = s.app.state.db.queue_stats().await.unwrap();
    assert!(fragment.contains(&format!("<th scope=\"row\">Dead</th><td>{}</td>", jobs.dead)), "{fragment}");
    s.app.shutdown().await;
}

both_backends!(
    only_admins_reach_the_admin_pages,
    an_admin_approves_and_rejects_flagged_photos,
    admins_make_accounts_and_keep_one_admin,
    the_overview_counts_jobs_and_executions,
);
