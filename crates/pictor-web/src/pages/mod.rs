//! One module per page; `layout` is the shell every page shares.

pub mod gallery;
pub mod layout;
pub mod login;
pub mod photo;
pub mod tags;
