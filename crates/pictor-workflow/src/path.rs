//! JSONPath, the flavour Step Functions uses (Jayway-compatible subset).
//!
//! Why a hand-written parser: AWS accepts a specific dialect (Jayway's), with
//! three roots (`$` the state input, `$$` the context object, `$name` a
//! workflow variable), and distinguishes *definite* paths (only names and
//! indexes; they select one value or fail) from *indefinite* ones (wildcards,
//! slices, unions, deep scans, filters; they always select a list, possibly
//! empty). Reference paths (ResultPath, Choice `Variable`, ItemsPath, …) must
//! be definite, and ResultPath must also be rooted at `$`.

use serde_json::{Map, Value};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Index(i64),
    Wildcard,
    Union(Vec<Sel>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `..`: the next step applies to the node and all its descendants.
    Descend,
    Filter(Expr),
}

/// A member of a union `[a,b]` / `['x','y']`.
#[derive(Debug, Clone, PartialEq)]
enum Sel {
    Field(String),
    Index(i64),
}

/// A filter expression `?( … )`.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    /// `@.x` alone: true when the path selects something.
    Exists(Operand),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `@…` relative to the current item.
    Current(Vec<Seg>),
    /// `$…` relative to the document root.
    Root(Vec<Seg>),
    Literal(Value),
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segs: Vec<Seg>,
}

/// The values a path can read: input, context object, variables.
pub struct Sources<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub vars: &'a dyn Fn(&str) -> Option<Value>,
}

impl Path {
    /// Parses any JSONPath AWS accepts.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0, text };
        let root = p.root()?;
        let segs = p.segments(false)?;
        if p.i != p.s.len() {
            return Err(format!("invalid JSONPath {text:?}: unexpected {:?}", &text[p.i..]));
        }
        Ok(Path { text: text.to_string(), root, segs })
    }

    /// Parses a reference path: names and indexes only.
    pub fn parse_reference(text: &str) -> Result<Path, String> {
        let path = Path::parse(text)?;
        if !path.is_definite() {
            return Err(format!(
                "{text:?} is not a valid reference path (no wildcards, slices, filters or deep scans)"
            ));
        }
        Ok(path)
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// True when the path has only names and indexes.
    pub fn is_definite(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Field(_) | Seg::Index(_)))
    }

    /// Jayway's normalised form, as AWS prints it in errors: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        let mut out = String::from("$");
        for seg in &self.segs {
            match seg {
                Seg::Field(f) => out.push_str(&format!("['{f}']")),
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Wildcard => out.push_str("[*]"),
                _ => out.push_str("[?]"),
            }
        }
        out
    }

    /// Selects from the sources. A definite path yields the single value or
    /// `None`; an indefinite path always yields an array of matches.
    pub fn select(&self, src: &Sources) -> Option<Value> {
        let start = match &self.root {
            Root::Input => src.input.clone(),
            Root::Context => src.context.clone(),
            Root::Variable(name) => (src.vars)(name)?,
        };
        if self.is_definite() {
            return definite(&start, &self.segs).cloned();
        }
        let root_doc = src.input;
        let found = apply(vec![&start], &self.segs, root_doc);
        Some(Value::Array(found.into_iter().cloned().collect()))
    }

    /// Why a definite path selected nothing, in Jayway's words: a missing
    /// property before the last step is `Missing property in path $['a']`,
    /// anything else `No results for path: $['a']['b']`.
    pub fn not_found(&self, src: &Sources) -> String {
        let start = match &self.root {
            Root::Input => Some(src.input.clone()),
            Root::Context => Some(src.context.clone()),
            Root::Variable(name) => (src.vars)(name),
        };
        if let (Some(start), true) = (start, self.is_definite()) {
            let mut v = &start;
            let mut at = String::from("$");
            for (i, seg) in self.segs.iter().enumerate() {
                let last = i + 1 == self.segs.len();
                let next = match seg {
                    Seg::Field(f) => {
                        at.push_str(&format!("['{f}']"));
                        match v.as_object() {
                            Some(o) => match o.get(f) {
                                Some(x) => Some(x),
                                None if !last => return format!("Missing property in path {at}"),
                                None => None,
                            },
                            None => None,
                        }
                    }
                    Seg::Index(k) => {
                        at.push_str(&format!("[{k}]"));
                        v.as_array().and_then(|a| index(a, *k))
                    }
                    _ => None,
                };
                match next {
                    Some(x) => v = x,
                    None => break,
                }
            }
        }
        format!("No results for path: {}", self.normalized())
    }

    /// The names and indexes of a definite path (for writing with ResultPath).
    pub fn steps(&self) -> Vec<Step> {
        self.segs
            .iter()
            .filter_map(|s| match s {
                Seg::Field(f) => Some(Step::Field(f.clone())),
                Seg::Index(i) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect()
    }
}

/// A step of a reference path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(i64),
}

/// Follows names and indexes; `None` when anything is missing.
fn definite<'v>(mut v: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    for seg in segs {
        v = match seg {
            Seg::Field(f) => v.as_object()?.get(f)?,
            Seg::Index(i) => index(v.as_array()?, *i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Array indexing with Jayway's negative indexes (from the end).
fn index(arr: &[Value], i: i64) -> Option<&Value> {
    let idx = if i < 0 { arr.len() as i64 + i } else { i };
    if idx < 0 { None } else { arr.get(idx as usize) }
}

/// Applies indefinite segments to a set of nodes.
fn apply<'v>(mut nodes: Vec<&'v Value>, segs: &[Seg], root: &'v Value) -> Vec<&'v Value> {
    for seg in segs {
        let mut next = Vec::new();
        for node in nodes {
            step(node, seg, root, &mut next);
        }
        nodes = next;
    }
    nodes
}

/// Applies one segment to one node, pushing matches.
fn step<'v>(node: &'v Value, seg: &Seg, root: &'v Value, out: &mut Vec<&'v Value>) {
    match seg {
        Seg::Field(f) => {
            if let Some(v) = node.as_object().and_then(|o| o.get(f)) {
                out.push(v)
            }
        }
        Seg::Index(i) => {
            if let Some(v) = node.as_array().and_then(|a| index(a, *i)) {
                out.push(v)
            }
        }
        Seg::Wildcard => children(node, out),
        Seg::Union(sels) => {
            for sel in sels {
                let seg = match sel {
                    Sel::Field(f) => Seg::Field(f.clone()),
                    Sel::Index(i) => Seg::Index(*i),
                };
                step(node, &seg, root, out);
            }
        }
        Seg::Slice(start, end, stride) => {
            if let Some(arr) = node.as_array() {
                slice(arr, *start, *end, *stride, out);
            }
        }
        Seg::Descend => descendants(node, out),
        Seg::Filter(expr) => {
            let mut kids = Vec::new();
            children(node, &mut kids);
            out.extend(kids.into_iter().filter(|k| truthy(expr, k, root)));
        }
    }
}

/// The direct children of an object or array.
fn children<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    match node {
        Value::Object(o) => out.extend(o.values()),
        Value::Array(a) => out.extend(a.iter()),
        _ => {}
    }
}

/// The node and all its descendants, in document order.
fn descendants<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    out.push(node);
    let mut kids = Vec::new();
    children(node, &mut kids);
    for k in kids {
        if k.is_object() || k.is_array() {
            descendants(k, out);
        }
    }
}

/// Python-style slicing `[start:end:step]`.
fn slice<'v>(arr: &'v [Value], start: Option<i64>, end: Option<i64>, stride: Option<i64>, out: &mut Vec<&'v Value>) {
    let len = arr.len() as i64;
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let stride = stride.unwrap_or(1).max(1);
    let (s, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(len)));
    let mut i = s;
    while i < e {
        out.push(&arr[i as usize]);
        i += stride;
    }
}

/// Evaluates a filter for one candidate item.
fn truthy(expr: &Expr, current: &Value, root: &Value) -> bool {
    match expr {
        Expr::Or(a, b) => truthy(a, current, root) || truthy(b, current, root),
        Expr::And(a, b) => truthy(a, current, root) && truthy(b, current, root),
        Expr::Not(a) => !truthy(a, current, root),
        Expr::Exists(op) => operand(op, current, root).is_some(),
        Expr::Cmp(a, op, b) => match (operand(a, current, root), operand(b, current, root)) {
            (Some(x), Some(y)) => compare(&x, *op, &y),
            _ => false,
        },
    }
}

fn operand(op: &Operand, current: &Value, root: &Value) -> Option<Value> {
    let (start, segs) = match op {
        Operand::Literal(v) => return Some(v.clone()),
        Operand::Current(s) => (current, s),
        Operand::Root(s) => (root, s),
    };
    if segs.iter().all(|s| matches!(s, Seg::Field(_) | Seg::Index(_))) {
        definite(start, segs).cloned()
    } else {
        Some(Value::Array(apply(vec![start], segs, root).into_iter().cloned().collect()))
    }
}

/// Jayway comparisons: numbers with numbers, strings with strings, else equality only.
fn compare(x: &Value, op: CmpOp, y: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (x, y) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        CmpOp::Eq => ord.map_or(x == y, |o| o == Ordering::Equal),
        CmpOp::Ne => ord.map_or(x != y, |o| o != Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// Writes `value` at `steps` inside `target`, creating objects on the way
/// (ResultPath semantics). Fails when a step meets a non-object.
pub fn set(target: &mut Value, steps: &[Step], value: Value) -> Result<(), String> {
    let Some((first, rest)) = steps.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Step::Field(f) => {
            let obj = target.as_object_mut().ok_or_else(|| format!("cannot set field {f:?} on a non-object"))?;
            let slot = obj.entry(f.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !rest.is_empty() && slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            set(slot, rest, value)
        }
        Step::Index(i) => {
            let arr = target.as_array_mut().ok_or_else(|| format!("cannot set index {i} on a non-array"))?;
            let len = arr.len() as i64;
            let idx = if *i < 0 { len + i } else { *i };
            let slot = usize::try_from(idx)
                .ok()
                .and_then(|k| arr.get_mut(k))
                .ok_or_else(|| format!("index {i} is out of bounds"))?;
            set(slot, rest, value)
        }
    }
}

/// A tiny recursive-descent parser over bytes.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("invalid JSONPath {:?}: {what} at position {}", self.text, self.i)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == b' ') {
            self.i += 1;
        }
    }

    fn root(&mut self) -> Result<Root, String> {
        if !self.eat(b'$') {
            return Err(self.err("a path must start with '$'"));
        }
        if self.eat(b'$') {
            return Ok(Root::Context);
        }
        let name = self.name();
        if name.is_empty() { Ok(Root::Input) } else { Ok(Root::Variable(name)) }
    }

    /// A dotted name: anything up to `.`, `[`, or an operator/space.
    fn name(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b'.' | b'[' | b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b',') {
                break;
            }
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }

    /// Segments until end of input (or, inside a filter, until an operator).
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Seg>, String> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        segs.push(Seg::Descend);
                        if self.peek() == Some(b'[') {
                            continue;
                        }
                    }
                    if self.eat(b'*') {
                        segs.push(Seg::Wildcard);
                        continue;
                    }
                    // Jayway accepts `$.[...]` as `$[...]`.
                    if self.peek() == Some(b'[') {
                        continue;
                    }
                    let n = self.name();
                    if n.is_empty() {
                        return Err(self.err("empty name"));
                    }
                    segs.push(Seg::Field(n));
                }
                Some(b'[') => {
                    self.i += 1;
                    segs.push(self.bracket()?);
                }
                _ if in_filter => return Ok(segs),
                None => return Ok(segs),
                Some(_) => return Err(self.err("unexpected character")),
            }
        }
    }

    /// The inside of `[...]`, consuming the closing bracket.
    fn bracket(&mut self) -> Result<Seg, String> {
        self.skip_ws();
        let seg = if self.eat(b'*') {
            Seg::Wildcard
        } else if self.eat(b'?') {
            self.skip_ws();
            if !self.eat(b'(') {
                return Err(self.err("expected '(' after '?'"));
            }
            let e = self.or_expr()?;
            self.skip_ws();
            if !self.eat(b')') {
                return Err(self.err("expected ')'"));
            }
            Seg::Filter(e)
        } else if matches!(self.peek(), Some(b'\'' | b'"')) {
            let mut sels = vec![Sel::Field(self.quoted()?)];
            while self.skip_ws_then(b',') {
                self.skip_ws();
                sels.push(Sel::Field(self.quoted()?));
            }
            if sels.len() == 1 {
                let Sel::Field(f) = sels.pop().unwrap_or(Sel::Index(0)) else { unreachable!() };
                Seg::Field(f)
            } else {
                Seg::Union(sels)
            }
        } else {
            self.numeric_bracket()?
        };
        self.skip_ws();
        if !self.eat(b']') {
            return Err(self.err("expected ']'"));
        }
        Ok(seg)
    }

    fn skip_ws_then(&mut self, b: u8) -> bool {
        self.skip_ws();
        self.eat(b)
    }

    /// `[n]`, `[a,b]`, `[s:e]`, `[s:e:k]`.
    fn numeric_bracket(&mut self) -> Result<Seg, String> {
        let first = self.int_opt()?;
        self.skip_ws();
        if self.eat(b':') {
            let end = self.int_opt()?;
            let stride = if self.eat(b':') { self.int_opt()? } else { None };
            return Ok(Seg::Slice(first, end, stride));
        }
        let first = first.ok_or_else(|| self.err("expected an index"))?;
        let mut sels = vec![Sel::Index(first)];
        while self.skip_ws_then(b',') {
            sels.push(Sel::Index(self.int_opt()?.ok_or_else(|| self.err("expected an index"))?));
        }
        Ok(if sels.len() == 1 { Seg::Index(first) } else { Seg::Union(sels) })
    }

    fn int_opt(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return Ok(None);
        }
        self.text[start..self.i].parse().map(Some).map_err(|_| self.err("bad integer"))
    }

    /// A single- or double-quoted string with backslash escapes.
    fn quoted(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or_else(|| self.err("expected a quote"))?;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'\\') => {
                    // Like Jayway: a backslash escapes the quote (or itself); otherwise it stays.
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    if c != q && c != b'\\' {
                        out.push(b'\\');
                    }
                    out.push(c);
                }
                Some(c) if c == q => {
                    self.i += 1;
                    break;
                }
                Some(c) => out.push(c),
            }
            self.i += 1;
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while self.skip_ws_then(b'|') {
            if !self.eat(b'|') {
                return Err(self.err("expected '||'"));
            }
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.skip_ws_then(b'&') {
            if !self.eat(b'&') {
                return Err(self.err("expected '&&'"));
            }
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b'(') {
            let e = self.or_expr()?;
            if !self.skip_ws_then(b')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.s.get(self.i + 1).copied()) {
            (Some(b'='), Some(b'=')) => Some((CmpOp::Eq, 2)),
            (Some(b'!'), Some(b'=')) => Some((CmpOp::Ne, 2)),
            (Some(b'<'), Some(b'=')) => Some((CmpOp::Le, 2)),
            (Some(b'>'), Some(b'=')) => Some((CmpOp::Ge, 2)),
            (Some(b'<'), _) => Some((CmpOp::Lt, 1)),
            (Some(b'>'), _) => Some((CmpOp::Gt, 1)),
            _ => None,
        };
        let Some((op, width)) = op else {
            return Ok(Expr::Exists(left));
        };
        self.i += width;
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments(true)?))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.segments(true)?))
            }
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.')) {
                    self.i += 1;
                }
                let word = &self.text[start..self.i];
                serde_json::from_str::<Value>(word)
                    .map(Operand::Literal)
                    .map_err(|_| self.err(&format!("unexpected operand {word:?}")))
            }
        }
    }
}

/// A variable lookup over a plain map (tests).
#[cfg(test)]
fn map_lookup(map: &std::collections::BTreeMap<String, Value>) -> impl Fn(&str) -> Option<Value> + '_ {
    move |name| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn sel(path: &str, input: &Value) -> Option<Value> {
        let vars = BTreeMap::from([("v".to_string(), json!({"a": [1, 2]}))]);
        let lookup = map_lookup(&vars);
        let ctx = json!({"Execution": {"Id": "x"}});
        Path::parse(path).unwrap().select(&Sources { input, context: &ctx, vars: &lookup })
    }

    fn store() -> Value {
        json!({"store": {"book": [
            {"category": "ref", "author": "Nigel", "price": 8.95},
            {"category": "fiction", "author": "Evelyn", "price": 12.99, "isbn": "0-553"},
            {"category": "fiction", "author": "Herman", "price": 22.99, "isbn": "0-395"}
        ], "bicycle": {"color": "red", "price": 19.95}}, "a b": 1, "x": {"y": null}})
    }

    #[test]
    fn definite_paths() {
        let s = store();
        assert_eq!(sel("$", &s), Some(s.clone()));
        assert_eq!(sel("$.store.bicycle.color", &s), Some(json!("red")));
        assert_eq!(sel("$['store']['bicycle']['price']", &s), Some(json!(19.95)));
        assert_eq!(sel("$.store.book[0].author", &s), Some(json!("Nigel")));
        assert_eq!(sel("$.store.book[-1].author", &s), Some(json!("Herman")));
        assert_eq!(sel("$['a b']", &s), Some(json!(1)));
        assert_eq!(sel("$.x.y", &s), Some(Value::Null));
        assert_eq!(sel("$.missing", &s), None);
        assert_eq!(sel("$.store.book[7]", &s), None);
        assert_eq!(sel("$$.Execution.Id", &s), Some(json!("x")));
        assert_eq!(sel("$v.a[1]", &s), Some(json!(2)));
        assert_eq!(sel("$nope", &s), None);
    }

    #[test]
    fn indefinite_paths() {
        let s = store();
        assert_eq!(sel("$.store.book[*].author", &s), Some(json!(["Nigel", "Evelyn", "Herman"])));
        assert_eq!(sel("$..author", &s), Some(json!(["Nigel", "Evelyn", "Herman"])));
        assert_eq!(sel("$.store.book[0,2].author", &s), Some(json!(["Nigel", "Herman"])));
        assert_eq!(sel("$.store.book[1:].price", &s), Some(json!([12.99, 22.99])));
        assert_eq!(sel("$.store.book[:1].price", &s), Some(json!([8.95])));
        assert_eq!(sel("$.store.book[-2:].author", &s), Some(json!(["Evelyn", "Herman"])));
        assert_eq!(sel("$.store.book[?(@.price > 10)].author", &s), Some(json!(["Evelyn", "Herman"])));
        assert_eq!(sel("$.store.book[?(@.isbn)].author", &s), Some(json!(["Evelyn", "Herman"])));
        assert_eq!(sel("$.store.book[?(@.category == 'fiction' && @.price < 20)].author", &s), Some(json!(["Evelyn"])));
        assert_eq!(
            sel("$.store.book[?(@.price <= 8.95 || @.author == \"Herman\")].author", &s),
            Some(json!(["Nigel", "Herman"]))
        );
        assert_eq!(sel("$.store.book[?(@.price != 8.95)].price", &s), Some(json!([12.99, 22.99])));
        assert_eq!(sel("$.store.book[?(@.price >= 22.99)].price", &s), Some(json!([22.99])));
        assert_eq!(sel("$.nothing[*]", &s), Some(json!([])));
        assert_eq!(sel("$..book[0].author", &s), Some(json!(["Nigel"])));
    }

    #[test]
    fn reference_paths_are_definite() {
        assert!(Path::parse_reference("$.a.b[0]").is_ok());
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$..a").is_err());
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
        assert_eq!(Path::parse("$.a.b[2]").unwrap().normalized(), "$['a']['b'][2]");
    }

    #[test]
    fn set_creates_objects() {
        let mut v = json!({"a": 1});
        set(&mut v, &Path::parse("$.b.c").unwrap().steps(), json!(2)).unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        let mut v = json!({"a": 1});
        set(&mut v, &[], json!(3)).unwrap();
        assert_eq!(v, json!(3));
        let mut v = json!("str");
        assert!(set(&mut v, &Path::parse("$.b").unwrap().steps(), json!(2)).is_err());
    }
}
