# Shared by the benchmark scripts (sourced after they set `here` and `root`
# and define `die`).

# Builds bench/thumbnail.sh's inputs (vips, and the batch of 12-24 MP photos
# in bench/work/batch) with that script's own recipe, so it lives in one place.
ensure_batch() {
  local recipe
  recipe=$(sed -n '/^# --- tools/,/^# --- pictor/p' "$here/thumbnail.sh")
  [[ $recipe == *build_batch* ]] || die "bench/thumbnail.sh has no tools/inputs sections to reuse"
  (eval "$recipe") || die "could not build the inputs in $here/work/batch"
}

# Sets PICTOR to a release build of this tree (built now, with the asm
# kernels when nasm is there) unless the caller gave one.
ensure_pictor() {
  if [[ -z ${PICTOR:-} ]]; then
    local features=()
    command -v nasm >/dev/null && features=(--features asm)
    (cd "$root" && cargo build --release -p pictor "${features[@]}")
    PICTOR=$root/target/release/pictor
  fi
  [[ -x $PICTOR ]] || die "PICTOR=$PICTOR is not executable"
}

# Sets `photo` (a 12 MP JPEG cut from the batch's 20 MP photo) and `small`
# (the same, 320 px wide: about 20 KB), made once in bench/work.
ensure_workflow_photos() {
  ensure_batch
  local work=$here/work
  photo=$work/workflow-12mp.jpg
  if [[ ! -f $photo ]]; then
    vips thumbnail "$work/batch/r01-Kleiber.jpg" "$work/.12mp.jpg[Q=90]" 4000 --height 3000 --crop centre
    mv "$work/.12mp.jpg" "$photo"
  fi
  [[ $(vipsheader -f width "$photo")x$(vipsheader -f height "$photo") == 4000x3000 ]] || die "$photo is not 4000x3000"
  small=$work/workflow-small.jpg
  [[ -f $small ]] || vips thumbnail "$photo" "$small[Q=85]" 320
}
