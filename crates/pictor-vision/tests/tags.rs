//! The tags users see, against the tags people gave 282 real photos
//! (`labelled.tsv`; see `labelled.md`): precision and recall with Pictor's
//! defaults, and with the tags as they were before the everyday vocabulary
//! (every class shown as a fact with all of its WordNet ancestors, and no
//! `person`).
//!
//! Needs `PICTOR_TEST_MODELS`, `PICTOR_TEST_LABELLED` (the folder
//! `bash bench/labelled.sh DEST` fills) and the corpus (`../shared/corpus`
//! or `PICTOR_CORPUS`); skips visibly otherwise. The figures are printed:
//! `cargo test -p pictor-vision --test models tags:: -- --nocapture`.
//!
//! A shown word is right when the person gave it. A shown class name
//! (`tabby cat`) is right when the person gave it or its nearest browsable
//! word (`cat`). Recall counts the given words that are shown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pictor_imaging::Limits;
use pictor_vision::faces::FaceDetector;
use pictor_vision::labels::{self, Label, Labeler, vocabulary};
use pictor_vision::picture::Picture;

use crate::reference;

/// One photo of the set and the words a person gave it.
pub struct Photo {
    pub path: PathBuf,
    pub given: BTreeSet<String>,
}

/// What one way of tagging shows for a photo: words, and class names with
/// their nearest browsable word.
#[derive(Default)]
struct Shown {
    words: BTreeSet<String>,
    classes: Vec<(String, Option<String>)>,
}

/// Micro-averaged counts over the set.
#[derive(Default)]
struct Score {
    shown: usize,
    right: usize,
    given: usize,
    found: usize,
    /// Of the given words Pictor can say at all: how many, how many found.
    sayable: (usize, usize),
    wrong_words: BTreeMap<String, usize>,
}

impl Score {
    fn add(&mut self, given: &BTreeSet<String>, shown: &Shown, sayable: &BTreeSet<&str>) {
        for word in &shown.words {
            self.shown += 1;
            if given.contains(word) {
                self.right += 1;
            } else {
                *self.wrong_words.entry(word.clone()).or_default() += 1;
            }
        }
        for (name, nearest) in &shown.classes {
            self.shown += 1;
            if given.contains(name) || nearest.as_ref().is_some_and(|w| given.contains(w)) {
                self.right += 1;
            } else {
                *self.wrong_words.entry(name.clone()).or_default() += 1;
            }
        }
        let names: BTreeSet<&String> = shown.classes.iter().map(|(n, _)| n).collect();
        for word in given {
            let found = shown.words.contains(word) || names.contains(word);
            self.given += 1;
            self.found += usize::from(found);
            if sayable.contains(word.as_str()) {
                self.sayable.0 += 1;
                self.sayable.1 += usize::from(found);
            }
        }
    }

    fn precision(&self) -> f64 {
        self.right as f64 / self.shown.max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.found as f64 / self.given.max(1) as f64
    }

    fn sayable_recall(&self) -> f64 {
        self.sayable.1 as f64 / self.sayable.0.max(1) as f64
    }

    fn most_wrong(&self) -> String {
        let mut wrong: Vec<_> = self.wrong_words.iter().collect();
        wrong.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        wrong.iter().take(12).map(|(w, n)| format!("{w} ({n})")).collect::<Vec<_>>().join(", ")
    }
}

/// The tags as the label index shows them now: [`vocabulary::tags`] and
/// `person` for a photo with a face.
fn shown_now(labels: &[Label], has_face: bool) -> Shown {
    let mut shown = Shown::default();
    for tag in vocabulary::tags(labels, labels::SPECIFIC_CONFIDENCE) {
        if tag.direct {
            shown.classes.push((tag.name, tag.parents.first().cloned()));
        } else {
            shown.words.insert(tag.name);
        }
    }
    if has_face {
        shown.words.insert(vocabulary::PERSON.to_string());
    }
    shown
}

/// The tags as they were: each class with every WordNet ancestor.
fn shown_before(labels: &[Label]) -> Shown {
    let mut shown = Shown::default();
    for label in labels {
        shown.classes.push((label.name.clone(), label.parents.first().cloned()));
        shown.words.extend(labels::parents(&label.wnid).iter().cloned());
    }
    shown
}

/// The labelled set, or `None` (skipped) when its photos are not at hand.
pub fn labelled_set(test: &str) -> Option<Vec<Photo>> {
    let fetched = match std::env::var_os("PICTOR_TEST_LABELLED").map(PathBuf::from) {
        Some(dir) if dir.is_dir() => dir,
        _ => {
            eprintln!("SKIPPED: {test}: PICTOR_TEST_LABELLED is not a folder (bash bench/labelled.sh DEST)");
            return None;
        }
    };
    let corpus = std::env::var_os("PICTOR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if !corpus.join("SOURCES.md").is_file() {
        eprintln!("SKIPPED: {test}: no test corpus at {} (set PICTOR_CORPUS)", corpus.display());
        return None;
    }
    let list = include_str!("labelled.tsv");
    let photos = list.lines().map(|line| {
        let [source, path, tags] = line.split('\t').collect::<Vec<_>>()[..] else { panic!("not 3 fields: {line:?}") };
        let root = if source == "corpus" { &corpus } else { &fetched };
        Photo { path: root.join(path), given: tags.split(',').map(String::from).collect() }
    });
    Some(photos.collect())
}

#[test]
fn the_tags_users_see_are_the_words_people_use() {
    let test = "the_tags_users_see_are_the_words_people_use";
    let (Some(models), Some(set)) = (reference::models(test), labelled_set(test)) else { return };
    let labeler = Labeler::load(&models).unwrap();
    let faces = FaceDetector::load(&models).unwrap();
    let sayable: BTreeSet<&str> = vocabulary::browsable().into_iter().collect();
    let (mut now, mut before) = (Score::default(), Score::default());
    for photo in &set {
        let bytes = std::fs::read(&photo.path).unwrap_or_else(|e| panic!("{}: {e}", photo.path.display()));
        // As the workflow's vision steps see the photo.
        let picture = Picture::decode(&bytes, &Limits::default()).expect("every photo of the set decodes");
        let labels = labeler.labels(&picture.small, labels::MAX_LABELS, labels::MIN_CONFIDENCE).unwrap();
        let has_face = !faces.detect(&picture.small).unwrap().is_empty();
        now.add(&photo.given, &shown_now(&labels, has_face), &sayable);
        before.add(&photo.given, &shown_before(&labels), &sayable);
    }
    eprintln!("{} photos, {} tags given by people", set.len(), now.given);
    eprintln!("| tags | shown | precision | recall | recall of the words Pictor can say |");
    eprintln!("|---|---|---|---|---|");
    for (name, score) in [("before (WordNet ancestors)", &before), ("now (everyday words)", &now)] {
        let (p, r, s) = (score.precision(), score.recall(), score.sayable_recall());
        eprintln!("| {name} | {} | {p:.2} | {r:.2} | {s:.2} |", score.shown);
    }
    eprintln!("most often wrong now: {}", now.most_wrong());
    eprintln!("most often wrong before: {}", before.most_wrong());

    // Measured: before 0.23 / 0.35, now 0.68 / 0.42 (README, "Labels").
    assert!(
        now.precision() >= before.precision() + 0.3,
        "precision {:.2} vs {:.2}",
        now.precision(),
        before.precision()
    );
    assert!(now.recall() > before.recall(), "recall {:.2} vs {:.2}", now.recall(), before.recall());
    assert!(now.precision() >= 0.65, "precision {:.2}", now.precision());
}
