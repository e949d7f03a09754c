# Throw-away services for the test suite, on 127.0.0.1 only. Meant to be
# sourced (by .ci/run, or by hand before `cargo test`):
#
#   source .ci/services.sh
#
# Starts, each on a free loopback port over a fresh temp dir:
#   - PostgreSQL (Debian's `postgresql`), trust auth, database pictor_test
#       PICTOR_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/pictor_test
#   - s3s-fs (an S3 server over a directory), bucket pictor-test
#       PICTOR_TEST_S3_URL=s3://pictor-test?endpoint=...&access_key_id=...
#       AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (same values)
#     (the shell variable PICTOR_SERVICES_S3_ENDPOINT, not exported, holds
#     http://127.0.0.1:PORT; nothing else PICTOR_* is exported, since
#     `pictor serve` reads PICTOR_* variables as its configuration)
#   - an OpenID Connect provider (PyPI's oidc-provider-mock, made to enforce
#     PKCE by .ci/oidc_provider.py), any client id and redirect URI:
#       PICTOR_TEST_OIDC_ISSUER=http://127.0.0.1:PORT
#     (optional: if it cannot be installed or started, the OIDC tests say
#     SKIPPED and the rest run)
#   - moto's S3 server (PyPI moto[server]), bucket pictor-moto: it keeps
#     storage classes (GLACIER) and answers RestoreObject, which s3s-fs
#     does not, for the storage-tier tests:
#       PICTOR_TEST_MOTO_URL=s3://pictor-moto?endpoint=...&access_key_id=...
#     (optional, like the OIDC provider: the tier tests on S3 say SKIPPED)
#   - an SMTP server (PyPI aiosmtpd, .ci/smtp_server.py) that requires
#     STARTTLS, with a certificate made at start by a CA of its own, and
#     writes each message it is given to a Maildir:
#       PICTOR_TEST_SMTP_URL=smtp://127.0.0.1:PORT
#       PICTOR_TEST_SMTP_MAILDIR=DIR (messages in DIR/new)
#       PICTOR_TEST_SMTP_CA=FILE (the CA's PEM, for email.ca_file)
#     (optional, like the OIDC provider: the mail tests say SKIPPED)
#   - a stand-in of Stripe's API and Stripe.js (.ci/stripe_standin.py,
#     Python's standard library only; takes Bearer sk_test_…):
#       PICTOR_TEST_STRIPE_URL=http://127.0.0.1:PORT
#     (optional, like the OIDC provider: the Stripe client tests say SKIPPED)
# and registers an EXIT trap (pictor_services_stop) that stops them all and
# deletes their data. A caller that needs its own EXIT trap must call
# pictor_services_stop from it. Installs what is missing (apt-get, cargo
# install), so the first run on a new machine takes a few minutes.
#
# Written for bash, with or without `set -euo pipefail` in the caller: every
# step checks its own result, and a failure makes `source` return non-zero.

# Versions and fixed test credentials (not secrets: loopback-only throw-away).
PICTOR_S3S_FS_VERSION=0.14.1
PICTOR_S3_BUCKET=pictor-test
PICTOR_S3_ACCESS_KEY=pictor-test-access-key
PICTOR_S3_SECRET_KEY=pictor-test-secret-key
PICTOR_S3_REGION=us-east-1
PICTOR_OIDC_MOCK_VERSION=0.3.4
PICTOR_MOTO_VERSION=5.2.5
PICTOR_MOTO_BUCKET=pictor-moto
PICTOR_AIOSMTPD_VERSION=1.4.6
# This file's folder (it is sourced from anywhere).
_svc_ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Seconds to wait for each service to answer.
PICTOR_SERVICES_TIMEOUT=${PICTOR_SERVICES_TIMEOUT:-60}

_svc_log() { echo "services: $*" >&2; }

# A TCP port that is free on 127.0.0.1 right now (the kernel's choice).
_svc_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _svc_wait NAME CMD...: retry CMD every 0.2 s until it succeeds, at most
# PICTOR_SERVICES_TIMEOUT seconds; exit status 125 from CMD means give up now.
_svc_wait() {
  local name=$1 deadline=$((SECONDS + PICTOR_SERVICES_TIMEOUT)) rc
  shift
  while true; do
    rc=0
    "$@" >/dev/null 2>&1 || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 125)); then
      _svc_log "$name exited"
      return 1
    elif ((SECONDS >= deadline)); then
      _svc_log "$name did not answer within ${PICTOR_SERVICES_TIMEOUT}s"
      return 1
    fi
    sleep 0.2
  done
}

# Runs a command as the postgres user when we are root (initdb refuses root);
# as ourselves otherwise.
_svc_as_pg() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- PostgreSQL ---------------------------------------------------------------

_svc_pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [[ -z $bin || ! -x $bin/initdb ]]; then
    _svc_log "installing postgresql"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } >&2 || return 1
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$bin"
}

_svc_start_postgres() {
  local bin dir=$PICTOR_SERVICES_DIR/pg port
  bin=$(_svc_pg_bin) || return 1
  port=$(_svc_free_port) || return 1
  mkdir -p "$dir" || return 1
  ((EUID == 0)) && { chown postgres: "$dir" || return 1; }
  _svc_as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$PICTOR_SERVICES_DIR/initdb.log" 2>&1 || { _svc_log "initdb failed:"; cat "$PICTOR_SERVICES_DIR/initdb.log" >&2; return 1; }
  # Durability off: the cluster is deleted at exit anyway. The socket goes in
  # the temp dir, not /var/run/postgresql.
  PICTOR_SERVICES_PG_BIN=$bin # from here on, pictor_services_stop stops it
  _svc_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -W start -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || return 1
  _svc_wait "postgres on 127.0.0.1:$port" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres ||
    { cat "$dir/server.log" >&2; return 1; }
  "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'CREATE DATABASE pictor_test' >/dev/null || return 1
  export PICTOR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/pictor_test"
  _svc_log "postgres $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# --- S3 (s3s-fs) --------------------------------------------------------------

# Prints the path of s3s-fs at the pinned version, installing it if needed.
_svc_s3s_fs() {
  local installed=${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs bin
  bin=$(command -v s3s-fs) || bin=$installed
  if [[ $("$bin" --version 2>/dev/null) != "s3s-fs $PICTOR_S3S_FS_VERSION" ]]; then
    _svc_log "installing s3s-fs $PICTOR_S3S_FS_VERSION (cargo install, a few minutes)"
    cargo install -q "s3s-fs@$PICTOR_S3S_FS_VERSION" --locked --features binary >&2 || return 1
    bin=$installed
  fi
  echo "$bin"
}

_svc_start_s3() {
  local bin dir=$PICTOR_SERVICES_DIR/s3 port endpoint
  bin=$(_svc_s3s_fs) || return 1
  port=$(_svc_free_port) || return 1
  endpoint=http://127.0.0.1:$port
  # s3s-fs keeps bucket B as directory ROOT/B: creating it is creating the bucket.
  mkdir -p "$dir/root/$PICTOR_S3_BUCKET" || return 1
  "$bin" --host 127.0.0.1 --port "$port" \
    --access-key "$PICTOR_S3_ACCESS_KEY" --secret-key "$PICTOR_S3_SECRET_KEY" \
    "$dir/root" </dev/null >"$dir/server.log" 2>&1 &
  PICTOR_SERVICES_S3_PID=$!
  # Any HTTP answer (403 without a signature) means it is serving; stop early
  # if the process died (port taken, bad flag).
  _svc_wait "s3s-fs on 127.0.0.1:$port" _svc_s3_answers "$endpoint" ||
    { cat "$dir/server.log" >&2; return 1; }
  # shellcheck disable=SC2034 # for the caller (by hand: curl --aws-sigv4)
  PICTOR_SERVICES_S3_ENDPOINT=$endpoint
  export PICTOR_TEST_S3_URL="s3://$PICTOR_S3_BUCKET?endpoint=$endpoint&region=$PICTOR_S3_REGION&access_key_id=$PICTOR_S3_ACCESS_KEY&secret_access_key=$PICTOR_S3_SECRET_KEY&allow_http=true"
  export AWS_ACCESS_KEY_ID=$PICTOR_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$PICTOR_S3_SECRET_KEY AWS_REGION=$PICTOR_S3_REGION
  _svc_log "s3s-fs $PICTOR_S3S_FS_VERSION on 127.0.0.1:$port, bucket $PICTOR_S3_BUCKET"
}

_svc_s3_answers() {
  kill -0 "$PICTOR_SERVICES_S3_PID" 2>/dev/null || return 125
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/") != 000 ]]
}

# --- OIDC provider (oidc-provider-mock) ----------------------------------------

_svc_oidc_installed() {
  [[ $(python3 -c 'import importlib.metadata as m; print(m.version("oidc-provider-mock"))' 2>/dev/null) == "$PICTOR_OIDC_MOCK_VERSION" ]]
}

_svc_start_oidc() {
  local dir=$PICTOR_SERVICES_DIR/oidc port issuer
  if ! _svc_oidc_installed; then
    _svc_log "installing oidc-provider-mock $PICTOR_OIDC_MOCK_VERSION (pip)"
    python3 -m pip install --quiet "oidc-provider-mock==$PICTOR_OIDC_MOCK_VERSION" >&2 || return 1
  fi
  port=$(_svc_free_port) || return 1
  issuer=http://127.0.0.1:$port
  mkdir -p "$dir" || return 1
  python3 "$_svc_ci_dir/oidc_provider.py" "$port" </dev/null >"$dir/server.log" 2>&1 &
  PICTOR_SERVICES_OIDC_PID=$!
  _svc_wait "oidc-provider-mock on $issuer" _svc_oidc_answers "$issuer" ||
    { cat "$dir/server.log" >&2; return 1; }
  export PICTOR_TEST_OIDC_ISSUER=$issuer
  _svc_log "oidc-provider-mock $PICTOR_OIDC_MOCK_VERSION on $issuer"
}

_svc_oidc_answers() {
  kill -0 "$PICTOR_SERVICES_OIDC_PID" 2>/dev/null || return 125
  curl -sf -o /dev/null --max-time 2 "$1/.well-known/openid-configuration"
}

# --- S3 with storage classes (moto) --------------------------------------------

_svc_moto_installed() {
  [[ $(python3 -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null) == "$PICTOR_MOTO_VERSION" ]] &&
    python3 -c 'import moto.server, flask' 2>/dev/null
}

_svc_start_moto() {
  local dir=$PICTOR_SERVICES_DIR/moto port endpoint
  if ! _svc_moto_installed; then
    _svc_log "installing moto[server] $PICTOR_MOTO_VERSION (pip)"
    python3 -m pip install --quiet "moto[server]==$PICTOR_MOTO_VERSION" >&2 || return 1
  fi
  port=$(_svc_free_port) || return 1
  endpoint=http://127.0.0.1:$port
  mkdir -p "$dir" || return 1
  python3 -m moto.server -H 127.0.0.1 -p "$port" </dev/null >"$dir/server.log" 2>&1 &
  PICTOR_SERVICES_MOTO_PID=$!
  _svc_wait "moto on $endpoint" _svc_moto_answers "$endpoint" ||
    { cat "$dir/server.log" >&2; return 1; }
  # moto checks no signatures: an unsigned PUT makes the bucket.
  curl -sf -o /dev/null -X PUT "$endpoint/$PICTOR_MOTO_BUCKET" || { _svc_log "moto: creating the bucket failed"; return 1; }
  export PICTOR_TEST_MOTO_URL="s3://$PICTOR_MOTO_BUCKET?endpoint=$endpoint&region=$PICTOR_S3_REGION&access_key_id=$PICTOR_S3_ACCESS_KEY&secret_access_key=$PICTOR_S3_SECRET_KEY&allow_http=true"
  _svc_log "moto $PICTOR_MOTO_VERSION on $endpoint, bucket $PICTOR_MOTO_BUCKET"
}

_svc_moto_answers() {
  kill -0 "$PICTOR_SERVICES_MOTO_PID" 2>/dev/null || return 125
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/") != 000 ]]
}

# --- SMTP (aiosmtpd) ----------------------------------------------------------

_svc_aiosmtpd_installed() {
  [[ $(python3 -c 'import importlib.metadata as m; print(m.version("aiosmtpd"))' 2>/dev/null) == "$PICTOR_AIOSMTPD_VERSION" ]]
}

_svc_start_smtp() {
  local dir=$PICTOR_SERVICES_DIR/smtp port
  if ! _svc_aiosmtpd_installed; then
    _svc_log "installing aiosmtpd $PICTOR_AIOSMTPD_VERSION (pip)"
    python3 -m pip install --quiet "aiosmtpd==$PICTOR_AIOSMTPD_VERSION" >&2 || return 1
  fi
  command -v openssl >/dev/null || { _svc_log "smtp: no openssl command to make its certificate"; return 1; }
  port=$(_svc_free_port) || return 1
  mkdir -p "$dir" || return 1
  python3 "$_svc_ci_dir/smtp_server.py" "$port" "$dir" </dev/null >"$dir/server.log" 2>&1 &
  PICTOR_SERVICES_SMTP_PID=$!
  _svc_wait "aiosmtpd on 127.0.0.1:$port" _svc_smtp_answers "$port" ||
    { cat "$dir/server.log" >&2; return 1; }
  export PICTOR_TEST_SMTP_URL=smtp://127.0.0.1:$port
  export PICTOR_TEST_SMTP_MAILDIR=$dir/maildir PICTOR_TEST_SMTP_CA=$dir/ca.pem
  _svc_log "aiosmtpd $PICTOR_AIOSMTPD_VERSION on 127.0.0.1:$port (STARTTLS required), mail in $dir/maildir/new"
}

# Answers when the process lives, its CA is written and it greets with 220.
_svc_smtp_answers() {
  kill -0 "$PICTOR_SERVICES_SMTP_PID" 2>/dev/null || return 125
  [[ -s $PICTOR_SERVICES_DIR/smtp/ca.pem ]] || return 1
  python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
sys.exit(0 if s.recv(3) == b"220" else 1)' "$1"
}

# --- Stripe stand-in (.ci/stripe_standin.py) ---------------------------------

_svc_start_stripe() {
  local dir=$PICTOR_SERVICES_DIR/stripe port url
  port=$(_svc_free_port) || return 1
  url=http://127.0.0.1:$port
  mkdir -p "$dir" || return 1
  python3 "$_svc_ci_dir/stripe_standin.py" --port "$port" </dev/null >"$dir/server.log" 2>&1 &
  PICTOR_SERVICES_STRIPE_PID=$!
  _svc_wait "stripe stand-in on $url" _svc_stripe_answers "$url" ||
    { cat "$dir/server.log" >&2; return 1; }
  export PICTOR_TEST_STRIPE_URL=$url
  _svc_log "stripe stand-in on $url"
}

_svc_stripe_answers() {
  kill -0 "$PICTOR_SERVICES_STRIPE_PID" 2>/dev/null || return 125
  curl -sf -o /dev/null --max-time 2 "$1/v3/stripe.js"
}

# --- browser -------------------------------------------------------------------
# (Headless Chromium for the UI tests comes with its issue.)

# --- start / stop --------------------------------------------------------------

# Stops everything started above and deletes the data. Safe to call twice,
# and under `set -e` (it runs from the EXIT trap: no step may stop it early).
pictor_services_stop() {
  if [[ -n ${PICTOR_SERVICES_STRIPE_PID:-} ]]; then
    kill "$PICTOR_SERVICES_STRIPE_PID" 2>/dev/null || true
    wait "$PICTOR_SERVICES_STRIPE_PID" 2>/dev/null || true
    PICTOR_SERVICES_STRIPE_PID=
  fi
  if [[ -n ${PICTOR_SERVICES_SMTP_PID:-} ]]; then
    kill "$PICTOR_SERVICES_SMTP_PID" 2>/dev/null || true
    wait "$PICTOR_SERVICES_SMTP_PID" 2>/dev/null || true
    PICTOR_SERVICES_SMTP_PID=
  fi
  if [[ -n ${PICTOR_SERVICES_MOTO_PID:-} ]]; then
    kill "$PICTOR_SERVICES_MOTO_PID" 2>/dev/null || true
    wait "$PICTOR_SERVICES_MOTO_PID" 2>/dev/null || true
    PICTOR_SERVICES_MOTO_PID=
  fi
  if [[ -n ${PICTOR_SERVICES_OIDC_PID:-} ]]; then
    kill "$PICTOR_SERVICES_OIDC_PID" 2>/dev/null || true
    wait "$PICTOR_SERVICES_OIDC_PID" 2>/dev/null || true
    PICTOR_SERVICES_OIDC_PID=
  fi
  if [[ -n ${PICTOR_SERVICES_S3_PID:-} ]]; then
    kill "$PICTOR_SERVICES_S3_PID" 2>/dev/null || true
    wait "$PICTOR_SERVICES_S3_PID" 2>/dev/null || true
    PICTOR_SERVICES_S3_PID=
  fi
  if [[ -n ${PICTOR_SERVICES_PG_BIN:-} ]]; then
    _svc_as_pg "$PICTOR_SERVICES_PG_BIN/pg_ctl" -D "$PICTOR_SERVICES_DIR/pg/data" stop -m fast >/dev/null 2>&1 || true
    PICTOR_SERVICES_PG_BIN=
  fi
  if [[ -n ${PICTOR_SERVICES_DIR:-} ]]; then
    rm -rf "$PICTOR_SERVICES_DIR" || true
    PICTOR_SERVICES_DIR=
  fi
  return 0
}

_svc_start_all() {
  # /tmp, not $TMPDIR: the postgres user must be able to reach it.
  PICTOR_SERVICES_DIR=$(mktemp -d /tmp/pictor-services.XXXXXX) || return 1
  chmod 755 "$PICTOR_SERVICES_DIR" || return 1
  trap pictor_services_stop EXIT
  # In a script, make INT/TERM exit through the EXIT trap too (an
  # interactive shell keeps its own handling of Ctrl-C).
  if [[ $- != *i* ]]; then
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
  _svc_start_postgres || { _svc_log "postgres failed to start"; return 1; }
  _svc_start_s3 || { _svc_log "s3s-fs failed to start"; return 1; }
  _svc_start_oidc || _svc_log "oidc-provider-mock failed to start: the OIDC tests will say SKIPPED"
  _svc_start_moto || _svc_log "moto failed to start: the storage-tier tests on S3 will say SKIPPED"
  _svc_start_smtp || _svc_log "aiosmtpd failed to start: the mail tests will say SKIPPED"
  _svc_start_stripe || _svc_log "the stripe stand-in failed to start: the Stripe client tests will say SKIPPED"
}

_svc_start_all || { pictor_services_stop; return 1 2>/dev/null || exit 1; }
