#!/usr/bin/env bash
# Pictor scaled out on this machine, measured for docs/scaling.md's capacity
# model: PostgreSQL (durable: fsync on, as in production) and s3s-fs (an S3
# server over a folder, logging every request), 2 `pictor serve --role api`
# and 2 `pictor serve --role worker` processes (release build), a webhook
# receiver subscribed to image.processed, all on 127.0.0.1.
#
#   bench/cluster.sh
#
# (a) BATCH photos of 12-24 MP (bench/thumbnail.sh's batch, distinct bytes
#     each run), uploaded UPLOADERS at a time, alternating between the APIs:
#     uploads per second, images processed per minute;
# (b) per photo: PostgreSQL transactions and rows written (pg_stat_database,
#     the workers' idle polling over the same time subtracted, and shown),
#     S3 requests by method (s3s-fs's log), bytes in the bucket and in the
#     database;
# (c) SMALL 20 KB uploads through one API process, 8 at a time: uploads per
#     second with the workers busy on them;
# (d) the margin: this PostgreSQL's own capacity for small write
#     transactions (pgbench -N, 8 clients, 15 s, after the run) divided by
#     (b)'s transactions per photo: the photos per second one primary could
#     carry before it, not Pictor, is the limit;
# (e) overload at cluster scale: a third API process over the same
#     PostgreSQL and bucket (derivative cache off, as in bench/serve.sh),
#     once the workers are idle, serving uncached thumbnails of (a)'s photos
#     (bench/serve-distinct.lua: a new image and size each request) to wrk
#     with 4, then OVERLOAD_CONNECTIONS (200) connections: goodput, 503s,
#     p50/p99 and the process's peak RSS.
#
# Environment:
#   BATCH      photos for (a), at most 50 (default 40)
#   SMALL      uploads for (c) (default 200)
#   UPLOADERS  concurrent uploads (default 8)
#   PICTOR     pictor binary (default: target/release/pictor, built first)
#   VISION     1: the models are installed (MODELS must hold them); 0 (default): not
#   MODELS     a data folder holding models/ (default bench/work/vision)
#   OVERLOAD_CONNECTIONS, OVERLOAD_DURATION
#              wrk -c and seconds for (e)'s loaded run (default 200 and 30)
# Results: a markdown table on stdout, also in bench/work/cluster-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
batch=$work/batch

BATCH=${BATCH:-40}
SMALL=${SMALL:-200}
UPLOADERS=${UPLOADERS:-8}
VISION=${VISION:-0}
MODELS=${MODELS:-$work/vision}
OVERLOAD_CONNECTIONS=${OVERLOAD_CONNECTIONS:-200}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-30}

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*" >&2; }

[[ $BATCH =~ ^[1-9][0-9]*$ ]] && ((BATCH <= 50)) || die "BATCH is a count up to 50"
[[ $SMALL =~ ^[1-9][0-9]*$ ]] || die "SMALL is a count, e.g. SMALL=200"
[[ $UPLOADERS =~ ^[1-9][0-9]*$ ]] || die "UPLOADERS is a count, e.g. UPLOADERS=8"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-cluster-bench.XXXXXX")
chmod 755 "$tmp"
pids=()
pg_bin=

as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n $pg_bin ]] && as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- inputs (bench/lib.sh: the batch, and bench/workflow.sh's small photo) ------
ensure_workflow_photos

ensure_pictor

# --- PostgreSQL and s3s-fs -------------------------------------------------------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $pg_bin/initdb ]] || die "PostgreSQL is not installed (apt-get install postgresql)"
command -v s3s-fs >/dev/null || die "s3s-fs is not installed (cargo install s3s-fs --features binary)"
mkdir -p "$tmp/pg"
((EUID == 0)) && chown postgres: "$tmp/pg"
as_pg "$pg_bin/initdb" -D "$tmp/pg/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
pg_port=$(free_port)
as_pg "$pg_bin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -W start \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $tmp/pg -c max_connections=200" >/dev/null
for _ in $(seq 100); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done
psql_() { "$pg_bin/psql" -qtA -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
psql_ -d postgres -c 'CREATE DATABASE pictor' >/dev/null
s3_port=$(free_port)
mkdir -p "$tmp/s3/bench"
RUST_LOG=s3s::service=debug s3s-fs --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key bench-secret \
  "$tmp/s3" >"$tmp/s3.log" 2>&1 &
s3_pid=$!
pids+=($!)

# --- pictor: 2 API and 2 worker processes ------------------------------------------
for var in $(compgen -e | grep '^PICTOR_' || true); do unset "$var"; done
cat >"$tmp/pictor.toml" <<EOF
listen = "127.0.0.1:0"
database = "postgres://postgres@127.0.0.1:$pg_port/pictor"
store = "s3://bench?endpoint=http://127.0.0.1:$s3_port&region=us-east-1&allow_http=true&access_key_id=bench&secret_access_key=bench-secret"
[direct]
secret = "cluster-bench-shared-secret"
[log]
filter = "warn"
[fetch]
allow = ["127.0.0.1/32"]
[vision]
install_models = false
EOF
# start NAME ROLE [VAR=VALUE...]: a process on its own data folder (models linked
# in for workers), with those variables set; an API's URL in $base, its PID in $api_pid
start() {
  mkdir -p "$tmp/$1"
  if [[ $VISION == 1 && $2 == worker ]]; then
    cp -rl "$MODELS/models" "$tmp/$1/models" 2>/dev/null || cp -r "$MODELS/models" "$tmp/$1/models"
  fi
  if [[ $2 == api ]]; then
    mkfifo "$tmp/$1.out"
    env "${@:3}" "$PICTOR" serve --role api --config "$tmp/pictor.toml" --data-dir "$tmp/$1" \
      <"/dev/null" >"$tmp/$1.out" 2>"$tmp/$1.log" &
    api_pid=$!
    pids+=($!)
    exec {fd}<"$tmp/$1.out"
    read -r -t 60 line <&$fd || { cat "$tmp/$1.log" >&2; die "$1 did not start"; }
    cat <&$fd >/dev/null &
    pids+=($!)
    base=${line#listening on }
  else
    "$PICTOR" serve --role worker --config "$tmp/pictor.toml" --data-dir "$tmp/$1" </dev/null >/dev/null 2>"$tmp/$1.log" &
    pids+=($!)
  fi
}
start api1 api # migrates first
api1=$base
start api2 api
api2=$base
start worker1 worker
start worker2 worker
say "APIs at $api1 and $api2; 2 workers; PostgreSQL :$pg_port; s3s-fs :$s3_port"

# --- measure ---------------------------------------------------------------------
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "pictor:  $("$PICTOR" --version 2>/dev/null || echo "$PICTOR")"
echo
APIS="$api1 $api2" PSQL="$pg_bin/psql -qtA -h 127.0.0.1 -p $pg_port -U postgres -d pictor" S3_LOG=$tmp/s3.log \
  S3_ROOT=$tmp/s3/bench BATCH_DIR=$batch BATCH=$BATCH SMALL_JPEG=$small SMALL=$SMALL UPLOADERS=$UPLOADERS \
  VISION=$VISION RESULTS=$tmp/rows.md IDS=$tmp/ids python3 - <<'PY'
import http.server, json, os, re, struct, subprocess, sys, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

apis = os.environ["APIS"].split()
batch_size, small_count, uploaders = int(os.environ["BATCH"]), int(os.environ["SMALL"]), int(os.environ["UPLOADERS"])
arrived, ids_seen, cond = {}, {}, threading.Condition()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(204)
        self.end_headers()
        if body.get("type") == "image.processed":
            with cond:
                arrived.setdefault(body["data"]["id"], time.monotonic())
                ids_seen.setdefault(body["data"]["id"], set()).add(self.headers["webhook-id"])
                cond.notify_all()

    def log_message(self, *args):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=receiver.serve_forever, daemon=True).start()


def request(base, method, path, body=None, content_type="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"content-type": content_type})
    with urllib.request.urlopen(req, timeout=300) as response:
        return response.status, json.loads(response.read() or b"null")


hook = json.dumps({"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["image.processed"]}).encode()
assert request(apis[0], "POST", "/api/v1/webhooks", hook)[0] == 201


def distinct(jpeg, tag):
    comment = f"pictor cluster bench {tag} {time.time_ns()}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def upload(args):
    base, body = args
    status, answer = request(base, "POST", "/api/v1/img", body, "image/jpeg")
    assert status == 201, (status, answer)
    return answer["id"]


def wait_for(ids, limit=1800):
    deadline = time.monotonic() + limit
    with cond:
        while not all(i in arrived for i in ids):
            if not cond.wait(max(0, deadline - time.monotonic())):
                sys.exit(f"cluster.sh: {sum(i not in arrived for i in ids)} images not processed within {limit} s")
        return max(arrived[i] for i in ids)


def pg_stats():
    row = subprocess.run(
        os.environ["PSQL"].split() + ["-c", "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted, "
         "pg_database_size('pictor') FROM pg_stat_database WHERE datname = 'pictor'"],
        check=True, capture_output=True, text=True).stdout.strip().split("|")
    return [int(v) for v in row]


def largest_tables():
    out = subprocess.run(
        os.environ["PSQL"].split() + ["-c", "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
         "ORDER BY 2 DESC LIMIT 4"], check=True, capture_output=True, text=True).stdout.split()
    return ", ".join(f"{name} {int(size) / 1024 / 1024:.1f} MiB" for name, size in (r.split("|") for r in out))


def s3_requests():
    counts = {}
    for method in re.findall(r"req: Request \{ method: ([A-Z]+)", open(os.environ["S3_LOG"]).read()):
        counts[method] = counts.get(method, 0) + 1
    return counts


def bucket_bytes():
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.environ["S3_ROOT"]) for f in fs)


# The workers' idle cost: the queue is polled even when empty.
time.sleep(2)
idle0, idle_t0 = pg_stats(), time.monotonic()
time.sleep(10)
idle1 = pg_stats()
idle_rate = (idle1[0] - idle0[0]) / (time.monotonic() - idle_t0)

# (a) the batch, alternating between the APIs.
names = sorted(f for f in os.listdir(os.environ["BATCH_DIR"]) if f.endswith(".jpg"))[:batch_size]
bodies = [distinct(open(os.path.join(os.environ["BATCH_DIR"], f), "rb").read(), f) for f in names]
before_pg, before_s3, before_bytes = pg_stats(), s3_requests(), bucket_bytes()
t0 = time.monotonic()
with ThreadPoolExecutor(uploaders) as pool:
    images = list(pool.map(upload, [(apis[i % len(apis)], b) for i, b in enumerate(bodies)]))
uploaded = time.monotonic() - t0
open(os.environ["IDS"], "w").write("\n".join(images) + "\n")
done = wait_for(images) - t0
time.sleep(3)  # deliveries' own writes, duplicates if any
after_pg, after_s3, after_bytes = pg_stats(), s3_requests(), bucket_bytes()
elapsed = time.monotonic() - t0
n = len(images)
xacts = after_pg[0] - before_pg[0]
polling = idle_rate * elapsed
s3 = {m: after_s3.get(m, 0) - before_s3.get(m, 0) for m in sorted(set(after_s3) | set(before_s3))}
s3 = {m: c for m, c in s3.items() if c}
duplicates = sum(len(s) > 1 for s in ids_seen.values())
original_bytes = sum(len(b) for b in bodies)

# (c) small uploads through one API.
small = open(os.environ["SMALL_JPEG"], "rb").read()
t1 = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    small_ids = list(pool.map(upload, [(apis[0], distinct(small, f"small {i}")) for i in range(small_count)]))
small_rate = len(small_ids) / (time.monotonic() - t1)
wait_for(small_ids)

rows = [
    (f"(a) {n} photos of 12-24 MP ({original_bytes / n / 1e6:.1f} MB each), uploaded {uploaders} at a time over 2 APIs", f"{uploaded:.1f} s ({n / uploaded:.1f} uploads/s)"),
    ("(a) first upload -> last image.processed", f"{done:.1f} s"),
    ("(a) images processed per minute (2 workers)", f"{n / done * 60:.1f}"),
    ("(b) PostgreSQL transactions per photo (workers' idle polling subtracted)", f"{(xacts - polling) / n:.0f}"),
    ("(b) the workers' idle polling, transactions per second", f"{idle_rate:.1f}"),
    ("(b) PostgreSQL rows written per photo", f"{(after_pg[1] - before_pg[1]) / n:.0f}"),
    ("(b) PostgreSQL database growth per photo", f"{(after_pg[2] - before_pg[2]) / n / 1024:.0f} KiB"),
    ("(b) the largest tables afterwards", largest_tables()),
    ("(b) S3 requests per photo", f"{sum(s3.values()) / n:.1f} (" + ", ".join(f"{m} {c / n:.1f}" for m, c in s3.items()) + ")"),
    ("(b) bytes in the bucket per photo (original + derivatives)", f"{(after_bytes - before_bytes) / n / 1e6:.2f} MB (original {original_bytes / n / 1e6:.2f} MB)"),
    (f"(c) 20 KB uploads through one API process, 8 at a time", f"{small_rate:.1f} uploads/s"),
    ("images with more than one webhook-id", f"{duplicates}"),
]
vision = "with the models" if os.environ["VISION"] == "1" else "without the models (VISION=0)"
table = [f"2 API + 2 worker processes, PostgreSQL + s3s-fs, {vision}, {os.cpu_count()} CPUs", "",
         "| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
text = "\n".join(table) + "\n"
print(text, file=sys.stderr)
open(os.environ["RESULTS"], "w").write(text)
PY

# --- (e) overload at cluster scale ---------------------------------------------------
start api3 api PICTOR_CACHE__MAX_BYTES=0
api3=$base
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system CPU ticks
# overload LABEL CONNECTIONS SECONDS: one wrk run at api3; a table row.
overload() {
  local out=$tmp/wrk-$2.txt
  echo 5 >"/proc/$api_pid/clear_refs" 2>/dev/null || true # resets VmHWM
  local api_t0 s3_t0
  api_t0=$(ticks "$api_pid")
  s3_t0=$(ticks "$s3_pid")
  say "(e) wrk: $2 connections, $3 s"
  WRK_NAMES=$tmp/ids WRK_PATH='/api/v1/img/{name}.jpg?thumbnail={size}' WRK_SIZE=256 WRK_THREADS=2 WRK_STATUSES=1 \
    timeout $(($3 + 60)) wrk -t2 -c"$2" -d"$3s" --timeout 30s --latency -s "$here/serve-distinct.lua" "$api3" >"$out" ||
    { cat "$out" >&2; die "wrk failed"; }
  local hwm api_ticks s3_ticks
  hwm=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$api_pid/status")
  api_ticks=$(($(ticks "$api_pid") - api_t0))
  s3_ticks=$(($(ticks "$s3_pid") - s3_t0))
  LABEL=$1 HWM=$hwm HZ=$(getconf CLK_TCK) API_TICKS=$api_ticks S3_TICKS=$s3_ticks python3 - "$out" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
n, secs = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text).group(1, 2)
secs = float(secs) * {"ms": 0.001, "s": 1, "m": 60}[re.search(r"requests in [\d.]+(ms|s|m)", text).group(1)]
statuses = dict(kv.split("=") for kv in re.search(r"^statuses: (.*)$", text, re.M).group(1).split())
assert set(statuses) <= {"200", "503"}, f"answers other than 200 and 503: {statuses}"
def ms(q):
    v, unit = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)", text, re.M).groups()
    return float(v) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
good, refused = int(statuses.get("200", 0)) / secs, int(statuses.get("503", 0)) / secs
cpu = lambda var: int(os.environ[var]) / int(os.environ["HZ"]) * 1000 / max(1, int(statuses.get("200", 0)))
print(f"| {os.environ['LABEL']} | {good:.1f} | {refused:.1f} | {ms(50):.0f} | {ms(99):.0f} | {os.environ['HWM']} "
      f"| {cpu('API_TICKS'):.1f} | {cpu('S3_TICKS'):.1f} |")
PY
}
{
  echo
  echo "(e) uncached thumbnails from a third API process over PostgreSQL + S3 (cache off), (a)'s photos"
  echo
  echo "| wrk | goodput (200/s) | 503/s | p50 ms | p99 ms | peak RSS MiB | API CPU ms per 200 | s3s-fs CPU ms per 200 |"
  echo "|---|---|---|---|---|---|---|---|"
  overload "-t2 -c4 -d20s" 4 20
  overload "-t2 -c$OVERLOAD_CONNECTIONS -d${OVERLOAD_DURATION}s" "$OVERLOAD_CONNECTIONS" "$OVERLOAD_DURATION"
} >"$tmp/overload.md"
cat "$tmp/overload.md" >&2

# --- (d) the database's margin ------------------------------------------------------
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done # pictor and s3s-fs off the CPU
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()
"$pg_bin/pgbench" -q -i -s 10 -h 127.0.0.1 -p "$pg_port" -U postgres pictor >/dev/null 2>&1
tps=$("$pg_bin/pgbench" -N -c 8 -j 2 -T 15 -h 127.0.0.1 -p "$pg_port" -U postgres pictor 2>/dev/null |
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1)
per_photo=$(sed -n 's/^| (b) PostgreSQL transactions per photo[^|]*| \([0-9]*\) |$/\1/p' "$tmp/rows.md")
{
  cat "$tmp/rows.md"
  echo "| (d) this PostgreSQL, pgbench -N (8 clients, 15 s), transactions/s | ${tps%.*} |"
  echo "| (d) photos/s one such primary carries at (b)'s rate | $(python3 -c "print(f'{$tps / $per_photo:.0f}')") |"
  cat "$tmp/overload.md"
} | tee "$work/cluster-results.md"

