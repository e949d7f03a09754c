//! The server's own key: what it signs for itself (the local store's
//! direct-upload URLs and forms) and the root of the keys it derives for
//! other purposes (sealing personal data: [`crate::notify::seal`]).
//!
//! It is `direct.secret` when that is set, else a random key kept in
//! `DATA_DIR/server.key`, made (mode 0600) on first use, so that nothing
//! is written by a process that never needs it. Processes sharing a data
//! folder share the key; a cluster of machines must set `direct.secret`,
//! the same on every node, or each would seal and sign with its own.
//! A key kept by an older version as `DATA_DIR/direct-upload.key` is
//! adopted, so that links signed before an upgrade stay valid.
//!
//! [`ServerKey::derive`] gives each purpose a key of its own,
//! HMAC-SHA256(server key, purpose): a key for one purpose never signs or
//! opens what another made.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The file the key is kept in, in the data folder.
pub const KEY_FILE: &str = "server.key";
/// Where versions before the shared key kept it (direct uploads only).
const LEGACY_KEY_FILE: &str = "direct-upload.key";

/// The server's key (cheap to clone: clones share it).
#[derive(Clone)]
pub struct ServerKey(Arc<Inner>);

struct Inner {
    /// Where the key is kept, when none is configured.
    path: Option<PathBuf>,
    key: OnceLock<Vec<u8>>,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    /// `secret` when it is not empty, else the key kept in `data_dir`
    /// (read or made on first use).
    pub fn new(secret: &str, data_dir: &Path) -> Self {
        let key = OnceLock::new();
        let path = if secret.is_empty() {
            Some(data_dir.join(KEY_FILE))
        } else {
            let _ = key.set(secret.as_bytes().to_vec());
            None
        };
        Self(Arc::new(Inner { path, key }))
    }

    /// A random key for this process only (what it signs is for itself).
    pub fn ephemeral() -> Self {
        let key = OnceLock::new();
        let _ = key.set(hex::encode(rand::random::<[u8; 32]>()).into_bytes());
        Self(Arc::new(Inner { path: None, key }))
    }

    /// The key's bytes (reading or making the kept key on first use).
    pub fn bytes(&self) -> Result<&[u8]> {
        if let Some(key) = self.0.key.get() {
            return Ok(key);
        }
        let path = self.0.path.as_deref().expect("a key or a place for one");
        let key = read_or_make(path).map_err(|e| Error::internal(format!("the key {}: {e}", path.display())))?;
        let _ = self.0.key.set(key);
        Ok(self.0.key.get().expect("just set"))
    }

    /// The key as text (a configured secret, or the kept key's hex).
    pub fn secret(&self) -> Result<&str> {
        Ok(std::str::from_utf8(self.bytes()?).unwrap_or_default())
    }

    /// An HMAC-SHA256 keyed by the key itself.
    pub fn mac(&self) -> Result<Hmac<Sha256>> {
        Ok(Hmac::new_from_slice(self.bytes()?).expect("HMAC takes any key length"))
    }

    /// A key for one `purpose` (e.g. `"pictor notify seal v1"`):
    /// HMAC-SHA256(server key, purpose).
    pub fn derive(&self, purpose: &str) -> Result<[u8; 32]> {
        let mut mac = self.mac()?;
        mac.update(purpose.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }
}

/// The key kept at `path`, made (random, private) if there is none; a key
/// kept under the legacy name beside it is adopted first.
fn read_or_make(path: &Path) -> std::io::Result<Vec<u8>> {
    if let Some(key) = read_kept(path)? {
        return Ok(key);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    if read_kept(&dir.join(LEGACY_KEY_FILE))?.is_some() {
        // Another process may have made one meanwhile: the first one stays.
        let _ = std::fs::hard_link(dir.join(LEGACY_KEY_FILE), path);
    } else {
        std::fs::create_dir_all(dir)?;
        let temporary = dir.join(format!("{KEY_FILE}.{}", hex::encode(rand::random::<[u8; 4]>())));
        write_private(&temporary, &hex::encode(rand::random::<[u8; 32]>()))?;
        let _ = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
    }
    Ok(std::fs::read_to_string(path)?.trim().as_bytes().to_vec())
}

/// The key in the file at `path`, if there is one (32 characters or more).
fn read_kept(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= 32 => Ok(Some(text.trim().as_bytes().to_vec())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_key_is_made_once_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::new("", dir.path());
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written before use");
        let first = key.secret().unwrap().to_string();
        assert_eq!(first.len(), 64);
        assert_eq!(ServerKey::new("", dir.path()).secret().unwrap(), first);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_ne!(ServerKey::ephemeral().secret().unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_older_versions_key_is_adopted() {
        let dir = tempfile::tempdir().unwrap();
        let old = "a".repeat(64);
        std::fs::write(dir.path().join(LEGACY_KEY_FILE), &old).unwrap();
        assert_eq!(ServerKey::new("", dir.path()).secret().unwrap(), old);
        assert_eq!(std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(), old);
    }

    #[test]
    fn each_purpose_gets_its_own_key() {
        let key = ServerKey::new("a configured secret", Path::new("/nonexistent"));
        let seal = key.derive("pictor notify seal v1").unwrap();
        assert_eq!(seal, key.derive("pictor notify seal v1").unwrap());
        assert_ne!(seal, key.derive("another purpose").unwrap());
        assert_ne!(
            seal,
            ServerKey::new("another secret", Path::new("/nonexistent")).derive("pictor notify seal v1").unwrap()
        );
        assert_eq!(format!("{key:?}"), "ServerKey(<redacted>)");
    }
}
