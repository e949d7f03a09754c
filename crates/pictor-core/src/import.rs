//! Imports: every image under an S3 prefix or a server folder, ingested
//! exactly like an upload, page by page, resumably, without HTTP.
//!
//! Why here: the API, the web app and the CLI (through the API) start
//! imports, and a background job (`import.run` in `pictor-jobs`) runs them;
//! the rules are the same for all, so they live in the core:
//!
//! - **Sources.** `s3://bucket/prefix?endpoint=…&region=…&access_key_id=…&
//!   secret_access_key=…` (only those options; no credentials means an
//!   anonymous read, never the server's own credentials), or an absolute
//!   folder path on the server. A folder must lie under one of
//!   `import.local_roots` once canonicalised (so `..` and symlinks cannot
//!   leave it; symlinks inside are not followed); none configured refuses
//!   local imports. An S3 endpoint on a loopback, private or link-local
//!   address is refused unless `import.allow_private_endpoints`.
//! - **Credentials** are never stored in the clear: the record shows only
//!   `s3://bucket/prefix`, and the whole source travels in the job's
//!   payload sealed (ChaCha20-Poly1305, bound to the import's id) under
//!   the server's key (`direct.secret`, else `DATA_DIR/server.key`).
//! - **Each object** goes through [`crate::ingest`] (type from the bytes,
//!   content hash, record, `image.created`, the workflow) with `source:
//!   "import"`. Content the owner already has is a duplicate (no record);
//!   what is not an image, or larger than `limits.max_upload_bytes`, is
//!   skipped with its reason.
//! - **Resumable.** [`step`] lists one page (`import.page_size` keys after
//!   the cursor, in lexical order), ingests it `import.concurrency` at a
//!   time, then adds its counts and moves the cursor in one conditional
//!   update. A process that dies mid-page leaves the cursor where the page
//!   began; the job runs again when its lease lapses, and what the page had
//!   landed is found by its content, so nothing is imported twice (and an
//!   image this import landed since its last page counts as imported, not
//!   as a duplicate).

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use futures::StreamExt as _;
use pictor_db::{Db, ImportPage, ImportRecord, now_ms};
use pictor_store::{BucketSource, SOURCE_OPTIONS, SourceObject, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::AppState;
use crate::access::{ensure_manages, ensure_visible};
use crate::auth::Principal;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{self, Upload};
use crate::notify::SealKey;
use crate::server_key::ServerKey;

/// The `source` of images an import lands.
pub const SOURCE: &str = "import";
/// Most imports one owner may have queued or running at once.
pub const MAX_ACTIVE_PER_OWNER: i64 = 5;
/// How many skipped or failed keys an import keeps, latest last.
const MAX_PROBLEMS: usize = 20;
/// The longest image name kept from a key.
const MAX_NAME_CHARS: usize = 255;

/// Where an import reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Bucket { bucket: String, prefix: String, options: BTreeMap<String, String> },
    Folder(PathBuf),
}

impl Source {
    /// Parses a source as a person writes it; checks only its form.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::bad_request("no source: give s3://bucket/prefix or an absolute folder path"));
        }
        if text.starts_with("s3://") {
            let url =
                url::Url::parse(text).map_err(|e| Error::bad_request(format!("the S3 source does not parse: {e}")))?;
            let bucket = url
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| Error::bad_request("no bucket name after s3:// (write s3://bucket/prefix)"))?;
            let mut options = BTreeMap::new();
            for (key, value) in url.query_pairs() {
                if !SOURCE_OPTIONS.contains(&key.as_ref()) {
                    return Err(Error::bad_request(format!(
                        "unknown S3 option {key:?} in the source; use {}",
                        SOURCE_OPTIONS.join(", ")
                    )));
                }
                options.insert(key.into_owned(), value.into_owned());
            }
            if options.contains_key("access_key_id") != options.contains_key("secret_access_key") {
                return Err(Error::bad_request("give both access_key_id and secret_access_key, or neither"));
            }
            let prefix = percent_decode(url.path().trim_matches('/'));
            return Ok(Self::Bucket { bucket: bucket.to_string(), prefix, options });
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        if path.contains("://") {
            return Err(Error::bad_request("a source is s3://bucket/prefix or an absolute folder path on the server"));
        }
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(Error::bad_request(format!("{} is not an absolute folder path", path.display())));
        }
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(Error::bad_request("a folder path may not contain '..'"));
        }
        Ok(Self::Folder(path))
    }

    /// How the source is shown: `s3://bucket/prefix` (no options, no
    /// credentials) or the folder.
    pub fn display(&self) -> String {
        match self {
            Self::Bucket { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}"),
            Self::Bucket { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
            Self::Folder(path) => path.display().to_string(),
        }
    }

    /// The source written out again, options included (sealed in the job).
    fn to_text(&self) -> String {
        match self {
            Self::Folder(path) => path.display().to_string(),
            Self::Bucket { bucket, prefix, options } => {
                let mut url = url::Url::parse(&format!("s3://{bucket}/")).expect("a bucket name parsed before");
                url.set_path(prefix);
                if !options.is_empty() {
                    url.query_pairs_mut().extend_pairs(options);
                }
                url.to_string()
            }
        }
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks that this server may read `source`: a folder under a configured
/// root (returned canonical), an S3 endpoint on a public address.
pub async fn admit(config: &Config, source: Source) -> Result<Source> {
    match source {
        Source::Folder(path) => Ok(Source::Folder(admit_folder(config, &path)?)),
        Source::Bucket { bucket, prefix, options } => {
            if let Some(endpoint) = options.get("endpoint") {
                check_endpoint(config, endpoint).await?;
            }
            Ok(Source::Bucket { bucket, prefix, options })
        }
    }
}

fn admit_folder(config: &Config, path: &Path) -> Result<PathBuf> {
    if config.import.local_roots.is_empty() {
        return Err(Error::new(
            ErrorKind::Forbidden,
            "importing server folders is off: list the folders that may be imported in import.local_roots",
        ));
    }
    let refused = || {
        Error::new(
            ErrorKind::Forbidden,
            format!("{} is not under a folder this server imports from (import.local_roots)", path.display()),
        )
    };
    let canonical = path.canonicalize().map_err(|_| refused())?;
    let inside = config
        .import
        .local_roots
        .iter()
        .filter_map(|root| Path::new(root).canonicalize().ok())
        .any(|root| canonical.starts_with(&root));
    if !inside {
        return Err(refused());
    }
    if !canonical.is_dir() {
        return Err(Error::bad_request(format!("{} is not a folder", path.display())));
    }
    Ok(canonical)
}

async fn check_endpoint(config: &Config, endpoint: &str) -> Result<()> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| Error::bad_request(format!("the endpoint {endpoint:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::bad_request("the endpoint must be an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::bad_request("give the keys as access_key_id and secret_access_key, not in the endpoint"));
    }
    if config.import.allow_private_endpoints {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<std::net::IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![ip.into()],
        Some(url::Host::Ipv6(ip)) => vec![ip.into()],
        Some(url::Host::Domain(host)) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::bad_request(format!("the endpoint's host {host} does not resolve: {e}")))?
            .map(|a| a.ip())
            .collect(),
        None => return Err(Error::bad_request("the endpoint has no host")),
    };
    if addresses.is_empty() || addresses.iter().any(|ip| !crate::fetch::is_public(*ip)) {
        return Err(Error::new(
            ErrorKind::Forbidden,
            format!(
                "the endpoint {} is on a loopback or private address; an operator may allow that with import.allow_private_endpoints",
                url.host_str().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// A new import, checked, and its source sealed for the job's payload.
pub struct Prepared {
    pub record: ImportRecord,
    pub sealed_source: String,
}

/// Checks `text` as the caller's import source and makes its record (not
/// stored: the job layer stores it with its job, in one transaction).
pub async fn prepare(state: &AppState, caller: &Principal, text: &str) -> Result<Prepared> {
    let source = admit(&state.config, Source::parse(text)?).await?;
    if state.db.active_imports(caller.owner.as_deref()).await? >= MAX_ACTIVE_PER_OWNER {
        return Err(Error::new(
            ErrorKind::RateLimited,
            format!(
                "{MAX_ACTIVE_PER_OWNER} imports are queued or running already; wait for one to finish or cancel one"
            ),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let sealed_source = seal(&state.server_key, &id, &source.to_text())?;
    let now = now_ms();
    let record = ImportRecord::queued(id, caller.owner.clone(), source.display(), now);
    Ok(Prepared { record, sealed_source })
}

/// The import as the caller may see it (another's: not found).
pub async fn import_for(db: &Db, caller: &Principal, id: &str) -> Result<ImportRecord> {
    let import = db.get_import(id).await?.ok_or_else(|| Error::not_found(format_args!("import {id}")))?;
    ensure_visible(caller, import.owner.as_deref(), format_args!("import {id}"))?;
    Ok(import)
}

/// The caller's imports, newest first (at most 100).
pub async fn list(db: &Db, caller: &Principal) -> Result<Vec<ImportRecord>> {
    Ok(db.list_imports(caller.owner.as_deref(), 100).await?)
}

/// Cancels the import if it is still queued or running; the page in hand
/// finishes, nothing after it starts. Returns it as it is then.
pub async fn cancel(db: &Db, caller: &Principal, id: &str) -> Result<ImportRecord> {
    let import = import_for(db, caller, id).await?;
    ensure_manages(caller, import.owner.as_deref(), "this import")?;
    db.finish_import(id, "cancelled", None).await?;
    import_for(db, caller, id).await
}

/// One skipped or failed key, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub key: String,
    pub reason: String,
}

/// The import's latest problems, oldest first.
pub fn problems(import: &ImportRecord) -> Vec<Problem> {
    serde_json::from_str(&import.problems).unwrap_or_default()
}

/// Whether the import is still queued or running.
pub fn is_active(import: &ImportRecord) -> bool {
    matches!(import.state.as_str(), "queued" | "running")
}

/// What [`step`] left to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A page was done; there may be more.
    More,
    /// The import has ended (done, failed, cancelled, or gone).
    Finished,
}

/// Runs one page of the import `id`, whose source the job holds sealed.
/// An error is worth retrying later (the source or the database did not
/// answer); a source that can never be read ends the import as `failed`.
pub async fn step(state: &AppState, id: &str, sealed_source: &str) -> Result<Step> {
    let Some(import) = state.db.get_import(id).await? else { return Ok(Step::Finished) };
    if !is_active(&import) {
        return Ok(Step::Finished);
    }
    let source = match unseal(&state.server_key, id, sealed_source).and_then(|text| Source::parse(&text)) {
        Ok(source) => source,
        Err(e) => return fail(state, id, &format!("the source cannot be read back: {}", e.detail)).await,
    };
    // Again at each page: the roots or the endpoint's address may have changed.
    let source = match admit(&state.config, source).await {
        Ok(source) => source,
        Err(e) if e.kind == ErrorKind::Forbidden => return fail(state, id, &e.detail).await,
        Err(e) => return Err(e),
    };
    let reader = match Reader::open(&source) {
        Ok(reader) => reader,
        Err(e) => return fail(state, id, &e.to_string()).await,
    };
    if import.state == "queued" {
        state.db.start_import(id).await?;
    }
    let page = reader.list_after(&import.cursor_key, state.config.import.page_size).await?;
    let Some(last) = page.last().map(|o| o.key.clone()) else {
        state.db.finish_import(id, "done", None).await?;
        return Ok(Step::Finished);
    };
    let seen_in_page = Mutex::new(HashSet::new());
    let outcomes: Vec<(String, Outcome)> = futures::stream::iter(page)
        .map(|object| {
            let (reader, owner, seen) = (&reader, import.owner.as_deref(), &seen_in_page);
            let page_began = import.updated_at;
            async move {
                let outcome = one(state, reader, owner, &object, seen, page_began).await;
                outcome.map(|o| (object.key, o))
            }
        })
        .buffered(state.config.import.concurrency.max(1))
        .collect::<Vec<Result<_>>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let mut counts = ImportPage { cursor_key: last, ..ImportPage::default() };
    let mut problems = problems(&import);
    for (key, outcome) in outcomes {
        counts.seen += 1;
        match outcome {
            Outcome::Imported(bytes) => {
                counts.imported += 1;
                counts.bytes += bytes;
            }
            Outcome::Duplicate => counts.duplicates += 1,
            Outcome::Skipped(reason) => {
                counts.skipped += 1;
                problems.push(Problem { key, reason });
            }
            Outcome::Failed(reason) => {
                counts.failed += 1;
                problems.push(Problem { key, reason });
            }
        }
    }
    let extra = problems.len().saturating_sub(MAX_PROBLEMS);
    problems.drain(..extra);
    counts.problems = serde_json::to_string(&problems).expect("problems serialise");
    // False: cancelled meanwhile, or another run did this page (its lease
    // lapsed while ours ran); the next step sees which.
    state.db.advance_import(id, &import.cursor_key, &counts).await?;
    Ok(Step::More)
}

async fn fail(state: &AppState, id: &str, why: &str) -> Result<Step> {
    tracing::warn!(import = id, error = why, "import failed");
    state.db.finish_import(id, "failed", Some(why)).await?;
    Ok(Step::Finished)
}

/// What became of one object.
enum Outcome {
    Imported(i64),
    Duplicate,
    Skipped(String),
    Failed(String),
}

/// Ingests one object; an error means the page should be run again later.
/// `page_began` is when the import last changed: an image over the same
/// content that an import made since then was landed by a run of this
/// page that died before counting it.
async fn one(
    state: &AppState,
    reader: &Reader,
    owner: Option<&str>,
    object: &SourceObject,
    seen: &Mutex<HashSet<String>>,
    page_began: i64,
) -> Result<Outcome> {
    let limit = state.config.limits.max_upload_bytes;
    if object.size > limit {
        return Ok(Outcome::Skipped(format!("{} bytes is larger than limits.max_upload_bytes ({limit})", object.size)));
    }
    let bytes = match reader.get(&object.key).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return Ok(Outcome::Skipped("deleted while the import ran".into())),
        Err(e) => return Ok(Outcome::Failed(format!("could not be read: {e}"))),
    };
    if bytes.len() as u64 > limit {
        return Ok(Outcome::Skipped(format!("larger than limits.max_upload_bytes ({limit})")));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if !seen.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256.clone()) {
        return Ok(Outcome::Duplicate);
    }
    let length = bytes.len() as i64;
    if let Some(existing) = state.db.image_with_sha256(owner, &sha256).await? {
        let landed_here = state
            .db
            .get_image(&existing)
            .await?
            .is_some_and(|image| image.source == SOURCE && image.created_at >= page_began);
        return Ok(if landed_here { Outcome::Imported(length) } else { Outcome::Duplicate });
    }
    let name = object.key.rsplit('/').next().unwrap_or(&object.key).chars().take(MAX_NAME_CHARS).collect();
    let upload = Upload { bytes, source: SOURCE, owner: owner.map(Into::into), name: Some(name), description: None };
    match ingest::ingest(state, upload).await {
        Ok(_) => Ok(Outcome::Imported(length)),
        Err(e) => match e.kind {
            ErrorKind::UnsupportedFormat
            | ErrorKind::CorruptImage
            | ErrorKind::ImageTooLarge
            | ErrorKind::PayloadTooLarge
            | ErrorKind::InvalidFilter
            | ErrorKind::InvalidRequest => Ok(Outcome::Skipped(e.detail)),
            ErrorKind::DatabaseUnavailable | ErrorKind::Overloaded => Err(e),
            _ => Ok(Outcome::Failed(e.detail)),
        },
    }
}

/// A source opened for reading.
enum Reader {
    Bucket(BucketSource),
    Folder(PathBuf),
}

impl Reader {
    fn open(source: &Source) -> std::result::Result<Self, StoreError> {
        Ok(match source {
            Source::Bucket { bucket, prefix, options } => Self::Bucket(BucketSource::open(bucket, prefix, options)?),
            Source::Folder(path) => Self::Folder(path.clone()),
        })
    }

    async fn list_after(&self, after: &str, limit: usize) -> Result<Vec<SourceObject>> {
        match self {
            Self::Bucket(bucket) => {
                bucket.list_after(after, limit).await.map_err(|e| unavailable("listing the bucket", e))
            }
            Self::Folder(root) => {
                let (root, after) = (root.clone(), after.to_string());
                tokio::task::spawn_blocking(move || list_folder(&root, &after, limit))
                    .await
                    .map_err(Error::internal)?
                    .map_err(|e| unavailable("listing the folder", e))
            }
        }
    }

    async fn get(&self, key: &str) -> std::result::Result<Bytes, StoreError> {
        match self {
            Self::Bucket(bucket) => bucket.get(key).await,
            Self::Folder(root) => {
                let path = root.join(key);
                // The file itself, not a link to elsewhere.
                let canonical = tokio::fs::canonicalize(&path).await.map_err(|e| not_found_or(e, key))?;
                if !canonical.starts_with(root) || canonical != path {
                    return Err(StoreError::NotFound(key.to_string()));
                }
                Ok(tokio::fs::read(&canonical).await.map_err(|e| not_found_or(e, key))?.into())
            }
        }
    }
}

fn not_found_or(e: std::io::Error, key: &str) -> StoreError {
    if e.kind() == std::io::ErrorKind::NotFound { StoreError::NotFound(key.to_string()) } else { e.into() }
}

/// A source that did not answer: worth retrying (the job backs off).
fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %e, "{what} failed");
    Error::new(ErrorKind::UpstreamFailed, format!("{what} failed: {e}"))
}

/// Up to `limit` regular files under `root` whose relative keys (with `/`)
/// come after `after`, in lexical order, as a bucket lists them. Links are
/// not followed; names that are not UTF-8 are passed over; folders wholly
/// before the cursor are not read.
fn list_folder(root: &Path, after: &str, limit: usize) -> std::io::Result<Vec<SourceObject>> {
    let mut out = Vec::new();
    walk(root, "", after, limit, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, after: &str, limit: usize, out: &mut Vec<SourceObject>) -> std::io::Result<()> {
    // Sorted by what each entry contributes to a key: "name/" for a
    // folder, "name" for a file: that is the keys' lexical order.
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if kind.is_dir() {
            entries.push((format!("{prefix}{name}/"), true, entry.path()));
        } else if kind.is_file() {
            entries.push((format!("{prefix}{name}"), false, entry.path()));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, is_dir, path) in entries {
        if out.len() >= limit {
            return Ok(());
        }
        if is_dir {
            // Every key inside starts with `key`: skip the folder when all
            // of them come at or before the cursor.
            if key.as_str() < after && !after.starts_with(&key) {
                continue;
            }
            walk(&path, &key, after, limit, out)?;
        } else if key.as_str() > after {
            let size = std::fs::symlink_metadata(&path)?.len();
            out.push(SourceObject { key, size });
        }
    }
    Ok(())
}

/// What the server key is derived for, to seal sources.
const SEAL_PURPOSE: &str = "pictor import source v1";

fn sealing_key(server: &ServerKey) -> Result<SealKey> {
    Ok(SealKey::from_bytes(server.derive(SEAL_PURPOSE)?))
}

/// `text` sealed for the import `id` (its id sealed with it, so a sealed
/// source cannot be moved to another import).
pub fn seal(server: &ServerKey, id: &str, text: &str) -> Result<String> {
    Ok(crate::notify::seal::seal(&sealing_key(server)?, &format!("{id}\n{text}")))
}

/// The text sealed by [`seal`] for the import `id`.
pub fn unseal(server: &ServerKey, id: &str, sealed: &str) -> Result<String> {
    let wrong = || {
        Error::new(
            ErrorKind::Forbidden,
            "the sealed source does not open with this server's key (direct.secret or DATA_DIR/server.key differ between processes?)",
        )
    };
    let plain = crate::notify::seal::open(&sealing_key(server)?, sealed).map_err(|_| wrong())?;
    plain.strip_prefix(&format!("{id}\n")).map(str::to_string).ok_or_else(wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_show_no_credentials() {
        let text = "s3://pics/2024/trip?endpoint=http://10.0.0.1:9000&access_key_id=AK&secret_access_key=SK";
        let source = Source::parse(text).unwrap();
        assert_eq!(source.display(), "s3://pics/2024/trip");
        let Source::Bucket { prefix, options, .. } = &source else { panic!("a bucket") };
        assert_eq!((prefix.as_str(), options["secret_access_key"].as_str()), ("2024/trip", "SK"));
        assert_eq!(Source::parse(&source.to_text()).unwrap(), source);
        assert_eq!(Source::parse("s3://pics").unwrap().display(), "s3://pics");
        assert!(Source::parse("s3://pics?metadata_endpoint=x").unwrap_err().detail.contains("metadata_endpoint"));
        assert!(Source::parse("s3://pics?access_key_id=a").is_err());
        assert!(Source::parse("relative/dir").is_err());
        assert!(Source::parse("/srv/../etc").is_err());
        assert!(Source::parse("http://x/y").is_err());
        assert_eq!(Source::parse("/srv/photos").unwrap(), Source::Folder("/srv/photos".into()));
    }

    #[tokio::test]
    async fn folders_must_be_under_a_root_and_endpoints_public() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        let mut config = Config::default();
        let err = admit(&config, Source::Folder(root.join("a"))).await.unwrap_err();
        assert!(err.detail.contains("import.local_roots"), "{}", err.detail);
        config.import.local_roots = vec![root.display().to_string()];
        assert!(admit(&config, Source::Folder(root.join("a"))).await.is_ok());
        let err = admit(&config, Source::Folder(dir.path().join("outside"))).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Forbidden);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside"), root.join("link")).unwrap();
            assert!(admit(&config, Source::Folder(root.join("link"))).await.is_err());
        }
        let userinfo = Source::parse("s3://b/p?endpoint=http://u:pw@127.0.0.1:9000").unwrap();
        assert_eq!(admit(&config, userinfo).await.unwrap_err().kind, ErrorKind::InvalidRequest);
        let private = Source::parse("s3://b/p?endpoint=http://127.0.0.1:9000").unwrap();
        assert_eq!(admit(&config, private.clone()).await.unwrap_err().kind, ErrorKind::Forbidden);
        config.import.allow_private_endpoints = true;
        assert!(admit(&config, private).await.is_ok());
    }

    #[test]
    fn folders_list_in_key_order_from_the_cursor_without_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in ["a-b", "a/x", "a/y/z", "b", "c/d"] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let keys = |after: &str, limit| -> Vec<String> {
            list_folder(root, after, limit).unwrap().into_iter().map(|o| o.key).collect()
        };
        assert_eq!(keys("", 10), ["a-b", "a/x", "a/y/z", "b", "c/d"]);
        assert_eq!(keys("", 2), ["a-b", "a/x"]);
        assert_eq!(keys("a/x", 2), ["a/y/z", "b"]);
        assert_eq!(keys("b", 10), ["c/d"]);
        assert!(keys("c/d", 10).is_empty());
    }

    #[test]
    fn sealed_sources_open_only_for_their_import() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServerKey::new("", dir.path());
        let sealed = seal(&key, "i1", "s3://b?secret_access_key=SK").unwrap();
        assert!(!sealed.contains("SK"));
        assert_eq!(unseal(&key, "i1", &sealed).unwrap(), "s3://b?secret_access_key=SK");
        assert!(unseal(&key, "i2", &sealed).is_err());
        let other = ServerKey::new(&"x".repeat(32), dir.path());
        assert!(unseal(&other, "i1", &sealed).is_err());
    }
}
