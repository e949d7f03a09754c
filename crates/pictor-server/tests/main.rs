//! The server's black-box tests over HTTP, one test binary for the crate
//! (one link of the whole stack instead of one per file). Each module is
//! one area; run one with `cargo test -p pictor-server --test http api::`.

#[macro_use]
mod common;

mod api;
mod auth;
mod bundles;
mod connections;
mod corpus;
mod direct;
mod full_disk;
mod import;
mod oidc;
mod openapi;
mod outage;
mod overload;
mod pam;
mod privacy;
mod resumable;
mod shop;
mod single_flight;
mod tiers;
mod vision;
mod wakeup;
mod web;
mod web_admin;
mod web_bundles;
mod web_find;
mod web_library;
mod web_shares;
mod webhooks;
mod workflow;
