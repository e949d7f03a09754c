//! Reads the legacy (pre-1.6) torch `.pth` format into plain f32 tensors.
//!
//! Layout: five pickles in a row (magic number, protocol version, system
//! info, the state dict, the list of storage keys) and then, for each key in
//! that list, an 8-byte little-endian element count and the raw
//! little-endian elements. Tensors in the state dict are
//! `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` with
//! the storage given as a persistent id `('storage', type, key, location,
//! numel[, view])`. The strides are honoured, because the conv and
//! classifier weights of this file are views with TensorFlow's layout.

use std::collections::HashMap;

use super::pickle::{self, PickleError, Value};

/// The legacy format's first pickle.
const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
const PROTOCOL_VERSION: i128 = 1001;

/// A dense, row-major f32 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A tensor as the state dict describes it, before the storages are read.
struct TensorView {
    storage: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// One storage's element type and length from its persistent id.
struct StorageInfo {
    element: Element,
    numel: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Element {
    F32,
    /// `LongStorage` holds only BatchNorm's `num_batches_tracked`; skipped.
    I64,
}

impl Element {
    fn from_type_name(name: &str) -> Result<Self, PickleError> {
        match name {
            "FloatStorage" => Ok(Self::F32),
            "LongStorage" => Ok(Self::I64),
            other => Err(PickleError(format!("storage type torch.{other} is not supported"))),
        }
    }

    fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::I64 => 8,
        }
    }
}

/// Reads every float tensor of a legacy torch file, by state-dict name.
pub fn read_state_dict(bytes: &[u8]) -> Result<HashMap<String, Tensor>, PickleError> {
    let mut rest = bytes;
    let mut next = |reduce: &mut dyn FnMut(Value, Vec<Value>) -> Result<Value, PickleError>| {
        let (value, used) = pickle::read(rest, reduce)?;
        rest = &rest[used..];
        Ok::<_, PickleError>(value)
    };
    if next(&mut refuse_calls)? != Value::Int(MAGIC) {
        return Err(PickleError("not a legacy torch file (magic number differs)".into()));
    }
    if next(&mut refuse_calls)? != Value::Int(PROTOCOL_VERSION) {
        return Err(PickleError("unsupported legacy torch protocol version".into()));
    }
    next(&mut refuse_calls)?; // sys info: endianness and C type sizes
    let state = next(&mut torch_calls)?;
    let keys = next(&mut refuse_calls)?;

    let (views, storages) = parse_state_dict(state)?;
    let data = read_storages(rest, &keys, &storages)?;
    views.into_iter().map(|(name, view)| Ok((name, materialise(&view, &data)?))).collect()
}

/// Pickles other than the state dict call nothing.
fn refuse_calls(func: Value, _args: Vec<Value>) -> Result<Value, PickleError> {
    Err(PickleError(format!("unexpected call of {func:?}")))
}

/// The calls a state dict may make: `OrderedDict()` and
/// `_rebuild_tensor_v2(...)` (kept for [`tensor_view`]). Anything else is
/// refused, like a restricted `Unpickler.find_class`.
fn torch_calls(func: Value, args: Vec<Value>) -> Result<Value, PickleError> {
    let Value::Global { module, name } = &func else {
        return Err(PickleError(format!("call of a non-global {func:?}")));
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") if args.is_empty() => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Value::Call { func: Box::new(func), args }),
        _ => Err(PickleError(format!("call of {module}.{name} is not allowed in a state dict"))),
    }
}

type Parsed = (Vec<(String, TensorView)>, HashMap<String, StorageInfo>);

/// Splits the state dict into float tensor views and the storages' types.
fn parse_state_dict(state: Value) -> Result<Parsed, PickleError> {
    let Value::Dict(entries) = state else { return Err(PickleError("the state dict is not a dict".into())) };
    let mut views = Vec::new();
    let mut storages = HashMap::new();
    for (key, value) in entries {
        let Value::Str(name) = key else { return Err(PickleError(format!("state dict key {key:?}"))) };
        let (view, info) = tensor_view(value).map_err(|e| PickleError(format!("{name}: {}", e.0)))?;
        let element = info.element;
        storages.insert(view.storage.clone(), info);
        if element == Element::F32 {
            views.push((name, view));
        }
    }
    Ok((views, storages))
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`.
fn tensor_view(value: Value) -> Result<(TensorView, StorageInfo), PickleError> {
    let Value::Call { args, .. } = value else { return Err(PickleError(format!("not a tensor: {value:?}"))) };
    let [Value::Persistent(pid), offset, Value::Tuple(size), Value::Tuple(stride), ..] = args.as_slice() else {
        return Err(PickleError(format!("unexpected tensor arguments {args:?}")));
    };
    let (storage, info) = storage_id(pid)?;
    let view = TensorView { storage, offset: usize_of(offset)?, shape: usizes(size)?, stride: usizes(stride)? };
    Ok((view, info))
}

/// `('storage', torch.FloatStorage, key, location, numel[, None])`.
fn storage_id(pid: &Value) -> Result<(String, StorageInfo), PickleError> {
    let Value::Tuple(fields) = pid else { return Err(PickleError(format!("persistent id {pid:?}"))) };
    match fields.as_slice() {
        [Value::Str(kind), Value::Global { module, name }, Value::Str(key), _location, numel, rest @ ..]
            if kind == "storage" && module == "torch" && matches!(rest, [] | [Value::None]) =>
        {
            let info = StorageInfo { element: Element::from_type_name(name)?, numel: usize_of(numel)? };
            Ok((key.clone(), info))
        }
        _ => Err(PickleError(format!("unexpected persistent id {pid:?}"))),
    }
}

fn usize_of(value: &Value) -> Result<usize, PickleError> {
    match value {
        Value::Int(v) => usize::try_from(*v).map_err(|_| PickleError(format!("{v} is not a size"))),
        other => Err(PickleError(format!("expected an int, got {other:?}"))),
    }
}

fn usizes(values: &[Value]) -> Result<Vec<usize>, PickleError> {
    values.iter().map(usize_of).collect()
}

/// Reads the raw storages that follow the pickles, in the order of `keys`.
/// Returns the float ones by key.
fn read_storages(
    mut rest: &[u8],
    keys: &Value,
    storages: &HashMap<String, StorageInfo>,
) -> Result<HashMap<String, Vec<f32>>, PickleError> {
    let Value::List(keys) = keys else { return Err(PickleError("the storage key list is not a list".into())) };
    let mut data = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else { return Err(PickleError(format!("storage key {key:?}"))) };
        let info = storages.get(key).ok_or_else(|| PickleError(format!("storage {key} is not used")))?;
        let (count, tail) = rest.split_at_checked(8).ok_or_else(|| PickleError(format!("storage {key} truncated")))?;
        let count = u64::from_le_bytes(count.try_into().expect("8 bytes"));
        if count != info.numel as u64 {
            return Err(PickleError(format!("storage {key} has {count} elements, expected {}", info.numel)));
        }
        let bytes = info.numel.saturating_mul(info.element.size());
        let (raw, tail) =
            tail.split_at_checked(bytes).ok_or_else(|| PickleError(format!("storage {key} truncated")))?;
        if info.element == Element::F32 {
            data.insert(key.clone(), raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect());
        }
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(PickleError(format!("{} unexpected bytes after the last storage", rest.len())));
    }
    Ok(data)
}

/// Copies a strided view into a dense row-major tensor.
fn materialise(view: &TensorView, storages: &HashMap<String, Vec<f32>>) -> Result<Tensor, PickleError> {
    let storage =
        storages.get(&view.storage).ok_or_else(|| PickleError(format!("storage {} is missing", view.storage)))?;
    if view.shape.len() != view.stride.len() {
        return Err(PickleError("tensor size and stride differ in rank".into()));
    }
    let count: usize = view.shape.iter().product();
    let mut data = Vec::with_capacity(count);
    for index in 0..count {
        let at = view.offset + storage_index(index, &view.shape, &view.stride);
        data.push(*storage.get(at).ok_or_else(|| PickleError(format!("tensor reads past storage {}", view.storage)))?);
    }
    Ok(Tensor { shape: view.shape.clone(), data })
}

/// The storage position of the `index`-th element in row-major order.
fn storage_index(mut index: usize, shape: &[usize], stride: &[usize]) -> usize {
    let mut at = 0;
    for (&size, &step) in shape.iter().zip(stride).rev() {
        at += (index % size) * step;
        index /= size;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_views_are_read_in_row_major_order() {
        // A 2x3 tensor stored transposed (stride (1, 2)) at offset 1.
        let storage = HashMap::from([("k".to_string(), vec![9.0, 0.0, 3.0, 1.0, 4.0, 2.0, 5.0])]);
        let view = TensorView { storage: "k".into(), offset: 1, shape: vec![2, 3], stride: vec![1, 2] };
        let tensor = materialise(&view, &storage).unwrap();
        assert_eq!(tensor.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let past = TensorView { offset: 2, ..view };
        assert!(materialise(&past, &storage).is_err());
    }

    #[test]
    fn a_whole_legacy_file() {
        // The five pickles of a file holding {'w': tensor([[1, 2], [3, 4]]).t()}, then its storage.
        let mut file = Vec::new();
        file.extend_from_slice(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.");
        file.extend_from_slice(b"\x80\x02M\xe9\x03.");
        file.extend_from_slice(b"\x80\x02}.");
        file.extend_from_slice(
            b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n\
            ((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x007X\x03\x00\x00\x00cpuK\x04NtQ\
            K\x00K\x02K\x02\x86K\x01K\x02\x86\x89ccollections\nOrderedDict\n)RtRu.",
        );
        file.extend_from_slice(b"\x80\x02]X\x01\x00\x00\x007a.");
        file.extend_from_slice(&4u64.to_le_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            file.extend_from_slice(&v.to_le_bytes());
        }
        let state = read_state_dict(&file).unwrap();
        assert_eq!(state["w"], Tensor { shape: vec![2, 2], data: vec![1.0, 3.0, 2.0, 4.0] });

        file.push(0);
        assert!(read_state_dict(&file).unwrap_err().0.contains("after the last storage"));
        assert!(read_state_dict(b"\x80\x02K\x01.").unwrap_err().0.contains("magic"));
    }
}
