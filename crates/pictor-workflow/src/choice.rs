//! Choice rules: comparison operators and the And/Or/Not combinators.
//!
//! Why typed at load: each operator fixes the type of its operand (a string
//! for StringEquals, a number for NumericLessThan, a path for the `…Path`
//! forms), so a bad rule is a definition error, not a silent `false` later.
//! At run time, a value of the wrong type simply does not match (AWS
//! behaviour); a Variable (or `…Path` operand) that selects nothing is a
//! States.Runtime error, except for IsPresent.

use crate::TaskError;
use crate::path::{Path, Sources};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::cmp::Ordering;

/// A boolean expression over the state's input.
#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { variable: Path, op: Op, operand: Operand },
}

/// What a comparison compares with.
#[derive(Debug, Clone)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

/// The comparison families.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Kind and the orderings that count as true.
    Compare(Kind, &'static [Ordering]),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const EQ: &[Ordering] = &[Ordering::Equal];
const LT: &[Ordering] = &[Ordering::Less];
const LE: &[Ordering] = &[Ordering::Less, Ordering::Equal];
const GT: &[Ordering] = &[Ordering::Greater];
const GE: &[Ordering] = &[Ordering::Greater, Ordering::Equal];

/// Maps an operator name (without any `Path` suffix) to its meaning.
fn operator(name: &str) -> Option<Op> {
    let families = [("String", Kind::String), ("Numeric", Kind::Numeric), ("Timestamp", Kind::Timestamp)];
    for (prefix, kind) in families {
        if let Some(rest) = name.strip_prefix(prefix) {
            let ords = match rest {
                "Equals" => EQ,
                "LessThan" => LT,
                "LessThanEquals" => LE,
                "GreaterThan" => GT,
                "GreaterThanEquals" => GE,
                "Matches" if kind == Kind::String => return Some(Op::StringMatches),
                _ => return None,
            };
            return Some(Op::Compare(kind, ords));
        }
    }
    Some(match name {
        "BooleanEquals" => Op::Compare(Kind::Boolean, EQ),
        "IsNull" => Op::IsNull,
        "IsPresent" => Op::IsPresent,
        "IsNumeric" => Op::IsNumeric,
        "IsString" => Op::IsString,
        "IsBoolean" => Op::IsBoolean,
        "IsTimestamp" => Op::IsTimestamp,
        _ => return None,
    })
}

/// Parses a rule; `top` rules may carry Next/Assign/Comment (checked by the caller).
pub fn parse_rule(v: &Value, top: bool) -> Result<Rule, String> {
    let obj = v.as_object().ok_or("a choice rule must be an object")?;
    let allowed_meta = |k: &str| k == "Comment" || (top && (k == "Next" || k == "Assign"));
    for combinator in ["And", "Or", "Not"] {
        let Some(inner) = obj.get(combinator) else { continue };
        if let Some(extra) = obj.keys().find(|k| *k != combinator && !allowed_meta(k)) {
            return Err(format!("unexpected field {extra:?} next to {combinator:?}"));
        }
        if combinator == "Not" {
            return Ok(Rule::Not(Box::new(parse_rule(inner, false)?)));
        }
        let list =
            inner.as_array().filter(|a| !a.is_empty()).ok_or(format!("{combinator} must be a non-empty array"))?;
        let rules = list.iter().map(|r| parse_rule(r, false)).collect::<Result<Vec<_>, _>>()?;
        return Ok(if combinator == "And" { Rule::And(rules) } else { Rule::Or(rules) });
    }
    if !top && obj.contains_key("Next") {
        return Err("\"Next\" is only allowed on top-level choice rules".into());
    }
    let variable = obj.get("Variable").and_then(Value::as_str).ok_or("a choice rule needs a \"Variable\" string")?;
    let variable = Path::parse(variable)?;
    let mut found = None;
    for (key, val) in obj {
        if key == "Variable" || allowed_meta(key) {
            continue;
        }
        if found.is_some() {
            return Err(format!("a choice rule takes exactly one comparison operator, found another: {key:?}"));
        }
        found = Some(parse_test(key, val)?);
    }
    let (op, operand) = found.ok_or("a choice rule needs a comparison operator")?;
    Ok(Rule::Test { variable, op, operand })
}

/// Parses `Operator: operand`.
fn parse_test(key: &str, val: &Value) -> Result<(Op, Operand), String> {
    let unknown = || format!("unknown comparison operator {key:?}");
    if let Some(base) = key.strip_suffix("Path") {
        let op = operator(base).filter(|o| matches!(o, Op::Compare(..))).ok_or_else(unknown)?;
        let text = val.as_str().ok_or(format!("{key} must be a path string"))?;
        return Ok((op, Operand::Path(Path::parse(text)?)));
    }
    let op = operator(key).ok_or_else(unknown)?;
    let ok = match op {
        Op::Compare(Kind::String, _) | Op::StringMatches => val.is_string(),
        Op::Compare(Kind::Numeric, _) => val.is_number(),
        Op::Compare(Kind::Timestamp, _) => val.as_str().is_some_and(|s| timestamp(s).is_some()),
        _ => val.is_boolean(),
    };
    if !ok {
        let want = match op {
            Op::Compare(Kind::Numeric, _) => "a number",
            Op::Compare(Kind::Timestamp, _) => "an RFC3339 timestamp string",
            Op::Compare(Kind::String, _) | Op::StringMatches => "a string",
            _ => "a boolean",
        };
        return Err(format!("{key} must be {want}, got {val}"));
    }
    Ok((op, Operand::Value(val.clone())))
}

/// Parses an RFC3339 timestamp (AWS requires an offset or `Z`).
pub fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().filter(|_| s.contains('T'))
}

impl Rule {
    /// Evaluates the rule against the state's effective input.
    pub fn eval(&self, src: &Sources) -> Result<bool, TaskError> {
        match self {
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(src)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(src)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(src)?),
            Rule::Test { variable, op, operand } => test(variable, *op, operand, src),
        }
    }
}

fn invalid_path(p: &Path) -> TaskError {
    TaskError {
        error: crate::dataflow::RUNTIME.into(),
        cause: format!("Invalid path '{}': The choice state's condition path references an invalid value.", p.text()),
    }
}

fn test(variable: &Path, op: Op, operand: &Operand, src: &Sources) -> Result<bool, TaskError> {
    let value = variable.select(src);
    if op == Op::IsPresent {
        return Ok(value.is_some() == (operand_value(operand, src)? == Value::Bool(true)));
    }
    let value = value.ok_or_else(|| invalid_path(variable))?;
    let expect = operand_value(operand, src)?;
    let is = |b: bool| Ok(b == (expect == Value::Bool(true)));
    match op {
        Op::IsNull => is(value.is_null()),
        Op::IsNumeric => is(value.is_number()),
        Op::IsString => is(value.is_string()),
        Op::IsBoolean => is(value.is_boolean()),
        Op::IsTimestamp => is(value.as_str().is_some_and(|s| timestamp(s).is_some())),
        Op::StringMatches => Ok(match (value.as_str(), expect.as_str()) {
            (Some(v), Some(pattern)) => wildcard_match(pattern, v),
            _ => false,
        }),
        Op::Compare(kind, wanted) => Ok(order(kind, &value, &expect).is_some_and(|o| wanted.contains(&o))),
        Op::IsPresent => unreachable!("handled above"),
    }
}

fn operand_value(operand: &Operand, src: &Sources) -> Result<Value, TaskError> {
    match operand {
        Operand::Value(v) => Ok(v.clone()),
        Operand::Path(p) => p.select(src).ok_or_else(|| invalid_path(p)),
    }
}

/// Orders two values of the given kind; `None` when either has the wrong type.
fn order(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Boolean => Some(a.as_bool()?.cmp(&b.as_bool()?)),
        Kind::Timestamp => Some(timestamp(a.as_str()?)?.cmp(&timestamp(b.as_str()?)?)),
    }
}

/// `*` matches any run of characters; `\*` is a literal star, `\\` a backslash.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    // Tokenise the pattern: Some(c) is a literal character, None a wildcard.
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Some(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic greedy matching with backtracking to the last star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(None) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Some(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(rule: Value, input: &Value) -> Result<bool, TaskError> {
        let ctx = json!({});
        let vars = |n: &str| (n == "limit").then(|| json!(10));
        parse_rule(&rule, true).unwrap().eval(&Sources { input, context: &ctx, vars: &vars })
    }

    fn yes(rule: Value, input: &Value) {
        assert_eq!(check(rule.clone(), input), Ok(true), "{rule}");
    }

    fn no(rule: Value, input: &Value) {
        assert_eq!(check(rule.clone(), input), Ok(false), "{rule}");
    }

    #[test]
    fn string_operators() {
        let i = json!({"s": "b", "other": "c", "n": 1});
        yes(json!({"Variable": "$.s", "StringEquals": "b"}), &i);
        no(json!({"Variable": "$.s", "StringEquals": "B"}), &i);
        yes(json!({"Variable": "$.s", "StringLessThan": "c"}), &i);
        no(json!({"Variable": "$.s", "StringLessThan": "b"}), &i);
        yes(json!({"Variable": "$.s", "StringLessThanEquals": "b"}), &i);
        yes(json!({"Variable": "$.s", "StringGreaterThan": "a"}), &i);
        yes(json!({"Variable": "$.s", "StringGreaterThanEquals": "b"}), &i);
        no(json!({"Variable": "$.s", "StringGreaterThanEquals": "c"}), &i);
        yes(json!({"Variable": "$.s", "StringLessThanPath": "$.other"}), &i);
        no(json!({"Variable": "$.s", "StringEqualsPath": "$.other"}), &i);
        yes(json!({"Variable": "$.other", "StringGreaterThanPath": "$.s"}), &i);
        yes(json!({"Variable": "$.s", "StringGreaterThanEqualsPath": "$.s"}), &i);
        yes(json!({"Variable": "$.s", "StringLessThanEqualsPath": "$.s"}), &i);
        // Wrong type: no match, no error.
        no(json!({"Variable": "$.n", "StringEquals": "1"}), &i);
    }

    #[test]
    fn string_matches() {
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b", "ac"));
        assert!(wildcard_match(r"a\*b", "a*b"));
        assert!(!wildcard_match(r"a\*b", "axb"));
        assert!(wildcard_match(r"a\\b", r"a\b"));
        assert!(!wildcard_match("abc", "abcd"));
        let i = json!({"f": "photo.jpg"});
        yes(json!({"Variable": "$.f", "StringMatches": "*.jpg"}), &i);
        no(json!({"Variable": "$.f", "StringMatches": "*.png"}), &i);
    }

    #[test]
    fn numeric_boolean_timestamp() {
        let i = json!({"n": 5, "m": 5.0, "b": true, "t": "2024-01-02T00:00:00Z", "u": "2024-01-01T21:00:00-02:00"});
        yes(json!({"Variable": "$.n", "NumericEquals": 5}), &i);
        yes(json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}), &i);
        yes(json!({"Variable": "$.n", "NumericLessThan": 6}), &i);
        no(json!({"Variable": "$.n", "NumericLessThan": 5}), &i);
        yes(json!({"Variable": "$.n", "NumericLessThanEquals": 5}), &i);
        yes(json!({"Variable": "$.n", "NumericGreaterThan": 4.5}), &i);
        yes(json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}), &i);
        yes(json!({"Variable": "$.n", "NumericLessThanPath": "$limit"}), &i);
        no(json!({"Variable": "$.n", "NumericGreaterThanPath": "$limit"}), &i);
        yes(json!({"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.m"}), &i);
        yes(json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}), &i);
        yes(json!({"Variable": "$.b", "BooleanEquals": true}), &i);
        no(json!({"Variable": "$.b", "BooleanEquals": false}), &i);
        yes(json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), &i);
        yes(json!({"Variable": "$.t", "TimestampEquals": "2024-01-02T00:00:00Z"}), &i);
        yes(json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.u"}), &i);
        yes(json!({"Variable": "$.u", "TimestampLessThan": "2024-01-02T02:00:00+01:00"}), &i);
        yes(json!({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-02T00:00:00Z"}), &i);
        yes(json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-01-02T00:00:00Z"}), &i);
        yes(json!({"Variable": "$.t", "TimestampGreaterThan": "2023-01-02T00:00:00Z"}), &i);
        yes(json!({"Variable": "$.t", "TimestampEqualsPath": "$.t"}), &i);
        yes(json!({"Variable": "$.t", "TimestampLessThanPath": "$.t"}).pipe_not(), &i);
        yes(json!({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.t"}), &i);
        yes(json!({"Variable": "$.t", "TimestampGreaterThanEqualsPath": "$.t"}), &i);
        no(json!({"Variable": "$.n", "TimestampEquals": "2024-01-02T00:00:00Z"}), &i);
    }

    trait PipeNot {
        fn pipe_not(self) -> Value;
    }
    impl PipeNot for Value {
        fn pipe_not(self) -> Value {
            json!({"Not": self})
        }
    }

    #[test]
    fn type_tests_and_combinators() {
        let i = json!({"z": null, "n": 1, "s": "x", "b": false, "t": "2024-01-02T00:00:00.123Z"});
        yes(json!({"Variable": "$.z", "IsNull": true}), &i);
        no(json!({"Variable": "$.n", "IsNull": true}), &i);
        yes(json!({"Variable": "$.n", "IsNull": false}), &i);
        yes(json!({"Variable": "$.n", "IsPresent": true}), &i);
        yes(json!({"Variable": "$.missing", "IsPresent": false}), &i);
        no(json!({"Variable": "$.missing", "IsPresent": true}), &i);
        yes(json!({"Variable": "$.n", "IsNumeric": true}), &i);
        no(json!({"Variable": "$.s", "IsNumeric": true}), &i);
        yes(json!({"Variable": "$.s", "IsString": true}), &i);
        yes(json!({"Variable": "$.b", "IsBoolean": true}), &i);
        yes(json!({"Variable": "$.t", "IsTimestamp": true}), &i);
        no(json!({"Variable": "$.s", "IsTimestamp": true}), &i);
        yes(json!({"And": [{"Variable": "$.n", "IsNumeric": true}, {"Variable": "$.s", "StringEquals": "x"}]}), &i);
        no(json!({"And": [{"Variable": "$.n", "IsNumeric": true}, {"Variable": "$.s", "StringEquals": "y"}]}), &i);
        yes(json!({"Or": [{"Variable": "$.n", "IsString": true}, {"Variable": "$.s", "StringEquals": "x"}]}), &i);
        yes(json!({"Not": {"Variable": "$.s", "StringEquals": "y"}}), &i);
        let err = check(json!({"Variable": "$.missing", "IsNull": true}), &i).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn bad_rules_are_rejected() {
        for bad in [
            json!({"Variable": "$.a", "StringEquals": 1}),
            json!({"Variable": "$.a", "NumericEquals": "1"}),
            json!({"Variable": "$.a", "TimestampEquals": "yesterday"}),
            json!({"Variable": "$.a", "IsNull": "yes"}),
            json!({"Variable": "$.a", "Foo": 1}),
            json!({"Variable": "$.a"}),
            json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1}),
            json!({"And": []}),
            json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "X"}}),
        ] {
            assert!(parse_rule(&bad, true).is_err(), "{bad}");
        }
    }
}
