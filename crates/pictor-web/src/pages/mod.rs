//! One module per page; `layout` is the shell every page shares.

pub mod admin;
pub mod albums;
pub mod bundles;
pub mod gallery;
pub mod imports;
pub mod layout;
pub mod live;
pub mod login;
pub mod map;
pub mod oidc;
pub mod photo;
pub mod search;
pub mod settings;
pub mod shared;
pub mod shares;
pub mod shop;
pub mod tags;
pub mod tiles;
pub mod upload;

/// Alt text for a photo: its name, else its best labels.
pub fn alt_text(name: Option<&str>, labels: &[String]) -> String {
    match (name, labels) {
        (Some(name), _) => name.to_string(),
        (None, []) => "A photo".to_string(),
        (None, best) => format!("A photo of {}", best.join(", ")),
    }
}
