#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the
# seeds in fuzz/seeds/TARGET (committed) plus, for the byte targets, the
# shared corpus's files when ../shared/corpus is there; prints executions
# and crashes per target. A crash's input lands in fuzz/artifacts/TARGET/;
# fix it, then copy the input into the target's regression folder (see
# fuzz/README.md), where `cargo test` replays it.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo-fuzz needs a nightly compiler; RUSTC_BOOTSTRAP=1 lets this
# project's stable one build it. Installs cargo-fuzz when missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
shift || true
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: SECONDS is a count, e.g. 60" >&2; exit 2; }
targets=("$@")
((${#targets[@]})) || targets=(decode jpeg_progressive metadata definition jsonpath transform multipart)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
corpus=$here/../../shared/corpus

cd "$here"
cargo fuzz build -O >&2
echo "| target | seconds | executions | crashes |"
echo "|---|---|---|---|"
status=0
for target in "${targets[@]}"; do
  work=$(mktemp -d)
  dirs=("$work")
  [[ -d seeds/$target ]] && dirs+=("seeds/$target")
  if [[ -d $corpus && ($target == decode || $target == jpeg_progressive || $target == metadata) ]]; then
    # Small files only: the decoders' speed, not their input size, is the point.
    find "$corpus" -type f -size -200k | head -400 | xargs -r cp -t "$work" 2>/dev/null || true
  fi
  log=$work.log
  rc=0
  cargo fuzz run -O "$target" "${dirs[@]}" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
    -timeout=20 -print_final_stats=1 >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=0
  ((rc == 0)) || { crashes=1; status=1; tail -30 "$log" >&2; }
  echo "| $target | $seconds | ${runs:-?} | $crashes |"
  rm -rf "$work" "$log"
done
exit $status
