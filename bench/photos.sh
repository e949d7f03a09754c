#!/usr/bin/env bash
# Fetches the reference photos the vision tests and benchmarks use from the
# scikit-image wheel on PyPI (pinned version, each photo checked by sha256):
#   bench/photos.sh DEST
set -euo pipefail
dest=${1:?usage: bench/photos.sh DEST}
mkdir -p "$dest"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: scikit-image==0.24.0 --dest "$wheels"
python3 - "$wheels" "$dest" <<'PY'
import hashlib, pathlib, sys, zipfile
wheels, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
pinned = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "page.png": "341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3",
    "text.png": "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1",
}
wheel = next(wheels.glob("scikit_image-0.24.0-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name, sha in pinned.items():
        data = z.read(f"skimage/data/{name}")
        if hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"{name} in {wheel.name} is not the pinned photo")
        (dest / name).write_bytes(data)
PY
