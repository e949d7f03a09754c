#!/usr/bin/env bash
# What an idle process costs the database: one `pictor serve --role ROLE`
# (release build) on a fresh PostgreSQL database with nothing to do, and
# the transactions it commits per second (pg_stat_database.xact_commit over
# SECONDS, this script's own two reads taken off). Every worker and API
# process pays this all day, so it grows with the cluster (docs/scaling.md).
#
#   bench/idle.sh [worker|api ...]           (default: worker api)
#
# Environment:
#   DATABASE_URL  a PostgreSQL URL whose user may create databases (default:
#                 PICTOR_TEST_DATABASE_URL, which `source .ci/services.sh` sets)
#   SECONDS_IDLE  measuring time (default 20), after 8 s to settle
#   PICTOR        pictor binary (default: target/release/pictor, built first)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

die() { echo "idle.sh: $*" >&2; exit 1; }
url=${DATABASE_URL:-${PICTOR_TEST_DATABASE_URL:-}}
[[ -n $url ]] || die "set DATABASE_URL to a PostgreSQL URL (or source .ci/services.sh)"
command -v psql >/dev/null || die "psql is missing (apt-get install postgresql-client)"
seconds=${SECONDS_IDLE:-20}
roles=("$@")
((${#roles[@]})) || roles=(worker api)
ensure_pictor

base=${url%%\?*}
server=${base%/*}
echo "| process | transactions/s, idle |"
echo "|---|---|"
for role in "${roles[@]}"; do
  [[ $role == worker || $role == api ]] || die "a role is worker or api, not $role"
  db=idle_${role}_$$
  psql "$url" -qc "CREATE DATABASE $db" >/dev/null
  dir=$(mktemp -d)
  PICTOR_VISION__INSTALL_MODELS=false PICTOR_DATABASE="$server/$db" \
    "$PICTOR" serve --role "$role" --listen 127.0.0.1:0 --data-dir "$dir" >/dev/null 2>&1 &
  pid=$!
  sleep 8
  query="SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'"
  before=$(psql "$server/$db" -tAc "$query")
  sleep "$seconds"
  after=$(psql "$server/$db" -tAc "$query")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  psql "$url" -qc "DROP DATABASE $db" >/dev/null
  echo "| --role $role | $(python3 -c "print(round(($after - $before - 2) / $seconds, 2))") |"
done
