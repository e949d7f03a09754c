//! OIDC sign-in, black-box, against a real provider: the redirect flow
//! followed by hand (as a browser would, cookies included) through the
//! provider's own authorize form, on both backends. The provider is the
//! one `.ci/services.sh` starts (`PICTOR_TEST_OIDC_ISSUER`: oidc-provider-
//! mock, made to enforce PKCE); without it these tests say SKIPPED.

use crate::common;

use common::{Backend, TestApp, jpeg, skip};
use pictor_core::auth::create_api_key;
use pictor_core::config::{OidcConfig, Signup};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

const BUTTON: &str = "Test IdP";

fn issuer() -> Option<String> {
    let found = std::env::var("PICTOR_TEST_OIDC_ISSUER").ok();
    if found.is_none() {
        skip("OIDC: PICTOR_TEST_OIDC_ISSUER is not set (.ci/services.sh starts oidc-provider-mock and sets it)");
    }
    found
}

/// A server signing in through `issuer` as a confidential client.
async fn app(backend: Backend, issuer: &str, signup: Signup, secret: &str) -> Option<TestApp> {
    TestApp::spawn(backend, |c| {
        c.auth.signup = signup;
        c.auth.oidc = OidcConfig {
            issuer: issuer.to_string(),
            client_id: "pictor-test".into(),
            client_secret: secret.into(),
            name: BUTTON.into(),
            ..OidcConfig::default()
        };
    })
    .await
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `name=value` pair of cookie `name` set by a response.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.to_string();
        (pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1).then_some(pair)
    })
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// A subject no other test uses (the provider is shared).
fn subject(who: &str) -> String {
    format!("{who}-{}", uuid::Uuid::new_v4().simple())
}

/// Tells the provider the claims of `sub`.
async fn claims(issuer: &str, sub: &str, claims: serde_json::Value) {
    let put = reqwest::Client::new().put(format!("{issuer}/users/{sub}")).json(&claims).send().await.unwrap();
    assert_eq!(put.status(), 204);
}

/// Back from the provider: the callback URL and the flow's cookie.
struct Returned {
    callback: String,
    cookie: String,
}

/// From `/login/oidc?next=…` through the provider's form, as `sub`
/// (`None`: press Deny), up to the redirect back to the app.
async fn at_provider(app: &TestApp, next: &str, sub: Option<&str>) -> Returned {
    let client = browser();
    let start = client.get(app.url(&format!("/login/oidc?next={next}"))).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&start, "pictor_oidc").expect("the flow's cookie");
    let authorize = location(&start);
    for part in ["code_challenge=", "code_challenge_method=S256", "nonce=", "state=", "response_type=code"] {
        assert!(authorize.contains(part), "{authorize} lacks {part}");
    }
    assert!(authorize.contains("scope=openid+profile+email") || authorize.contains("scope=openid%20profile%20email"));
    let form = client.get(&authorize).send().await.unwrap();
    assert_eq!(form.status(), 200, "the provider shows its authorize form");
    let fields: Vec<(&str, &str)> = match sub {
        Some(sub) => vec![("sub", sub)],
        None => vec![("action", "deny")],
    };
    let answered = client.post(&authorize).form(&fields).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::FOUND, "{}", answered.text().await.unwrap());
    let callback = location(&answered);
    assert!(callback.starts_with(&app.url("/login/oidc/callback?")), "{callback}");
    Returned { callback, cookie }
}

/// Presents the provider's answer to the app, with the flow's cookie.
async fn come_back(returned: &Returned) -> reqwest::Response {
    browser().get(&returned.callback).header(COOKIE, &returned.cookie).send().await.unwrap()
}

/// The whole flow as `sub`; returns the session cookie and where it went.
async fn sign_in(app: &TestApp, next: &str, sub: &str) -> (String, String) {
    let back = come_back(&at_provider(app, next, Some(sub)).await).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER, "{}", back.text().await.unwrap());
    (set_cookie(&back, "pictor_session").expect("signed in"), location(&back))
}

async fn page(app: &TestApp, path: &str, session: &str) -> (StatusCode, String) {
    let response = browser().get(app.url(path)).header(COOKIE, session).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// A readable HTML page with `status` that says `words`.
async fn readable(response: reqwest::Response, status: StatusCode, words: &str) {
    assert_eq!(response.status(), status);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains(words) && html.contains("href=\"/login\""), "{html}");
}

async fn signing_in_through_the_provider(backend: Backend) {
    let Some(issuer) = issuer() else { return };
    let Some(app) = app(backend, &issuer, Signup::First, "pictor-test-secret").await else { return };
    let login = browser().get(app.url("/login?next=/tags")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("Sign in with Test IdP") && login.contains("/login/oidc?next=/tags"), "{login}");

    let ann = subject("ann");
    claims(&issuer, &ann, serde_json::json!({"preferred_username": "Ann", "email": "ann@example.com"})).await;
    let returned = at_provider(&app, "/tags", Some(&ann)).await;
    let back = come_back(&returned).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/tags", "back where the visitor was headed");
    let session = set_cookie(&back, "pictor_session").expect("a session cookie");
    let (status, gallery) = page(&app, "/", &session).await;
    assert_eq!(status, 200);
    assert!(gallery.contains(">ann<"), "the gallery names the account: {gallery}");
    let account = app.state.db.user_with_password("ann").await.unwrap().expect("the account exists");
    assert!(account.0.admin, "the first account runs the server");
    assert_eq!(account.1, None, "an OIDC account has no password");

    // The provider's answer works once.
    readable(come_back(&returned).await, StatusCode::BAD_REQUEST, "start again").await;
    // Without the flow's cookie (another browser) it signs no one in.
    let elsewhere = at_provider(&app, "/", Some(&ann)).await;
    let stolen = browser().get(&elsewhere.callback).send().await.unwrap();
    assert!(set_cookie(&stolen, "pictor_session").is_none());
    readable(stolen, StatusCode::BAD_REQUEST, "another browser").await;

    // Signing in again is the same account; under `first`, a new identity
    // gets none.
    let (again, _) = sign_in(&app, "/", &ann).await;
    assert!(page(&app, "/", &again).await.1.contains(">ann<"));
    assert_eq!(app.state.db.count_users().await.unwrap(), 1);
    let late = come_back(&at_provider(&app, "/", Some(&subject("bob"))).await).await;
    readable(late, StatusCode::FORBIDDEN, "sign-up is closed").await;
    assert_eq!(app.state.db.count_users().await.unwrap(), 1);
}

async fn a_second_identity_gets_its_own_account(backend: Backend) {
    let Some(issuer) = issuer() else { return };
    let Some(app) = app(backend, &issuer, Signup::Open, "pictor-test-secret").await else { return };
    let (first, second) = (subject("sam"), subject("sam"));
    for sub in [&first, &second] {
        claims(&issuer, sub, serde_json::json!({"preferred_username": "sam"})).await;
    }
    let (sam, _) = sign_in(&app, "/", &first).await;
    let key = create_api_key(&app.state.db, "sam", "upload read", None).await.unwrap().secret;
    let upload = app.client.post(app.url("/api/v1/img")).bearer_auth(&key).header(CONTENT_TYPE, "image/jpeg");
    let upload = upload.body(jpeg(32, 24)).send().await.unwrap();
    assert_eq!(upload.status(), 201);
    let photo = upload.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    assert!(page(&app, "/", &sam).await.1.contains(&photo));

    // Same preferred name, another subject: another account, with a suffix.
    let (other, _) = sign_in(&app, "/", &second).await;
    let (_, gallery) = page(&app, "/", &other).await;
    assert!(gallery.contains(">sam-2<"), "{gallery}");
    assert!(!gallery.contains(&photo), "sam-2 sees none of sam's photos");
    assert_eq!(page(&app, &format!("/photos/{photo}"), &other).await.0, 404);
    let thumbnail = browser().get(app.url(&format!("/api/v1/img/{photo}.webp?thumbnail=256"))).header(COOKIE, &other);
    assert_eq!(thumbnail.send().await.unwrap().status(), 404);
    assert!(!app.state.db.user_by_name("sam-2").await.unwrap().unwrap().admin);
}

async fn refusals_are_readable_pages(backend: Backend) {
    let Some(issuer) = issuer() else { return };
    let Some(app) = app(backend, &issuer, Signup::Open, "pictor-test-secret").await else { return };
    // Deny on the provider's form: `?error=access_denied` comes back.
    let denied = at_provider(&app, "/", None).await;
    assert!(denied.callback.contains("error=access_denied"), "{}", denied.callback);
    readable(come_back(&denied).await, StatusCode::FORBIDDEN, "cancelled or refused").await;

    // Made-up callbacks: no state, an unknown one, an error with text to
    // inject (not shown), a missing code.
    let client = browser();
    let cookie = "pictor_oidc=made-up";
    for (query, status, words) in [
        ("code=x", StatusCode::BAD_REQUEST, "start again"),
        ("code=x&state=made-up", StatusCode::BAD_REQUEST, "start again"),
        ("error=server_error&error_description=Call+0800+now", StatusCode::BAD_REQUEST, "(server_error)"),
        ("error=%3Cscript%3E", StatusCode::BAD_REQUEST, "(?)"),
    ] {
        let response = client.get(app.url(&format!("/login/oidc/callback?{query}"))).header(COOKIE, cookie);
        let response = response.send().await.unwrap();
        assert!(set_cookie(&response, "pictor_session").is_none());
        assert_eq!(response.status(), status, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(words) && !html.contains("0800") && !html.contains("<script>"), "{query}: {html}");
    }
    // A code redeemed by someone without the PKCE verifier is refused by
    // the provider, and then no longer works for the app either.
    let intercepted = at_provider(&app, "/", Some(&subject("fay"))).await;
    let back = url::Url::parse(&intercepted.callback).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    let guess = "a-guessed-verifier-that-is-long-enough-to-look-like-one-0123456789";
    let callback = app.url("/login/oidc/callback");
    let fields =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &callback), ("code_verifier", guess)];
    let token = client.post(format!("{issuer}/oauth2/token")).basic_auth("pictor-test", Some("pictor-test-secret"));
    assert_eq!(token.form(&fields).send().await.unwrap().status(), 400, "the test provider enforces PKCE");
    readable(come_back(&intercepted).await, StatusCode::UNAUTHORIZED, "refused this sign-in").await;

    let no_code = at_provider(&app, "/", Some(&subject("cy"))).await;
    let mut cut = url::Url::parse(&no_code.callback).unwrap();
    let state: Vec<(String, String)> =
        cut.query_pairs().filter(|(k, _)| k == "state").map(|(k, v)| (k.into(), v.into())).collect();
    cut.query_pairs_mut().clear().extend_pairs(state);
    let response = client.get(cut).header(COOKIE, &no_code.cookie).send().await.unwrap();
    readable(response, StatusCode::BAD_REQUEST, "no sign-in code").await;
}

async fn only_local_paths_are_followed(backend: Backend) {
    let Some(issuer) = issuer() else { return };
    let Some(app) = app(backend, &issuer, Signup::Open, "pictor-test-secret").await else { return };
    let dee = subject("dee");
    for next in ["https://evil.example/", "//evil.example/x", "/%5Cevil.example"] {
        let (_, went) = sign_in(&app, next, &dee).await;
        assert_eq!(went, "/", "{next}");
    }
    let (_, went) = sign_in(&app, "/tags%3Flabel%3Dlake", &dee).await;
    assert_eq!(went, "/tags?label=lake");
}

async fn a_public_client_signs_in_with_pkce_alone(backend: Backend) {
    let Some(issuer) = issuer() else { return };
    let Some(app) = app(backend, &issuer, Signup::Open, "").await else { return };
    let eve = subject("eve");
    claims(&issuer, &eve, serde_json::json!({"email": "Eve.Stone@example.com"})).await;
    let (session, _) = sign_in(&app, "/", &eve).await;
    assert!(page(&app, "/", &session).await.1.contains(">eve.stone<"), "named from the email's local part");
}

both_backends!(
    signing_in_through_the_provider,
    a_second_identity_gets_its_own_account,
    refusals_are_readable_pages,
    only_local_paths_are_followed,
    a_public_client_signs_in_with_pkce_alone,
);

/// A provider that does not answer: a readable 502, not a panic; and a
/// server without OIDC has neither the button nor the route.
#[tokio::test]
async fn without_a_provider() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let app = app(Backend::Local, &gone, Signup::Open, "s").await.unwrap();
    let response = browser().get(app.url("/login/oidc?next=/")).send().await.unwrap();
    readable(response, StatusCode::BAD_GATEWAY, "the sign-in provider failed").await;

    let plain = TestApp::spawn(Backend::Local, |_| {}).await.unwrap();
    let login = browser().get(plain.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(!login.contains("/login/oidc"));
    let response = browser().get(plain.url("/login/oidc")).send().await.unwrap();
    readable(response, StatusCode::NOT_FOUND, "not set up").await;
    readable(
        browser().get(plain.url("/login/oidc/callback?code=x&state=y")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not set up",
    )
    .await;
}
