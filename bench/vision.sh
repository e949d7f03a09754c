#!/usr/bin/env bash
# The vision models on this machine: median time per image of
# `pictor vision TASK --repeat RUNS` (release build, one thread, decode
# excluded, preprocessing and post-processing included), against onnxruntime
# running the same ONNX files (model call only) with 1 thread and with all
# cores. Labels have no ONNX file (PyTorch weights), so no peer.
#
#   bench/vision.sh
#
# Environment:
#   RUNS     runs per image (default 20)
#   DATA     a data folder with models/ (default bench/work/vision; installed
#            with `pictor models install` when missing)
#   PHOTOS   the scikit-image photos (default bench/work/vision/photos, fetched
#            by bench/photos.sh)
# Results: a markdown table on stdout, also in bench/work/vision-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
RUNS=${RUNS:-20}
DATA=${DATA:-$here/work/vision}
PHOTOS=${PHOTOS:-$DATA/photos}

cd "$root"
cargo build --release --quiet -p pictor
pictor=$root/target/release/pictor
"$pictor" models install --data-dir "$DATA"
[ -f "$PHOTOS/chelsea.png" ] || bash "$here/photos.sh" "$PHOTOS"
python3 -c "import numpy, onnxruntime" 2>/dev/null || python3 -m pip install --quiet numpy onnxruntime

median() { # TASK FILES... -> milliseconds
  local task=$1; shift
  "$pictor" vision "$task" --data-dir "$DATA" --repeat "$RUNS" "$@" 2>&1 >/dev/null |
    sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'
}
labels=$(median labels "$PHOTOS/chelsea.png" "$PHOTOS/coffee.png" "$PHOTOS/astronaut.png")
moderate=$(median moderate "$PHOTOS/chelsea.png" "$PHOTOS/coffee.png" "$PHOTOS/astronaut.png")
faces=$(median faces "$PHOTOS/astronaut.png")
text=$(median text "$PHOTOS/page.png")
ort1=$(python3 "$here/vision_ort.py" "$DATA" "$RUNS" 1)
ortn=$(python3 "$here/vision_ort.py" "$DATA" "$RUNS" "$(nproc)")
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

{
  echo "| model | pictor (tract, 1 thread) | onnxruntime 1 thread | onnxruntime $(nproc) threads |"
  echo "|---|---|---|---|"
  echo "| labels: EfficientNet-lite0, 224 px | $labels ms | — | — |"
  echo "| moderation: open-nsfw, 224 px | $moderate ms | $(get "$ort1" moderate) ms | $(get "$ortn" moderate) ms |"
  echo "| faces: CenterFace, astronaut 512 px | $faces ms | $(get "$ort1" faces) ms | $(get "$ortn" faces) ms |"
  echo "| text: PP-OCRv4 det + rec, page.png | $text ms | det only: $(get "$ort1" text-detect) ms | det only: $(get "$ortn" text-detect) ms |"
} | tee "$here/work/vision-results.md"
