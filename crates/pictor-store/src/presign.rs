//! S3 browser-upload (POST) policies, signed with AWS Signature Version 4:
//! made for an S3 store, and made and checked for the local store, which
//! serves the same form itself.
//!
//! A policy is a JSON document (an expiration and conditions on the form's
//! fields), sent base64-encoded as the `policy` field; its signature is
//! `hex(HMAC(signing key, policy))`, where the signing key is the HMAC chain
//! `"AWS4" + secret` → date → region → `s3` → `aws4_request`
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>).
//! Pure computation: no I/O.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of the fields (and headers) that carry user metadata.
pub const META_PREFIX: &str = "x-amz-meta-";

/// The algorithm every SigV4 form names.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Who signs, and where: an access key and its secret, an optional
/// session token, and the region in the credential scope.
#[derive(Clone, Debug)]
pub struct Credentials<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub region: &'a str,
}

/// What the form lets its holder upload.
#[derive(Clone, Debug)]
pub struct PostRules<'a> {
    /// The bucket condition, if the form goes to a bucket.
    pub bucket: Option<&'a str>,
    /// The key the form fills in; it must start with `key_prefix`.
    pub key: &'a str,
    pub key_prefix: &'a str,
    /// The `Content-Type` field, which must be exactly this.
    pub content_type: &'a str,
    /// The file's size must be within this range, in bytes.
    pub min_bytes: u64,
    pub max_bytes: u64,
    /// Unix milliseconds: the form is signed at `now` and expires at `expires`.
    pub now: i64,
    pub expires: i64,
    /// User metadata the object is stored with, each field exactly this
    /// (`("style", "ember")` is the field `x-amz-meta-style`).
    pub meta: &'a [(&'a str, &'a str)],
}

/// A signed form: where to POST it, and its fields, to send (in any
/// order) before the `file` field, which comes last.
#[derive(Clone, Debug, PartialEq)]
pub struct PostForm {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// Makes the signed form for `rules`, to be posted to `url`.
pub fn post_form(url: &str, credentials: &Credentials<'_>, rules: &PostRules<'_>) -> PostForm {
    let (amz_date, day) = amz_date(rules.now);
    let credential = format!("{}/{day}/{}/s3/aws4_request", credentials.key_id, credentials.region);
    let mut fields = BTreeMap::new();
    fields.insert("key".to_string(), rules.key.to_string());
    fields.insert("Content-Type".to_string(), rules.content_type.to_string());
    fields.insert("x-amz-algorithm".to_string(), ALGORITHM.to_string());
    fields.insert("x-amz-credential".to_string(), credential.clone());
    fields.insert("x-amz-date".to_string(), amz_date.clone());
    let mut conditions = Vec::new();
    if let Some(bucket) = rules.bucket {
        conditions.push(serde_json::json!({ "bucket": bucket }));
    }
    conditions.push(serde_json::json!(["starts-with", "$key", rules.key_prefix]));
    conditions.push(serde_json::json!(["content-length-range", rules.min_bytes, rules.max_bytes]));
    conditions.push(serde_json::json!({ "Content-Type": rules.content_type }));
    conditions.push(serde_json::json!({ "x-amz-algorithm": ALGORITHM }));
    conditions.push(serde_json::json!({ "x-amz-credential": credential }));
    conditions.push(serde_json::json!({ "x-amz-date": amz_date }));
    for (name, value) in rules.meta {
        let field = format!("{META_PREFIX}{name}");
        conditions.push(serde_json::json!({ field.clone(): value }));
        fields.insert(field, value.to_string());
    }
    if let Some(token) = credentials.token {
        fields.insert("x-amz-security-token".to_string(), token.to_string());
        conditions.push(serde_json::json!({ "x-amz-security-token": token }));
    }
    let policy = serde_json::json!({ "expiration": iso8601(rules.expires), "conditions": conditions });
    let policy = BASE64.encode(policy.to_string());
    let signature = hex::encode(sign(credentials.secret, &day, credentials.region, &policy));
    fields.insert("policy".to_string(), policy);
    fields.insert("x-amz-signature".to_string(), signature);
    PostForm { url: url.to_string(), fields }
}

/// Why a posted form was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// A field is missing or malformed.
    #[error("{0}")]
    Malformed(String),
    /// The signature does not match the policy (tampered, or another key).
    #[error("the policy's signature does not match")]
    Signature,
    /// The policy's expiration has passed.
    #[error("the policy expired at {0}")]
    Expired(String),
    /// The form was signed further in the future than clocks may disagree
    /// ([`MAX_CLOCK_SKEW_MS`]).
    #[error("the form is dated {0}, too far ahead of this server's clock")]
    NotYetValid(String),
    /// A field breaks a condition of the policy.
    #[error("{0}")]
    Condition(String),
}

/// What a verified form allows: its key, its content type, and the file
/// sizes its policy accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub key: String,
    /// The user metadata fields, by name without `x-amz-meta-`.
    pub meta: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub min_bytes: u64,
    pub max_bytes: u64,
}

/// Checks a posted form's fields (everything but the file) the way S3
/// does: the signature under `secret` (the access key must be `key_id`, the
/// region `region`), the expiration at `now` (Unix ms), and every condition;
/// and every field but the exempt ones must be named by a condition.
pub fn verify_post(
    fields: &BTreeMap<String, String>,
    key_id: &str,
    secret: &str,
    region: &str,
    now: i64,
) -> Result<Allowed, PostError> {
    // Field names are case-insensitive.
    let fields: BTreeMap<String, &str> = fields.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str())).collect();
    let field = |name: &str| fields.get(name).copied().ok_or_else(|| PostError::Malformed(format!("no {name} field")));
    let policy = field("policy")?;
    if field("x-amz-algorithm")? != ALGORITHM {
        return Err(PostError::Malformed(format!("x-amz-algorithm must be {ALGORITHM}")));
    }
    let credential = field("x-amz-credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, day, scope_region, "s3", "aws4_request"] = scope[..] else {
        return Err(PostError::Malformed("x-amz-credential must be KEY/YYYYMMDD/REGION/s3/aws4_request".into()));
    };
    if access_key != key_id || scope_region != region {
        return Err(PostError::Signature);
    }
    let date = field("x-amz-date")?;
    if !date.starts_with(day) {
        return Err(PostError::Malformed("x-amz-date is not the credential's day".into()));
    }
    let signed_at = parse_amz_date(date).ok_or_else(|| PostError::Malformed("x-amz-date is not a date".into()))?;
    let signature = hex::decode(field("x-amz-signature")?)
        .map_err(|_| PostError::Malformed("x-amz-signature is not hex".into()))?;
    if mac(secret, day, region, policy).verify_slice(&signature).is_err() {
        return Err(PostError::Signature);
    }
    // Signed by us: from here on the policy is ours, but the fields are the client's.
    let document: serde_json::Value = BASE64
        .decode(policy)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| PostError::Malformed("the policy is not base64 JSON".into()))?;
    let expiration = document["expiration"].as_str().unwrap_or_default();
    let expires =
        parse_iso8601(expiration).ok_or_else(|| PostError::Malformed("the policy has no expiration".into()))?;
    if expires <= now {
        return Err(PostError::Expired(expiration.to_string()));
    }
    if signed_too_far_ahead(signed_at, now) {
        return Err(PostError::NotYetValid(iso8601(signed_at)));
    }
    let mut covered = vec!["policy", "x-amz-signature", "file", "bucket"];
    let mut allowed =
        Allowed { key: String::new(), meta: BTreeMap::new(), content_type: None, min_bytes: 0, max_bytes: u64::MAX };
    let conditions = document["conditions"].as_array().cloned().unwrap_or_default();
    for condition in &conditions {
        let (op, name, value) = match condition {
            serde_json::Value::Object(pair) if pair.len() == 1 => {
                let (name, value) = pair.iter().next().expect("one pair");
                ("eq", name.to_ascii_lowercase(), value.as_str().unwrap_or_default().to_string())
            }
            serde_json::Value::Array(items)
                if items.first().and_then(|v| v.as_str()) == Some("content-length-range") =>
            {
                let bound = |i: usize| items.get(i).and_then(serde_json::Value::as_u64);
                let (Some(min), Some(max)) = (bound(1), bound(2)) else {
                    return Err(PostError::Malformed("a content-length-range without two numbers".into()));
                };
                (allowed.min_bytes, allowed.max_bytes) = (min, max);
                continue;
            }
            serde_json::Value::Array(items) if items.len() == 3 => {
                let text = |i: usize| items[i].as_str().unwrap_or_default();
                let name = text(1).strip_prefix('$').unwrap_or_default().to_ascii_lowercase();
                (text(0), name, text(2).to_string())
            }
            _ => return Err(PostError::Malformed(format!("an unknown policy condition: {condition}"))),
        };
        if name == "bucket" {
            continue;
        }
        let sent = fields.get(&name).copied().unwrap_or_default();
        let holds = match op {
            "eq" => sent == value,
            "starts-with" => sent.starts_with(&value),
            other => return Err(PostError::Malformed(format!("an unknown policy operator {other:?}"))),
        };
        if !holds {
            return Err(PostError::Condition(format!("the {name} field breaks the policy ({op} {value:?})")));
        }
        covered.push(fields.get_key_value(&name).map_or("", |(k, _)| k.as_str()));
    }
    if let Some(extra) = fields.keys().find(|name| !covered.contains(&name.as_str()) && !name.starts_with("x-ignore-"))
    {
        return Err(PostError::Condition(format!("the {extra} field is not allowed by the policy")));
    }
    allowed.key = field("key")?.to_string();
    allowed.meta = fields
        .iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(META_PREFIX)?.to_string(), value.to_string())))
        .collect();
    allowed.content_type = fields.get("content-type").map(|v| v.to_string());
    Ok(allowed)
}

fn mac(secret: &str, day: &str, region: &str, policy: &str) -> HmacSha256 {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(policy.as_bytes());
    mac
}

fn sign(secret: &str, day: &str, region: &str, policy: &str) -> Vec<u8> {
    mac(secret, day, region, policy).finalize().into_bytes().to_vec()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// How far ahead of the checking server's clock a URL or form may be
/// signed: S3's own allowance (`RequestTimeTooSkewed`), so the clocks of the
/// process that signs and the one that checks may disagree by this much.
pub const MAX_CLOCK_SKEW_MS: i64 = 15 * 60 * 1000;

/// Whether something signed at `signed_at` is dated too far ahead of `now`
/// (both Unix ms) to be used yet.
pub fn signed_too_far_ahead(signed_at: i64, now: i64) -> bool {
    signed_at - now > MAX_CLOCK_SKEW_MS
}

/// The `x-amz-date` form: `20261203T063000Z`.
const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";

/// `(20261203T063000Z, 20261203)`: the `x-amz-date` form of Unix ms, and its day.
pub fn amz_date(ms: i64) -> (String, String) {
    let basic = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format(AMZ_DATE).to_string();
    let day = basic[..8].to_string();
    (basic, day)
}

/// `20261203T063000Z` as Unix ms.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    Some(chrono::NaiveDateTime::parse_from_str(text, AMZ_DATE).ok()?.and_utc().timestamp_millis())
}

/// Unix ms as `2026-12-03T06:30:00.000Z`.
pub fn iso8601(ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `2026-12-03T06:30:00.000Z` (milliseconds optional) as Unix ms.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    text.strip_suffix('Z')?;
    Some(chrono::DateTime::parse_from_rfc3339(text).ok()?.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_279_400_123; // 2026-12-03T06:30:00.123Z

    fn credentials() -> Credentials<'static> {
        Credentials { key_id: "AKID", secret: "s3cr3t", token: None, region: "us-east-1" }
    }

    fn rules() -> PostRules<'static> {
        PostRules {
            bucket: Some("pics"),
            key: "direct/u1/a.jpg",
            key_prefix: "direct/u1/",
            content_type: "image/jpeg",
            min_bytes: 1,
            max_bytes: 100,
            now: NOW,
            expires: NOW + 60_000,
            meta: &[],
        }
    }

    #[test]
    fn metadata_fields_are_signed_and_read_back() {
        let rules = PostRules { meta: &[("style", "ember"), ("contact", "sealed")], ..rules() };
        let form = post_form("http://s3/pics", &credentials(), &rules);
        assert_eq!(form.fields["x-amz-meta-style"], "ember");
        let verify = |fields: &BTreeMap<String, String>| verify_post(fields, "AKID", "s3cr3t", "us-east-1", NOW);
        let allowed = verify(&form.fields).unwrap();
        assert_eq!(allowed.meta.get("style").map(String::as_str), Some("ember"));
        assert_eq!(allowed.meta.get("contact").map(String::as_str), Some("sealed"));
        let mut other = form.fields.clone();
        other.insert("x-amz-meta-style".into(), "mosaic".into());
        assert!(matches!(verify(&other), Err(PostError::Condition(_))), "another style than signed");
        let mut missing = form.fields.clone();
        missing.remove("x-amz-meta-contact");
        assert!(matches!(verify(&missing), Err(PostError::Condition(_))), "a signed field left out");
        let mut extra = form.fields;
        extra.insert("x-amz-meta-price".into(), "0".into());
        assert!(matches!(verify(&extra), Err(PostError::Condition(_))), "an unsigned field added");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso8601(NOW), "2026-12-03T06:30:00.123Z");
        assert_eq!(parse_iso8601("2026-12-03T06:30:00.123Z"), Some(NOW));
        assert_eq!(parse_iso8601("2026-12-03T06:30:00Z"), Some(NOW - 123));
        assert_eq!(amz_date(NOW), ("20261203T063000Z".to_string(), "20261203".to_string()));
        assert_eq!(parse_amz_date("20261203T063000Z"), Some(NOW - 123));
        assert!(parse_amz_date("20261303T063000Z").is_none() && parse_amz_date("20261203T0630Z").is_none());
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2024-02-29T23:59:59.5Z"), Some(1_709_251_199_500));
        assert!(parse_iso8601("2026-13-03T06:30:00Z").is_none() && parse_iso8601("yesterday").is_none());
    }

    #[test]
    fn the_signing_key_is_the_documented_chain() {
        // AWS's worked example of a POST policy signature
        // (sigv4-post-example.html): its policy, key and date.
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let signature = sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1", policy);
        assert_eq!(hex::encode(signature), "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e");
    }

    #[test]
    fn a_form_verifies_and_tampering_fails() {
        let form = post_form("http://s3/pics", &credentials(), &rules());
        assert_eq!(form.fields["key"], "direct/u1/a.jpg");
        let policy: serde_json::Value =
            serde_json::from_slice(&BASE64.decode(&form.fields["policy"]).unwrap()).unwrap();
        assert_eq!(policy["expiration"], "2026-12-03T06:31:00.123Z");
        assert!(policy["conditions"].to_string().contains(r#"["content-length-range",1,100]"#), "{policy}");

        let check = |fields: &BTreeMap<String, String>, now| verify_post(fields, "AKID", "s3cr3t", "us-east-1", now);
        let allowed = check(&form.fields, NOW).unwrap();
        assert_eq!((allowed.key.as_str(), allowed.max_bytes), ("direct/u1/a.jpg", 100));
        assert_eq!(allowed.content_type.as_deref(), Some("image/jpeg"));

        assert_eq!(check(&form.fields, NOW + 60_000), Err(PostError::Expired("2026-12-03T06:31:00.123Z".into())));
        // A checking server whose clock is behind the signer's: within the
        // allowance the form is good, beyond it not yet valid.
        assert!(check(&form.fields, NOW - 5 * 60_000).is_ok());
        assert_eq!(
            check(&form.fields, NOW - 16 * 60_000),
            Err(PostError::NotYetValid("2026-12-03T06:30:00.000Z".into()))
        );
        assert_eq!(verify_post(&form.fields, "AKID", "other", "us-east-1", NOW), Err(PostError::Signature));
        let with = |name: &str, value: &str| {
            let mut fields = form.fields.clone();
            fields.insert(name.into(), value.into());
            fields
        };
        // Another key, content type or a widened policy.
        assert!(matches!(check(&with("key", "blobs/ab/x"), NOW), Err(PostError::Condition(_))));
        assert!(check(&with("key", "direct/u1/other.jpg"), NOW).is_ok());
        assert!(matches!(check(&with("Content-Type", "text/html"), NOW), Err(PostError::Condition(_))));
        assert!(matches!(check(&with("acl", "public-read"), NOW), Err(PostError::Condition(_))));
        let wider = form.fields["policy"].replace('A', "B");
        assert_eq!(check(&with("policy", &wider), NOW), Err(PostError::Signature));
        assert!(matches!(check(&with("x-amz-signature", "zz"), NOW), Err(PostError::Malformed(_))));
    }
}
