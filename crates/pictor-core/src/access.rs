//! Who may see and manage what: the one ownership check every use case
//! goes through.
//!
//! A record's `owner` is `None` on an open server's anonymous uploads. A
//! caller manages a record when they own it, or are an admin with an
//! identity (an anonymous open-server caller has every scope but manages
//! only anonymous records). Images are private: a caller sees their own,
//! admins see all, and anyone sees an image without an owner; to anyone
//! else another's image does not exist (404, not 403). A caller without an
//! identity exists only where the server made reading public (an open
//! server, or `auth.anonymous_reads`), and sees everything.

use crate::auth::Principal;
use crate::error::{Error, ErrorKind, Result};

/// Succeeds when `caller` may manage a record owned by `owner`; otherwise a
/// `Forbidden` that names `what` ("this image", "this execution").
pub fn ensure_manages(caller: &Principal, owner: Option<&str>, what: &str) -> Result<()> {
    if caller.may_manage(owner) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Forbidden, format!("{what} belongs to someone else")))
    }
}

/// Succeeds when `caller` may read the workings (executions, deliveries)
/// of a record owned by `owner`: its manager, or any admin, the open
/// server's anonymous caller included.
pub fn ensure_sees(caller: &Principal, owner: Option<&str>, what: &str) -> Result<()> {
    if caller.is_admin() { Ok(()) } else { ensure_manages(caller, owner, what) }
}

/// Succeeds when `caller` may see a record owned by `owner`: its owner,
/// any admin, anyone for a record without an owner, and the anonymous
/// reader of a server whose reads are public. Otherwise a
/// `NotFound` naming `what`, so that nobody learns what others have.
pub fn ensure_visible(caller: &Principal, owner: Option<&str>, what: impl std::fmt::Display) -> Result<()> {
    if owner.is_none() || caller.owner.is_none() || caller.is_admin() || caller.owner.as_deref() == owner {
        Ok(())
    } else {
        Err(Error::not_found(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    #[test]
    fn owners_and_admins_manage_others_do_not() {
        let alice = Principal::new(Some("alice".into()), vec![Scope::Read]);
        let admin = Principal::new(Some("root".into()), vec![Scope::Admin]);
        assert!(ensure_manages(&alice, Some("alice"), "this image").is_ok());
        assert!(ensure_manages(&admin, Some("alice"), "this image").is_ok());
        let err = ensure_manages(&alice, Some("bob"), "this image").unwrap_err();
        assert_eq!((err.kind, err.detail.as_str()), (ErrorKind::Forbidden, "this image belongs to someone else"));
        let anonymous_admin = Principal::new(None, vec![Scope::Admin]);
        assert!(ensure_manages(&anonymous_admin, Some("alice"), "this image").is_err());
        assert!(ensure_sees(&anonymous_admin, Some("alice"), "this execution").is_ok());
        assert!(ensure_sees(&alice, Some("bob"), "this execution").is_err());
    }

    #[test]
    fn images_are_private_to_their_owner_and_admins() {
        let alice = Principal::new(Some("alice".into()), vec![Scope::Read]);
        let bob = Principal::new(Some("bob".into()), vec![Scope::Upload]);
        let admin = Principal::new(Some("root".into()), vec![Scope::Admin]);
        let reader = Principal::new(None, vec![Scope::Read]);
        assert!(ensure_visible(&alice, Some("alice"), "image a").is_ok());
        assert!(ensure_visible(&admin, Some("alice"), "image a").is_ok());
        let err = ensure_visible(&bob, Some("alice"), "image a").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "another's image is not confirmed to exist");
        assert!(ensure_visible(&reader, Some("alice"), "image a").is_ok(), "anonymous reads were made public");
        assert!(ensure_visible(&bob, None, "image b").is_ok(), "ownerless images are everyone's");
    }
}
