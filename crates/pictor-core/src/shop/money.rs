//! Money without floats: a [`Currency`], amounts in its minor units
//! ([`Money`]), and the shop's configured price list ([`PriceList`]).
//!
//! Visitors see prices in their own currency, so a country maps to its
//! legal tender, and each currency has its own number of decimals (JPY 0,
//! EUR 2, KWD 3). Both come from CLDR (`currency_data.json`, made by
//! `tools/cldr_currencies.py` from npm `cldr-core`, Unicode licence), so
//! nothing here is a hand-kept table except Stripe's own exceptions in
//! [`Money::stripe_amount`]. Amounts are parsed from decimal text exactly:
//! a price is what its owner wrote, never a rounded binary fraction.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::LazyLock;

use crate::error::{Error, Result};

/// CLDR's currency facts, trimmed (see `tools/cldr_currencies.py`).
#[derive(serde::Deserialize)]
struct CurrencyData {
    default_digits: u32,
    /// Minor-unit digits of the currencies that differ from the default.
    digits: HashMap<String, u32>,
    /// Region (ISO 3166 alpha-2) → its current legal tender.
    regions: HashMap<String, String>,
}

static CURRENCY_DATA: LazyLock<CurrencyData> = LazyLock::new(|| {
    serde_json::from_str(include_str!("currency_data.json")).expect("currency_data.json is valid (it is checked in)")
});

/// An ISO 4217 currency that CLDR knows: three upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code such as `EUR` (any case); unknown codes are refused.
    pub fn new(code: &str) -> Result<Currency> {
        let upper = code.trim().to_ascii_uppercase();
        let bytes: [u8; 3] = upper.as_bytes().try_into().map_err(|_| unknown_currency(code))?;
        if !bytes.iter().all(u8::is_ascii_uppercase) || !is_known_currency(&upper) {
            return Err(unknown_currency(code));
        }
        Ok(Currency(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// Decimals of its minor unit per CLDR: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn digits(&self) -> u32 {
        let data = &*CURRENCY_DATA;
        data.digits.get(self.as_str()).copied().unwrap_or(data.default_digits)
    }
}

fn is_known_currency(code: &str) -> bool {
    let data = &*CURRENCY_DATA;
    data.digits.contains_key(code) || data.regions.values().any(|c| c == code)
}

fn unknown_currency(code: &str) -> Error {
    Error::bad_request(format!(
        "unknown currency {code:?}: use an ISO 4217 code that is some country's legal tender, such as EUR, USD or JPY"
    ))
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = Error;
    fn try_from(code: String) -> Result<Currency> {
        Currency::new(&code)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_string()
    }
}

/// The current legal tender of a country (ISO 3166 alpha-2, any case), per
/// CLDR; `None` for an unknown code or a place without one (Antarctica).
pub fn currency_for_country(country: &str) -> Option<Currency> {
    let code = CURRENCY_DATA.regions.get(&country.trim().to_ascii_uppercase())?;
    Currency::new(code).ok()
}

/// A non-negative amount in a currency's minor units (cents, yen, fils).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "MoneyParts", into = "MoneyParts")]
pub struct Money {
    currency: Currency,
    minor: i64,
}

/// How [`Money`] is stored: `{"currency": "EUR", "minor": 490}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct MoneyParts {
    currency: Currency,
    minor: i64,
}

impl TryFrom<MoneyParts> for Money {
    type Error = Error;
    fn try_from(parts: MoneyParts) -> Result<Money> {
        Money::from_minor(parts.minor, parts.currency)
    }
}

impl From<Money> for MoneyParts {
    fn from(m: Money) -> MoneyParts {
        MoneyParts { currency: m.currency, minor: m.minor }
    }
}

/// Stripe's zero-decimal currencies (<https://docs.stripe.com/currencies#zero-decimal>).
const STRIPE_ZERO_DECIMAL: &[&str] =
    &["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];
/// Stripe's three-decimal currencies (<https://docs.stripe.com/currencies#three-decimal>).
const STRIPE_THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

impl Money {
    /// An amount already in minor units; negative amounts are refused.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Money> {
        if minor < 0 {
            return Err(Error::bad_request(format!("{minor} {currency}: an amount cannot be negative")));
        }
        Ok(Money { currency, minor })
    }

    /// Parses a major-unit amount such as `4.90` exactly: digits, at most
    /// one `.`, and no more decimals than the currency has (`4.9` is fine
    /// for EUR, `4.905` and `800.5` JPY are not). No signs, no exponents.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money> {
        let text = text.trim();
        let invalid = |why: &str| {
            Error::bad_request(format!(
                "{text:?} is not an amount of {currency}: {why} (write it like {})",
                example(currency)
            ))
        };
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || (text.contains('.') && fraction.is_empty()) {
            return Err(invalid("digits are missing before or after the point"));
        }
        if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(invalid("only digits and one decimal point are allowed"));
        }
        let digits = currency.digits();
        if fraction.len() > digits as usize {
            return Err(invalid(&format!("{currency} has {digits} decimals")));
        }
        let padded = format!("{whole}{fraction:0<width$}", width = digits as usize);
        let minor = padded.parse::<i64>().map_err(|_| invalid("it is too large"))?;
        Ok(Money { currency, minor })
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in the currency's minor units (per CLDR).
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The amount as Stripe's `amount` field wants it, in Stripe's minor
    /// units, which are not always CLDR's: Stripe counts every currency
    /// outside its zero- and three-decimal lists in hundredths, so a
    /// currency CLDR gives no decimals but Stripe does (ISK, HUF, IDR,
    /// COP, PKR…) is multiplied by 100 (`700 ISK` → `70000`, a multiple of
    /// 100 as Stripe requires). UGX and TWD agree with CLDR here (UGX is
    /// zero-decimal on both; TWD two-decimal, though Stripe pays TWD out in
    /// whole units, so whole prices are wise). The amount goes to Stripe,
    /// so Stripe's rules win. An amount Stripe cannot express (a last
    /// non-zero fils of a three-decimal currency, e.g. `1.255 KWD`, or a
    /// currency CLDR gives more decimals than Stripe does) is refused.
    pub fn stripe_amount(&self) -> Result<i64> {
        let stripe_digits = stripe_digits(self.currency);
        let cldr_digits = self.currency.digits();
        let amount = if stripe_digits >= cldr_digits {
            self.minor.checked_mul(10_i64.pow(stripe_digits - cldr_digits))
        } else {
            let divisor = 10_i64.pow(cldr_digits - stripe_digits);
            (self.minor % divisor == 0).then_some(self.minor / divisor)
        };
        let amount = amount.ok_or_else(|| self.not_for_stripe())?;
        if STRIPE_THREE_DECIMAL.contains(&self.currency.as_str()) && amount % 10 != 0 {
            return Err(self.not_for_stripe());
        }
        Ok(amount)
    }

    fn not_for_stripe(&self) -> Error {
        Error::bad_request(format!(
            "{self} cannot be charged through Stripe: round the price to {} decimals",
            stripe_digits(self.currency).min(2)
        ))
    }

    /// `4.90 EUR`, `700 JPY`, `1.250 KWD`: the amount with all of its
    /// currency's decimals, then the code.
    pub fn format(&self) -> String {
        self.to_string()
    }
}

fn stripe_digits(currency: Currency) -> u32 {
    if STRIPE_ZERO_DECIMAL.contains(&currency.as_str()) {
        0
    } else if STRIPE_THREE_DECIMAL.contains(&currency.as_str()) {
        3
    } else {
        2
    }
}

/// `4.90` for EUR, `800` for JPY: how to write an amount of `currency`.
fn example(currency: Currency) -> String {
    match currency.digits() {
        0 => "800".to_string(),
        d => format!("4.{:0<width$}", 9, width = d as usize),
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.digits();
        if digits == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10_i64.pow(digits);
        let (major, minor) = (self.minor / scale, self.minor % scale);
        write!(f, "{major}.{minor:0width$} {}", self.currency, width = digits as usize)
    }
}

/// `[shop.prices]`: the default currency, and per tier a price in each
/// currency offered, as decimal text:
///
/// ```toml
/// [shop.prices]
/// default_currency = "EUR"
/// [shop.prices.standard]
/// EUR = "4.90"
/// USD = "5.50"
/// JPY = "800"
/// ```
///
/// Tiers sit directly under `[shop.prices]` (so `default_currency` cannot
/// name a tier), which is why this type is read through [`PricesEntry`]
/// rather than derived with `deny_unknown_fields`: every other key is a
/// tier. Checked by [`PriceList::from_config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricesConfig {
    pub default_currency: String,
    /// Tier → currency code → amount in major units (`"4.90"`).
    pub tiers: BTreeMap<String, BTreeMap<String, String>>,
}

const DEFAULT_CURRENCY_KEY: &str = "default_currency";

impl Default for PricesConfig {
    fn default() -> Self {
        PricesConfig { default_currency: "EUR".to_string(), tiers: BTreeMap::new() }
    }
}

/// One key of `[shop.prices]`: `default_currency`, or a tier's table.
/// Amounts may arrive as numbers (`EUR = 5`, or from `PICTOR_SHOP__…`
/// variables, which the config loader reads as numbers); they are turned
/// back into their shortest decimal text, which is what was written.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum PricesEntry {
    Text(String),
    Tier(BTreeMap<String, Amount>),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Integer(u64),
    Float(f64),
}

impl Amount {
    fn into_text(self) -> String {
        match self {
            Amount::Text(s) => s,
            Amount::Integer(n) => n.to_string(),
            Amount::Float(x) => x.to_string(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for PricesConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let entries = BTreeMap::<String, PricesEntry>::deserialize(deserializer)?;
        let mut config = PricesConfig { tiers: BTreeMap::new(), ..PricesConfig::default() };
        for (key, entry) in entries {
            match (key.as_str(), entry) {
                (DEFAULT_CURRENCY_KEY, PricesEntry::Text(code)) => config.default_currency = code,
                (DEFAULT_CURRENCY_KEY, PricesEntry::Tier(_)) => {
                    return Err(D::Error::custom("shop.prices.default_currency must be a currency code, e.g. \"EUR\""));
                }
                (_, PricesEntry::Text(_)) => {
                    return Err(D::Error::custom(format!(
                        "shop.prices.{key} must be a table of prices, e.g. [shop.prices.{key}] EUR = \"4.90\""
                    )));
                }
                (_, PricesEntry::Tier(prices)) => {
                    let prices = prices.into_iter().map(|(c, a)| (c, a.into_text())).collect();
                    config.tiers.insert(key, prices);
                }
            }
        }
        Ok(config)
    }
}

impl serde::Serialize for PricesConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(1 + self.tiers.len()))?;
        map.serialize_entry(DEFAULT_CURRENCY_KEY, &self.default_currency)?;
        for (tier, prices) in &self.tiers {
            map.serialize_entry(tier, prices)?;
        }
        map.end()
    }
}

/// The checked price list: every amount parsed in its currency, and a
/// price in the default currency for every tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceList {
    default_currency: Currency,
    tiers: BTreeMap<String, BTreeMap<Currency, Money>>,
}

impl PriceList {
    /// Checks `[shop.prices]`; each error names the key to fix.
    pub fn from_config(config: &PricesConfig) -> Result<PriceList> {
        let default_currency = Currency::new(&config.default_currency)
            .map_err(|e| Error::bad_request(format!("shop.prices.default_currency: {}", e.detail)))?;
        let mut tiers = BTreeMap::new();
        for (tier, prices) in &config.tiers {
            let parsed = parse_tier(tier, prices)?;
            if !parsed.contains_key(&default_currency) {
                return Err(Error::bad_request(format!(
                    "shop.prices.{tier} has no price in the default currency: add {default_currency} = \"…\" to [shop.prices.{tier}]"
                )));
            }
            tiers.insert(tier.clone(), parsed);
        }
        Ok(PriceList { default_currency, tiers })
    }

    pub fn default_currency(&self) -> Currency {
        self.default_currency
    }

    /// The configured tiers, in name order.
    pub fn tiers(&self) -> impl Iterator<Item = &str> {
        self.tiers.keys().map(String::as_str)
    }

    /// The price of `tier` for a visitor from `country` (ISO alpha-2): in
    /// the country's currency when the tier has a price in it, else in the
    /// default currency. An unknown tier is refused.
    pub fn quote(&self, tier: &str, country: Option<&str>) -> Result<Money> {
        let prices = self.tiers.get(tier).ok_or_else(|| {
            let known: Vec<&str> = self.tiers().collect();
            Error::bad_request(format!("unknown price tier {tier:?}: the shop offers {}", known.join(", ")))
        })?;
        let local = country.and_then(currency_for_country).and_then(|c| prices.get(&c));
        Ok(*local.unwrap_or(&prices[&self.default_currency]))
    }
}

fn parse_tier(tier: &str, prices: &BTreeMap<String, String>) -> Result<BTreeMap<Currency, Money>> {
    let mut parsed = BTreeMap::new();
    for (code, amount) in prices {
        let key_error = |e: Error| Error::bad_request(format!("shop.prices.{tier}.{code}: {}", e.detail));
        let currency = Currency::new(code).map_err(key_error)?;
        let money = Money::parse_major(amount, currency).map_err(key_error)?;
        if money.minor == 0 {
            return Err(Error::bad_request(format!("shop.prices.{tier}.{code}: a price must be more than zero")));
        }
        if parsed.insert(currency, money).is_some() {
            return Err(Error::bad_request(format!("shop.prices.{tier} names {currency} twice (in different cases)")));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::new(code).unwrap()
    }

    fn money(text: &str, code: &str) -> Money {
        Money::parse_major(text, cur(code)).unwrap()
    }

    #[test]
    fn countries_map_to_their_legal_tender_and_its_digits() {
        for (country, code, digits) in
            [("DE", "EUR", 2), ("JP", "JPY", 0), ("KW", "KWD", 3), ("US", "USD", 2), ("CH", "CHF", 2), ("de", "EUR", 2)]
        {
            let currency = currency_for_country(country).unwrap();
            assert_eq!((currency.as_str(), currency.digits()), (code, digits), "{country}");
        }
        assert_eq!(currency_for_country("XX"), None);
        assert_eq!(currency_for_country(""), None);
        assert_eq!(currency_for_country("AQ"), None, "Antarctica has no legal tender");
    }

    #[test]
    fn currencies_are_three_known_letters() {
        assert_eq!(cur("eur").as_str(), "EUR");
        for bad in ["", "EU", "EURO", "E1R", "XYZ", "€UR"] {
            let err = Currency::new(bad).unwrap_err();
            assert!(err.detail.contains("ISO 4217"), "{bad}: {err}");
        }
    }

    #[test]
    fn major_amounts_parse_exactly() {
        assert_eq!(money("4.90", "EUR").minor(), 490);
        assert_eq!(money("4.9", "EUR").minor(), 490);
        assert_eq!(money("0.10", "EUR").minor(), 10);
        assert_eq!(money("800", "JPY").minor(), 800);
        assert_eq!(money("1.25", "KWD").minor(), 1250);
        assert_eq!(money(" 12 ", "USD").minor(), 1200);
        assert_eq!(money("92233720368547758.07", "EUR").minor(), i64::MAX);
    }

    #[test]
    fn malformed_or_too_precise_amounts_are_refused() {
        for (text, code) in [
            ("4.905", "EUR"),
            ("800.5", "JPY"),
            ("800.0", "JPY"),
            ("-1", "EUR"),
            ("+1", "EUR"),
            ("", "EUR"),
            (".5", "EUR"),
            ("4.", "EUR"),
            ("4,90", "EUR"),
            ("1e3", "EUR"),
            ("4.9.0", "EUR"),
            ("NaN", "EUR"),
            ("92233720368547758.08", "EUR"),
        ] {
            let err = Money::parse_major(text, cur(code)).unwrap_err();
            assert!(err.detail.contains("write it like"), "{text} {code}: {err}");
        }
        assert!(Money::from_minor(-1, cur("EUR")).is_err());
    }

    #[test]
    fn amounts_display_with_all_their_decimals() {
        assert_eq!(money("4.9", "EUR").format(), "4.90 EUR");
        assert_eq!(money("700", "JPY").to_string(), "700 JPY");
        assert_eq!(money("1.25", "KWD").to_string(), "1.250 KWD");
        assert_eq!(money("0.05", "USD").to_string(), "0.05 USD");
    }

    #[test]
    fn stripe_amounts_follow_stripes_minor_units() {
        assert_eq!(money("4.90", "EUR").stripe_amount().unwrap(), 490);
        assert_eq!(money("700", "JPY").stripe_amount().unwrap(), 700);
        assert_eq!(money("1.25", "KWD").stripe_amount().unwrap(), 1250);
        // CLDR gives ISK and HUF no decimals; Stripe counts them in hundredths.
        assert_eq!(money("700", "ISK").stripe_amount().unwrap(), 70_000);
        assert_eq!(money("1500", "HUF").stripe_amount().unwrap(), 150_000);
        assert_eq!(money("150", "TWD").stripe_amount().unwrap(), 15_000);
        assert_eq!(money("5000", "UGX").stripe_amount().unwrap(), 5000);
        // Stripe wants a three-decimal amount's last digit to be 0.
        assert!(money("1.255", "KWD").stripe_amount().is_err());
    }

    #[test]
    fn money_serializes_as_currency_and_minor_units() {
        let json = serde_json::to_string(&money("4.90", "EUR")).unwrap();
        assert_eq!(json, r#"{"currency":"EUR","minor":490}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money("4.90", "EUR"));
        assert!(serde_json::from_str::<Money>(r#"{"currency":"EUR","minor":-1}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"currency":"ZZZ","minor":1}"#).is_err());
    }

    fn config(toml_text: &str) -> PricesConfig {
        toml::from_str(toml_text).unwrap()
    }

    const STANDARD: &str = r#"
        default_currency = "EUR"
        [standard]
        EUR = "4.90"
        USD = "5.50"
        JPY = "800"
        [large]
        EUR = "9.90"
    "#;

    #[test]
    fn prices_read_from_toml_with_tiers_beside_the_default_currency() {
        let config = config(STANDARD);
        assert_eq!(config.default_currency, "EUR");
        assert_eq!(config.tiers["standard"]["JPY"], "800");
        let back: PricesConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);
        let numbers: PricesConfig = toml::from_str("[standard]\nEUR = 4.90\nJPY = 800\n").unwrap();
        assert_eq!(numbers.tiers["standard"]["EUR"], "4.9");
        assert_eq!(numbers.tiers["standard"]["JPY"], "800");
        assert!(toml::from_str::<PricesConfig>("standard = \"4.90\"").is_err());
        assert!(toml::from_str::<PricesConfig>("[default_currency]\nEUR = \"1\"").is_err());
    }

    #[test]
    fn quotes_in_the_visitors_currency_when_priced_else_the_default() {
        let prices = PriceList::from_config(&config(STANDARD)).unwrap();
        assert_eq!(prices.quote("standard", Some("JP")).unwrap().to_string(), "800 JPY");
        assert_eq!(prices.quote("standard", Some("us")).unwrap().to_string(), "5.50 USD");
        assert_eq!(prices.quote("standard", Some("DE")).unwrap().to_string(), "4.90 EUR");
        assert_eq!(prices.quote("standard", Some("CH")).unwrap().to_string(), "4.90 EUR", "no CHF price");
        assert_eq!(prices.quote("standard", None).unwrap().to_string(), "4.90 EUR");
        assert_eq!(prices.quote("large", Some("JP")).unwrap().to_string(), "9.90 EUR");
        let err = prices.quote("huge", None).unwrap_err();
        assert!(err.detail.contains("large, standard"), "{err}");
    }

    #[test]
    fn price_list_errors_name_the_key() {
        let cases = [
            ("default_currency = \"EURO\"", "shop.prices.default_currency"),
            ("[standard]\nEUR = \"4.905\"", "shop.prices.standard.EUR"),
            ("[standard]\nEUR = \"4.90\"\nJPY = \"8.5\"", "shop.prices.standard.JPY"),
            ("[standard]\nEUR = \"4.90\"\nABC = \"1\"", "shop.prices.standard.ABC"),
            ("[standard]\nUSD = \"4.90\"", "add EUR = "),
            ("[standard]\nEUR = \"0\"", "more than zero"),
        ];
        for (text, expected) in cases {
            let err = PriceList::from_config(&config(text)).unwrap_err();
            assert!(err.detail.contains(expected), "{text}: {err}");
        }
        assert!(PriceList::from_config(&PricesConfig::default()).is_ok());
    }
}
