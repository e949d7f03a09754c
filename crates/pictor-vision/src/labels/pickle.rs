//! A minimal reader for Python pickles, enough for legacy torch files.
//!
//! Why not a pickle crate: the weights file needs only ~30 opcodes of
//! protocol 2, and a reader this small can refuse everything else with a
//! clear error. It never imports or calls anything: `GLOBAL` yields a
//! [`Value::Global`] name, `REDUCE` asks the caller's `reduce` hook what a
//! call means (like Python's `Unpickler.find_class`, the caller decides what
//! is allowed), and persistent ids come back as [`Value::Persistent`].

use std::fmt;

/// A Python value as far as this reader understands it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// Ints and longs (LONG1 up to 16 bytes).
    Int(i128),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Dicts keep insertion order (the torch state dict is an OrderedDict).
    Dict(Vec<(Value, Value)>),
    /// `module.name` from GLOBAL, not resolved.
    Global {
        module: String,
        name: String,
    },
    /// A call the `reduce` hook chose to keep as is: `func(*args)`.
    Call {
        func: Box<Value>,
        args: Vec<Value>,
    },
    /// A persistent id (BINPERSID), for the caller to resolve.
    Persistent(Box<Value>),
}

#[derive(Debug, PartialEq)]
pub struct PickleError(pub String);

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, PickleError> {
    Err(PickleError(message.into()))
}

/// Reads one pickle from the start of `bytes`, up to and including STOP.
/// Returns the value and the number of bytes it took.
///
/// `reduce(func, args)` decides what REDUCE (a call) produces; it may keep
/// the call as [`Value::Call`] or turn it into a plain value (for example an
/// empty `OrderedDict()` into [`Value::Dict`]), or refuse it.
pub fn read(
    bytes: &[u8],
    reduce: &mut dyn FnMut(Value, Vec<Value>) -> Result<Value, PickleError>,
) -> Result<(Value, usize), PickleError> {
    let mut machine = Machine { input: bytes, pos: 0, stack: Vec::new(), marks: Vec::new(), memo: Vec::new() };
    let value = machine.run(reduce)?;
    Ok((value, machine.pos))
}

/// The pickle virtual machine's state.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
}

impl Machine<'_> {
    fn run(
        &mut self,
        reduce: &mut dyn FnMut(Value, Vec<Value>) -> Result<Value, PickleError>,
    ) -> Result<Value, PickleError> {
        loop {
            let at = self.pos;
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    // PROTO: protocols 2 and lower use only the opcodes below.
                    let version = self.take(1)?[0];
                    if version > 2 {
                        return err(format!("pickle protocol {version} is not supported (only 2 and lower)"));
                    }
                }
                b'.' => return self.pop(), // STOP
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.take(1)?[0];
                    self.stack.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                0x8a => {
                    let n = self.take(1)?[0] as usize;
                    let v = long_from_le(self.take(n)?)?;
                    self.stack.push(Value::Int(v));
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let text =
                        std::str::from_utf8(self.take(n)?).map_err(|e| PickleError(format!("BINUNICODE: {e}")))?;
                    let text = text.to_owned();
                    self.stack.push(Value::Str(text));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global { module, name });
                }
                b'(' => self.marks.push(self.stack.len()),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let items = self.pop_n(n)?;
                    self.stack.push(Value::Tuple(items));
                }
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b'a' => {
                    let item = self.pop()?;
                    self.list_mut()?.push(item);
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.list_mut()?.extend(items);
                }
                b's' => {
                    let pair = self.pop_n(2)?;
                    self.dict_extend(pair)?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.dict_extend(items)?;
                }
                b'q' => {
                    let index = self.take(1)?[0] as usize;
                    self.put(index)?;
                }
                b'r' => {
                    let index = u32::from_le_bytes(self.array()?) as usize;
                    self.put(index)?;
                }
                b'h' => {
                    let index = self.take(1)?[0] as usize;
                    self.get(index)?;
                }
                b'j' => {
                    let index = u32::from_le_bytes(self.array()?) as usize;
                    self.get(index)?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(Value::Persistent(Box::new(pid)));
                }
                b'R' => {
                    let args = match self.pop()? {
                        Value::Tuple(args) => args,
                        other => return err(format!("REDUCE arguments are not a tuple: {other:?}")),
                    };
                    let func = self.pop()?;
                    self.stack.push(reduce(func, args)?);
                }
                b'b' => {
                    // BUILD sets attributes (for the state dict: `_metadata`,
                    // the modules' versions); nothing here needs them.
                    self.pop()?;
                    self.peek()?;
                }
                _ => return err(format!("unsupported pickle opcode 0x{op:02x} at byte {at}")),
            }
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.input.len());
        let Some(end) = end else { return err(format!("pickle truncated at byte {}", self.pos)) };
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    /// A newline-terminated ASCII argument (GLOBAL's module and name).
    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.input[self.pos..];
        let Some(len) = rest.iter().position(|&b| b == b'\n') else { return err("GLOBAL without a newline") };
        let text = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.pos += len + 1;
        Ok(text)
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return err("pickle pops across a MARK");
        }
        self.stack.pop().ok_or_else(|| PickleError("pickle stack underflow".into()))
    }

    fn peek(&self) -> Result<&Value, PickleError> {
        self.stack.last().ok_or_else(|| PickleError("pickle stack underflow".into()))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return err("pickle stack underflow");
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    /// Everything above the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self.marks.pop().ok_or_else(|| PickleError("pickle uses a MARK it never set".into()))?;
        Ok(self.stack.split_off(mark))
    }

    fn list_mut(&mut self) -> Result<&mut Vec<Value>, PickleError> {
        match self.stack.last_mut() {
            Some(Value::List(items)) => Ok(items),
            other => err(format!("APPEND(S) on a non-list: {other:?}")),
        }
    }

    fn dict_extend(&mut self, flat: Vec<Value>) -> Result<(), PickleError> {
        let Some(Value::Dict(entries)) = self.stack.last_mut() else {
            return err("SETITEM(S) on a non-dict");
        };
        let mut flat = flat.into_iter();
        while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
            entries.push((key, value));
        }
        Ok(())
    }

    fn put(&mut self, index: usize) -> Result<(), PickleError> {
        let value = self.peek()?.clone();
        if self.memo.len() <= index {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(value);
        Ok(())
    }

    fn get(&mut self, index: usize) -> Result<(), PickleError> {
        match self.memo.get(index) {
            Some(Some(value)) => {
                self.stack.push(value.clone());
                Ok(())
            }
            _ => err(format!("pickle memo {index} is empty")),
        }
    }
}

/// A little-endian two's-complement integer of up to 16 bytes (LONG1).
fn long_from_le(bytes: &[u8]) -> Result<i128, PickleError> {
    if bytes.len() > 16 {
        return err(format!("LONG1 of {} bytes is too large", bytes.len()));
    }
    let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut full = [fill; 16];
    full[..bytes.len()].copy_from_slice(bytes);
    Ok(i128::from_le_bytes(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep_calls(func: Value, args: Vec<Value>) -> Result<Value, PickleError> {
        Ok(Value::Call { func: Box::new(func), args })
    }

    fn read_all(bytes: &[u8]) -> Result<Value, PickleError> {
        let (value, used) = read(bytes, &mut keep_calls)?;
        assert_eq!(used, bytes.len());
        Ok(value)
    }

    #[test]
    fn small_ints_strings_and_tuples() {
        // pickle.dumps((1, 300, -2, 'hé', None, True), protocol=2)
        let bytes = b"\x80\x02(K\x01M,\x01J\xfe\xff\xff\xffX\x03\x00\x00\x00h\xc3\xa9q\x00N\x88tq\x01.";
        let expected = Value::Tuple(vec![
            Value::Int(1),
            Value::Int(300),
            Value::Int(-2),
            Value::Str("hé".into()),
            Value::None,
            Value::Bool(true),
        ]);
        assert_eq!(read_all(bytes), Ok(expected));
    }

    #[test]
    fn long1_is_signed_little_endian() {
        // pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): torch's legacy magic number.
        let bytes = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.";
        assert_eq!(read_all(bytes), Ok(Value::Int(0x1950a86a20f9469cfc6c)));
        assert_eq!(long_from_le(&[0xff]), Ok(-1));
        assert_eq!(long_from_le(&[]), Ok(0));
    }

    #[test]
    fn dicts_lists_memo_and_tuple_opcodes() {
        // {'a': [1, 2], 'b': (1,), 'c': (3, 4)} with the memo reused for 'a''s list.
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02eX\x01\x00\x00\x00bK\x01\x85X\x01\x00\x00\x00cK\x03K\x04\x86u.";
        let Ok(Value::Dict(entries)) = read_all(bytes) else { panic!("not a dict") };
        assert_eq!(entries[0], (Value::Str("a".into()), Value::List(vec![Value::Int(1), Value::Int(2)])));
        assert_eq!(entries[1].1, Value::Tuple(vec![Value::Int(1)]));
        assert_eq!(entries[2].1, Value::Tuple(vec![Value::Int(3), Value::Int(4)]));
        // ('ab', <BINGET 1: the same string>), as torch reuses storage keys and names.
        let bytes = b"\x80\x02(X\x02\x00\x00\x00abq\x01h\x01t.";
        let ab = Value::Str("ab".into());
        assert_eq!(read_all(bytes), Ok(Value::Tuple(vec![ab.clone(), ab])));
    }

    #[test]
    fn globals_reduce_and_persistent_ids_go_to_the_caller() {
        // c collections\nOrderedDict\n ) R, then a persistent id ('storage', 5) Q, in a tuple.
        let bytes = b"\x80\x02(ccollections\nOrderedDict\n)RX\x07\x00\x00\x00storageK\x05\x86Qt.";
        let mut calls = Vec::new();
        let mut reduce = |func: Value, args: Vec<Value>| {
            calls.push(func.clone());
            assert!(args.is_empty());
            Ok(Value::Dict(Vec::new()))
        };
        let (value, _) = read(bytes, &mut reduce).unwrap();
        assert_eq!(calls, vec![Value::Global { module: "collections".into(), name: "OrderedDict".into() }]);
        let pid = Value::Tuple(vec![Value::Str("storage".into()), Value::Int(5)]);
        assert_eq!(value, Value::Tuple(vec![Value::Dict(Vec::new()), Value::Persistent(Box::new(pid))]));
    }

    #[test]
    fn build_keeps_the_object_and_stop_ends_early() {
        // {} {'x': 1} BUILD STOP, followed by another pickle's bytes.
        let bytes = b"\x80\x02}}X\x01\x00\x00\x00xK\x01sb.\x80\x02N.";
        let (value, used) = read(bytes, &mut keep_calls).unwrap();
        assert_eq!(value, Value::Dict(Vec::new()));
        assert_eq!(used, bytes.len() - 4);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let e = read(b"\x80\x02G?\xf0\x00\x00\x00\x00\x00\x00.", &mut keep_calls).unwrap_err();
        assert!(e.0.contains("unsupported pickle opcode 0x47"), "{e}");
        assert!(read(b"\x80\x04N.", &mut keep_calls).unwrap_err().0.contains("protocol 4"));
        assert!(read(b"\x80\x02X\x09\x00\x00\x00ab", &mut keep_calls).unwrap_err().0.contains("truncated"));
        assert!(read(b"\x80\x02h\x03.", &mut keep_calls).unwrap_err().0.contains("memo 3"));
        assert!(read(b"\x80\x02t.", &mut keep_calls).unwrap_err().0.contains("MARK"));
    }
}
