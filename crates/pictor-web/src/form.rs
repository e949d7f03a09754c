//! A posted form as name/value pairs, for forms with repeated fields (the
//! photos picked in a grid), and the CSRF check they all go through.

use axum::body::Bytes;
use axum::response::Response;
use pictor_db::SessionRecord;

use crate::session::check_csrf;

pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &Bytes) -> Self {
        Self(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()).collect()
    }

    /// Refuses the form unless it carries the session's CSRF token.
    pub fn checked(body: &Bytes, session: &SessionRecord) -> Result<Self, Response> {
        let fields = Self::parse(body);
        check_csrf(session, fields.get("csrf"))?;
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_all_kept() {
        let f = Fields::parse(&Bytes::from_static(b"csrf=t&image=a&image=b&image=&name=Alps+%26+Co"));
        assert_eq!(f.all("image"), ["a", "b"]);
        assert_eq!((f.get("name"), f.get("missing")), ("Alps & Co", ""));
    }
}
