//! Who may see and manage what: the one ownership check every use case
//! goes through.
//!
//! A record's `owner` is `None` on an open server's anonymous uploads. A
//! caller manages a record when they own it, or are an admin with an
//! identity (an anonymous open-server caller has every scope but manages
//! only anonymous records).

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
}
