//! One file per job kind; each defines its payload type and `Job` impl.

pub mod deliver_webhook;
pub mod dispatch;
pub mod run_execution;
