#!/usr/bin/env bash
# Thumbnail benchmark: Pictor vs libvips' vipsthumbnail, 256-px JPEG at q80.
#
#   bench/thumbnail.sh
#
# Cases: (a) one ~20 MP baseline JPEG, (b) one process over 50 JPEGs of 12-24 MP.
# Reports CPU time (user+sys) and peak RSS of each tool and the pictor/vips
# ratios, plus `djpeg -scale 1/8` on (a) as the floor no JPEG thumbnailer can
# beat. Results also go to bench/work/thumbnail-results.json.
#
# Environment:
#   PICTOR              pictor binary (default: target/release/pictor, built if missing)
#   BENCH_REPEAT        timed runs of the single-image case (default 10; median reported)
#   BENCH_BATCH_REPEAT  timed runs of the batch case (default 3; median reported)
#   BENCH_WARMUP        untimed runs per tool before timing (default 1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$here/work
export BENCH_REPEAT=${BENCH_REPEAT:-10} BENCH_BATCH_REPEAT=${BENCH_BATCH_REPEAT:-3} BENCH_WARMUP=${BENCH_WARMUP:-1}

die() { echo "thumbnail.sh: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
missing=()
command -v vipsthumbnail >/dev/null && command -v vipsheader >/dev/null || missing+=(libvips-tools)
command -v djpeg >/dev/null || missing+=(libjpeg-turbo-progs)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
fi

# --- inputs: real wallpapers from Debian packages ----------------------------
# Every distinct 12-24 MP JPEG in Debian 12's wallpaper packages (we checked
# lomiri-*, mate-, ukui-, plasma-workspace-, gnome-backgrounds, desktop-base):
# package, path inside the .deb, short name. The first is input (a), a 20 MP
# baseline photo; the others are shipped as is, several of them progressive.
real=(
  "lomiri-wallpapers-20.04 usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg Kleiber"
  "lomiri-wallpapers-20.04 usr/share/backgrounds/Painting-Colors_by__herobrine7gamer.jpg Painting-Colors"
  "lomiri-wallpapers-20.04 usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg Infinite-Sea"
  "lomiri-wallpapers-16.04 usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg sunset"
  "lomiri-wallpapers-16.04 usr/share/backgrounds/Dragonfly_by_Bolly.jpg Dragonfly"
  "lomiri-wallpapers-16.04 usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg seeding"
  "mate-backgrounds usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg Elephants"
  "plasma-workspace-wallpapers usr/share/wallpapers/Flow/contents/images/5120x2880.jpg Flow"
  "plasma-workspace-wallpapers usr/share/wallpapers/Flow/contents/images_dark/5120x2880.jpg Flow-dark"
  "plasma-workspace-wallpapers usr/share/wallpapers/Honeywave/contents/images/5120x2880.jpg Honeywave"
  "plasma-workspace-wallpapers usr/share/wallpapers/SafeLanding/contents/images/5120x2880.jpg SafeLanding"
  "plasma-workspace-wallpapers usr/share/wallpapers/Shell/contents/images/5120x2880.jpg Shell"
  "plasma-workspace-wallpapers usr/share/wallpapers/Volna/contents/images/5120x2880.jpg Volna"
)
batch=$work/batch
# Bump when the recipe below changes, so cached batches are regenerated.
recipe="thumbnail-batch v2"

pixels() { echo $(($(vipsheader -f width "$1") * $(vipsheader -f height "$1"))); }

build_batch() {
  local tmp=$work/batch.tmp entry pkg path name i=0
  rm -rf "$tmp" && mkdir -p "$tmp" "$work/debs" "$work/pkgs"
  local -a srcs=() names=() crop
  for entry in "${real[@]}"; do
    read -r pkg path name <<<"$entry"
    if [[ ! -d $work/pkgs/$pkg ]]; then
      # apt-get download: fetch the .deb without installing anything.
      compgen -G "$work/debs/${pkg}_*.deb" >/dev/null ||
        (cd "$work/debs" && { apt-get download "$pkg" || { apt-get update && apt-get download "$pkg"; }; })
      mkdir -p "$work/pkgs/$pkg.tmp"
      dpkg-deb --fsys-tarfile "$work/debs/${pkg}"_*.deb | tar -x -C "$work/pkgs/$pkg.tmp" --wildcards '*.jpg'
      mv "$work/pkgs/$pkg.tmp" "$work/pkgs/$pkg"
    fi
    [[ -f $work/pkgs/$pkg/$path ]] || die "$pkg no longer ships $path"
    srcs+=("$work/pkgs/$pkg/$path") names+=("$name")
    i=$((i + 1))
    cp "$work/pkgs/$pkg/$path" "$(printf '%s/r%02d-%s.jpg' "$tmp" "$i" "$name")"
  done

  # Too few real 12-24 MP JPEGs exist, so derive the rest from them: resized
  # (up or down) or cropped to 12.5-23.5 MP, re-encoded as baseline JPEG at
  # q75-95 (which also varies chroma subsampling: vips uses 4:4:4 from q90).
  # Sizes step by 11 MP x golden ratio (mod 11 MP) to spread evenly; integer
  # arithmetic on the index keeps it all deterministic.
  local n=${#srcs[@]} j src w h px q target out f
  for ((j = 0; i < 50; j++)); do
    src=${srcs[j % n]}
    w=$(vipsheader -f width "$src") h=$(vipsheader -f height "$src")
    px=$((w * h)) target=$((12500000 + (j * 6798000) % 11000001)) q=$((75 + (j * 13) % 21))
    i=$((i + 1))
    out=$(printf '%s/d%02d-from-%s.jpg' "$tmp" "$i" "${names[j % n]}")
    if ((j % 2 && target < px)); then
      # Crop keeps the source's full-resolution detail; slide the window around.
      read -r -a crop < <(awk -v w="$w" -v h="$h" -v t="$target" -v k="$((j % 5))" 'BEGIN {
        s = sqrt(t / (w * h)); cw = int(w * s); ch = int(h * s)
        printf "%d %d %d %d\n", (w - cw) * k / 4, (h - ch) / 2, cw, ch }')
      vips crop "$src" "${out}[Q=$q]" "${crop[@]}"
    else
      vips resize "$src" "${out}[Q=$q]" "$(awk -v p="$px" -v t="$target" 'BEGIN { printf "%.6f", sqrt(t / p) }')"
    fi
  done

  for f in "$tmp"/*.jpg; do
    px=$(pixels "$f")
    ((px >= 12000000 && px <= 24000000)) || die "$f is $px pixels, outside 12-24 MP"
  done
  { echo "$recipe"; (cd "$tmp" && ls ./*.jpg); } >"$tmp/MANIFEST"
  rm -rf "$batch" && mv "$tmp" "$batch"
}

[[ -f $batch/MANIFEST && $(head -1 "$batch/MANIFEST") == "$recipe" ]] || build_batch
single=$batch/r01-Kleiber.jpg
[[ $(vipsheader -f jpeg-multiscan "$single") == 0 ]] || die "$single is not baseline"

# --- pictor ------------------------------------------------------------------
if [[ -z ${PICTOR:-} ]]; then
  PICTOR=$root/target/release/pictor
  if [[ ! -x $PICTOR ]]; then
    # nasm enables the asm kernels; without it the asm feature fails to build.
    features=()
    command -v nasm >/dev/null && features=(--features asm)
    (cd "$root" && cargo build --release -p pictor "${features[@]}")
  fi
fi
[[ -x $PICTOR ]] || die "PICTOR=$PICTOR is not executable"
export PICTOR

# --- machine -----------------------------------------------------------------
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "vips:    $(vips --version)"
echo "djpeg:   $(djpeg -version 2>&1 | head -1)"
echo "pictor:  $("$PICTOR" --version 2>/dev/null || echo "$PICTOR")"
echo "runs:    single x$BENCH_REPEAT, batch x$BENCH_BATCH_REPEAT (median CPU, max RSS), warm-up x$BENCH_WARMUP"
echo

# --- measure -----------------------------------------------------------------
# Each tool runs as a child of GNU time. Peak RSS is its `%M`: spawning the
# tool straight from Python would count Python's own ~14 MB, which exec
# inherits as the RSS high-water mark. CPU time is the rusage os.wait4 returns
# for the time process (time + tool): the same user+sys as `%U %S`, but not
# truncated to 10 ms, which matters for runs of 0.05-0.15 s. GNU time's own
# startup adds about 1 ms to every tool alike.
SINGLE=$single BATCH=$batch WORK=$work python3 - <<'PY'
import json, os, re, shutil, statistics, subprocess, sys, time

env = os.environ
work, pictor = env["WORK"], env["PICTOR"]
single = env["SINGLE"]
batch = sorted(os.path.join(env["BATCH"], f) for f in os.listdir(env["BATCH"]) if f.endswith(".jpg"))
out, errlog, rssfile = (os.path.join(work, f) for f in ("out", "stderr.log", "maxrss.txt"))


def megapixels(files):
    dims = subprocess.run(["vipsheader", *files], check=True, capture_output=True, text=True).stdout
    return [int(w) * int(h) / 1e6 for w, h in re.findall(r": (\d+)x(\d+) ", dims)]


def check_thumbnails(tool, n):
    """Fail loudly unless `out` holds exactly n JPEGs that fit in 256x256."""
    files = [os.path.join(out, f) for f in sorted(os.listdir(out))]
    if len(files) != n:
        sys.exit(f"{tool}: expected {n} thumbnails in {out}, found {len(files)}")
    res = subprocess.run(["vipsheader", *files], capture_output=True, text=True)
    for f in files:
        m = re.search(re.escape(f) + r": (\d+)x(\d+) .*, (\w+)$", res.stdout, re.M)
        with open(f, "rb") as fh:
            magic = fh.read(3)
        if not m or magic != b"\xff\xd8\xff" or m[3] != "jpegload":
            sys.exit(f"{tool}: {f} is not a JPEG\n{res.stderr}")
        # A 256-px thumbnail of a >12 MP photo: the long side is 256 (255 allows rounding).
        w, h = int(m[1]), int(m[2])
        if max(w, h) > 256 or max(w, h) < 255:
            sys.exit(f"{tool}: {f} is {w}x{h}, not a 256-px thumbnail")


def run(tool, argv, n_out):
    """One run; returns (cpu_s, max_rss_kb, wall_s)."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    timed = ["/usr/bin/time", "-f", "%M", "-o", rssfile, *argv]
    with open(errlog, "wb") as err:
        t0 = time.monotonic()
        pid = os.posix_spawn(timed[0], timed, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, ru = os.wait4(pid, 0)
        wall = time.monotonic() - t0
    if (code := os.waitstatus_to_exitcode(status)) != 0:
        sys.exit(f"{tool} failed (exit {code}): {' '.join(argv[:3])} ...\n" + open(errlog).read())
    if n_out:
        check_thumbnails(tool, n_out)
    with open(rssfile) as f:
        return ru.ru_utime + ru.ru_stime, int(f.read().split()[-1]), wall


def bench(tools, repeat):
    """Interleaves the tools so drift (thermal, noisy neighbours) hits all alike."""
    samples = {t: [] for t in tools}
    for i in range(int(env["BENCH_WARMUP"]) + repeat):
        for tool, (argv, n_out) in tools.items():
            s = run(tool, argv, n_out)
            if i >= int(env["BENCH_WARMUP"]):
                samples[tool].append(s)
    return {t: {"cpu_s": statistics.median(c for c, _, _ in s),
                "peak_rss_mib": max(r for _, r, _ in s) / 1024,
                "wall_s": statistics.median(w for _, _, w in s),
                "cpu_samples_s": [round(c, 4) for c, _, _ in s]} for t, s in samples.items()}


vips_out = os.path.join(out, "%s.jpg[Q=80]")
pictor_args = ["--size", "256", "--format", "jpeg", "--quality", "80", "-o", out]
mp_single, mp_batch = megapixels([single])[0], megapixels(batch)
# Progressive JPEGs cost both tools several times more (no cheap 1/8 decode).
progressive = sum(subprocess.run(["vipsheader", "-f", "jpeg-multiscan", f], capture_output=True,
                                 text=True).stdout.strip() == "1" for f in batch)

results = {
    "machine": {"nproc": os.cpu_count(),
                "cpu": re.search(r"model name\s*: (.*)", open("/proc/cpuinfo").read())[1],
                "vips": subprocess.run(["vips", "--version"], capture_output=True, text=True).stdout.strip(),
                "pictor": pictor},
    "single": {"input": os.path.basename(single), "megapixels": round(mp_single, 1),
               "repeat": int(env["BENCH_REPEAT"]),
               **bench({"vipsthumbnail": (["vipsthumbnail", single, "--size", "256", "-o", vips_out], 1),
                        "pictor": ([pictor, "thumbnail", single, *pictor_args], 1),
                        "djpeg 1/8": (["djpeg", "-scale", "1/8", "-outfile", "/dev/null", single], 0)},
                       int(env["BENCH_REPEAT"]))},
    "batch": {"inputs": len(batch), "progressive": progressive, "megapixels_min": round(min(mp_batch), 1),
              "megapixels_max": round(max(mp_batch), 1), "repeat": int(env["BENCH_BATCH_REPEAT"]),
              **bench({"vipsthumbnail": (["vipsthumbnail", *batch, "--size", "256", "-o", vips_out], len(batch)),
                       "pictor": ([pictor, "thumbnail", *batch, *pictor_args], len(batch))},
                      int(env["BENCH_BATCH_REPEAT"]))},
}


def ratios(case, cpu_target, rss_target=None):
    v, p = results[case]["vipsthumbnail"], results[case]["pictor"]
    r = results[case]["ratio_pictor_vips"] = {"cpu": p["cpu_s"] / v["cpu_s"], "rss": p["peak_rss_mib"] / v["peak_rss_mib"],
                                              "cpu_target": cpu_target, "rss_target": rss_target}
    verdict = lambda x, t: "ok" if x <= t else "MISS"
    targets = f"cpu <= {cpu_target} {verdict(r['cpu'], cpu_target)}"
    if rss_target:
        targets += f", rss <= {rss_target} {verdict(r['rss'], rss_target)}"
    print(f"ratio pictor/vips: cpu {r['cpu']:.2f}  rss {r['rss']:.2f}   (target {targets})")


def row(case, label):
    for tool in ("vipsthumbnail", "pictor", "djpeg 1/8"):
        if tool in results[case]:
            s = results[case][tool]
            print(f"{label:<18}{tool:<15}{s['cpu_s']:>7.3f}{s['peak_rss_mib']:>14.1f}{s['wall_s']:>9.3f}")


print(f"{'case':<18}{'tool':<15}{'cpu_s':>7}{'peak_rss_MiB':>14}{'wall_s':>9}")
row("single", f"single {mp_single:.0f}MP")
ratios("single", 0.55)
floor = results["single"]["djpeg 1/8"]["cpu_s"] / results["single"]["vipsthumbnail"]["cpu_s"]
results["single"]["ratio_djpeg_vips_cpu"] = floor
print(f"floor djpeg/vips:  cpu {floor:.2f}")
print()
print(f"batch: {len(batch)} files, {progressive} progressive (real ones kept as shipped)")
row("batch", f"batch {len(batch)}x{min(mp_batch):.0f}-{max(mp_batch):.0f}MP")
ratios("batch", 0.95, 0.25)

path = os.path.join(work, "thumbnail-results.json")
with open(path, "w") as f:
    json.dump(results, f, indent=2)
print(f"\nwrote {path}")
PY

# --- encode cost of each output format at 1024 px ------------------------------
echo
enc_features=()
command -v nasm >/dev/null && enc_features=(--features asm)
(cd "$root" && cargo bench -q -p pictor-imaging --bench encode "${enc_features[@]}" -- "$single")
