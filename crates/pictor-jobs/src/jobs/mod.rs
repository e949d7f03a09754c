//! One file per job kind; each defines its payload type and `Job` impl.

pub mod archive_blob;
pub mod deliver_webhook;
pub mod dispatch;
pub mod import_run;
pub mod notify_bundle;
pub mod restore_blob;
pub mod run_execution;
pub mod style_render;
