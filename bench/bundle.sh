#!/usr/bin/env bash
# A download bundle of N photos (default 1,000 of about 5 MB: 5 GB) against
# `zip -0` of the same files on the same disk.
#
# The photos are PNGs of noise (they do not compress, as camera photos do
# not), imported from a folder with `pictor import` and labelled `bench`
# in the database (the workflow is off: this measures the zip, not the
# models). Then one bundle of them all: its time from the request to
# `ready`, and the server's peak RSS while it streams (VmHWM, reset just
# before the request); then `zip -0` of the stored files under
# `/usr/bin/time`. Results: bench/work/bundle/results.txt.
#
#   PICTOR=target/release/pictor N=1000 bash bench/bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PICTOR=${PICTOR:-target/release/pictor}
N=${N:-1000}
WORK=$PWD/bench/work/bundle
DATA=$WORK/data
PASSWORD="bench's long password"
export PICTOR_VISION__INSTALL_MODELS=false

rm -rf "$WORK" && mkdir -p "$WORK/photos" "$DATA"
echo "making $N noise PNGs of about 5 MB"
python3 - "$WORK/photos" "$N" <<'PY'
import os, struct, sys, zlib
folder, n = sys.argv[1], int(sys.argv[2])
w = h = 1290
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(n):
    rows = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")
    with open(os.path.join(folder, f"photo-{i:04}.png"), "wb") as f:
        f.write(png)
PY
cat >"$WORK/pictor.toml" <<TOML
[workflows.image-processing]
on = []
[import]
local_roots = ["$WORK/photos"]
TOML

serve() {
  "$PICTOR" serve --config "$WORK/pictor.toml" --listen 127.0.0.1:0 --data-dir "$DATA" >"$WORK/serve.out" 2>"$WORK/serve.log" &
  SERVER=$!
  for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
}
trap '[ -z "${SERVER:-}" ] || kill "$SERVER"' EXIT
echo "$PASSWORD" | "$PICTOR" admin create-user --name bench --data-dir "$DATA"
KEY=$("$PICTOR" admin create-key --owner bench --scopes "upload read" --data-dir "$DATA" 2>/dev/null)
serve
"$PICTOR" import "$WORK/photos" --server "$URL" --key "$KEY"
sqlite3 "$DATA/pictor.db" "PRAGMA busy_timeout = 10000;
  INSERT INTO image_labels (image_id, label, confidence, direct, owner) SELECT id, 'bench', 0.9, 1, owner FROM images;"  >/dev/null

echo 5 >"/proc/$SERVER/clear_refs"
start=$(date +%s.%N)
id=$(curl -sf -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d '{"labels": ["bench"], "notify": {"webhook": true}}' "$URL/api/v1/bundles" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  bundle=$(curl -sf -H "Authorization: Bearer $KEY" "$URL/api/v1/bundles/$id")
  state=$(echo "$bundle" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  [ "$state" = ready ] && break
  [ "$state" = failed ] && { echo "the bundle failed: $bundle"; exit 1; }
  sleep 0.2
done
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
bytes=$(echo "$bundle" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
files=$(find "$DATA/store/blobs" -type f | sort)
/usr/bin/time -f "%e %M" -o "$WORK/zip.time" zip -0 -q "$WORK/zip0.zip" $files
read -r zip_secs zip_kib <"$WORK/zip.time"
pictor_secs=$(echo "$end - $start" | bc)
{
  echo "photos: $N, zip: $((bytes / 1000000)) MB"
  printf 'pictor bundle: %.1f s, server peak RSS %d MB\n' "$pictor_secs" "$((peak / 1024))"
  printf 'zip -0:        %.1f s, peak RSS %d MB\n' "$zip_secs" "$((zip_kib / 1024))"
  printf 'ratio (pictor / zip -0): %.2f\n' "$(echo "$pictor_secs / $zip_secs" | bc -l)"
} | tee "$WORK/results.txt"
rm -rf "$WORK/photos" "$WORK/zip0.zip" "$DATA"
