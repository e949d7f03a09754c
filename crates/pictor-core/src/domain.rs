//! Domain types that validate when built: an id, a hash or a kind that
//! exists as a value of one of these types has already been checked.
//!
//! Records in `pictor-db` keep plain strings (that crate is the SQL); use
//! cases parse at the edge (a path segment, a config key, a job payload).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// Defines a string newtype with a validating `parse`, `as_str`, `Display`,
/// `FromStr` and serde through the same check.
macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `text`; the error says what was expected.
            pub fn parse(text: impl Into<String>) -> Result<Self, Error> {
                let text = text.into();
                let check: fn(&str) -> bool = $check;
                if check(&text) {
                    Ok(Self(text))
                } else {
                    Err(Error::new(ErrorKind::InvalidRequest, format!("{:?} is not {}", text, $what)))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

validated_string!(
    /// An image's id: a UUID in its hyphenated lower-case form.
    ImageId,
    "an image id (a UUID such as 0190c5a2-…)",
    |s| uuid::Uuid::try_parse(s).is_ok_and(|u| u.hyphenated().to_string() == s)
);

validated_string!(
    /// Who owns a record: an account, API-key owner or JWT subject. Not
    /// empty, at most 256 bytes, no control characters.
    Owner,
    "an owner (1–256 bytes, no control characters)",
    |s| !s.trim().is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
);

validated_string!(
    /// A blob's address: its SHA-256 as 64 lower-case hex digits.
    Sha256,
    "a SHA-256 (64 lower-case hex digits)",
    |s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
);

impl ImageId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl Default for ImageId {
    fn default() -> Self {
        Self::new()
    }
}

/// Defines a closed enum of wire names with `as_str`, `parse`, `ALL`,
/// `Display`, `FromStr` and serde as the wire name.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }

            /// The value named `text`; the error lists the known names.
            pub fn parse(text: &str) -> Result<Self, Error> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Error::new(ErrorKind::InvalidRequest, format!("{text:?} is not {}; use one of: {}", $what, known.join(", ")))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }
    };
}

wire_enum!(
    /// Where an image is in its workflow.
    ImageStatus, "an image status" {
        /// Stored; its workflow has not finished.
        Processing = "processing",
        /// Its workflow succeeded.
        Processed = "processed",
        /// Its workflow failed (the error is on the execution and the event).
        Failed = "failed",
        /// The workflow refused it (e.g. not a supported type).
        Rejected = "rejected",
    }
);

wire_enum!(
    /// What moderation decided about an image.
    Moderation, "a moderation state" {
        Flagged = "flagged",
        Approved = "approved",
        Rejected = "rejected",
    }
);

wire_enum!(
    /// Everything that is recorded in the event feed.
    EventKind, "an event kind" {
        ImageCreated = "image.created",
        ImageProcessed = "image.processed",
        ImageFailed = "image.failed",
        ImageRejected = "image.rejected",
        ImageFlagged = "image.flagged",
        ImageDeleted = "image.deleted",
        ModerationApproved = "moderation.approved",
        ModerationRejected = "moderation.rejected",
        ExecutionStarted = "execution.started",
        ExecutionStep = "execution.step",
        ApiKeyCreated = "api_key.created",
        /// A download bundle was asked for (its workflow starts).
        BundleRequested = "bundle.requested",
        /// A bundle's progress: restoring n/m, zipping n/m.
        BundleProgress = "bundle.progress",
        /// A bundle's zip is ready, and linked.
        BundleReady = "bundle.ready",
        BundleFailed = "bundle.failed",
        /// An import's page is done (its counters in the payload).
        ImportProgress = "import.progress",
        /// An import has ended: done, failed or cancelled.
        ImportDone = "import.done",
        /// A shop upload arrived and became an order (its preview workflow starts).
        ShopOrderReceived = "shop.order.received",
        /// A shop order was paid (its artwork workflow starts).
        ShopOrderPaid = "shop.order.paid",
    }
);

wire_enum!(
    /// Every kind of background job, as stored in the queue.
    JobKind, "a job kind" {
        /// Start the workflows an event names and fan it out to webhooks.
        Dispatch = "event.dispatch",
        /// Run (or resume) one execution of a state machine.
        RunExecution = "execution.run",
        /// One signed attempt of one webhook delivery.
        DeliverWebhook = "webhook.deliver",
        /// Move one original to the archive tier (the lifecycle rule).
        ArchiveBlob = "blob.archive",
        /// Bring one archived original back hot, polling until it is.
        RestoreBlob = "blob.restore",
        /// Send a bundle's link to the address its owner left (sealed).
        NotifyBundle = "bundle.notify",
        /// Ingest an import's source page by page from its cursor.
        ImportRun = "import.run",
        /// Paint a shop order's preview or artwork (`pictor worker --only style`).
        StyleRender = "style.render",
    }
);

impl EventKind {
    /// Kinds a webhook subscriber can receive.
    pub const DELIVERABLE: &[Self] = &[
        Self::ImageCreated,
        Self::ImageProcessed,
        Self::ImageFailed,
        Self::ImageRejected,
        Self::ImageFlagged,
        Self::ImageDeleted,
        Self::ModerationApproved,
        Self::ModerationRejected,
        Self::BundleProgress,
        Self::BundleReady,
        Self::BundleFailed,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_are_canonical_uuids() {
        let id = ImageId::new();
        assert_eq!(ImageId::parse(id.as_str()).unwrap(), id);
        for bad in ["", "x", "../etc/passwd", "0190C5A2-0000-4000-8000-000000000000", "0190c5a200004000800000000000000"]
        {
            assert_eq!(ImageId::parse(bad).unwrap_err().kind, ErrorKind::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn hashes_and_owners_validate() {
        assert!(Sha256::parse("ab".repeat(32)).is_ok());
        assert!(Sha256::parse("AB".repeat(32)).is_err());
        assert!(Sha256::parse("ab".repeat(31)).is_err());
        assert!(Owner::parse("alice").is_ok());
        assert!(Owner::parse(" ").is_err() && Owner::parse("a\nb").is_err() && Owner::parse("a".repeat(257)).is_err());
    }

    #[test]
    fn kinds_round_trip_and_name_the_known_ones() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()).unwrap(), *kind);
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), *kind);
        }
        let err = EventKind::parse("image.uploaded").unwrap_err();
        assert!(err.detail.contains("image.created"), "{}", err.detail);
        assert_eq!(ImageStatus::parse("processed").unwrap(), ImageStatus::Processed);
        assert_eq!(JobKind::parse("execution.run").unwrap(), JobKind::RunExecution);
        assert!(JobKind::parse("image.created").is_err());
        assert!(serde_json::from_str::<ImageId>("\"nope\"").is_err());
    }
}
