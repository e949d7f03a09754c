#!/usr/bin/env python3
"""Independent float64 reference for Pictor's EfficientNet-lite0 labels.

Usage: labels_reference.py WEIGHTS.pth INPUT.bin

INPUT.bin is the preprocessed image as the Rust test wrote it: raw
little-endian f32, NCHW 1x3x224x224. Prints the 1000 softmax probabilities,
one per line, to stdout.

Deliberately shares no code with the Rust side: the legacy torch file is read
with Python's own pickle module (a custom Unpickler that resolves the torch
globals and persistent ids to plain objects), and the network is written
directly in numpy with float64, unfolded BatchNorm and explicit TF "SAME"
padding. Needs only numpy.
"""

import collections
import pickle
import struct
import sys

import numpy as np

BN_EPS = 1e-3
# (repeats, kernel, stride, expand, in, out) per stage of EfficientNet-lite0.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


# Element type of each torch storage class in the file's raw data section.
STORAGE_DTYPES = {"FloatStorage": "<f4", "LongStorage": "<i8"}


class Storage:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel, self.data = key, dtype, numel, None


class TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        itemsize = 8  # float64 copy
        base = self.storage.data
        return np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride]).copy()


def rebuild_tensor_v2(storage, offset, size, stride, *_rest):
    return TensorRef(storage, offset, size, stride)


class TorchUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor_v2
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', dtype, key, location, numel[, view_metadata])
        kind, dtype, key, _location, numel = pid[:5]
        assert kind == "storage" and (len(pid) == 5 or pid[5] is None), pid
        return self.storages.setdefault(key, Storage(key, dtype, numel))


def load_state_dict(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, sys info
            pickle.load(f)
        storages = {}
        state = TorchUnpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            storage = storages[key]
            (numel,) = struct.unpack("<q", f.read(8))
            assert numel == storage.numel, (key, numel, storage.numel)
            dtype = np.dtype(storage.dtype)
            raw = np.frombuffer(f.read(dtype.itemsize * numel), dtype=dtype)
            storage.data = raw.astype(np.float64)
        assert f.read(1) == b"", "trailing bytes after the last storage"
    return {name: t.array() for name, t in state.items()}


def same_pad(x, k, s):
    """TF SAME padding for an NCHW array: the odd extra pixel goes bottom/right."""
    _, _, h, w = x.shape
    def amounts(n):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    return np.pad(x, ((0, 0), (0, 0), amounts(h), amounts(w)))


def conv(x, w, stride, groups=1):
    """Plain NCHW convolution (no padding) by summing kernel taps."""
    k = w.shape[2]
    x = same_pad(x, k, stride)
    n, c, h, wd = x.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    o = w.shape[0]
    out = np.zeros((n, o, oh, ow))
    if groups == 1:
        for i in range(k):
            for j in range(k):
                patch = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
                out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    else:  # depthwise: groups == channels, w is (C, 1, k, k)
        for i in range(k):
            for j in range(k):
                patch = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
                out += patch * w[None, :, 0, i, j, None, None]
    return out


def bn(x, sd, prefix):
    g, b = sd[prefix + ".weight"], sd[prefix + ".bias"]
    m, v = sd[prefix + ".running_mean"], sd[prefix + ".running_var"]
    scale = g / np.sqrt(v + BN_EPS)
    return x * scale[None, :, None, None] + (b - m * scale)[None, :, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(sd, x):
    x = relu6(bn(conv(x, sd["_conv_stem.weight"], 2), sd, "_bn0"))
    index = 0
    for repeats, k, stride, expand, cin, cout in STAGES:
        for r in range(repeats):
            p = f"_blocks.{index}."
            s = stride if r == 0 else 1
            c_in = cin if r == 0 else cout
            y = x
            if expand != 1:
                y = relu6(bn(conv(y, sd[p + "_expand_conv.weight"], 1), sd, p + "_bn0"))
            y = relu6(bn(conv(y, sd[p + "_depthwise_conv.weight"], s, groups=y.shape[1]), sd, p + "_bn1"))
            y = bn(conv(y, sd[p + "_project_conv.weight"], 1), sd, p + "_bn2")
            if s == 1 and c_in == cout:
                y = y + x
            x = y
            index += 1
    x = relu6(bn(conv(x, sd["_conv_head.weight"], 1), sd, "_bn1"))
    x = x.mean(axis=(2, 3))
    logits = x @ sd["_fc.weight"].T + sd["_fc.bias"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True))[0]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sd = load_state_dict(sys.argv[1])
    x = np.fromfile(sys.argv[2], dtype="<f4").astype(np.float64).reshape(1, 3, 224, 224)
    for p in forward(sd, x):
        print(repr(float(p)))


if __name__ == "__main__":
    main()
