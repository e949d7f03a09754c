//! WordNet ancestors of the ImageNet classes, so a "tabby cat" photo can also
//! be found under "cat", "mammal" or "animal".
//!
//! The table is generated from WordNet 3.0's `data.noun` by
//! `tools/imagenet_parents.py` and checked in as `data/imagenet_parents.tsv`
//! (users do not have WordNet installed); see that script for how the
//! ancestors are chosen and which uninformative top nodes are left out.
//! WordNet's licence notice is in `data/WORDNET-LICENSE`.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/imagenet_parents.tsv");

/// The browsable WordNet ancestors of an ImageNet class wnid, nearest first,
/// e.g. "n02124075" (Egyptian cat) -> ["domestic cat", "cat", "feline", …,
/// "animal"]. An unknown wnid has none (an empty slice).
pub fn parents(wnid: &str) -> &'static [String] {
    static PARSED: OnceLock<HashMap<&'static str, Vec<String>>> = OnceLock::new();
    PARSED.get_or_init(|| parse(TABLE)).get(wnid).map_or(&[], Vec::as_slice)
}

/// Every class wnid in the table.
#[cfg(test)]
pub(crate) fn all_wnids() -> Vec<&'static str> {
    let mut wnids: Vec<&str> = parse(TABLE).into_keys().collect();
    wnids.sort_unstable();
    wnids
}

/// `wnid TAB parent|parent|…` lines; `#` lines are comments.
fn parse(table: &'static str) -> HashMap<&'static str, Vec<String>> {
    table
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(wnid, parents)| (wnid, parents.split('|').filter(|p| !p.is_empty()).map(str::to_owned).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_table_format() {
        let table = parse("# comment\nn1\ta|b c\nn2\t\n");
        assert_eq!(table["n1"], ["a", "b c"]);
        assert!(table["n2"].is_empty());
    }

    #[test]
    fn every_imagenet_class_has_an_entry() {
        assert_eq!(parse(TABLE).len(), 1000);
        assert!(parents("n00000000").is_empty());
    }
}
