#!/usr/bin/env bash
# Faults as a new user meets them (issue 17), each against a fresh
# `pictor serve` (release build, workers on, models off) on 127.0.0.1, with
# the figures the README gives:
#
#   bench/faults.sh [postgres] [s3] [disk] [slowloris]      (default: all four)
#
# postgres   over PostgreSQL and s3s-fs: PostgreSQL stopped (pg_ctl stop -m
#            fast) for OUTAGE s while a client sends an upload or a list every
#            100 ms: the answers meanwhile, the slowest, how soon requests
#            succeed after the restart, and every accepted upload found and
#            processed;
# s3         over PostgreSQL and s3s-fs: s3s-fs frozen (SIGSTOP) for OUTAGE s
#            while 4 clients upload 200 KB photos: each lands whole or is
#            refused; the bucket against the records before and after the
#            janitor's minute;
# disk       the default layout (SQLite and the store in one data folder) on
#            a 16 MiB tmpfs filled to 1 MiB short: uploads until five are
#            refused, reads meanwhile, one more once space is freed, and
#            PRAGMA integrity_check after the server stops (needs root);
# slowloris  1,000 connections sending half a request's headers: how many
#            are held and refused, another client meanwhile, and how many
#            are still open after 25 s.
#
# PostgreSQL and s3s-fs come from `.ci/services.sh` (installed if missing).
# Environment: PICTOR (default: target/release/pictor, built first), OUTAGE (10).
# Results: markdown rows on stdout (bench/faults.py writes them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
die() { echo "faults.sh: $*" >&2; exit 1; }
say() { echo "faults.sh: $*" >&2; }

OUTAGE=${OUTAGE:-10}
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(postgres s3 disk slowloris)
for s in "${scenarios[@]}"; do
  [[ $s =~ ^(postgres|s3|disk|slowloris)$ ]] || die "a scenario is postgres, s3, disk or slowloris, not $s"
done
ensure_pictor

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pictor-faults.XXXXXX")
pictor_pid=
stop_pictor() {
  [[ -n $pictor_pid ]] || return 0
  kill -TERM "$pictor_pid" 2>/dev/null || true
  wait "$pictor_pid" 2>/dev/null || true
  pictor_pid=
}
cleanup() {
  stop_pictor
  mountpoint -q "$tmp/disk" 2>/dev/null && umount -l "$tmp/disk"
  rm -rf "$tmp"
  declare -F pictor_services_stop >/dev/null && pictor_services_stop
  return 0
}
if [[ " ${scenarios[*]} " == *" postgres "* || " ${scenarios[*]} " == *" s3 "* ]]; then
  # shellcheck source=.ci/services.sh
  source "$root/.ci/services.sh" >&2 || die "PostgreSQL and s3s-fs did not start"
fi
trap cleanup EXIT

# start NAME [VAR=VALUE...]: pictor on the data folder $tmp/NAME (or the
# PICTOR_DATA_DIR given), with those variables; its URL in $base.
start() {
  local name=$1 line
  shift
  mkdir -p "$tmp/$name"
  mkfifo "$tmp/$name.out"
  local unset=()
  for var in $(compgen -e | grep '^PICTOR_' || true); do unset+=(-u "$var"); done
  env "${unset[@]}" PICTOR_VISION__INSTALL_MODELS=false PICTOR_LOG__FILTER=warn PICTOR_DATA_DIR="$tmp/$name" "$@" \
    "$PICTOR" serve --listen 127.0.0.1:0 <"/dev/null" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  pictor_pid=$!
  exec {fd}<"$tmp/$name.out"
  read -r -t 60 line <&$fd || { cat "$tmp/$name.log" >&2; die "pictor did not start"; }
  cat <&$fd >/dev/null &
  base=${line#listening on }
}

pg_url=${PICTOR_TEST_DATABASE_URL:-}
s3_url=${PICTOR_TEST_S3_URL:-}
fresh_database() {
  local db=faults_$1_$$
  psql "$pg_url" -qc "CREATE DATABASE $db" >/dev/null
  echo "${pg_url%/*}/$db"
}

echo "| fault | answers | slowest | after | kept |"
echo "|---|---|---|---|---|"
for scenario in "${scenarios[@]}"; do
  say "$scenario"
  case $scenario in
  postgres)
    start postgres PICTOR_DATABASE="$(fresh_database pg)" PICTOR_STORE="$s3_url&prefix=faults-pg-$$"
    pg_port=${pg_url##*:}
    pg_port=${pg_port%%/*}
    pg_ctl="$PICTOR_SERVICES_PG_BIN/pg_ctl -D $PICTOR_SERVICES_DIR/pg/data"
    ((EUID == 0)) && pg_ctl="runuser -u postgres -- $pg_ctl"
    opts="-c listen_addresses=127.0.0.1 -p $pg_port -k $PICTOR_SERVICES_DIR/pg -c max_connections=200"
    python3 "$here/faults.py" postgres --base "$base" --outage "$OUTAGE" \
      --down "$pg_ctl stop -m fast >/dev/null" \
      --up "$pg_ctl -l $PICTOR_SERVICES_DIR/pg/server.log -W start -o '$opts' >/dev/null"
    ;;
  s3)
    prefix=faults-s3-$$
    start s3 PICTOR_DATABASE="$(fresh_database s3)" PICTOR_STORE="$s3_url&prefix=$prefix"
    python3 "$here/faults.py" s3 --base "$base" --outage "$OUTAGE" --pid "$PICTOR_SERVICES_S3_PID" \
      --bucket "$PICTOR_SERVICES_DIR/s3/root/$PICTOR_S3_BUCKET/$prefix"
    ;;
  disk)
    mkdir -p "$tmp/disk"
    mount -t tmpfs -o size=16m tmpfs "$tmp/disk" 2>/dev/null || die "disk: cannot mount a tmpfs (run as root)"
    start disk PICTOR_DATA_DIR="$tmp/disk"
    python3 "$here/faults.py" disk --base "$base" --pid "$pictor_pid" --data "$tmp/disk"
    ;;
  slowloris)
    start slowloris
    python3 "$here/faults.py" slowloris --base "$base" --pid "$pictor_pid"
    ;;
  esac
  stop_pictor
done
