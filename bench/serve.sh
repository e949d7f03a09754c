#!/usr/bin/env bash
# HTTP benchmark of `pictor serve` against peers, with wrk over 127.0.0.1.
#
#   bench/serve.sh [all|peers|pictor|overload]     (default: all)
#
# Cases, one server running at a time:
#   (c) cached derivative hits: GET /api/v1/img/{id}.jpg?thumbnail=256, warmed
#       once, from pictor; and the same bytes at the same path as a static
#       file from nginx. req/s, p99 and the pictor/nginx ratios.
#   (u) uncached 256-px thumbnails of the 50 JPEGs of 12-24 MP that
#       bench/thumbnail.sh builds in bench/work/batch: every request asks for
#       an (image, size) pair not asked for before (bench/serve-distinct.lua:
#       every image at 256 px, then at 257, ...), from pictor with derivative
#       caching off, and from thumbor (bench/thumbor.conf: no storage, no
#       result storage). req/s, p99, CPU seconds per thumbnail, ratios; plus
#       `djpeg -scale 1/8` on the 20 MP photo as the floor.
#   (s) pictor only: uncached thumbnails of that same 20 MP photo, a new size
#       each request, one at a time (wrk -t1 -c1), for CPU per thumbnail
#       against the djpeg floor, which also runs one at a time.
#   (o) overload: case (u) again on the same server, with OVERLOAD_CONNECTIONS
#       (200) connections for OVERLOAD_DURATION (30) seconds: far more than
#       the cores, as a gallery page over HTTP/2 asks. `503` answers are
#       expected here and counted (not fatal); reported: goodput (200 answers
#       per second), p50/p99 latency of all answers, and each server's peak
#       resident memory during the run, against the same figures for (u).
# `peers` runs only nginx (serving a vipsthumbnail-made stand-in), thumbor and
# djpeg; `pictor` runs only pictor and djpeg; `overload` runs only (u) and (o),
# for pictor and thumbor.
#
# CPU per request is the user+system time the server's processes (its process
# group) spent during the run, from /proc/PID/stat, over completed requests.
# Peak memory is the high-water mark of resident memory (VmHWM, reset through
# /proc/PID/clear_refs before each run) summed over the group's processes; for
# thumbor's several processes that is an upper bound (their peaks need not
# coincide, and forked processes share pages).
# wrk shares the machine's cores with the server, as a client would.
#
# Environment:
#   DURATION           seconds per wrk run (default 20)
#   THREADS            wrk -t (default 2)
#   CONNECTIONS        wrk -c (default 4)
#   OVERLOAD_CONNECTIONS, OVERLOAD_DURATION
#                      wrk -c and seconds for case (o) (default 200 and 30)
#   THUMBOR_PROCESSES  thumbor --processes (default: number of cores)
#   PICTOR             pictor binary (default target/release/pictor, built if missing)
# Results: a markdown table on stdout, also in bench/work/serve-results.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
batch=$work/batch
venv=$work/venv

DURATION=${DURATION:-20}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-4}
OVERLOAD_CONNECTIONS=${OVERLOAD_CONNECTIONS:-200}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-30}
THUMBOR_PROCESSES=${THUMBOR_PROCESSES:-$(nproc)}
THUMBOR_VERSION=7.8.0
mode=${1:-all}

die() { echo "serve.sh: $*" >&2; exit 1; }
say() { echo "serve.sh: $*" >&2; }

case $mode in
  all | peers | pictor | overload) ;;
  *) die "usage: bench/serve.sh [all|peers|pictor|overload]" ;;
esac
[[ $DURATION =~ ^[0-9]+$ ]] || die "DURATION is seconds, e.g. DURATION=3"
[[ $OVERLOAD_DURATION =~ ^[0-9]+$ ]] || die "OVERLOAD_DURATION is seconds, e.g. OVERLOAD_DURATION=30"

with_pictor() { [[ $mode != peers ]]; }
with_peers() { [[ $mode != pictor ]]; }
with_nginx() { [[ $mode == all || $mode == peers ]]; }
only_overload() { [[ $mode == overload ]]; }

# --- processes and cleanup ----------------------------------------------------
# Every server runs in its own process group (setsid), so stopping it and
# measuring its CPU cover its workers too (nginx, thumbor --processes).
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-serve-bench.XXXXXX")
chmod 755 "$tmp" # nginx workers run as nobody and read files from here
servers=()

cleanup() {
  local pid
  for pid in "${servers[@]}"; do stop_group "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_group LOG CMD...: runs CMD in a new process group; sets $started.
# (setsid execs CMD in place: a background job of a script is no group leader.)
start_group() {
  local log=$1
  shift
  setsid "$@" </dev/null >"$log" 2>&1 &
  started=$!
  servers+=("$started")
}

stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}

# CPU ticks (user+system) of every live process in group $1, with those of
# its children that exited and were waited for (e.g. a helper per request).
group_ticks() {
  local pid stat sum=0
  local -a f
  for pid in $(pgrep -g "$1" || true); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    # Fields from 3 (state) on: utime, stime, cutime, cstime are f[11..14].
    read -r -a f <<<"${stat##*) }"
    sum=$((sum + f[11] + f[12] + f[13] + f[14]))
  done
  echo "$sum"
}

# reset_peaks GROUP: restarts the resident-memory high-water mark of every
# process in GROUP from its present size.
reset_peaks() {
  local pid
  for pid in $(pgrep -g "$1" || true); do
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  done
}

# peak_mib GROUP: the sum of VmHWM over GROUP's processes, in MiB.
peak_mib() {
  local pid kb sum=0
  for pid in $(pgrep -g "$1" || true); do
    kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    sum=$((sum + ${kb:-0}))
  done
  awk -v k="$sum" 'BEGIN { printf "%.0f", k / 1024 }'
}

# Waits (at most 60 s) until the server group $server is idle: under 30 ms
# of CPU in a second. Work an upload set off in the background (events,
# workflows) must not be billed to the timed requests.
wait_idle() {
  local t0 t1 i
  t1=$(group_ticks "$server")
  for ((i = 0; i < 60; i++)); do
    sleep 1
    t0=$t1 t1=$(group_ticks "$server")
    ((t1 - t0 < 3)) && return 0
  done
  say "warning: the server is still busy 60 s after the uploads"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID: until URL answers 200, for at most 60 s while PID lives.
wait_http() {
  local deadline=$((SECONDS + 60))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1") == 200 ]]; do
    kill -0 "$2" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# --- inputs and tools -----------------------------------------------------------
# The inputs are bench/thumbnail.sh's: its "tools" and "inputs" sections
# (install vips, djpeg, time; build or reuse bench/work/batch), run here in a
# subshell so the recipe lives in one place.
ensure_inputs() {
  local recipe
  recipe=$(sed -n '/^# --- tools/,/^# --- pictor/p' "$here/thumbnail.sh")
  [[ $recipe == *build_batch* ]] || die "bench/thumbnail.sh has no tools/inputs sections to reuse"
  (eval "$recipe") || die "could not build the inputs in $batch"
  single=$batch/r01-Kleiber.jpg
  [[ -f $single ]] || die "$single missing"

  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  with_nginx && ! command -v nginx >/dev/null && missing+=(nginx-light)
  if ((${#missing[@]})); then
    apt-get install -y -qq "${missing[@]}" >&2 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >&2; }
  fi
}

ensure_thumbor() {
  if [[ $("$venv/bin/thumbor" --version 2>/dev/null) != "Thumbor v$THUMBOR_VERSION"* ]]; then
    say "installing thumbor $THUMBOR_VERSION in $venv"
    python3 -m venv "$venv"
    timeout 900 "$venv/bin/pip" install -q "thumbor==$THUMBOR_VERSION" >&2
  fi
}

ensure_pictor() {
  if [[ -z ${PICTOR:-} ]]; then
    PICTOR=$root/target/release/pictor
    if [[ ! -x $PICTOR ]]; then
      # nasm enables the asm kernels; without it the asm feature fails to build.
      local features=()
      command -v nasm >/dev/null && features=(--features asm)
      (cd "$root" && cargo build --release -p pictor "${features[@]}")
    fi
  fi
  [[ -x $PICTOR ]] || die "PICTOR=$PICTOR is not executable"
  "$PICTOR" serve --help >/dev/null 2>&1 || die "$PICTOR has no working 'serve' subcommand"
}

# --- wrk ------------------------------------------------------------------------
# run_wrk KEY URL [LUA]: one timed run; records rps, p50 and p99 (ms),
# completed requests, CPU seconds per request and peak memory (MiB) of the
# server group $server, and goodput (2xx answers per second). Any answer
# other than 2xx/3xx is fatal, unless REFUSALS_OK=1 (case (o)): then
# `503`s are counted in refused (per second), and any other status is
# still fatal.
declare -A rps p50 p99 reqs cpu good refused timeouts peak
run_wrk() {
  local key=$1 url=$2 out=$tmp/wrk-$1.txt t0 t1
  local -a script=()
  [[ -n ${3:-} ]] && script=(-s "$3")
  say "wrk $key: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  reset_peaks "$server"
  t0=$(group_ticks "$server")
  WRK_THREADS=$THREADS timeout $((DURATION + 60)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s --latency "${script[@]}" "$url" >"$out" ||
    { cat "$out" >&2; die "wrk failed for $key"; }
  t1=$(group_ticks "$server")
  peak[$key]=$(peak_mib "$server")
  sed 's/^/    /' "$out" >&2

  local non2xx secs n503=0 other=
  non2xx=$(awk '/Non-2xx or 3xx responses/ { print $NF }' "$out")
  if [[ ${REFUSALS_OK:-} == 1 ]]; then
    n503=$(awk '/^statuses:/ { for (i = 2; i <= NF; i++) if ($i ~ /^503=/) { sub(/^503=/, "", $i); print $i } }' "$out")
    other=$(awk '/^statuses:/ { for (i = 2; i <= NF; i++) if ($i !~ /^(2[0-9][0-9]|503)=/) printf "%s ", $i }' "$out")
    grep -q '^statuses:' "$out" || die "$key: no statuses line (WRK_STATUSES and the Lua script)"
    [[ -z $other ]] || die "$key: answers other than 2xx and 503: $other"
    n503=${n503:-0}
    ((${non2xx:-0} == n503)) || die "$key: wrk counted ${non2xx:-0} non-2xx answers, the script $n503 503s"
  else
    [[ -z $non2xx ]] || die "$key: $non2xx responses were not 2xx/3xx"
  fi
  rps[$key]=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  reqs[$key]=$(awk '/ requests in / { print $1 }' "$out")
  secs=$(awk '/ requests in / { v = $4; sub(/,$/, "", v); u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    print v * (u == "ms" ? 0.001 : u == "s" ? 1 : u == "m" ? 60 : 0) }' "$out")
  local unit='{ v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    print v * (u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 0) }'
  p50[$key]=$(awk '$1 == "50%" '"$unit" "$out")
  p99[$key]=$(awk '$1 == "99%" '"$unit" "$out")
  timeouts[$key]=$(awk '/Socket errors:/ { print $NF }' "$out")
  ((reqs[$key] > 0)) || die "$key: no request completed"
  good[$key]=$(awk -v n="${reqs[$key]}" -v r="$n503" -v s="$secs" 'BEGIN { printf "%.3f", (n - r) / s }')
  refused[$key]=$(awk -v r="$n503" -v s="$secs" 'BEGIN { printf "%.3f", r / s }')
  cpu[$key]=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="${reqs[$key]}" 'BEGIN { printf "%.6f", t / hz / n }')
}

# run_overload KEY URL [LUA]: case (o), run_wrk with many connections, where
# 503s are part of the answer.
run_overload() {
  wait_idle
  CONNECTIONS=$OVERLOAD_CONNECTIONS DURATION=$OVERLOAD_DURATION REFUSALS_OK=1 WRK_STATUSES=1 run_wrk "$@"
}

# --- servers --------------------------------------------------------------------
# Each start_* sets $server (process group id) and its base URL.

# start_nginx DIR PATH: serves DIR's files at /api/v1/img/, the path pictor
# uses; ready once PATH answers.
start_nginx() {
  local dir=$tmp/nginx port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$( ((EUID == 0)) && echo "user nobody nogroup;")
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  types { image/jpeg jpg; }
  server {
    listen 127.0.0.1:$port;
    location /api/v1/img/ { alias $1/; }
  }
}
EOF
  start_group "$dir/stderr.log" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
  server=$started nginx_url=http://127.0.0.1:$port
  wait_http "$nginx_url$2" "$server" ||
    { cat "$dir"/*.log >&2; die "nginx did not start"; }
}

start_thumbor() {
  local port
  port=$(free_port)
  THUMBOR_FILE_ROOT=$batch start_group "$tmp/thumbor.log" "$venv/bin/thumbor" --ip 127.0.0.1 --port "$port" \
    --conf "$here/thumbor.conf" --processes "$THUMBOR_PROCESSES" --log-level warning
  server=$started thumbor_url=http://127.0.0.1:$port
  wait_http "$thumbor_url/healthcheck" "$server" || { cat "$tmp/thumbor.log" >&2; die "thumbor did not start"; }
}

# start_pictor NAME [VAR=VALUE...]: a fresh data dir; parses the one line
# "listening on http://HOST:PORT" that pictor prints on stdout once serving.
start_pictor() {
  local name=$1 dir=$tmp/$1 deadline=$((SECONDS + 60)) line=
  shift
  mkdir -p "$dir"
  setsid env "$@" "$PICTOR" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
    </dev/null >"$dir/stdout" 2>"$dir/stderr" &
  server=$!
  servers+=("$server")
  until line=$(grep -m1 '^listening on http://' "$dir/stdout" 2>/dev/null); do
    kill -0 "$server" 2>/dev/null || { cat "$dir/stderr" >&2; die "pictor exited before listening"; }
    ((SECONDS < deadline)) || die "pictor printed no 'listening on' line in 60 s"
    sleep 0.1
  done
  pictor_url=${line#listening on }
  [[ $pictor_url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || die "pictor listens on '$pictor_url', not 127.0.0.1"
}

# upload FILE: prints the new image's id.
upload() {
  local body
  body=$(curl -sS -f -X POST -H 'Content-Type: image/jpeg' --data-binary "@$1" "$pictor_url/api/v1/img") ||
    die "upload of $1 failed"
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$body" ||
    die "upload answer has no \"id\": $body"
}

# check_thumb URL SIZE: fetch once (also warms) and insist on a JPEG whose
# long side is SIZE (or SIZE-1 for rounding); keeps it in $tmp/check.jpg.
check_thumb() {
  curl -sS -f -o "$tmp/check.jpg" "$1" || die "GET $1 failed"
  [[ $(head -c3 "$tmp/check.jpg" | od -An -tx1 | tr -d ' ') == ffd8ff ]] || die "$1 is not a JPEG"
  local w h
  w=$(vipsheader -f width "$tmp/check.jpg") h=$(vipsheader -f height "$tmp/check.jpg")
  local long=$((w > h ? w : h))
  ((long == $2 || long == $2 - 1)) || die "$1 is ${w}x${h}, not a $2-px thumbnail"
}

stop_server() {
  stop_group "$server"
  local -a rest=()
  local pid
  for pid in "${servers[@]}"; do [[ $pid == "$server" ]] || rest+=("$pid"); done
  servers=("${rest[@]}")
}

# --- case (c): cached derivative hits ----------------------------------------
bench_cached() {
  local static=$tmp/static name=peer path
  mkdir -p "$static"
  if with_pictor; then
    say "pictor (cache on): uploading $(basename "$single")"
    start_pictor pictor-cached
    name=$(upload "$single")
    path="/api/v1/img/$name.jpg?thumbnail=256"
    check_thumb "$pictor_url$path" 256 # the warming request
    wait_idle
    cp "$tmp/check.jpg" "$static/$name.jpg"
    run_wrk pictor_hit "$pictor_url$path"
    stop_server
  else
    # No pictor: nginx serves vipsthumbnail's 256-px q80 JPEG of the same photo.
    vipsthumbnail "$single" --size 256 -o "$static/$name.jpg[Q=80,strip]"
    path="/api/v1/img/$name.jpg?thumbnail=256"
  fi
  hit_bytes=$(stat -c %s "$static/$name.jpg")
  if with_peers; then
    start_nginx "$static" "$path"
    curl -sS -f -o "$tmp/nginx.jpg" "$nginx_url$path" || die "GET $nginx_url$path failed"
    cmp -s "$tmp/nginx.jpg" "$static/$name.jpg" || die "nginx does not serve the thumbnail's bytes"
    run_wrk nginx "$nginx_url$path"
    stop_server
  fi
}

# --- case (u): uncached thumbnails ---------------------------------------------
bench_uncached() {
  local lua=$here/serve-distinct.lua f
  local -a files=("$batch"/*.jpg)
  if with_peers; then
    ensure_thumbor
    say "thumbor: ${#files[@]} originals from $batch"
    start_thumbor
    printf '%s\n' "${files[@]##*/}" >"$tmp/thumbor-names"
    # 255 px: warms each process's code paths without taking a timed URL.
    check_thumb "$thumbor_url/unsafe/fit-in/255x255/$(head -1 "$tmp/thumbor-names")" 255
    WRK_NAMES=$tmp/thumbor-names WRK_PATH='/unsafe/fit-in/{size}x{size}/{name}' WRK_SIZE=256 \
      run_wrk thumbor "$thumbor_url" "$lua"
    WRK_NAMES=$tmp/thumbor-names WRK_PATH='/unsafe/fit-in/{size}x{size}/{name}' WRK_SIZE=256 \
      run_overload thumbor_overload "$thumbor_url" "$lua"
    stop_server
  fi
  if with_pictor; then
    say "pictor (cache off): uploading ${#files[@]} originals"
    start_pictor pictor-uncached PICTOR_CACHE__MAX_BYTES=0
    for f in "${files[@]}"; do upload "$f"; done >"$tmp/pictor-ids"
    check_thumb "$pictor_url/api/v1/img/$(head -1 "$tmp/pictor-ids").jpg?thumbnail=255" 255
    wait_idle
    WRK_NAMES=$tmp/pictor-ids WRK_PATH='/api/v1/img/{name}.jpg?thumbnail={size}' WRK_SIZE=256 \
      run_wrk pictor_miss "$pictor_url" "$lua"
    WRK_NAMES=$tmp/pictor-ids WRK_PATH='/api/v1/img/{name}.jpg?thumbnail={size}' WRK_SIZE=256 \
      run_overload pictor_overload "$pictor_url" "$lua"
    curl -sS -f "$pictor_url/metrics" | grep -E '^pictor_image_(jobs_rejected|jobs_wait_timeouts)_total ' >&2 || true
    if only_overload; then
      stop_server
      return
    fi
    # (s) the floor's own photo, a new size each request: CPU per thumbnail
    # against `djpeg -scale 1/8` on exactly the same file. One request at a
    # time, as the djpeg loop runs one decode at a time, so neither pays for
    # two jobs sharing the cores' caches.
    upload "$single" >"$tmp/pictor-single"
    wait_idle
    THREADS=1 CONNECTIONS=1 WRK_NAMES=$tmp/pictor-single WRK_PATH='/api/v1/img/{name}.jpg?thumbnail={size}' WRK_SIZE=256 \
      run_wrk pictor_single "$pictor_url" "$lua"
    stop_server
  fi
}

# --- floor: djpeg -scale 1/8 ----------------------------------------------------
bench_djpeg() {
  local n=20 i t
  for ((i = 0; i < 2; i++)); do djpeg -scale 1/8 -outfile /dev/null "$single"; done # warm the page cache
  # bash's `time` reports the children's rusage, to the millisecond.
  t=$( { TIMEFORMAT='%3U %3S'; time (for ((i = 0; i < n; i++)); do djpeg -scale 1/8 -outfile /dev/null "$single"; done); } 2>&1)
  cpu[djpeg]=$(awk -v n=$n '{ printf "%.6f", ($1 + $2) / n }' <<<"$t")
}

# --- report ---------------------------------------------------------------------
# fmt VALUE [SCALE]: VALUE×SCALE with 3 significant digits (all digits from
# 100 up); "–" when there is no value.
fmt() {
  awk -v v="${1:-}" -v k="${2:-1}" 'BEGIN { if (v == "") { print "–"; exit }
    v *= k; if (v >= 100) printf "%.0f\n", v; else printf "%.3g\n", v }'
}
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.3g×", a / b }'; }

row() { # row CASE SERVER KEY
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(fmt "${rps[$3]:-}")" "$(fmt "${p99[$3]:-}")" "$(fmt "${cpu[$3]:-}" 1000)"
}

report() {
  local mp nginx_v thumbor_v
  mp=$(awk -v w="$(vipsheader -f width "$single")" -v h="$(vipsheader -f height "$single")" 'BEGIN { printf "%.0f", w * h / 1e6 }')
  nginx_v=$(nginx -v 2>&1 | sed 's|.*nginx/||') || true
  thumbor_v=$("$venv/bin/thumbor" --version 2>/dev/null | awk '{ sub(/^v/, "", $2); print $2 }') || true
  echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  if only_overload; then
    report_overload
    return
  fi
  echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s over 127.0.0.1; cached thumbnail: $hit_bytes bytes"
  echo
  echo "| case | server | req/s | p99 ms | CPU ms/request |"
  echo "|---|---|---|---|---|"
  with_peers && row "(c) cached 256-px hit" "nginx ${nginx_v:-} static file" nginx
  with_pictor && row "(c) cached 256-px hit" "pictor" pictor_hit
  with_peers && row "(u) uncached 256-px, 50 × 12–24 MP" "thumbor ${thumbor_v:-} ×$THUMBOR_PROCESSES (PIL)" thumbor
  with_pictor && row "(u) uncached 256-px, 50 × 12–24 MP" "pictor (cache off)" pictor_miss
  with_pictor && row "(s) uncached 256+-px, the ${mp} MP photo only, one at a time" "pictor (cache off)" pictor_single
  row "floor: one ${mp} MP JPEG" "djpeg -scale 1/8 (CLI)" djpeg
  echo
  if with_pictor && with_peers; then
    echo "| ratio | value |"
    echo "|---|---|"
    echo "| (c) pictor / nginx req/s | $(ratio "${rps[pictor_hit]}" "${rps[nginx]}") |"
    echo "| (c) pictor / nginx p99 | $(ratio "${p99[pictor_hit]}" "${p99[nginx]}") |"
    echo "| (u) pictor / thumbor req/s | $(ratio "${rps[pictor_miss]}" "${rps[thumbor]}") |"
    echo "| (u) pictor / thumbor CPU per thumbnail | $(ratio "${cpu[pictor_miss]}" "${cpu[thumbor]}") |"
    echo "| (u) pictor CPU per thumbnail / djpeg 1/8 | $(ratio "${cpu[pictor_miss]}" "${cpu[djpeg]}") |"
    echo "| (s) pictor CPU per thumbnail / djpeg 1/8, same photo | $(ratio "${cpu[pictor_single]}" "${cpu[djpeg]}") |"
  elif with_pictor; then
    echo "pictor CPU per uncached thumbnail / djpeg 1/8: $(ratio "${cpu[pictor_miss]}" "${cpu[djpeg]}")"
    echo "pictor CPU per thumbnail of the same photo / djpeg 1/8: $(ratio "${cpu[pictor_single]}" "${cpu[djpeg]}")"
  fi
  echo
  report_overload
}

orow() { # orow CASE SERVER KEY CONNECTIONS
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$4" "$(fmt "${good[$3]:-}")" \
    "$(fmt "${refused[$3]:-}")" "$(fmt "${p50[$3]:-}")" "$(fmt "${p99[$3]:-}")" "${timeouts[$3]:-0}" "$(fmt "${peak[$3]:-}")"
}

# Case (o) against (u): goodput, latency and memory under overload.
report_overload() {
  local thumbor_v
  thumbor_v=$("$venv/bin/thumbor" --version 2>/dev/null | awk '{ sub(/^v/, "", $2); print $2 }') || true
  echo "(u): wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; (o): wrk -t$THREADS -c$OVERLOAD_CONNECTIONS -d${OVERLOAD_DURATION}s;"
  echo "uncached 256-px thumbnails of 50 JPEGs of 12–24 MP; latency over all answers (200 and 503)"
  echo
  echo "| case | server | connections | goodput (200/s) | 503/s | p50 ms | p99 ms | timeouts | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  if with_peers; then
    orow "(u)" "thumbor ${thumbor_v:-} ×$THUMBOR_PROCESSES" thumbor "$CONNECTIONS"
    orow "(o)" "thumbor ${thumbor_v:-} ×$THUMBOR_PROCESSES" thumbor_overload "$OVERLOAD_CONNECTIONS"
  fi
  if with_pictor; then
    orow "(u)" "pictor (cache off)" pictor_miss "$CONNECTIONS"
    orow "(o)" "pictor (cache off)" pictor_overload "$OVERLOAD_CONNECTIONS"
  fi
  echo
  echo "| ratio | value | target |"
  echo "|---|---|---|"
  with_peers && echo "| thumbor goodput (o) / (u) | $(ratio "${good[thumbor_overload]:-}" "${good[thumbor]:-}") | |"
  with_pictor && echo "| pictor goodput (o) / (u) | $(ratio "${good[pictor_overload]:-}" "${good[pictor_miss]:-}") | ≥ 0.9× |"
  with_pictor && with_peers &&
    echo "| (o) pictor / thumbor goodput | $(ratio "${good[pictor_overload]:-}" "${good[thumbor_overload]:-}") | |"
  return 0
}

# --- main -------------------------------------------------------------------------
ensure_inputs
with_pictor && ensure_pictor
hit_bytes=
only_overload || bench_cached
bench_uncached
only_overload || bench_djpeg
report | tee "$work/serve-results.md"
