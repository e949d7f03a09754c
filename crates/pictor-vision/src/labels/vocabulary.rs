//! The words a photographer browses by: everyday ancestors and scene words
//! over ImageNet's classes, instead of WordNet's internals.
//!
//! WordNet's ancestors of a class are exact but not what people search
//! for: a tabby is also a `placental`, a `chordate` and a `carnivore`, and a
//! fern a `vascular plant`. And ImageNet-1k has no "mountain", "lake" or
//! "beach" class, though it has `alp`, `lakeside` and `seashore`. So a
//! label's parents are:
//! 1. the scene words its class stands for ([`SCENES`]: `lakeside` →
//!    lake, water, landscape), then
//! 2. its WordNet ancestors that are everyday words ([`EVERYDAY`], some
//!    renamed: `footwear` → shoes), nearest first.
//!
//! The set is closed: every parent a user can browse is in [`browsable`],
//! documented in the README.

use super::Label;

/// Scene words by ImageNet class (wnid), for the landscape classes.
pub const SCENES: &[(&str, &[&str])] = &[
    ("n09193705", &["mountain", "snow", "landscape"]),        // alp
    ("n09246464", &["mountain", "landscape"]),                // cliff
    ("n09256479", &["sea", "water"]),                         // coral reef
    ("n09288635", &["water", "landscape"]),                   // geyser
    ("n09332890", &["lake", "water", "landscape"]),           // lakeside
    ("n09399592", &["coast", "landscape"]),                   // promontory
    ("n09421951", &["beach", "coast", "water", "landscape"]), // sandbar
    ("n09428293", &["beach", "coast", "water", "landscape"]), // seashore
    ("n09468604", &["valley", "mountain", "landscape"]),      // valley
    ("n09472597", &["volcano", "mountain", "landscape"]),     // volcano
];

/// WordNet ancestors kept as parents, with the word users see.
pub const EVERYDAY: &[(&str, &str)] = &[
    ("animal", "animal"),
    ("mammal", "mammal"),
    ("bird", "bird"),
    ("fish", "fish"),
    ("insect", "insect"),
    ("reptile", "reptile"),
    ("amphibian", "amphibian"),
    ("snake", "snake"),
    ("lizard", "lizard"),
    ("turtle", "turtle"),
    ("frog", "frog"),
    ("dog", "dog"),
    ("cat", "cat"),
    ("monkey", "monkey"),
    ("bear", "bear"),
    ("butterfly", "butterfly"),
    ("spider", "spider"),
    ("crab", "crab"),
    ("shark", "shark"),
    ("whale", "whale"),
    ("horse", "horse"),
    ("rabbit", "rabbit"),
    ("rodent", "rodent"),
    ("vehicle", "vehicle"),
    ("car", "car"),
    ("truck", "truck"),
    ("bus", "bus"),
    ("train", "train"),
    ("boat", "boat"),
    ("ship", "ship"),
    ("aircraft", "aircraft"),
    ("bicycle", "bicycle"),
    ("motorcycle", "motorcycle"),
    ("building", "building"),
    ("bridge", "bridge"),
    ("tower", "tower"),
    ("shop", "shop"),
    ("food", "food"),
    ("fruit", "fruit"),
    ("vegetable", "vegetable"),
    ("dish", "dish"),
    ("dessert", "dessert"),
    ("bread", "bread"),
    ("beverage", "drink"),
    ("plant", "plant"),
    ("flower", "flower"),
    ("fungus", "mushroom"),
    ("clothing", "clothing"),
    ("footwear", "shoes"),
    ("headdress", "hat"),
    ("bag", "bag"),
    ("jewelry", "jewellery"),
    ("furniture", "furniture"),
    ("seat", "seat"),
    ("chair", "chair"),
    ("table", "table"),
    ("bed", "bed"),
    ("musical instrument", "musical instrument"),
    ("tool", "tool"),
    ("weapon", "weapon"),
    ("ball", "ball"),
    ("sports equipment", "sports"),
    ("computer", "computer"),
    ("telephone", "phone"),
    ("electronic equipment", "electronics"),
    ("appliance", "appliance"),
    ("bottle", "bottle"),
    ("timepiece", "clock"),
];

/// The everyday tag a photo with people in it carries (from the faces model).
pub const PERSON: &str = "person";

/// One entry of a photo's tags, as the label index stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    /// A class name (when `direct`) or a word it is browsed under.
    pub name: String,
    /// The confidence of the label it comes from.
    pub confidence: f32,
    /// A class the model named, rather than a broader word.
    pub direct: bool,
    /// The broader words after it, nearest first.
    pub parents: Vec<String>,
}

/// How many of its broadest words a weak guess is shown by.
pub const WEAK_WORDS: usize = 2;

/// The tags a user sees for `labels`. A label the model is at least
/// `specific_confidence` sure of is shown as its class and all its words; a
/// weaker guess only by its [`WEAK_WORDS`] broadest words, which are more
/// likely right (a wrong `Cocker Spaniel` is not shown, `mammal` and
/// `animal` are).
pub fn tags(labels: &[Label], specific_confidence: f32) -> Vec<Tag> {
    let mut tags = Vec::new();
    for label in labels {
        let sure = label.confidence >= specific_confidence;
        let words =
            if sure { &label.parents[..] } else { &label.parents[label.parents.len().saturating_sub(WEAK_WORDS)..] };
        if sure {
            tags.push(Tag {
                name: label.name.clone(),
                confidence: label.confidence,
                direct: true,
                parents: words.to_vec(),
            });
        }
        for (i, word) in words.iter().enumerate() {
            let parents = words[i + 1..].to_vec();
            tags.push(Tag { name: word.clone(), confidence: label.confidence, direct: false, parents });
        }
    }
    tags
}

/// The parents a user browses for the class `wnid` whose WordNet ancestors
/// are `wordnet` (nearest first): scene words, then everyday ancestors.
pub fn everyday_parents(wnid: &str, wordnet: &[String]) -> Vec<String> {
    let scenes = SCENES.iter().filter(|(w, _)| *w == wnid).flat_map(|(_, words)| words.iter().copied());
    let everyday = wordnet.iter().filter_map(|p| EVERYDAY.iter().find(|(from, _)| from == p).map(|(_, to)| *to));
    let mut parents: Vec<String> = Vec::new();
    for word in scenes.chain(everyday) {
        if !parents.iter().any(|p| p == word) {
            parents.push(word.to_string());
        }
    }
    parents
}

/// Every parent a user can browse by, sorted.
pub fn browsable() -> Vec<&'static str> {
    let mut words: Vec<&str> = SCENES.iter().flat_map(|(_, w)| w.iter().copied()).collect();
    words.extend(EVERYDAY.iter().map(|(_, to)| *to));
    words.push(PERSON);
    words.sort_unstable();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::parents;

    #[test]
    fn landscapes_get_scene_words_before_their_ancestors() {
        assert_eq!(everyday_parents("n09332890", parents("n09332890")), ["lake", "water", "landscape"]);
        assert_eq!(everyday_parents("n09428293", parents("n09428293")), ["beach", "coast", "water", "landscape"]);
        assert_eq!(everyday_parents("n09193705", parents("n09193705")), ["mountain", "snow", "landscape"]);
    }

    #[test]
    fn wordnet_internals_are_left_out_and_everyday_words_kept() {
        let tabby = everyday_parents("n02123045", parents("n02123045"));
        assert_eq!(tabby, ["cat", "mammal", "animal"]);
        let all: Vec<String> = crate::labels::parents::all_wnids()
            .into_iter()
            .flat_map(|wnid| everyday_parents(wnid, parents(wnid)))
            .collect();
        let browsable = browsable();
        for internal in ["chordate", "placental", "spermatophyte", "vascular plant", "implement", "vertebrate"] {
            assert!(!all.iter().any(|p| p == internal), "{internal} is browsable");
        }
        assert!(all.iter().all(|p| browsable.contains(&p.as_str())), "a parent outside the documented set");
    }

    #[test]
    fn a_weak_guess_is_shown_only_by_its_broadest_words() {
        let label = |confidence| Label {
            name: "Cocker Spaniel".into(),
            wnid: "n02102318".into(),
            confidence,
            parents: everyday_parents("n02102318", parents("n02102318")),
        };
        let names = |tags: Vec<Tag>| tags.into_iter().map(|t| (t.name, t.direct)).collect::<Vec<_>>();
        let sure = names(tags(&[label(0.8)], 0.3));
        let word = |w: &str, direct| (w.to_string(), direct);
        assert_eq!(
            sure,
            [word("Cocker Spaniel", true), word("dog", false), word("mammal", false), word("animal", false)]
        );
        assert_eq!(names(tags(&[label(0.2)], 0.3)), [word("mammal", false), word("animal", false)]);
    }

    #[test]
    fn every_scene_names_an_imagenet_class() {
        let known = crate::labels::parents::all_wnids();
        for (wnid, _) in SCENES {
            assert!(known.contains(wnid), "{wnid}");
        }
        let wordnet: Vec<&str> = known.iter().flat_map(|w| parents(w)).map(String::as_str).collect();
        for (from, _) in EVERYDAY {
            assert!(wordnet.contains(from), "{from} is no ImageNet class's ancestor");
        }
    }
}
