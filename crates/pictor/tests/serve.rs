//! The binary, black-box: `serve` on a random port, the client commands
//! against it, `config defaults`, `admin create-key`, and graceful shutdown.

use crate::common;
use common::{pictor, serve, serve_args};

use std::path::Path;

fn write_png(path: &Path, w: u32, h: u32) {
    let image = pictor_imaging::Image::filled(w, h, pictor_imaging::Rgba { r: 1, g: 2, b: 3, a: 255 });
    let bytes =
        pictor_imaging::encode::encode(&image, pictor_imaging::OutputFormat::Png, &Default::default(), None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn serve_upload_get_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = serve(&dir.path().join("data"));
    let files = dir.path().join("in");
    std::fs::create_dir(&files).unwrap();
    write_png(&files.join("a.png"), 40, 30);
    write_png(&files.join("b.png"), 20, 20);

    let upload = pictor().args(["upload", "--server", &base]).arg(&files).output().unwrap();
    assert!(upload.status.success(), "{}", String::from_utf8_lossy(&upload.stderr));
    let stdout = String::from_utf8(upload.stdout).unwrap();
    let ids: Vec<&str> = stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids.len(), 2, "{stdout}");

    let out = dir.path().join("out.webp");
    let get = pictor().args(["get", ids[0], "--thumbnail", "10", "--server", &base, "-o"]).arg(&out).output().unwrap();
    assert!(get.status.success(), "{}", String::from_utf8_lossy(&get.stderr));
    let header = pictor_imaging::probe(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(header.format, pictor_imaging::ImageFormat::Webp);
    assert_eq!(header.width.max(header.height), 10);

    let missing =
        pictor().args(["get", "nope", "--server", &base, "-o"]).arg(dir.path().join("x.jpg")).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));

    // SIGTERM drains and exits cleanly.
    assert!(server.stop(), "SIGTERM drains and exits 0");
}

#[test]
fn config_defaults_is_valid_toml_with_the_documented_defaults() {
    let out = pictor().args(["config", "defaults"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed: pictor_server::Config = toml::from_str(&text).unwrap();
    assert_eq!(parsed, pictor_server::Config::default());
    assert!(text.contains("listen = \"127.0.0.1:8080\"") && text.contains("data_dir = \"./pictor-data\""));
}

#[test]
fn config_show_applies_env_and_flags_and_names_bad_values() {
    let out = pictor()
        .args(["config", "show", "--listen", "0.0.0.0:9"])
        .env("PICTOR_CACHE__MAX_BYTES", "12")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"0.0.0.0:9\"") && text.contains("max_bytes = 12"), "{text}");
    let bad = pictor().args(["config", "show"]).env("PICTOR_LIMITS__QUEUE", "lots").output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).to_lowercase().contains("queue"));
}

#[test]
fn admin_create_key_prints_a_key_that_closes_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = pictor().args(["admin", "create-key", "--owner", "alice", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("pk_") && key.len() > 40);

    let (server, base) = serve(&data);
    let status = |auth: Option<&str>| {
        let mut args = vec!["upload".to_string(), "--server".into(), base.clone()];
        if let Some(k) = auth {
            args.extend(["--api-key".into(), k.into()]);
        }
        let file = dir.path().join("p.png");
        write_png(&file, 4, 4);
        pictor().args(&args).arg(&file).output().unwrap()
    };
    let anonymous = status(None);
    assert!(!anonymous.status.success());
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("401"));
    assert!(status(Some(&key)).status.success());
    assert!(server.stop(), "SIGTERM drains and exits 0");
}

/// `admin create-user` with the password on standard input.
fn create_user(data: &Path, name: &str, password: &str, admin: bool) -> std::process::Output {
    use std::io::Write as _;
    let mut command = pictor();
    command.args(["admin", "create-user", "--name", name, "--data-dir"]).arg(data);
    if admin {
        command.arg("--admin");
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal may come before the password is read (the pipe is then
    // closed): what happened is in the output the callers check.
    let _ = writeln!(child.stdin.take().unwrap(), "{password}");
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_user_makes_an_account_that_closes_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let short = create_user(&data, "root", "short", true);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("10 to 1,024 characters"));
    let bad_name = create_user(&data, "no spaces please", "a long enough password", true);
    assert!(!bad_name.status.success());
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("user name"));

    let made = create_user(&data, "Root", "a long enough password", true);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(String::from_utf8_lossy(&made.stderr).contains("admin account \"root\""));
    let again = create_user(&data, "root", "another long password", false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));

    // An account, like a key, closes the open server.
    let (server, base) = serve(&data);
    let file = dir.path().join("p.png");
    write_png(&file, 4, 4);
    let anonymous = pictor().args(["upload", "--server", &base]).arg(&file).output().unwrap();
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("401"), "{anonymous:?}");
    assert!(server.stop());
}

/// `--profile` lays `[profiles.NAME]` over the file: a staging replica runs
/// beside production on one machine, with its own data folder (database
/// and store), shop, Stripe keys and sender, and neither sees the other's
/// photos.
#[test]
fn staging_runs_beside_production_on_its_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pictor.toml");
    let folder = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(
        &config,
        format!(
            r#"
listen = "127.0.0.1:0"
[shop]
title = "Production shop"
[profiles.production]
data_dir = "{}"
[profiles.staging]
data_dir = "{}"
[profiles.staging.shop]
title = "Staging shop"
[profiles.staging.shop.stripe]
secret_key = "sk_test_staging"
publishable_key = "pk_test_staging"
[profiles.staging.email]
from = "Staging <staging@example.com>"
"#,
            folder("production"),
            folder("staging")
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let shown = pictor().args(["config", "show", "--config", &config, "--profile", "staging"]).output().unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains("Staging <staging@example.com>") && shown.contains("profile = \"staging\""), "{shown}");
    let (production, prod_url) = serve_args(&["--config", &config, "--profile", "production"], &[]);
    let (staging, staging_url) = serve_args(&["--config", &config], &[("PICTOR_PROFILE", "staging")]);
    let get = |url: String| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
    };
    assert!(get(format!("{prod_url}/shop")).contains("Production shop"));
    assert!(get(format!("{staging_url}/shop")).contains("Staging shop"));
    let png = dir.path().join("a.png");
    write_png(&png, 8, 8);
    let upload = pictor().args(["upload", "--server", &staging_url]).arg(&png).output().unwrap();
    assert!(upload.status.success(), "{}", String::from_utf8_lossy(&upload.stderr));
    let count = |url: &str| {
        let list: serde_json::Value = serde_json::from_str(&get(format!("{url}/api/v1/img"))).unwrap();
        list["images"].as_array().map_or(0, Vec::len)
    };
    assert_eq!((count(&staging_url), count(&prod_url)), (1, 0), "each profile keeps its own photos");
    assert!(dir.path().join("staging/pictor.db").is_file() && dir.path().join("production/pictor.db").is_file());
    let unknown = pictor().args(["config", "show", "--config", &config, "--profile", "qa"]).output().unwrap();
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success() && said.contains("[profiles.qa]"), "{said}");
    assert!(production.stop() && staging.stop());
}
