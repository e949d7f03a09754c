//! Data flow between states: InputPath, Parameters/ItemSelector/ResultSelector
//! templates, ResultPath, OutputPath and Assign.
//!
//! Why its own module: these fields look alike but differ in detail (InputPath
//! `null` means `{}`, ResultPath `null` means "discard the result", a template
//! key ending in `.$` is a path or an intrinsic call, …), and the interpreter
//! reads more clearly when each rule lives in one small function here.
//! Error causes follow AWS's wording as recorded by LocalStack's snapshots.

use crate::TaskError;
use crate::intrinsics::{self, Call};
use crate::path::{self, Path, Sources, Step};
use serde_json::{Map, Value};

pub const RUNTIME: &str = "States.Runtime";
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";

/// An InputPath or OutputPath: absent (`$`), `null` (`{}`), or a path.
#[derive(Debug, Clone)]
pub enum Filter {
    Null,
    Path(Path),
}

/// A ResultPath: `null` discards the result, otherwise a reference path.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Discard,
    At(Path),
}

/// A JSON template with `.$` fields evaluated at run time.
#[derive(Debug, Clone)]
pub enum Template {
    Const(Value),
    Object(Vec<(String, Field)>),
    Array(Vec<Template>),
}

#[derive(Debug, Clone)]
pub enum Field {
    Value(Template),
    /// A `.$` field: the key without the suffix keeps the original for errors.
    Path {
        path: Path,
        key: String,
    },
    Call(Call),
}

fn runtime(cause: String) -> TaskError {
    TaskError { error: RUNTIME.into(), cause }
}

impl Template {
    /// Parses a Parameters-like object. Keys ending in `.$` must hold a path
    /// or an intrinsic call.
    pub fn parse(v: &Value) -> Result<Template, String> {
        match v {
            Value::Object(o) => {
                let mut fields = Vec::with_capacity(o.len());
                for (k, v) in o {
                    fields.push(match k.strip_suffix(".$") {
                        Some(name) => (name.to_string(), dynamic(k, v)?),
                        None => (k.clone(), Field::Value(Template::parse(v)?)),
                    });
                }
                Ok(Template::Object(fields))
            }
            Value::Array(a) => a.iter().map(Template::parse).collect::<Result<_, _>>().map(Template::Array),
            other => Ok(Template::Const(other.clone())),
        }
    }

    /// Evaluates the template.
    pub fn eval(&self, src: &Sources) -> Result<Value, TaskError> {
        match self {
            Template::Const(v) => Ok(v.clone()),
            Template::Array(items) => items.iter().map(|t| t.eval(src)).collect::<Result<_, _>>().map(Value::Array),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (name, field) in fields {
                    out.insert(name.clone(), field.eval(src)?);
                }
                Ok(Value::Object(out))
            }
        }
    }
}

/// Parses the value of a `.$` key.
fn dynamic(key: &str, v: &Value) -> Result<Field, String> {
    let Some(text) = v.as_str() else {
        return Err(format!("the value of {key:?} must be a string holding a JSONPath or an intrinsic function"));
    };
    if intrinsics::looks_like_call(text) {
        return Call::parse(text).map(Field::Call);
    }
    Path::parse(text).map(|path| Field::Path { path, key: key.to_string() }).map_err(|e| format!("{key:?}: {e}"))
}

impl Field {
    fn eval(&self, src: &Sources) -> Result<Value, TaskError> {
        match self {
            Field::Value(t) => t.eval(src),
            Field::Path { path, key } => path.select(src).ok_or_else(|| {
                runtime(format!(
                    "The JSONPath '{}' specified for the field '{key}' could not be found in the input '{}'",
                    path.text(),
                    src.input
                ))
            }),
            Field::Call(call) => call.eval(src).map_err(|cause| TaskError { error: INTRINSIC_FAILURE.into(), cause }),
        }
    }
}

/// Applies InputPath/OutputPath: `None` (absent) keeps the value, `null` gives `{}`.
pub fn filter(filter: Option<&Filter>, src: &Sources) -> Result<Value, TaskError> {
    match filter {
        None => Ok(src.input.clone()),
        Some(Filter::Null) => Ok(Value::Object(Map::new())),
        Some(Filter::Path(p)) => select_or_invalid(p, src),
    }
}

/// Selects a path, failing with AWS's "Invalid path" cause.
pub fn select_or_invalid(p: &Path, src: &Sources) -> Result<Value, TaskError> {
    p.select(src).ok_or_else(|| runtime(format!("Invalid path '{}' : {}", p.text(), p.not_found(src))))
}

/// Applies ResultPath: combines the state's raw input with its result.
pub fn result_path(rp: Option<&ResultPath>, input: &Value, result: Value) -> Result<Value, TaskError> {
    let path = match rp {
        None => return Ok(result),
        Some(ResultPath::Discard) => return Ok(input.clone()),
        Some(ResultPath::At(p)) => p,
    };
    let steps: Vec<Step> = path.steps();
    let mut out = input.clone();
    path::set(&mut out, &steps, result)
        .map_err(|_| runtime(format!("Unable to apply ReferencePath {} to input {}", path.text(), input)))?;
    Ok(out)
}

/// Parses an `Assign` object; names must be plain identifiers.
pub fn parse_assign(v: &Value) -> Result<Template, String> {
    let Some(obj) = v.as_object() else {
        return Err("Assign must be a JSON object".into());
    };
    for key in obj.keys() {
        let name = key.strip_suffix(".$").unwrap_or(key);
        let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(format!("invalid variable name {name:?}"));
        }
        if name == "states" {
            return Err("the variable name \"states\" is reserved".into());
        }
    }
    Template::parse(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn src<'a>(input: &'a Value, ctx: &'a Value, vars: &'a dyn Fn(&str) -> Option<Value>) -> Sources<'a> {
        Sources { input, context: ctx, vars }
    }

    #[test]
    fn templates_evaluate_paths_context_and_calls() {
        let t = Template::parse(&json!({
            "static": {"n": [1, {"x.$": "$.a"}]},
            "a.$": "$.a",
            "name.$": "$$.Execution.Name",
            "v.$": "$count",
            "f.$": "States.Format('n={}', $.a)",
            "list.$": "$.l[*].k"
        }))
        .unwrap();
        let input = json!({"a": 1, "l": [{"k": 1}, {"k": 2}]});
        let ctx = json!({"Execution": {"Name": "exec"}});
        let vars = |n: &str| (n == "count").then(|| json!(7));
        let out = t.eval(&src(&input, &ctx, &vars)).unwrap();
        assert_eq!(
            out,
            json!({"static": {"n": [1, {"x": 1}]}, "a": 1, "name": "exec", "v": 7, "f": "n=1", "list": [1, 2]})
        );
    }

    #[test]
    fn template_errors() {
        assert!(Template::parse(&json!({"a.$": 3})).is_err());
        assert!(Template::parse(&json!({"a.$": "nope"})).is_err());
        let t = Template::parse(&json!({"value.$": "$.no_such_jsonpath"})).unwrap();
        let (input, ctx) = (json!({"a": 1}), json!({}));
        let err = t.eval(&src(&input, &ctx, &|_| None)).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.cause,
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
        );
        let t = Template::parse(&json!({"x.$": "States.ArrayGetItem($.l, 5)"})).unwrap();
        let input = json!({"l": []});
        assert_eq!(t.eval(&src(&input, &ctx, &|_| None)).unwrap_err().error, "States.IntrinsicFailure");
    }

    #[test]
    fn input_and_output_paths() {
        let (input, ctx) = (json!({"a": {"b": 1}}), json!({}));
        let s = src(&input, &ctx, &|_| None);
        assert_eq!(filter(None, &s).unwrap(), input);
        assert_eq!(filter(Some(&Filter::Null), &s).unwrap(), json!({}));
        assert_eq!(filter(Some(&Filter::Path(Path::parse("$.a").unwrap())), &s).unwrap(), json!({"b": 1}));
        let err = filter(Some(&Filter::Path(Path::parse("$.NoSuchInputPath").unwrap())), &s).unwrap_err();
        assert_eq!(err.cause, "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']");
    }

    #[test]
    fn result_paths() {
        let input = json!({"a": 1});
        assert_eq!(result_path(None, &input, json!(2)).unwrap(), json!(2));
        assert_eq!(result_path(Some(&ResultPath::Discard), &input, json!(2)).unwrap(), input);
        let at = |p: &str| ResultPath::At(Path::parse_reference(p).unwrap());
        assert_eq!(result_path(Some(&at("$")), &input, json!(2)).unwrap(), json!(2));
        assert_eq!(result_path(Some(&at("$.r.s")), &input, json!(2)).unwrap(), json!({"a": 1, "r": {"s": 2}}));
        assert_eq!(result_path(Some(&at("$.a")), &input, json!(2)).unwrap(), json!({"a": 2}));
        let err = result_path(Some(&at("$.x")), &json!("str"), json!(2)).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn assign_names() {
        assert!(parse_assign(&json!({"ok_1": 1, "b.$": "$.x"})).is_ok());
        assert!(parse_assign(&json!({"1bad": 1})).is_err());
        assert!(parse_assign(&json!({"states": 1})).is_err());
        assert!(parse_assign(&json!([1])).is_err());
    }
}
