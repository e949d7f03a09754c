#!/usr/bin/env bash
# The default upload workflow, end to end, on this machine: `pictor serve`
# (release build, SQLite + local files, default settings) with a webhook
# receiver subscribed to image.processed, over 127.0.0.1.
#
#   bench/workflow.sh
#
# (a) latency: a 12 MP JPEG (4000x3000, made once from bench/thumbnail.sh's
#     20 MP photo) uploaded N times, one at a time, each time with distinct
#     bytes (a different JPEG comment); the time from the start of the
#     upload to the arrival of its image.processed webhook. Median and p90.
# (b) throughput: the BATCH photos of 12-24 MP that bench/thumbnail.sh builds
#     in bench/work/batch (distinct bytes again), uploaded at once over
#     UPLOADERS connections; images processed per minute, from the first
#     upload to the last image.processed webhook.
# The default workflow: metadata, type check, store, then labels, moderation,
# faces, text and thumbnails (4 sizes x webp, jpeg) in parallel, then notify.
# With VISION=0 the models are absent and the four vision branches skip.
#
# Environment:
#   N          uploads for (a) (default 10)
#   BATCH      photos for (b), at most 50 (default 40)
#   UPLOADERS  concurrent uploads for (b) (default 8)
#   PICTOR     pictor binary (default: target/release/pictor, built first)
#   VISION     1 (default): the models are installed; 0: they are not
#   MODELS     a data folder holding models/ (default bench/work/vision,
#              installed there by `pictor models install` when missing)
#   TEXT_GLANCE 1 (default): vision.text_glance as shipped; 0: text is
#              always detected at full size (as before the glance)
# Results: a markdown table on stdout, also in bench/work/workflow-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
batch=$work/batch

N=${N:-10}
BATCH=${BATCH:-40}
UPLOADERS=${UPLOADERS:-8}
VISION=${VISION:-1}
TEXT_GLANCE=${TEXT_GLANCE:-1}
MODELS=${MODELS:-$work/vision}

# shellcheck source=bench/lib.sh
source "$here/lib.sh"
die() { echo "workflow.sh: $*" >&2; exit 1; }
say() { echo "workflow.sh: $*" >&2; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N is a count, e.g. N=10"
[[ $BATCH =~ ^[1-9][0-9]*$ ]] || die "BATCH is a count up to 50"
((BATCH <= 50)) || die "BATCH is a count up to 50"
[[ $UPLOADERS =~ ^[1-9][0-9]*$ ]] || die "UPLOADERS is a count, e.g. UPLOADERS=8"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-workflow-bench.XXXXXX")
server=

cleanup() {
  if [[ -n $server ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- inputs ---------------------------------------------------------------------
# bench/thumbnail.sh's batch (its own recipe), the 12 MP photo cut from its
# 20 MP one, and (c)'s small upload: the same photo, 320 px wide (bench/lib.sh).
ensure_workflow_photos

# --- pictor ---------------------------------------------------------------------
ensure_pictor

# The models, hard-linked into the fresh data folder (VISION=1), or none.
mkdir -p "$tmp/data"
if [[ $VISION == 1 ]]; then
  "$PICTOR" models verify --data-dir "$MODELS" >/dev/null 2>&1 || "$PICTOR" models install --data-dir "$MODELS"
  cp -rl "$MODELS/models" "$tmp/data/models" 2>/dev/null || cp -r "$MODELS/models" "$tmp/data/models"
fi

# Defaults, but loopback webhooks allowed; nothing else from the caller's
# PICTOR_* environment.
cat >"$tmp/pictor.toml" <<EOF
listen = "127.0.0.1:0"
data_dir = "$tmp/data"
[log]
filter = "warn"
[fetch]
allow = ["127.0.0.1/32"]
[vision]
install_models = false
text_glance = $([[ $TEXT_GLANCE == 0 ]] && echo false || echo true)
EOF
for var in $(compgen -e | grep '^PICTOR_' || true); do unset "$var"; done
mkfifo "$tmp/stdout"
"$PICTOR" serve --config "$tmp/pictor.toml" <"/dev/null" >"$tmp/stdout" 2>"$tmp/server.log" &
server=$!
exec 3<"$tmp/stdout"
read -r -t 60 line <&3 || { cat "$tmp/server.log" >&2; die "pictor serve did not start"; }
base=${line#listening on }
[[ $base == http://127.0.0.1:* ]] || die "unexpected first line: $line"
# Keep draining its stdout.
cat <&3 >/dev/null &
say "pictor serve at $base (pid $server)"

# --- measure --------------------------------------------------------------------
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "pictor:  $("$PICTOR" --version 2>/dev/null || echo "$PICTOR")"
echo
VISION=$VISION BASE=$base PHOTO=$photo SMALL=$small BATCH_DIR=$batch N=$N BATCH=$BATCH UPLOADERS=$UPLOADERS RESULTS=$work/workflow-results.md \
  python3 - <<'PY'
import http.server, json, math, os, statistics, struct, sys, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

base = os.environ["BASE"]
n, batch_size, uploaders = int(os.environ["N"]), int(os.environ["BATCH"]), int(os.environ["UPLOADERS"])
arrived = {}  # image id -> monotonic time of its first image.processed webhook
ids_seen = {}  # image id -> set of webhook-ids
cond = threading.Condition()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.monotonic()
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(204)
        self.end_headers()
        if body.get("type") == "image.processed":
            image = body["data"]["id"]
            with cond:
                arrived.setdefault(image, now)
                ids_seen.setdefault(image, set()).add(self.headers["webhook-id"])
                cond.notify_all()

    def log_message(self, *args):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=receiver.serve_forever, daemon=True).start()


def request(method, path, body=None, content_type="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method, headers={"content-type": content_type})
    with urllib.request.urlopen(req, timeout=300) as response:
        return response.status, json.loads(response.read() or b"null")


status, _ = request(
    "POST",
    "/api/v1/webhooks",
    json.dumps({"url": f"http://127.0.0.1:{receiver.server_port}/hook", "events": ["image.processed"]}).encode(),
)
assert status == 201, status


def distinct(jpeg, tag):
    """The same JPEG with a COM segment after SOI: other bytes, same pixels."""
    comment = f"pictor workflow bench {tag} {time.time_ns()}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def upload(body):
    status, answer = request("POST", "/api/v1/img", body, "image/jpeg")
    assert status == 201, (status, answer)
    return answer["id"]


def wait_for(ids, limit=900):
    deadline = time.monotonic() + limit
    with cond:
        while not all(i in arrived for i in ids):
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit(f"workflow.sh: {sum(i not in arrived for i in ids)} images not processed within {limit} s")
            cond.wait(left)
        return max(arrived[i] for i in ids)


def quantile(values, q):
    values = sorted(values)
    return values[max(0, math.ceil(q * len(values)) - 1)]  # nearest rank


# (a) one at a time: upload -> image.processed.
photo = open(os.environ["PHOTO"], "rb").read()
latencies, upload_times = [], []
for i in range(n):
    body = distinct(photo, f"single {i}")
    t0 = time.monotonic()
    image = upload(body)
    upload_times.append(time.monotonic() - t0)
    latencies.append(wait_for([image]) - t0)
    print(f"workflow.sh: (a) {i + 1}/{n}: {latencies[-1]:.2f} s", file=sys.stderr)

# (b) a batch at once.
names = sorted(f for f in os.listdir(os.environ["BATCH_DIR"]) if f.endswith(".jpg"))[:batch_size]
bodies = [distinct(open(os.path.join(os.environ["BATCH_DIR"], f), "rb").read(), f"batch {f}") for f in names]
t0 = time.monotonic()
with ThreadPoolExecutor(uploaders) as pool:
    images = list(pool.map(upload, bodies))
uploaded = time.monotonic() - t0
# (c) while the batch is processed: a small upload now and then, answered how fast?
small = open(os.environ["SMALL"], "rb").read()
small_times = []
for i in range(5):
    t1 = time.monotonic()
    upload(distinct(small, f"small {i}"))
    small_times.append(time.monotonic() - t1)
    time.sleep(1)
done = wait_for(images) - t0
per_minute = len(images) / done * 60
time.sleep(2)  # let any duplicate arrive
duplicates = sum(len(s) > 1 for s in ids_seen.values())
# Proof that the vision branches ran (or, with VISION=0, skipped).
labels = json.load(urllib.request.urlopen(base + "/api/v1/labels"))["labels"]
# Where the time goes: each built-in task's mean time (waiting for a worker included).
metrics = urllib.request.urlopen(base + "/metrics").read().decode()
task_time = {}
for line in metrics.splitlines():
    for part in ("sum", "count"):
        prefix = f"pictor_task_seconds_{part}{{resource=\""
        if line.startswith(prefix):
            resource, value = line[len(prefix):].split('"}')
            task_time.setdefault(resource, {})[part] = float(value)

rows = [
    ("(a) 12 MP JPEG, upload -> image.processed, median", f"{statistics.median(latencies):.2f} s"),
    ("(a) 12 MP JPEG, upload -> image.processed, p90", f"{quantile(latencies, 0.9):.2f} s"),
    ("(a) min / max", f"{min(latencies):.2f} s / {max(latencies):.2f} s"),
    ("(a) upload answered (201), median", f"{statistics.median(upload_times) * 1000:.0f} ms"),
    (f"(b) {len(images)} photos of 12-24 MP, all uploaded ({uploaders} at once)", f"{uploaded:.1f} s"),
    (f"(b) {len(images)} photos, first upload -> last image.processed", f"{done:.1f} s"),
    ("(b) images processed per minute", f"{per_minute:.1f}"),
    ("(c) 20 KB upload during (b), answered (201), median of 5", f"{statistics.median(small_times) * 1000:.0f} ms"),
    ("images with more than one webhook-id", f"{duplicates}"),
    ("labels in the index afterwards", f"{len(labels)}"),
]
vision = "with the models" if os.environ["VISION"] == "1" else "without the models (VISION=0)"
table = [f"Default workflow {vision}, {os.cpu_count()} CPUs, N={n}", "", "| measure | value |", "|---|---|"]
table += [f"| {k} | {v} |" for k, v in rows]
table += ["", "| task | runs | mean time (worker wait included) |", "|---|---|---|"]
for resource, t in sorted(task_time.items(), key=lambda kv: -kv[1].get("sum", 0)):
    table.append(f"| {resource} | {t.get('count', 0):.0f} | {t.get('sum', 0) / max(t.get('count', 1), 1):.3f} s |")
text = "\n".join(table) + "\n"
print(text)
open(os.environ["RESULTS"], "w").write(text)
PY
