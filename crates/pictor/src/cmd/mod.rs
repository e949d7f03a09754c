//! Subcommands, one file each, dispatched from [`run`].

mod admin;
mod args;
mod client;
mod config;
mod convert;
mod executions;
mod models;
mod pool;
mod probe;
mod serve;
mod shop;
mod style;
mod thumbnail;
mod vision;
mod worker;
mod workflow;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use pictor_imaging::Limits;

/// Pictor: a self-hosted image service.
#[derive(Debug, Parser)]
#[command(name = "pictor", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service: API, workers and cache.
    Serve(serve::ServeArgs),
    /// Run only the workers (no HTTP), for scale-out.
    Worker(worker::WorkerArgs),
    /// Workflow executions: `ls`, `show ID`.
    Executions(executions::ExecutionsCmd),
    /// Try a state machine locally: `validate FILE`, `run FILE --input|--image`.
    Workflow(workflow::WorkflowCmd),
    /// Print the configuration: `defaults` or `show`.
    Config(config::ConfigCmd),
    /// Administrative tasks, e.g. `admin create-key`.
    Admin(admin::AdminCmd),
    /// Upload files or folders to a running server, in parallel.
    Upload(client::UploadArgs),
    /// Import every image under an S3 prefix or a server folder, and follow it.
    Import(client::ImportArgs),
    /// Download a transformed image from a running server.
    Get(client::GetArgs),
    /// Make thumbnails of many images, in parallel.
    Thumbnail(thumbnail::ThumbnailArgs),
    /// Transform one image with a chain of operations.
    Convert(convert::ConvertArgs),
    /// Print what the header of each image says, without decoding pixels.
    Probe(probe::ProbeArgs),
    /// The vision models: `install`, `list`, `verify`.
    Models(models::ModelsCmd),
    /// Run a vision model on local files: `labels|moderate|faces|text IMAGE…`.
    Vision(vision::VisionArgs),
    /// Paint a photo in a style: `--style N | --blend N=W,… | --style-image FILE IN OUT`.
    Style(style::StyleArgs),
    /// The style-transfer shop's data: `install-geoip`.
    Shop(shop::ShopCmd),
}

/// Limits shared by every command that decodes.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Refuse images over this many pixels (width × height), read from the header.
    #[arg(long, env = "PICTOR_MAX_PIXELS", default_value_t = Limits::default().max_pixels, global = true)]
    max_pixels: u64,
    /// Refuse animations with more frames than this.
    #[arg(long, env = "PICTOR_MAX_FRAMES", default_value_t = Limits::default().max_frames, global = true)]
    max_frames: u32,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits { max_pixels: self.max_pixels, max_frames: self.max_frames }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Executions(cmd) => executions::run(cmd),
        Command::Workflow(cmd) => workflow::run(cmd),
        Command::Config(cmd) => config::run(cmd),
        Command::Admin(cmd) => admin::run(cmd),
        Command::Upload(args) => client::upload(args),
        Command::Import(args) => client::import(args),
        Command::Get(args) => client::get(args),
        Command::Thumbnail(args) => thumbnail::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Models(cmd) => models::run(cmd),
        Command::Vision(args) => vision::run(args),
        Command::Style(args) => style::run(args),
        Command::Shop(cmd) => shop::run(cmd),
    }
}
