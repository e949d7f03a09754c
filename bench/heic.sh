#!/usr/bin/env bash
# HEIC thumbnail benchmark: a 12 MP phone HEIC to a 256-px thumbnail, CPU
# time (user+sys, median of BENCH_REPEAT runs) of Pictor with and without
# its embedded-thumbnail fast path, against libheif's tools.
#
#   bench/heic.sh
#
# Input: the corpus's iPhone 13 Pro Max HEIC (4032x3024 grid, 320x240 `thmb`)
# when ../shared/corpus (or $PICTOR_CORPUS) is there, else one made with
# heif-enc (`-t 320`, as phones do) from the 20 MP wallpaper that
# bench/thumbnail.sh also uses, resized to 4032x3024.
#
# Environment:
#   BENCH_REPEAT   timed runs per tool (default 10; median reported)
#   BENCH_WARMUP   untimed runs per tool first (default 1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work/heic
export BENCH_REPEAT=${BENCH_REPEAT:-10} BENCH_WARMUP=${BENCH_WARMUP:-1}
mkdir -p "$work"

die() { echo "heic.sh: $*" >&2; exit 1; }

missing=()
command -v heif-convert >/dev/null && command -v heif-enc >/dev/null || missing+=(libheif-examples)
command -v heif-thumbnailer >/dev/null || missing+=(heif-thumbnailer)
command -v vipsthumbnail >/dev/null || missing+=(libvips-tools)
if ((${#missing[@]})); then
  apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
fi

# --- input -------------------------------------------------------------------
corpus=${PICTOR_CORPUS:-$root/../shared/corpus}
input=$corpus/camera_exif/exif-samples/heic/mobile/iphone_13_pro_max.HEIC
if [[ ! -f $input ]]; then
  input=$work/made-12mp.heic
  if [[ ! -f $input ]]; then
    pkg=lomiri-wallpapers-20.04 jpg=usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
    (cd "$work" && { compgen -G "${pkg}_*.deb" >/dev/null || apt-get download "$pkg"; })
    dpkg-deb --fsys-tarfile "$work/${pkg}"_*.deb | tar -x -O "./$jpg" >"$work/source.jpg"
    vips thumbnail "$work/source.jpg" "$work/source-12mp.png" 4032 --height 3024 --crop centre
    heif-enc -q 50 -t 320 "$work/source-12mp.png" -o "$input.tmp" && mv "$input.tmp" "$input"
  fi
fi

# --- pictor ------------------------------------------------------------------
# Only the engine: its example makes the thumbnail the CLI makes.
features=()
command -v nasm >/dev/null && features=(--features asm)
(cd "$root" && cargo build --release -p pictor-imaging --example thumbnail "${features[@]}")
pictor=${CARGO_TARGET_DIR:-$root/target}/release/examples/thumbnail

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "input:   $input ($(du -k "$input" | cut -f1) KiB)"
echo "libheif: $(heif-convert 2>&1 | sed -n 's/.*libheif version: //p' | head -1), vips: $(vips --version)"
echo "runs:    x$BENCH_REPEAT (median CPU), warm-up x$BENCH_WARMUP"
echo

# --- measure -----------------------------------------------------------------
# Each case is one or more commands run in turn; its CPU time is the sum of
# their user+sys from os.wait4 (not truncated to 10 ms as GNU time's is).
python3 - "$input" "$work" "$pictor" <<'PY'
import os, statistics, sys

heic, work, pictor = sys.argv[1:]
out = lambda name: os.path.join(work, name)
cases = [
    ("pictor", "yes", [[pictor, heic, out("pictor.jpg")]]),
    ("pictor `--full`", "no", [[pictor, heic, out("pictor-full.jpg"), "--full"]]),
    ("heif-thumbnailer -s 256", "yes", [["heif-thumbnailer", "-s", "256", heic, out("libheif.png")]]),
    ("vipsthumbnail (libheif)", "yes", [["vipsthumbnail", heic, "-s", "256", "-o", out("vips.jpg[Q=80]")]]),
    ("heif-convert + vipsthumbnail", "no", [
        ["heif-convert", "-q", "95", heic, out("full.jpg")],
        # libheif 1.15 turns the pixels upright but keeps EXIF orientation 6.
        ["vipsthumbnail", out("full.jpg"), "-s", "256", "--no-rotate", "-o", out("convert.jpg[Q=80]")],
    ]),
]

def cpu(argv):
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status, ru = os.wait4(pid, 0)
    if status != 0:
        sys.exit(f"{argv[0]} failed ({status})")
    return ru.ru_utime + ru.ru_stime

def run(steps):
    return sum(cpu(argv) for argv in steps)

repeat, warmup = int(os.environ["BENCH_REPEAT"]), int(os.environ["BENCH_WARMUP"])
results = []
for name, thumb, steps in cases:
    for _ in range(warmup):
        run(steps)
    results.append((name, thumb, statistics.median(run(steps) for _ in range(repeat))))
base = results[0][2]
print("| tool | embedded thumbnail | CPU time | × pictor |")
print("|---|---|---|---|")
for name, thumb, t in results:
    print(f"| {name} | {thumb} | {t:.3f} s | {t / base:.1f}× |")
PY
