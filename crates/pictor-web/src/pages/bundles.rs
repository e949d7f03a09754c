//! Download bundles in the web app: from the tags page, "Download
//! originals" opens `/bundles/new?label=…` (how many photos, how large, and
//! where to send the link: email, SMS when the server has a gateway, or
//! nowhere but this page); `POST /bundles` asks for it; `/bundles` lists
//! the account's bundles with their progress (refreshed every few seconds
//! while one is under way) and each ready zip's link. The rules are the
//! core's (`pictor_core::bundles`); the address is sealed into the job
//! that sends the link and kept nowhere else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pictor_core::bundles;
use pictor_core::notify::{Channel, EmailAddress, PhoneNumber, Recipient};
use pictor_db::BundleRecord;
use pictor_jobs::Runtime;
use pictor_jobs::jobs::notify_bundle;

use super::layout::{error_page, failed, page};
use super::shares::minute;
use crate::form::Fields;
use crate::session::{SignedIn, public_url};

/// `GET /bundles/new?label=…&match=any|all`: what the bundle would hold,
/// and where its link goes.
pub async fn new(State(state): State<Arc<Runtime>>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let session = &signed_in.session;
    let query = Fields::parse(&Bytes::from(query.unwrap_or_default()));
    let labels = query.all("label");
    if labels.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "Pick at least one tag on the Tags page first.");
    }
    let match_all = query.get("match") == "all";
    let caller = pictor_core::accounts::principal(&session.user);
    let (photos, bytes) = match bundles::preview(&state, &caller, &labels, match_all).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let can = |channel| state.notifier.check(channel).is_ok();
    let body = html! {
        h1 { "Download originals" }
        p { "Photos tagged " (tag_list(&labels, match_all)) ": " strong { (photos) " photos" } " (" (megabytes(bytes)) ")." }
        @if photos == 0 { p.muted { "No photo carries these tags: " a href="/tags" { "pick others" } "." } }
        @else {
            p.muted { "Archived originals are brought back first, which can take a while. You get one zip, linked for a day." }
            form.card method="post" action="/bundles" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="match" value=(if match_all { "all" } else { "any" });
                @for label in &labels { input type="hidden" name="label" value=(label); }
                fieldset {
                    legend { "Send me the link" }
                    @if can(Channel::Email) {
                        label { input type="radio" name="notify" value="email" checked; " by email" }
                        label for="bundle-email" { "Email address" }
                        input #bundle-email type="email" name="email" autocomplete="email" maxlength="254";
                    }
                    @if can(Channel::Sms) {
                        label { input type="radio" name="notify" value="sms" checked[!can(Channel::Email)]; " by SMS" }
                        label for="bundle-phone" { "Phone number " span.muted { "(+ and country code)" } }
                        input #bundle-phone type="tel" name="sms" autocomplete="tel" maxlength="32";
                    }
                    label { input type="radio" name="notify" value="page" checked[!can(Channel::Email) && !can(Channel::Sms)];
                        " no message: I'll come back to the Bundles page" }
                }
                p.muted { "The address is used for this one message and not kept." }
                p { button type="submit" { "Make the zip" } }
            }
        }
    };
    Html(page("Download originals", Some(session), body).into_string()).into_response()
}

/// `POST /bundles`: asks for the bundle, then shows the list.
pub async fn create(
    State(state): State<Arc<Runtime>>,
    headers: HeaderMap,
    signed_in: SignedIn,
    body: Bytes,
) -> Response {
    let session = &signed_in.session;
    let fields = match Fields::checked(&body, session) {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let to = match fields.get("notify") {
        "email" => EmailAddress::parse(fields.get("email")).map(|a| Some(Recipient::Email(a))),
        "sms" => PhoneNumber::parse(fields.get("sms")).map(|n| Some(Recipient::Sms(n))),
        _ => Ok(None),
    };
    let to = match to {
        Ok(to) => to,
        Err(e) => return failed(e),
    };
    let caller = pictor_core::accounts::principal(&session.user);
    let base = public_url(&state.config, &headers);
    let labels = fields.all("label");
    match notify_bundle::request(&state, &caller, &labels, fields.get("match") == "all", to, &base).await {
        Ok(_) => Redirect::to("/bundles").into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /bundles`: the account's bundles, newest first.
pub async fn list(State(state): State<Arc<Runtime>>, signed_in: SignedIn) -> Response {
    let session = &signed_in.session;
    let caller = pictor_core::accounts::principal(&session.user);
    let listed = match bundles::list(&state, &caller).await {
        Ok(listed) => listed,
        Err(e) => return failed(e),
    };
    Html(page("Bundles", Some(session), table(&listed)).into_string()).into_response()
}

fn table(listed: &[BundleRecord]) -> Markup {
    let busy = listed.iter().any(|b| !matches!(b.state.as_str(), "ready" | "failed"));
    html! {
        h1 { "Bundles" }
        // While one is under way the list refreshes itself (htmx); without
        // JavaScript, reloading the page shows the same.
        div #bundles aria-live="polite" hx-get=[busy.then_some("/bundles")] hx-trigger=[busy.then_some("every 2s")]
            hx-select="#bundles" hx-swap="outerHTML" {
            @if listed.is_empty() { p.muted { "No bundles yet: pick tags on the " a href="/tags" { "Tags" } " page, then Download originals." } }
            @else {
                table.bundles {
                    thead { tr { th { "Tags" } th { "Asked" } th { "State" } th { "Zip" } } }
                    tbody { @for bundle in listed { (row(bundle)) } }
                }
            }
        }
    }
}

fn row(bundle: &BundleRecord) -> Markup {
    html! {
        tr data-bundle=(bundle.id) data-state=(bundle.state) {
            td { (tag_list(&bundle.labels, bundle.match_all)) }
            td { (minute(bundle.created_at)) }
            td { (progress(bundle)) }
            td {
                @if bundle.state == "ready" {
                    a href=(format!("/api/v1/bundles/{}/zip", bundle.id)) download { "Download " (megabytes(bundle.bytes)) }
                    br; span.muted { "until " (minute(bundle.expires_at)) " UTC" }
                }
            }
        }
    }
}

/// The state in words: restoring 3 of 12, zipping 5 of 12, ready, failed.
fn progress(bundle: &BundleRecord) -> Markup {
    html! {
        @match bundle.state.as_str() {
            "requested" => "finding photos…",
            "restoring" => { "restoring originals " (bundle.restored) " of " (bundle.total) " "
                progress max=(bundle.total.max(1)) value=(bundle.restored) {} }
            "zipping" => { "zipping " (bundle.zipped) " of " (bundle.total) " "
                progress max=(bundle.total.max(1)) value=(bundle.zipped) {} }
            "ready" => { "ready: " (bundle.total) " photos" }
            _ => { strong { "failed" } ": " (bundle.error.as_deref().unwrap_or("unknown error")) }
        }
    }
}

fn tag_list(labels: &[String], match_all: bool) -> String {
    labels.join(if match_all { " and " } else { " or " })
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
