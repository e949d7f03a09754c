//! `shop::stripe` against independent implementations: webhook signature
//! headers made by Stripe's own Python library (PyPI `stripe`,
//! `WebhookSignature.generate_signature_header`), and the client against
//! the local stand-in of Stripe's API (`.ci/stripe_standin.py`, at
//! `PICTOR_TEST_STRIPE_URL`). Each part says SKIPPED when its counterpart
//! is missing.

use std::process::Command;

use pictor_core::error::ErrorKind;
use pictor_core::shop::money::{Currency, Money};
use pictor_core::shop::stripe::{SignatureError, StripeClient, verify_webhook};

const OLD_SECRET: &str = "whsec_old_0123456789abcdef";
const NEW_SECRET: &str = "whsec_new_fedcba9876543210";
const TOLERANCE: i64 = 300;
const EVENT: &str = r#"{"id":"evt_3PtTest","object":"event","type":"payment_intent.succeeded","created":1780000000,"data":{"object":{"id":"pi_3PtTest","object":"payment_intent","amount":490,"currency":"eur","metadata":{"order":"ord_1"},"status":"succeeded"}}}"#;

/// The `Stripe-Signature` header that Stripe's Python library makes for
/// `payload` signed with `secret` at `timestamp`; `None` (after saying
/// SKIPPED) when python3 or its `stripe` module is missing.
fn stripe_header(payload: &str, secret: &str, timestamp: i64) -> Option<String> {
    let script = "import sys, stripe\n\
                  print(stripe.WebhookSignature.generate_signature_header(sys.argv[1], sys.argv[2], int(sys.argv[3])))";
    let output = Command::new("python3").args(["-c", script, payload, secret, &timestamp.to_string()]).output();
    match output {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap().trim().to_string()),
        Ok(out) => {
            eprintln!("SKIPPED: the stripe Python package is missing (pip install stripe): {}", last_line(&out.stderr));
            None
        }
        Err(e) => {
            eprintln!("SKIPPED: python3 cannot be run ({e}), so Stripe's own signatures cannot be made");
            None
        }
    }
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().last().unwrap_or_default().to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn secrets(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The `v1=…` part of a header.
fn v1_of(header: &str) -> &str {
    header.split(',').find_map(|part| part.strip_prefix("v1=")).expect("a v1 signature")
}

#[test]
fn a_header_made_by_stripes_library_verifies() {
    let now = now();
    let Some(header) = stripe_header(EVENT, NEW_SECRET, now) else { return };
    assert!(header.starts_with(&format!("t={now},v1=")), "{header}");
    let event = verify_webhook(EVENT.as_bytes(), &header, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap();
    assert_eq!(event.id, "evt_3PtTest");
    assert_eq!(event.kind, "payment_intent.succeeded");
    assert_eq!(event.created, 1_780_000_000);
    assert_eq!(event.object["metadata"]["order"], "ord_1");
}

#[test]
fn a_tampered_body_is_refused() {
    let now = now();
    let Some(header) = stripe_header(EVENT, NEW_SECRET, now) else { return };
    let tampered = EVENT.replace("\"amount\":490", "\"amount\":1");
    let err = verify_webhook(tampered.as_bytes(), &header, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap_err();
    assert_eq!(err, SignatureError::Mismatch);
}

#[test]
fn an_old_timestamp_is_refused() {
    let now = now();
    let Some(header) = stripe_header(EVENT, NEW_SECRET, now - TOLERANCE - 1) else { return };
    let err = verify_webhook(EVENT.as_bytes(), &header, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap_err();
    assert_eq!(err, SignatureError::TooOld { age_secs: TOLERANCE + 1, tolerance_secs: TOLERANCE });
    assert!(err.to_string().contains("replay"), "{err}");
}

#[test]
fn a_future_timestamp_is_refused() {
    let now = now();
    let Some(header) = stripe_header(EVENT, NEW_SECRET, now + TOLERANCE + 60) else { return };
    let err = verify_webhook(EVENT.as_bytes(), &header, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap_err();
    assert_eq!(err, SignatureError::InFuture { ahead_secs: TOLERANCE + 60, tolerance_secs: TOLERANCE });
}

#[test]
fn rotated_secrets_accept_the_old_one_until_it_is_removed() {
    let now = now();
    let Some(signed_with_old) = stripe_header(EVENT, OLD_SECRET, now) else { return };
    let both = secrets(&[NEW_SECRET, OLD_SECRET]);
    assert!(verify_webhook(EVENT.as_bytes(), &signed_with_old, &both, now, TOLERANCE).is_ok());
    let err = verify_webhook(EVENT.as_bytes(), &signed_with_old, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap_err();
    assert_eq!(err, SignatureError::Mismatch);
}

#[test]
fn any_v1_entry_may_match() {
    let now = now();
    let (Some(stale), Some(good)) = (stripe_header(EVENT, OLD_SECRET, now), stripe_header(EVENT, NEW_SECRET, now))
    else {
        return;
    };
    let header = format!(
        "t={now},v1={},v1={},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
        v1_of(&stale),
        v1_of(&good)
    );
    assert!(verify_webhook(EVENT.as_bytes(), &header, &secrets(&[NEW_SECRET]), now, TOLERANCE).is_ok());
    let only_stale = format!("t={now},v1={}", v1_of(&stale));
    let err = verify_webhook(EVENT.as_bytes(), &only_stale, &secrets(&[NEW_SECRET]), now, TOLERANCE).unwrap_err();
    assert_eq!(err, SignatureError::Mismatch);
}

/// The stand-in's client, or `None` after saying SKIPPED.
fn standin_client(secret_key: &str) -> Option<StripeClient> {
    let Ok(url) = std::env::var("PICTOR_TEST_STRIPE_URL") else {
        eprintln!(
            "SKIPPED: PICTOR_TEST_STRIPE_URL is not set (source .ci/services.sh, or run .ci/stripe_standin.py --port N)"
        );
        return None;
    };
    Some(StripeClient::new(&url, secret_key).unwrap())
}

fn price(text: &str, code: &str) -> Money {
    Money::parse_major(text, Currency::new(code).unwrap()).unwrap()
}

#[tokio::test]
async fn payment_intents_are_created_retrieved_and_idempotent() {
    let Some(client) = standin_client("sk_test_pictor") else { return };
    let key = format!("order-{}", now());
    let created = client.create_payment_intent(&price("4.90", "EUR"), &[("order", "ord_1")], &key).await.unwrap();
    assert!(created.id.starts_with("pi_") && created.client_secret.starts_with(&format!("{}_secret_", created.id)));
    assert_eq!((created.amount, created.currency.as_str()), (490, "eur"));
    assert_eq!(created.status, "requires_payment_method");
    assert_eq!(created.metadata["order"], "ord_1");

    let retrieved = client.retrieve_payment_intent(&created.id).await.unwrap();
    assert_eq!(retrieved, created);

    let repeated = client.create_payment_intent(&price("4.90", "EUR"), &[("order", "ord_1")], &key).await.unwrap();
    assert_eq!(repeated.id, created.id, "the same idempotency key gives the same intent");

    let yen = client.create_payment_intent(&price("800", "JPY"), &[], &format!("{key}-jpy")).await.unwrap();
    assert_eq!((yen.amount, yen.currency.as_str()), (800, "jpy"));
}

#[tokio::test]
async fn stripes_refusals_name_stripes_message() {
    let Some(client) = standin_client("sk_test_pictor") else { return };
    let key = format!("reused-{}", now());
    client.create_payment_intent(&price("4.90", "EUR"), &[], &key).await.unwrap();
    let err = client.create_payment_intent(&price("5.90", "EUR"), &[], &key).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.detail.contains("same parameters"), "{err}");

    let missing = client.retrieve_payment_intent("pi_missing").await.unwrap_err();
    assert!(missing.detail.contains("No such payment_intent"), "{missing}");

    let Some(wrong_key) = standin_client("sk_live_not_for_tests") else { return };
    let err = wrong_key.retrieve_payment_intent("pi_missing").await.unwrap_err();
    assert!(err.detail.contains("Invalid API Key"), "{err}");
}

#[tokio::test]
async fn an_unreachable_stripe_is_worth_retrying() {
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = StripeClient::new(&format!("http://127.0.0.1:{port}"), "sk_test_pictor").unwrap();
    let err = client.retrieve_payment_intent("pi_1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamFailed);
    assert!(err.retry_after.is_some());
}
