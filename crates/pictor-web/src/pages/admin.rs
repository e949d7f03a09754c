//! `/admin`: running the server from the browser, for admin accounts only
//! (anyone else gets a 404 page, a guest the sign-in page). The overview's
//! counts (the job queue per state, executions per status) refresh every
//! few seconds (htmx polling `/admin/counts`); `/admin/moderation` is the
//! queue of flagged photos, approved or rejected here (their pixels are
//! served to admins only, so the owner never sees them while held);
//! `/admin/users` lists accounts, makes new ones and changes who is admin.
//! The rules are the core's (`pictor_core::admin`, `accounts`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::accounts::{Password, Username, create_user};
use pictor_core::admin::{self, Counts};
use pictor_db::{ImageRecord, Review, SessionRecord, UserSummary};
use pictor_jobs::Runtime;

use super::layout::{error_page, failed, page};
use crate::form::Fields;
use crate::session::SignedIn;

/// Flagged photos the queue shows at once (oldest first).
const QUEUE: i64 = 200;
/// Executions' statuses, always shown (with 0 when none).
const STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// A signed-in admin; anyone else is told there is no such page.
pub struct AdminIn {
    pub session: SessionRecord,
}

impl FromRequestParts<Arc<Runtime>> for AdminIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Runtime>) -> Result<Self, Response> {
        let SignedIn { session } = SignedIn::from_request_parts(parts, state).await?;
        if !session.user.admin {
            return Err(error_page(StatusCode::NOT_FOUND, "There is no such page."));
        }
        Ok(Self { session })
    }
}

/// An admin page titled `title` (with the admin pages' own links).
fn admin_page(session: &SessionRecord, title: &str, body: Markup) -> Response {
    let body = html! {
        nav.tabs aria-label="Admin" {
            a href="/admin" { "Overview" } " " a href="/admin/moderation" { "Moderation" } " "
            a href="/admin/users" { "Users" }
        }
        h1 { (title) }
        (body)
    };
    Html(page(title, Some(session), body).into_string()).into_response()
}

/// `GET /admin`: the counts, live, and what waits for an admin.
pub async fn overview(State(state): State<Arc<Runtime>>, admin_in: AdminIn) -> Response {
    let counts = match admin::counts(&state).await {
        Ok(counts) => counts,
        Err(e) => return failed(e),
    };
    let flagged = match state.db.flagged_images(QUEUE).await {
        Ok(flagged) => flagged.len(),
        Err(e) => return failed(e),
    };
    let body = html! {
        p { a href="/admin/moderation" { (flagged) " flagged photo" @if flagged != 1 { "s" } } " waiting for a decision." }
        (counts_block(&counts))
    };
    admin_page(&admin_in.session, "Admin", body)
}

/// `GET /admin/counts`: the counts alone, which replace themselves.
pub async fn counts(State(state): State<Arc<Runtime>>, _admin: AdminIn) -> Response {
    match admin::counts(&state).await {
        Ok(counts) => Html(counts_block(&counts).into_string()).into_response(),
        Err(e) => failed(e),
    }
}

fn counts_block(counts: &Counts) -> Markup {
    let jobs = [("Ready", counts.jobs.ready), ("Leased", counts.jobs.leased), ("Dead", counts.jobs.dead)];
    let mut executions: Vec<(&str, i64)> = STATUSES.iter().map(|s| (*s, count_of(&counts.executions, s))).collect();
    let others = counts.executions.iter().filter(|(s, _)| !STATUSES.contains(&s.as_str()));
    executions.extend(others.map(|(s, n)| (s.as_str(), *n)));
    html! {
        div #counts.count-tables hx-get="/admin/counts" hx-trigger="every 3s" hx-swap="outerHTML" {
            (count_table("Jobs", "jobs", &jobs))
            (count_table("Executions", "executions", &executions))
        }
    }
}

fn count_of(counts: &[(String, i64)], status: &str) -> i64 {
    counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n)
}

fn count_table(caption: &str, kind: &str, rows: &[(&str, i64)]) -> Markup {
    html! {
        table.counts data-counts=(kind) {
            caption { (caption) }
            thead { tr { th scope="col" { "State" } th scope="col" { "Count" } } }
            tbody { @for (state, n) in rows { tr data-state=(state) { th scope="row" { (state) } td { (n) } } } }
        }
    }
}

/// `GET /admin/moderation`: flagged photos, oldest first.
pub async fn moderation(State(state): State<Arc<Runtime>>, admin_in: AdminIn) -> Response {
    let flagged = match state.db.flagged_images(QUEUE).await {
        Ok(flagged) => flagged,
        Err(e) => return failed(e),
    };
    let session = &admin_in.session;
    let body = html! {
        p.muted { "Photos the moderation model held back. Only admins see them until approved." }
        @if flagged.is_empty() { p { "Nothing is waiting." } }
        ul.flagged { @for (image, score) in &flagged { (flagged_card(session, image, *score)) } }
    };
    admin_page(session, "Moderation", body)
}

fn flagged_card(session: &SessionRecord, image: &ImageRecord, score: Option<f64>) -> Markup {
    let name = image.name.as_deref().unwrap_or("Untitled photo");
    html! {
        li.card data-id=(image.id) {
            img src=(format!("/api/v1/img/{}.webp?thumbnail=256", image.id)) width="256" height="256"
                loading="lazy" alt=(format!("Flagged photo: {name}"));
            p { strong { (name) } br; "by " (image.owner.as_deref().unwrap_or("nobody"))
                ", " (pictor_db::rfc3339_ms(image.created_at).get(..10).unwrap_or("")) }
            p { "NSFW score " strong.score { @match score { Some(s) => (format!("{s:.2}")), None => "unknown" } } }
            div.decisions {
                (decision_form(session, &image.id, "approve", "Approve", name))
                (decision_form(session, &image.id, "reject", "Reject", name))
            }
        }
    }
}

fn decision_form(session: &SessionRecord, id: &str, action: &str, words: &str, name: &str) -> Markup {
    html! {
        form method="post" action=(format!("/admin/moderation/{id}/{action}")) {
            input type="hidden" name="csrf" value=(session.csrf);
            button type="submit" data-action=(action) aria-label=(format!("{words} {name}")) { (words) }
        }
    }
}

/// `POST /admin/moderation/{id}/{approve|reject}`
pub async fn decide(
    State(state): State<Arc<Runtime>>,
    admin_in: AdminIn,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let decision = match action.as_str() {
        "approve" => Review::Approved,
        "reject" => Review::Rejected,
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such page."),
    };
    let by = admin_in.session.user.name.as_str();
    change(&admin_in.session, &body, "/admin/moderation", |_| async move {
        admin::review(&state, &id, decision, Some(by)).await.map(drop)
    })
    .await
}

/// Runs the change a form posted (CSRF-checked), then goes back to `back`;
/// a refusal is a readable page.
async fn change<F, Fut>(session: &SessionRecord, body: &Bytes, back: &str, run: F) -> Response
where
    F: FnOnce(Fields) -> Fut,
    Fut: Future<Output = pictor_core::Result<()>>,
{
    let fields = match Fields::checked(body, session) {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    match run(fields).await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /admin/users`: the accounts, and a form for a new one.
pub async fn users(State(state): State<Arc<Runtime>>, admin_in: AdminIn) -> Response {
    let users = match state.db.list_users().await {
        Ok(users) => users,
        Err(e) => return failed(e),
    };
    let session = &admin_in.session;
    let body = html! {
        table.users {
            caption { (users.len()) " account" @if users.len() != 1 { "s" } }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" }
                th scope="col" { "Photos" } th scope="col" { span.visually-hidden { "Change" } } } }
            tbody { @for user in &users { (user_row(session, user)) } }
        }
        (new_user_form(session))
    };
    admin_page(session, "Users", body)
}

fn user_row(session: &SessionRecord, summary: &UserSummary) -> Markup {
    let user = &summary.user;
    let (words, to) = if user.admin { ("Remove admin", "0") } else { ("Make admin", "1") };
    html! {
        tr data-user=(user.name) {
            th scope="row" { (user.name) }
            td { @if user.admin { "admin" } @else { "user" } }
            td { (pictor_db::rfc3339_ms(user.created_at).get(..10).unwrap_or("")) }
            td { (summary.photos) }
            td {
                form method="post" action=(format!("/admin/users/{}/role", user.name)) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="admin" value=(to);
                    button.link type="submit" aria-label=(format!("{words}: {}", user.name)) { (words) }
                }
            }
        }
    }
}

fn new_user_form(session: &SessionRecord) -> Markup {
    html! {
        form.card.wide method="post" action="/admin/users" {
            h2 { "New account" }
            input type="hidden" name="csrf" value=(session.csrf);
            label for="user-name" { "Name" }
            input #user-name type="text" name="name" required maxlength="64" autocomplete="off";
            label for="user-password" { "Password" }
            input #user-password type="password" name="password" required autocomplete="new-password";
            label { input type="checkbox" name="admin" value="1"; " an admin" }
            p { button type="submit" { "Create account" } }
        }
    }
}

/// `POST /admin/users`: makes an account.
pub async fn create(State(state): State<Arc<Runtime>>, admin_in: AdminIn, body: Bytes) -> Response {
    change(&admin_in.session, &body, "/admin/users", |f| async move {
        let name = Username::parse(f.get("name"))?;
        let password = Password::parse(f.get("password"))?;
        create_user(&state.db, &name, Some(&password), f.get("admin") == "1").await.map(drop)
    })
    .await
}

/// `POST /admin/users/{name}/role`: `admin=1` makes an admin, `0` not.
pub async fn set_role(
    State(state): State<Arc<Runtime>>,
    admin_in: AdminIn,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    change(&admin_in.session, &body, "/admin/users", |f| async move {
        admin::set_admin(&state, &name, f.get("admin") == "1").await
    })
    .await
}
