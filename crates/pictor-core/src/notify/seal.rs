//! Sealing personal data at rest: an address or a number kept in a job's
//! payload is sealed with ChaCha20-Poly1305 (RFC 8439), so the database
//! holds only ciphertext, and a changed byte is refused, never misread.
//!
//! A sealed value is `v1.` + base64url (no padding) of a random 96-bit
//! nonce, the ciphertext and the 16-byte tag; the version (`v1`) is also
//! the associated data, so a value cannot be passed off as another
//! version's. The key is [`SealKey::derive`]d from the server's key
//! ([`crate::server_key`]) for this purpose alone:
//! HMAC-SHA256(server key, `"pictor notify seal v1"`). A value sealed on
//! one machine opens on another only when both have the same server key
//! (`direct.secret`, which a cluster must set).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::error::{Error, ErrorKind, Result};
use crate::server_key::ServerKey;

/// What the server key is derived for.
pub const PURPOSE: &str = "pictor notify seal v1";
/// The version every sealed value starts with.
const VERSION: &str = "v1";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// The key that seals and opens (its `Debug` shows nothing of it).
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The sealing key of a server: HMAC-SHA256(its key, [`PURPOSE`]).
    pub fn derive(server: &ServerKey) -> Result<Self> {
        Ok(Self(server.derive(PURPOSE)?))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.0))
    }
}

/// `plaintext` sealed under `key`: `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
pub fn seal(key: &SealKey, plaintext: &str) -> String {
    let nonce: [u8; NONCE_BYTES] = rand::random();
    let payload = Payload { msg: plaintext.as_bytes(), aad: VERSION.as_bytes() };
    let sealed =
        key.cipher().encrypt(&Nonce::from(nonce), payload).expect("ChaCha20-Poly1305 seals any length in memory");
    let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&sealed);
    format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The text inside `sealed`, if `key` sealed it and nothing changed since.
/// The error never contains the value.
pub fn open(key: &SealKey, sealed: &str) -> Result<String> {
    let encoded = sealed.strip_prefix(VERSION).and_then(|rest| rest.strip_prefix('.')).ok_or_else(|| {
        unopenable(format!("a sealed value starts with `{VERSION}.`: this one was not sealed by this version"))
    })?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .filter(|b| b.len() >= NONCE_BYTES + TAG_BYTES)
        .ok_or_else(|| unopenable("a sealed value is damaged (not base64url of a nonce, text and tag)"))?;
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().expect("split at the nonce's length");
    let payload = Payload { msg: ciphertext, aad: VERSION.as_bytes() };
    let plaintext = key.cipher().decrypt(&Nonce::from(nonce), payload).map_err(|_| {
        unopenable(
            "a sealed value does not open with this server's key: it was changed, or sealed with another key \
             (was direct.secret changed, or is this another machine? a cluster must set direct.secret, the same on every node)",
        )
    })?;
    String::from_utf8(plaintext).map_err(|_| unopenable("a sealed value opened to bytes that are not UTF-8"))
}

/// Why a value does not open (as the job that holds it records it; it is
/// the server's fault, not the caller's, and names nothing of the value).
fn unopenable(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::Internal, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealKey {
        SealKey::from_bytes([byte; 32])
    }

    #[test]
    fn round_trips_with_a_fresh_nonce_each_time() {
        let text = "jane.doe@example.com";
        let one = seal(&key(1), text);
        let two = seal(&key(1), text);
        assert!(one.starts_with("v1."), "{one}");
        assert_ne!(one, two, "a fresh nonce per seal");
        assert!(!one.contains("jane") && !one.contains("example"));
        assert!(one[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "base64url: {one}");
        assert_eq!(open(&key(1), &one).unwrap(), text);
        assert_eq!(open(&key(1), &two).unwrap(), text);
        assert_eq!(open(&key(1), &seal(&key(1), "")).unwrap(), "");
    }

    #[test]
    fn a_changed_byte_or_another_key_is_refused() {
        let sealed = seal(&key(1), "+15551234567");
        let err = open(&key(2), &sealed).unwrap_err();
        assert!(err.detail.contains("direct.secret"), "{}", err.detail);
        assert!(!err.detail.contains("555"));
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_BYTES, bytes.len() - 1] {
            bytes[i] ^= 1;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert!(open(&key(1), &tampered).is_err(), "byte {i} changed");
            bytes[i] ^= 1;
        }
        let truncated = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]));
        assert!(open(&key(1), &truncated).is_err());
        for bad in ["", "v1.", "v1.!!!", "v2.AAAA", &sealed[3..], &format!("v2{}", &sealed[2..])] {
            assert!(open(&key(1), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_key_derives_from_the_server_key() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerKey::new("", dir.path());
        let sealed = seal(&SealKey::derive(&server).unwrap(), "x@example.com");
        // Another process over the same data folder opens it.
        let again = SealKey::derive(&ServerKey::new("", dir.path())).unwrap();
        assert_eq!(open(&again, &sealed).unwrap(), "x@example.com");
        let other = SealKey::derive(&ServerKey::new("another secret", dir.path())).unwrap();
        assert!(open(&other, &sealed).is_err());
        assert_eq!(format!("{again:?}"), "SealKey(<redacted>)");
    }
}
