//! The styles on sale (`[[shop.styles]]`), and their samples: each style
//! painted over one bundled photo, rendered once per process (at start,
//! in the background) and kept in memory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use pictor_imaging::{EncodeOptions, Image, OutputFormat};
use pictor_vision::style::{STYLE_COUNT, Style, Styles};

use crate::config::{ShopConfig, StyleEntry};
use crate::error::{Error, ErrorKind, Result};

/// The photo every sample is painted over: "Coffee" by Rachel Michetti
/// (CC0, from scikit-image's data), 320 px wide.
const SAMPLE_PHOTO: &[u8] = include_bytes!("sample.jpg");
/// Longest side of a sample.
pub const SAMPLE_SIDE: u32 = 320;

/// What a style paints with.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Weights of the built-in styles.
    Blend([f32; STYLE_COUNT]),
    /// A style picture on the server, for the arbitrary network.
    Picture(PathBuf),
    /// The visitor's own style picture, uploaded with the photo.
    Own,
}

/// One style on sale.
#[derive(Clone, Debug, PartialEq)]
pub struct ShopStyle {
    pub name: String,
    pub title: String,
    pub description: String,
    pub tier: String,
    pub source: Source,
}

impl ShopStyle {
    fn from_entry(entry: &StyleEntry) -> Self {
        let source = if entry.own {
            Source::Own
        } else if entry.image.is_empty() {
            let mut weights = [0.0; STYLE_COUNT];
            for (index, weight) in &entry.blend {
                // Checked by the config: indices under STYLE_COUNT.
                if let Some(w) = index.parse::<usize>().ok().and_then(|i| weights.get_mut(i)) {
                    *w += weight;
                }
            }
            Source::Blend(weights)
        } else {
            Source::Picture(PathBuf::from(&entry.image))
        };
        let title = if entry.title.is_empty() { entry.name.clone() } else { entry.title.clone() };
        Self {
            name: entry.name.clone(),
            title,
            description: entry.description.clone(),
            tier: entry.tier.clone(),
            source,
        }
    }

    /// Whether the visitor brings the style picture.
    pub fn is_own(&self) -> bool {
        self.source == Source::Own
    }

    /// The style as the engine takes it (a style picture is read and decoded
    /// now: call on a blocking thread); `own` is the visitor's picture, for
    /// their own style.
    pub fn engine_style(&self, own: Option<&[u8]>) -> Result<Style> {
        match &self.source {
            Source::Blend(weights) => Ok(Style::Blend(*weights)),
            Source::Own => {
                let bytes =
                    own.ok_or_else(|| Error::bad_request("this style is painted from the visitor's picture"))?;
                Ok(Style::Arbitrary(pictor_imaging::decode(bytes, &pictor_imaging::Limits::default())?.image))
            }
            Source::Picture(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    Error::internal(format!(
                        "style {:?}: reading {}: {e} (shop.styles.image)",
                        self.name,
                        path.display()
                    ))
                })?;
                let decoded = pictor_imaging::decode(&bytes, &pictor_imaging::Limits::default())?;
                Ok(Style::Arbitrary(decoded.image))
            }
        }
    }
}

/// The catalogue, in the config's order, and its samples once rendered.
#[derive(Debug)]
pub struct Catalogue {
    styles: Vec<ShopStyle>,
    samples: Mutex<HashMap<String, Bytes>>,
}

impl Catalogue {
    pub fn new(config: &ShopConfig) -> Self {
        Self { styles: config.styles.iter().map(ShopStyle::from_entry).collect(), samples: Mutex::default() }
    }

    pub fn styles(&self) -> &[ShopStyle] {
        &self.styles
    }

    /// The style named `name`, or an error listing the names there are.
    pub fn get(&self, name: &str) -> Result<&ShopStyle> {
        self.styles.iter().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.styles.iter().map(|s| s.name.as_str()).collect();
            Error::new(ErrorKind::NotFound, format!("no style {name:?} in the shop: pick one of {}", names.join(", ")))
        })
    }

    /// The sample of `name` (a JPEG), if rendered.
    pub fn sample(&self, name: &str) -> Option<Bytes> {
        self.samples.lock().expect("samples lock").get(name).cloned()
    }

    /// Renders every sample not rendered yet (blocking: minutes on a small
    /// machine without a cache); returns how many it rendered.
    pub fn render_samples(&self, engine: &Styles) -> Result<usize> {
        let photo = pictor_imaging::decode(SAMPLE_PHOTO, &pictor_imaging::Limits::default())?.image;
        let mut rendered = 0;
        for style in &self.styles {
            if style.is_own() || self.sample(&style.name).is_some() {
                continue;
            }
            let painted = engine.render(&photo, &style.engine_style(None)?, SAMPLE_SIDE).map_err(Error::from)?;
            self.samples.lock().expect("samples lock").insert(style.name.clone(), jpeg(&painted, 85)?);
            rendered += 1;
        }
        Ok(rendered)
    }
}

/// `image` as a JPEG of `quality`.
pub fn jpeg(image: &Image, quality: u8) -> Result<Bytes> {
    let options = EncodeOptions { quality: Some(quality), ..EncodeOptions::default() };
    Ok(Bytes::from(pictor_imaging::encode::encode(image, OutputFormat::Jpeg, &options, None)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_is_built_from_the_config() {
        let catalogue = Catalogue::new(&ShopConfig::default());
        let dusk = catalogue.get("dusk").unwrap();
        let Source::Blend(weights) = &dusk.source else { panic!("a blend") };
        assert_eq!((weights[19], weights[12], weights[0]), (0.5, 0.5, 0.0));
        let err = catalogue.get("nope").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(err.detail.contains("ember"), "{}", err.detail);
        assert!(pictor_imaging::decode(SAMPLE_PHOTO, &Default::default()).is_ok(), "the bundled photo decodes");
    }
}
