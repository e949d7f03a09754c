//! (stub until the shop-parts branch lands)
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct PricesConfig {}
