//! The models on real photos against independent references, one test
//! binary for the crate. Run one area with
//! `cargo test -p pictor-vision --test models faces::`.

mod reference;

mod faces;
mod labels;
mod moderation;
mod real_pip;
mod style;
mod tags;
mod text;
