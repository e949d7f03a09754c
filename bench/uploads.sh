#!/usr/bin/env bash
# Memory over many uploads: COUNT distinct 20 KB JPEGs uploaded through one
# `pictor serve` (release build, SQLite + local files, default settings),
# UPLOADERS at a time; the process's resident memory (VmRSS) after each
# tenth of them, and its peak (VmHWM). Flat is the goal: nothing a request
# leaves behind may accumulate.
#
#   bench/uploads.sh
#
# Environment:
#   COUNT      uploads (default 10000)
#   UPLOADERS  concurrent uploads (default 8)
#   ROLE       api (default: the uploads only, their workflows wait in the
#              queue) or all (the workers process them meanwhile)
#   CACHE_MEMORY_MIB  the derivative cache's memory tier (cache.memory_bytes;
#              default 64): it fills up to this with the workflow's thumbnails
#   PICTOR     pictor binary (default: target/release/pictor, built first)
# Results: a markdown table on stdout, also in bench/work/uploads-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
COUNT=${COUNT:-10000}
UPLOADERS=${UPLOADERS:-8}
ROLE=${ROLE:-api}
CACHE_MEMORY_MIB=${CACHE_MEMORY_MIB:-64}

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
die() { echo "uploads.sh: $*" >&2; exit 1; }
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || die "COUNT is a count, e.g. COUNT=10000"
[[ $UPLOADERS =~ ^[1-9][0-9]*$ ]] || die "UPLOADERS is a count, e.g. UPLOADERS=8"
[[ $ROLE == api || $ROLE == all ]] || die "ROLE is api or all"
[[ $CACHE_MEMORY_MIB =~ ^[0-9]+$ ]] || die "CACHE_MEMORY_MIB is a count of MiB, e.g. 64"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-uploads-bench.XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The 20 KB photo bench/workflow.sh uses (bench/lib.sh).
ensure_workflow_photos
ensure_pictor

for var in $(compgen -e | grep '^PICTOR_' || true); do unset "$var"; done
mkfifo "$tmp/stdout"
PICTOR_VISION__INSTALL_MODELS=false PICTOR_CACHE__MEMORY_BYTES=$((CACHE_MEMORY_MIB << 20)) "$PICTOR" serve --role "$ROLE" --listen 127.0.0.1:0 --data-dir "$tmp/data" \
  </dev/null >"$tmp/stdout" 2>"$tmp/server.log" &
server=$!
exec 3<"$tmp/stdout"
read -r -t 60 line <&3 || { cat "$tmp/server.log" >&2; die "pictor serve did not start"; }
cat <&3 >/dev/null &

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo
CACHE_MEMORY_MIB=$CACHE_MEMORY_MIB BASE=${line#listening on } PID=$server SMALL=$small COUNT=$COUNT UPLOADERS=$UPLOADERS ROLE=$ROLE \
  RESULTS=$work/uploads-results.md python3 - <<'PY'
import os, struct, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

base, pid = os.environ["BASE"], os.environ["PID"]
count, uploaders = int(os.environ["COUNT"]), int(os.environ["UPLOADERS"])
photo = open(os.environ["SMALL"], "rb").read()


def status_kib(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])


def upload(i):
    comment = f"pictor uploads bench {i} {time.time_ns()}".encode()
    body = photo[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + photo[2:]
    req = urllib.request.Request(base + "/api/v1/img", data=body, method="POST", headers={"content-type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=120) as response:
        assert response.status == 201, response.status


samples = [(0, status_kib("VmRSS"), 0.0)]
done, lock, t0 = [0], threading.Lock(), time.monotonic()
step = max(1, count // 10)


def one(i):
    upload(i)
    with lock:
        done[0] += 1
        if done[0] % step == 0:
            samples.append((done[0], status_kib("VmRSS"), time.monotonic() - t0))


with ThreadPoolExecutor(uploaders) as pool:
    list(pool.map(one, range(count)))
elapsed = time.monotonic() - t0
peak = status_kib("VmHWM")
rows = [f"| {n} | {rss / 1024:.0f} MiB | {t:.0f} s |" for n, rss, t in samples]
first = next(rss for n, rss, _ in samples if n >= step)
last = samples[-1][1]
text = "\n".join([
    f"{count} uploads of 20 KB through one `pictor serve --role {os.environ['ROLE']}` (cache.memory_bytes "
    f"{os.environ['CACHE_MEMORY_MIB']} MiB), {uploaders} at a time, "
    f"{count / elapsed:.0f} uploads/s; {os.cpu_count()} CPUs", "",
    "| uploads | VmRSS | elapsed |", "|---|---|---|", *rows, "",
    f"RSS after {samples[-1][0]} against after {step}: {last / first:.2f}x; peak (VmHWM) {peak / 1024:.0f} MiB", ""])
print(text)
open(os.environ["RESULTS"], "w").write(text)
PY
