//! `GET /tags`: every label on the account's photos with its count
//! (`mountain (32)`), each image counted once; parents are labels too, so
//! they browse the same way. Picking tags opens the gallery filtered by them,
//! or (Download originals) the page that makes a zip of their originals.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use pictor_db::Audience;
use pictor_jobs::Runtime;

use super::layout::{failed, page};
use crate::session::{SignedIn, encode};

pub async fn show(State(state): State<Arc<Runtime>>, signed_in: SignedIn) -> Response {
    let owner = signed_in.session.user.name.as_str();
    let counts = match state.db.label_counts(Audience::Owner(Some(owner))).await {
        Ok(counts) => counts,
        Err(e) => return failed(e),
    };
    let body = html! {
        h1 { "Tags" }
        @if counts.is_empty() { p.muted { "No tags yet: they appear once photos are processed." } }
        // A plain GET form: works without JavaScript.
        form method="get" action="/" {
            ul.tags {
                @for label in &counts {
                    li {
                        label {
                            input type="checkbox" name="label" value=(label.name);
                            " " (label.name) " " span.count { "(" (label.count) ")" }
                        }
                        @if let Some(parent) = label.parents.first() {
                            " " a.muted href=(format!("/?label={}", encode(parent))) { "in " (parent) }
                        }
                    }
                }
            }
            @if !counts.is_empty() {
                fieldset {
                    legend { "Photos with" }
                    label { input type="radio" name="match" value="any" checked; " any of these tags" }
                    label { input type="radio" name="match" value="all"; " all of them" }
                }
                p {
                    button type="submit" { "Show photos" } " "
                    // The same picks, to the page that makes a zip of their originals.
                    button type="submit" formaction="/bundles/new" { "Download originals" }
                }
            }
        }
    };
    Html(page("Tags", Some(&signed_in.session), body).into_string()).into_response()
}
