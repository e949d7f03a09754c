//! Pictor's imaging engine: decode, orient, transform and encode images.
//!
//! This crate is pure computation: bytes in, bytes out. It performs no I/O,
//! and knows nothing of HTTP, storage or databases, so the server, the
//! workflow workers and the CLI all share one engine and one set of limits.
//!
//! # Layout
//! - [`format`]: recognising formats from magic bytes; output formats and
//!   `auto` negotiation.
//! - [`decode`]: header probing, limits, shrink-on-load JPEG decoding,
//!   ICC → sRGB, orientation.
//! - [`ops`]: one file per operation (resize, crop, rotate, filters, canvas).
//! - [`pipeline`]: parsing `name=value` operation lists and running
//!   decode → operations → encode.
//! - [`encode`]: one function per output format.
//! - [`placeholder`]: ThumbHash placeholders for pages.
//!
//! # Example
//! ```
//! use pictor_imaging::{Limits, OutputFormat, Pipeline};
//! # let png = pictor_imaging::encode::encode(
//! #     &pictor_imaging::Image::filled(640, 480, pictor_imaging::Rgba::BLACK),
//! #     OutputFormat::Png, &Default::default(), None).unwrap();
//! let pipeline = Pipeline::parse("thumbnail=200&rotate=90")?;
//! let out = pipeline.run(&png, OutputFormat::Jpeg, "", &Limits::default())?;
//! assert_eq!((out.width, out.height), (150, 200));
//! # Ok::<(), pictor_imaging::ImagingError>(())
//! ```
//!
//! # Non-goals
//! Animation is read as its first frame and never written. Vector formats
//! (SVG, PDF) are refused. AVIF and HEIC are recognised but not decoded.

mod color;
pub mod decode;
pub mod encode;
mod error;
mod exif;
pub mod format;
mod image;
pub mod ops;
mod orient;
pub mod pipeline;
pub mod placeholder;
pub mod thumbnails;

pub use decode::{Decoded, Header, Limits, decode, probe, quiet_guarded_panics};
pub use encode::EncodeOptions;
pub use error::{ImagingError, Result};
pub use format::{ImageFormat, OutputFormat};
pub use image::{Channels, Image, Rgba};
pub use orient::Orientation;
pub use pipeline::{Output, Pipeline};
pub use thumbnails::thumbnail_set;
