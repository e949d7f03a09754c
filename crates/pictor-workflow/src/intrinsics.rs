//! Intrinsic functions (`States.Format(...)` and friends).
//!
//! Why parse at load: a typo in a function name or a broken string literal
//! should fail `Definition::parse`, not the tenth execution. Calls are parsed
//! into a small tree here; arguments that are paths are evaluated at run time
//! against the state's input, the context object and the variables.
//!
//! String literals use single quotes; inside them `\'`, `\{`, `\}` and `\\`
//! are escapes. For `States.Format`, an escaped brace is a literal brace, not
//! part of a `{}` placeholder. Every failure is `States.IntrinsicFailure`.

use crate::path::{Path, Sources};
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

/// The functions AWS offers, by their full name.
const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    name: String,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A string literal; `raw` keeps `\{`/`\}` escapes for States.Format.
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// True when a `.$` value should be parsed as an intrinsic call.
pub fn looks_like_call(text: &str) -> bool {
    text.starts_with("States.")
}

impl Call {
    /// Parses `States.Name(arg, ...)`.
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0, text };
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("invalid intrinsic function {text:?}: unexpected text after the call"));
        }
        Ok(call)
    }

    /// Evaluates the call; the error is the cause of a States.IntrinsicFailure.
    pub fn eval(&self, src: &Sources) -> Result<Value, String> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => p.select(src).ok_or_else(|| {
                    format!("The JsonPath argument for the field '{}' could not be found in the input", p.text())
                })?,
                Arg::Call(c) => c.eval(src)?,
            });
        }
        let name = self.name.as_str();
        let result = match name {
            "States.Format" => self.format(&values),
            _ => apply(name, &values),
        };
        result.map_err(|e| format!("Invalid arguments in {name}: {e}"))
    }

    /// States.Format: `{}` placeholders filled in order. The template is a
    /// string literal (with `\\{`/`\\}` escapes) or a path to a string.
    fn format(&self, values: &[Value]) -> Result<Value, String> {
        let raw = match (self.args.first(), values.first()) {
            (Some(Arg::Str { raw, .. }), _) => raw.clone(),
            // A template read from the input has no escapes: a backslash is itself.
            (_, Some(Value::String(s))) => s.replace('\\', "\\\\"),
            _ => return Err("the first argument must be a string".into()),
        };
        let fill = &values[1..];
        let mut out = String::new();
        let mut used = 0;
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().unwrap_or('\\')),
                '{' if chars.peek() == Some(&'}') => {
                    chars.next();
                    let v = fill.get(used).ok_or("the template has more placeholders than arguments")?;
                    used += 1;
                    out.push_str(&java_string(v));
                }
                c => out.push(c),
            }
        }
        if used != fill.len() {
            return Err(format!("the template has {used} placeholders but {} arguments were given", fill.len()));
        }
        Ok(Value::String(out))
    }
}

/// How AWS (Java) prints a value in a `States.Format` placeholder: strings
/// bare, objects as `{k=v, k2=v2}`, arrays as `[a, b]` (Java's
/// `Map`/`List.toString`), numbers like Java's `Double.toString` for floats.
fn java_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => java_number(n),
        Value::Array(a) => format!("[{}]", a.iter().map(java_string).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            let parts: Vec<String> = o.iter().map(|(k, v)| format!("{k}={}", java_string(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Java's `Double.toString` for floats (`1.0`, `1.5E10`, `1.0E-5`); integers as written.
fn java_number(n: &serde_json::Number) -> String {
    if !n.is_f64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 || (1e-3..1e7).contains(&f.abs()) {
        return n.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    format!("{mantissa}E{exp}")
}

/// Compact JSON as AWS (Jackson) writes it: Java number formatting and
/// upper-case hex in `\\u` escapes.
pub fn jackson_json(v: &Value) -> String {
    let mut out = String::new();
    write_jackson(v, &mut out);
    out
}

fn write_jackson(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) => out.push_str(&jackson_string(s)),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jackson(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&jackson_string(k));
                out.push(':');
                write_jackson(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn jackson_string(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    if !quoted.contains("\\u") {
        return quoted;
    }
    // serde_json writes `\\u001f`; Jackson writes `\\u001F`.
    let mut out = String::with_capacity(quoted.len());
    let mut rest = quoted.as_str();
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i + 2]);
        let hex = rest.get(i + 2..i + 6).unwrap_or("");
        out.push_str(&hex.to_ascii_uppercase());
        rest = &rest[(i + 6).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Checks the argument count, in AWS's words.
fn arity(values: &[Value], min: usize, max: usize) -> Result<(), String> {
    if values.len() < min || values.len() > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(format!("expected {want} arguments but got {}", values.len()));
    }
    Ok(())
}

fn string(v: &Value, what: &str) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| format!("{what} must be a string, got {v}"))
}

fn array<'v>(v: &'v Value, what: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("{what} must be an array, got {v}"))
}

/// An integer argument; AWS accepts numbers with no fractional part.
fn integer(v: &Value, what: &str) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(f as i64),
        _ => Err(format!("{what} must be an integer, got {v}")),
    }
}

/// Jackson reads `-0` as the integer 0; serde_json as the float -0.0.
fn integral_zero(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) && n.is_f64() && n.to_string().starts_with('-') => Value::from(0),
        Value::Array(a) => Value::Array(a.into_iter().map(integral_zero).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, integral_zero(v))).collect()),
        other => other,
    }
}

/// A number rounded like Java's `Math.round` (half up: 2.5 → 3, -2.5 → -2).
fn rounded(v: &Value, what: &str) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9e18 => Ok((f + 0.5).floor() as i64),
        _ => Err(format!("{what} must be a number, got {v}")),
    }
}

/// AWS's size limit on encode/decode/hash input.
const MAX_CHARS: usize = 10_000;

fn apply(name: &str, v: &[Value]) -> Result<Value, String> {
    match name {
        "States.StringToJson" => {
            arity(v, 1, 1)?;
            let s = string(&v[0], "the argument")?;
            // Jackson reads an empty (or blank) document as null.
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            let v = serde_json::from_str(&s).map_err(|e| format!("the string is not valid JSON: {e}"))?;
            Ok(integral_zero(v))
        }
        "States.JsonToString" => {
            arity(v, 1, 1)?;
            Ok(Value::String(jackson_json(&v[0])))
        }
        "States.Array" => Ok(Value::Array(v.to_vec())),
        "States.ArrayPartition" => {
            arity(v, 2, 2)?;
            let items = array(&v[0], "the first argument")?;
            let size = integer(&v[1], "the chunk size")?;
            if size <= 0 {
                return Err(format!("the chunk size must be positive, got {size}"));
            }
            Ok(Value::Array(items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect()))
        }
        "States.ArrayContains" => {
            arity(v, 2, 2)?;
            Ok(Value::Bool(array(&v[0], "the first argument")?.contains(&v[1])))
        }
        "States.ArrayRange" => {
            arity(v, 3, 3)?;
            array_range(integer(&v[0], "start")?, integer(&v[1], "end")?, integer(&v[2], "step")?)
        }
        "States.ArrayGetItem" => {
            arity(v, 2, 2)?;
            let items = array(&v[0], "the first argument")?;
            let i = integer(&v[1], "the index")?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| format!("the index {i} is out of bounds for an array of {} items", items.len()))
        }
        "States.ArrayLength" => {
            arity(v, 1, 1)?;
            Ok(Value::from(array(&v[0], "the argument")?.len()))
        }
        "States.ArrayUnique" => {
            arity(v, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for item in array(&v[0], "the argument")? {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(v, 1, 1)?;
            let s = limited(&v[0])?;
            Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s)))
        }
        "States.Base64Decode" => {
            arity(v, 1, 1)?;
            let s = limited(&v[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| format!("the string is not valid base64: {e}"))?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| "the decoded bytes are not UTF-8".into())
        }
        "States.Hash" => {
            arity(v, 2, 2)?;
            let data = limited(&v[0])?;
            hash(&data, &string(&v[1], "the algorithm")?)
        }
        "States.JsonMerge" => {
            arity(v, 3, 3)?;
            json_merge(&v[0], &v[1], &v[2])
        }
        "States.MathRandom" => {
            arity(v, 2, 3)?;
            let seed = v.get(2).map(|s| rounded(s, "the seed")).transpose()?;
            math_random(rounded(&v[0], "start")?, rounded(&v[1], "end")?, seed)
        }
        "States.MathAdd" => {
            arity(v, 2, 2)?;
            // AWS rounds each operand (Java's Math.round: half up) before adding.
            let (a, b) = (rounded(&v[0], "the first number")?, rounded(&v[1], "the second number")?);
            a.checked_add(b).map(Value::from).ok_or_else(|| "the sum overflows".into())
        }
        "States.StringSplit" => {
            arity(v, 2, 2)?;
            let s = string(&v[0], "the first argument")?;
            let delims: Vec<char> = string(&v[1], "the delimiter")?.chars().collect();
            // Like Java's StringTokenizer: any delimiter character splits, empty tokens are dropped.
            let parts = s.split(|c| delims.contains(&c)).filter(|p| !p.is_empty());
            Ok(Value::Array(parts.map(|p| Value::String(p.to_string())).collect()))
        }
        "States.UUID" => {
            arity(v, 0, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        other => Err(format!("unknown function {other}")),
    }
}

/// A string argument of at most 10,000 characters.
fn limited(v: &Value) -> Result<String, String> {
    let s = string(v, "the input")?;
    if s.chars().count() > MAX_CHARS {
        return Err(format!("the input string exceeds the maximum of {MAX_CHARS} characters"));
    }
    Ok(s)
}

/// Inclusive range, at most 1000 items.
fn array_range(start: i64, end: i64, step: i64) -> Result<Value, String> {
    if step == 0 {
        return Err("the step must not be 0".into());
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i <= end) || (step < 0 && i >= end) {
        if out.len() == 1000 {
            return Err("the range exceeds the maximum of 1000 items".into());
        }
        out.push(Value::from(i));
        i += step;
    }
    Ok(Value::Array(out))
}

fn hash(data: &str, algorithm: &str) -> Result<Value, String> {
    use sha2::Digest;
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(format!("unsupported algorithm {other:?}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"));
        }
    };
    Ok(Value::String(digest.iter().map(|b| format!("{b:02x}")).collect()))
}

/// Shallow merge; the right-hand object wins on conflicts.
fn json_merge(a: &Value, b: &Value, deep: &Value) -> Result<Value, String> {
    match deep {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err("deep merging is not supported; the third argument must be false".into()),
        other => return Err(format!("the third argument must be a boolean, got {other}")),
    }
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return Err("both arguments must be JSON objects".into());
    };
    let mut out: Map<String, Value> = a.clone();
    out.extend(b.clone());
    Ok(Value::Object(out))
}

/// A random integer in `[start, end)`, reproducible with a seed.
fn math_random(start: i64, end: i64, seed: Option<i64>) -> Result<Value, String> {
    if start >= end {
        return Err(format!("start ({start}) must be less than end ({end})"));
    }
    let n = match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s as u64).random_range(start..end),
        None => rand::rng().random_range(start..end),
    };
    Ok(Value::from(n))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("invalid intrinsic function {:?}: {what} at position {}", self.text, self.i)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.') {
            self.i += 1;
        }
        let name = self.text[start..self.i].to_string();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(format!("unknown intrinsic function {name:?} in {:?}", self.text));
        }
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
            return Ok(Call { name, args });
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.err("expected ',' or ')'")),
            }
        }
        if name == "States.Format" && !matches!(args.first(), Some(Arg::Str { .. } | Arg::Path(_) | Arg::Call(_))) {
            return Err(format!("{:?}: the first argument of States.Format must be a string", self.text));
        }
        Ok(Call { name, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'\'') => self.string(),
            Some(b'$') => {
                let start = self.i;
                self.skip_path();
                Path::parse(self.text[start..self.i].trim_end()).map(Arg::Path)
            }
            Some(b'S') => self.call().map(Arg::Call),
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| !matches!(c, b',' | b')')) {
                    self.i += 1;
                }
                let word = self.text[start..self.i].trim();
                match serde_json::from_str::<Value>(word) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Literal(v)),
                    _ => Err(self.err(&format!("invalid argument {word:?}"))),
                }
            }
        }
    }

    /// Skips a path argument, minding brackets and quotes inside it.
    fn skip_path(&mut self) {
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        while let Some(&c) = self.s.get(self.i) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(c),
                (None, b'[' | b'(') => depth += 1,
                (None, b']') => depth = depth.saturating_sub(1),
                (None, b')') if depth > 0 => depth -= 1,
                (None, b',' | b')') => break,
                _ => {}
            }
            self.i += 1;
        }
    }

    /// A single-quoted literal with `\'`, `\{`, `\}`, `\\` escapes.
    fn string(&mut self) -> Result<Arg, String> {
        self.i += 1;
        let (mut value, mut raw) = (String::new(), String::new());
        let mut chars = self.text[self.i..].char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    if !matches!(e, '\'' | '{' | '}' | '\\') {
                        return Err(self.err(&format!("invalid escape sequence \\{e}")));
                    }
                    value.push(e);
                    // Keep brace escapes visible to States.Format; others become plain text there.
                    if matches!(e, '{' | '}' | '\\') {
                        raw.push('\\');
                    }
                    raw.push(e);
                }
                '\'' => {
                    self.i += off + 1;
                    return Ok(Arg::Str { value, raw });
                }
                c => {
                    value.push(c);
                    raw.push(c);
                }
            }
        }
        Err(self.err("unterminated string literal"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, String> {
        let ctx = json!({"Execution": {"Name": "run-1"}});
        let vars = |n: &str| (n == "x").then(|| json!(5));
        Call::parse(text)?.eval(&Sources { input: &input, context: &ctx, vars: &vars })
    }

    #[test]
    fn format_and_escapes() {
        let input = json!({"name": "Ada", "n": 3, "b": true, "z": null});
        assert_eq!(
            eval("States.Format('Hi {}, {} {} {}', $.name, $.n, $.b, $.z)", input.clone()),
            Ok(json!("Hi Ada, 3 true null"))
        );
        assert_eq!(
            eval(r"States.Format('it\'s \{literal\} {}', $.name)", input.clone()),
            Ok(json!("it's {literal} Ada"))
        );
        assert_eq!(eval(r"States.Format('back\\slash {}', $.name)", input.clone()), Ok(json!(r"back\slash Ada")));
        assert_eq!(eval("States.Format('{} of {}', $x, $$.Execution.Name)", input.clone()), Ok(json!("5 of run-1")));
        assert!(eval("States.Format('{} {}', $.name)", input.clone()).is_err());
        assert!(eval("States.Format('{}', $.name, $.n)", input.clone()).is_err());
        assert!(eval("States.Format('{}', $.missing)", input.clone()).is_err());
        assert!(Call::parse(r"States.Format('bad \n escape')").is_err());
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.Format('x'").is_err());
    }

    #[test]
    fn json_functions() {
        let input = json!({"s": "{\"a\":1}", "o": {"b": [1, 2]}});
        assert_eq!(eval("States.StringToJson($.s)", input.clone()), Ok(json!({"a": 1})));
        assert_eq!(eval("States.JsonToString($.o)", input.clone()), Ok(json!("{\"b\":[1,2]}")));
        assert!(eval("States.StringToJson('{nope')", input.clone()).is_err());
        assert_eq!(
            eval("States.JsonMerge($.o, States.StringToJson($.s), false)", input.clone()),
            Ok(json!({"a": 1, "b": [1, 2]}))
        );
        assert!(eval("States.JsonMerge($.o, $.o, true)", input.clone()).is_err());
        assert!(eval("States.JsonMerge($.o, 'x', false)", input).is_err());
    }

    #[test]
    fn array_functions() {
        let input = json!({"a": [1, 2, 2, 3, 4, 1]});
        assert_eq!(
            eval("States.Array(1, 'two', $.a[0], null, true)", input.clone()),
            Ok(json!([1, "two", 1, null, true]))
        );
        assert_eq!(eval("States.ArrayPartition($.a, 4)", input.clone()), Ok(json!([[1, 2, 2, 3], [4, 1]])));
        assert!(eval("States.ArrayPartition($.a, 0)", input.clone()).is_err());
        assert_eq!(eval("States.ArrayContains($.a, 3)", input.clone()), Ok(json!(true)));
        assert_eq!(eval("States.ArrayContains($.a, 9)", input.clone()), Ok(json!(false)));
        assert_eq!(eval("States.ArrayRange(1, 9, 2)", input.clone()), Ok(json!([1, 3, 5, 7, 9])));
        assert_eq!(eval("States.ArrayRange(5, 1, -2)", input.clone()), Ok(json!([5, 3, 1])));
        assert!(eval("States.ArrayRange(1, 1000, 1)", input.clone()).is_ok());
        assert!(eval("States.ArrayRange(1, 1001, 1)", input.clone()).is_err());
        assert!(eval("States.ArrayRange(1, 2, 0)", input.clone()).is_err());
        assert_eq!(eval("States.ArrayGetItem($.a, 4)", input.clone()), Ok(json!(4)));
        assert!(eval("States.ArrayGetItem($.a, 6)", input.clone()).is_err());
        assert_eq!(eval("States.ArrayLength($.a)", input.clone()), Ok(json!(6)));
        assert!(eval("States.ArrayLength('x')", input.clone()).is_err());
        assert_eq!(eval("States.ArrayUnique($.a)", input), Ok(json!([1, 2, 3, 4])));
    }

    #[test]
    fn encoding_and_hashing() {
        let input = json!({"s": "Data to encode", "big": "x".repeat(10_001)});
        assert_eq!(eval("States.Base64Encode($.s)", input.clone()), Ok(json!("RGF0YSB0byBlbmNvZGU=")));
        assert_eq!(eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", input.clone()), Ok(json!("Data to encode")));
        assert!(eval("States.Base64Decode('***')", input.clone()).is_err());
        assert!(eval("States.Base64Encode($.big)", input.clone()).is_err());
        assert!(eval("States.Base64Decode($.big)", input.clone()).is_err());
        assert_eq!(eval("States.Hash('abc', 'MD5')", input.clone()), Ok(json!("900150983cd24fb0d6963f7d28e17f72")));
        assert_eq!(
            eval("States.Hash('abc', 'SHA-1')", input.clone()),
            Ok(json!("a9993e364706816aba3e25717850c26c9cd0d89d"))
        );
        assert_eq!(
            eval("States.Hash('abc', 'SHA-256')", input.clone()),
            Ok(json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        );
        assert_eq!(eval("States.Hash('abc', 'SHA-384')", input.clone()).unwrap().as_str().unwrap().len(), 96);
        assert_eq!(eval("States.Hash('abc', 'SHA-512')", input.clone()).unwrap().as_str().unwrap().len(), 128);
        assert!(eval("States.Hash('abc', 'SHA-3')", input.clone()).is_err());
        assert!(eval("States.Hash($.big, 'MD5')", input).is_err());
    }

    #[test]
    fn math_strings_uuid() {
        let input = json!({"n": 111});
        assert_eq!(eval("States.MathAdd($.n, -1)", input.clone()), Ok(json!(110)));
        assert_eq!(eval("States.MathAdd($.n, 1.5)", input.clone()), Ok(json!(113)));
        assert_eq!(eval("States.MathAdd(-1.5, -1.51)", input.clone()), Ok(json!(-3)));
        assert!(eval("States.MathAdd($.n, 'x')", input.clone()).is_err());
        let a = eval("States.MathRandom(1, 999, 42)", input.clone()).unwrap();
        assert_eq!(a, eval("States.MathRandom(1, 999, 42)", input.clone()).unwrap());
        let r = eval("States.MathRandom(1, 3)", input.clone()).unwrap().as_i64().unwrap();
        assert!((1..3).contains(&r));
        assert!(eval("States.MathRandom(5, 5)", input.clone()).is_err());
        assert_eq!(eval("States.StringSplit('1,2,3', ',')", input.clone()), Ok(json!(["1", "2", "3"])));
        assert_eq!(
            eval("States.StringSplit('This.is+a,test=string', '.+,=')", input.clone()),
            Ok(json!(["This", "is", "a", "test", "string"]))
        );
        let id = eval("States.UUID()", input.clone()).unwrap();
        assert_eq!(uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap().get_version_num(), 4);
        assert!(eval("States.UUID(1)", input).is_err());
    }
}
