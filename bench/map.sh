#!/bin/sh
# The map's clustering at scale: 100,000 placed photos of one account (and
# 20,000 of another) in SQLite; prints the time to cluster three views and
# to list their first 120 photos, and fails past 200 ms per view.
set -e
cd "$(dirname "$0")/.."
cargo test -p pictor-db --lib places::tests::map_at_100000_photos -- --ignored --nocapture
