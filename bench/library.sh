#!/usr/bin/env bash
# The web app at scale (issue 13): a generated library of 100,000 photos
# (records over five shared blobs, spread over five years, one month of
# 20,000), then the server time of each page and, in chromium, the first
# thumbnails, long tasks while scrolling into the big month, and the most
# images the page ever holds.
#
#   cargo build --release -p pictor && bench/library.sh
#
# PICTOR (default target/release/pictor), PHOTOS_DIR (five or more JPEG/PNG
# photos; default bench/work/photos, fetched by photos.sh), N (100000),
# CHROMIUM (/usr/bin/chromium; the browser part needs web-tests' npm ci).
# The generator is one SQL statement over the data folder's SQLite: the
# five uploaded records (processed by the real workflow, so with labels,
# metadata and thumbnails) copied N times with new ids, dates and places
# (spread over the world, for the map), labels included, no events or
# jobs. Results: bench/work/library/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PICTOR=${PICTOR:-target/release/pictor}
N=${N:-100000}
WORK=bench/work/library
DATA=$WORK/data
PHOTOS_DIR=${PHOTOS_DIR:-bench/work/photos}
PASSWORD="bench's long password"
export PICTOR_VISION__INSTALL_MODELS=false

[ -d "$PHOTOS_DIR" ] || bench/photos.sh "$PHOTOS_DIR"
rm -rf "$WORK" && mkdir -p "$DATA"
[ -n "${MODELS:-}" ] && ln -s "$MODELS" "$DATA/models"

serve() {
  "$PICTOR" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$WORK/serve.out" 2>"$WORK/serve.log" &
  SERVER=$!
  for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
}
stop() { kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=; }
trap '[ -z "${SERVER:-}" ] || kill "$SERVER"' EXIT

echo "$PASSWORD" | "$PICTOR" admin create-user --name bench --data-dir "$DATA"
KEY=$("$PICTOR" admin create-key --owner bench --scopes "upload read" --data-dir "$DATA" 2>/dev/null)
serve
ids=()
for photo in $(ls "$PHOTOS_DIR"/*.{jpg,png} 2>/dev/null | head -5); do
  ids+=("$(curl -sf -H "Authorization: Bearer $KEY" -H "content-type: image/${photo##*.}" --data-binary @"$photo" "$URL/api/v1/img" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
for id in "${ids[@]}"; do
  for _ in $(seq 600); do
    status=$(curl -sf -H "Authorization: Bearer $KEY" "$URL/api/v1/img/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$status" = processed ] || [ "$status" = failed ] && break
    sleep 0.2
  done
done
stop

# The generator: N copies of the five records, 20,000 in one month 30
# months ago, the rest spread evenly over five years before yesterday.
now=$(($(date +%s) * 1000))
big=$(($(date -u -d "$(date -u +%Y-%m-01) -30 months" +%s) * 1000))
month=$((28 * 86400000))
span=$((5 * 365 * 86400000))
columns=$(sqlite3 "$DATA/pictor.db" "SELECT group_concat(name, ', ') FROM pragma_table_info('images')")
select=$(sqlite3 "$DATA/pictor.db" "SELECT group_concat(CASE name
  WHEN 'id' THEN 'printf(''00000000-0000-7000-8000-%012x'', n.i)'
  WHEN 'created_at' THEN 'CASE WHEN n.i < 20000 THEN $big + n.i * ($month / 20000)
                          ELSE $now - 86400000 - (n.i - 20000) * ($span / ($N - 20000)) END'
  WHEN 'latitude_e6' THEN '(n.i * 7919) % 140000000 - 60000000'
  WHEN 'longitude_e6' THEN '(n.i * 104729) % 360000000 - 180000000'
  ELSE 't.' || name END, ', ') FROM pragma_table_info('images')")
time sqlite3 "$DATA/pictor.db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TEMP TABLE templates AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM images;
-- Without the models the photos have no labels: give each template five.
INSERT INTO labels (name, parents) SELECT 'label-' || k, '[]' FROM templates
  WHERE NOT EXISTS (SELECT 1 FROM image_labels) ON CONFLICT DO NOTHING;
INSERT INTO image_labels (image_id, label, confidence, direct, owner)
  SELECT t.id, 'label-' || ((t.k + j.j) % 5), 0.5, 1, t.owner FROM templates t, (SELECT 0 AS j UNION SELECT 1 UNION SELECT 2) j
  WHERE NOT EXISTS (SELECT 1 FROM image_labels);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO images ($columns)
  SELECT $select FROM n JOIN templates t ON t.k = n.i % (SELECT COUNT(*) FROM templates);
INSERT INTO image_labels (image_id, label, confidence, direct, owner)
  SELECT i.id, l.label, l.confidence, l.direct, i.owner FROM images i
  JOIN templates t ON t.sha256 = i.sha256 JOIN image_labels l ON l.image_id = t.id
  WHERE i.id LIKE '00000000-0000-7000-8000-%';
COMMIT;
ANALYZE;
SELECT COUNT(*) || ' photos, ' || (SELECT COUNT(*) FROM image_labels) || ' labels' FROM images;
SQL

serve
# Sign in through the form (its double-submit token), as a browser does.
jar=$WORK/cookies
csrf=$(curl -s -c "$jar" "$URL/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//; s/"$//') || true
curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "name=bench" --data-urlencode "password=$PASSWORD" \
  --data-urlencode "csrf=$csrf" --data-urlencode "next=/" "$URL/login"
cookie=$(awk '$6 == "pictor_session" { print "pictor_session=" $7 }' "$jar")
deep=$(curl -s -H "Cookie: $cookie" "$URL/" | grep -o 'href="/?before=[^"]*"' | tail -1 | sed 's/href="\(.*\)"/\1/') || true
# The big month's page: photos before the first instant after it.
big_month="/?before=$(($(date -u -d "$(date -u -d @$((big / 1000)) +%Y-%m-01) +1 month" +%s) * 1000))_"
photo=$(curl -s -H "Authorization: Bearer $KEY" "$URL/api/v1/img?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')

# Server time per page: the median of 20 (time to the first byte, on
# localhost; the pages are rendered whole before the first byte).
{
  echo "pictor at $URL, $(sqlite3 "$DATA/pictor.db" 'SELECT COUNT(*) FROM images') photos"
  for page in / "$deep" "$big_month" /tags /albums "/photos/$photo" /upload /settings \
    /map "/map?bbox=35,-10,60,30" "/map?bbox=48.8,2.3,48.9,2.4" "/search?label=label-1" /search; do
    for _ in $(seq 20); do
      curl -s -o /dev/null -w '%{time_starttransfer}\n' -H "Cookie: $cookie" "$URL$page"
    done | sort -n | sed -n 10p | awk -v p="$page" '{ printf "%-60s %6.1f ms\n", p, $1 * 1000 }'
  done
} | tee "$WORK/results.txt"

if [ -d web-tests/node_modules/@playwright/test ]; then
  PICTOR_URL=$URL COOKIE=$cookie BIG_MONTH=$big_month DEEP=$deep node bench/library-browser.js | tee -a "$WORK/results.txt"
else
  echo "(browser part skipped: run npm ci in web-tests/)"
fi
stop
