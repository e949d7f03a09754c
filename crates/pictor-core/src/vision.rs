//! The vision models, loaded once per process on first use and shared by
//! every worker and request.
//!
//! Loading is lazy so that a server without models starts and serves
//! everything else; a model that failed to load is tried again next time,
//! so `pictor models install` takes effect without a restart.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pictor_imaging::ops::{FaceFinder, Region};
use pictor_imaging::{Image, ImagingError};
use pictor_vision::faces::{Face, FaceDetector};
use pictor_vision::labels::Labeler;
use pictor_vision::moderation::Moderator;
pub use pictor_vision::picture::Picture;
use pictor_vision::style::Styles;
use pictor_vision::text::TextReader;
use pictor_vision::{Result, VisionError};

/// One model, loaded at most once.
struct Slot<T>(Mutex<Option<Arc<T>>>);

impl<T> Slot<T> {
    fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// The loaded model, loading it now if needed. Callers are on blocking
    /// threads; two loading at once just load twice and keep one.
    fn get(&self, load: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        if let Some(model) = self.0.lock().expect("slot lock").as_ref() {
            return Ok(model.clone());
        }
        let model = Arc::new(load()?);
        Ok(self.0.lock().expect("slot lock").get_or_insert(model).clone())
    }
}

/// A decode that one caller does and the others wait for.
type Shared = Arc<OnceLock<std::result::Result<Arc<Picture>, String>>>;

/// Pictures decoded lately, by the original's sha256.
const RECENT_PICTURES: usize = 8;

/// The models of one data folder.
pub struct Vision {
    data_dir: PathBuf,
    /// An upload's vision steps run at about the same time, each on the
    /// same picture: it is decoded once (a JPEG's entropy decoding costs
    /// as much at 1/8 scale as at full) and shared.
    pictures: Mutex<VecDeque<(String, Shared)>>,
    labeler: Slot<Labeler>,
    moderator: Slot<Moderator>,
    faces: Slot<FaceDetector>,
    text: Slot<TextReader>,
    styles: Slot<Styles>,
}

impl Vision {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            pictures: Mutex::default(),
            labeler: Slot::new(),
            moderator: Slot::new(),
            faces: Slot::new(),
            text: Slot::new(),
            styles: Slot::new(),
        }
    }

    pub fn labeler(&self) -> Result<Arc<Labeler>> {
        self.labeler.get(|| Labeler::load(&self.data_dir))
    }

    pub fn moderator(&self) -> Result<Arc<Moderator>> {
        self.moderator.get(|| Moderator::load(&self.data_dir))
    }

    pub fn face_detector(&self) -> Result<Arc<FaceDetector>> {
        self.faces.get(|| FaceDetector::load(&self.data_dir))
    }

    pub fn text_reader(&self) -> Result<Arc<TextReader>> {
        self.text.get(|| TextReader::load(&self.data_dir))
    }

    /// The picture of the original whose sha256 is `key`, if one of the
    /// last [`RECENT_PICTURES`] calls to [`Vision::picture`] decoded it, so
    /// that its other users need not even read the original.
    pub fn decoded_picture(&self, key: &str) -> Option<Arc<Picture>> {
        let recent = self.pictures.lock().expect("pictures lock");
        let (_, shared) = recent.iter().find(|(k, _)| k == key)?;
        shared.get()?.as_ref().ok().cloned()
    }

    /// The picture of the original whose sha256 is `key`, from `decode`
    /// unless one of the last [`RECENT_PICTURES`] calls decoded it (or is
    /// decoding it: then this waits for that). Errors are shared too.
    pub fn picture(
        &self,
        key: &str,
        decode: impl FnOnce() -> std::result::Result<Picture, String>,
    ) -> std::result::Result<Arc<Picture>, String> {
        let shared = {
            let mut recent = self.pictures.lock().expect("pictures lock");
            match recent.iter().find(|(k, _)| k == key) {
                Some((_, shared)) => shared.clone(),
                None => {
                    if recent.len() == RECENT_PICTURES {
                        recent.pop_front();
                    }
                    let shared = Shared::default();
                    recent.push_back((key.to_string(), shared.clone()));
                    shared
                }
            }
        };
        shared.get_or_init(|| decode().map(Arc::new)).clone()
    }

    /// The style-transfer networks (the shop's).
    pub fn styles(&self) -> Result<Arc<Styles>> {
        self.styles.get(|| Styles::load(&self.data_dir))
    }
}

/// The face steps of a transform (`crop=…:face`, `blur_faces`) ask this.
pub struct Faces(pub Arc<FaceDetector>);

impl FaceFinder for Faces {
    fn find(&self, img: &Image) -> pictor_imaging::Result<Vec<Region>> {
        let faces = self.0.detect(img).map_err(|e: VisionError| ImagingError::Unavailable(e.to_string()))?;
        Ok(faces.iter().map(region).collect())
    }
}

/// A face's box in whole pixels, rounded outwards.
fn region(face: &Face) -> Region {
    let (x0, y0) = (face.x.max(0.0).floor(), face.y.max(0.0).floor());
    let (x1, y1) = ((face.x + face.width).max(0.0).ceil(), (face.y + face.height).max(0.0).ceil());
    Region { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_says_how_to_install_and_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let vision = Vision::new(dir.path().to_path_buf());
        let err = vision.moderator().err().expect("no models in an empty folder");
        assert_eq!(err.code(), "models_not_installed");
        assert!(err.to_string().contains("pictor models install"), "{err}");
        assert!(vision.labeler().is_err() && vision.moderator().is_err(), "not cached as a failure forever");
    }

    #[test]
    fn a_picture_is_decoded_once_for_all_its_callers() {
        let vision = Vision::new(PathBuf::new());
        let decodes = std::sync::atomic::AtomicUsize::new(0);
        let decode = || {
            decodes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let pixel = Image::from_raw(1, 1, pictor_imaging::Channels::Rgb, vec![0; 3]).unwrap();
            Ok(Picture { large: pixel.clone(), small: pixel, full_width: 2 })
        };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| assert_eq!(vision.picture("a", decode).unwrap().full_width, 2));
            }
        });
        assert_eq!(decodes.load(std::sync::atomic::Ordering::SeqCst), 1, "one decode for four callers");
        assert_eq!(vision.decoded_picture("a").map(|p| p.full_width), Some(2));
        assert!(vision.decoded_picture("b").is_none());
        for key in 0..RECENT_PICTURES {
            vision.picture(&key.to_string(), decode).unwrap();
        }
        vision.picture("a", decode).unwrap();
        assert_eq!(decodes.load(std::sync::atomic::Ordering::SeqCst), 2 + RECENT_PICTURES, "forgotten after 8 others");
        let failed = vision.picture("broken", || Err("not an image".into()));
        assert_eq!(failed.err().as_deref(), Some("not an image"));
        assert!(vision.decoded_picture("broken").is_none(), "a failure is read again (and fails again)");
    }

    #[test]
    fn face_boxes_round_outwards() {
        let face = Face { x: 1.5, y: -2.0, width: 3.0, height: 4.2, confidence: 0.9, landmarks: vec![] };
        assert_eq!(region(&face), Region { x: 1, y: 0, width: 4, height: 3 });
    }
}
