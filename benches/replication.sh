#!/usr/bin/env bash
# Replication benchmark: pull-replicating a set of images from CNCF Distribution into
# Harbor-rs, side by side with `skopeo sync` of the same set into the same server.
#
#   benches/replication.sh          200 images: 20 repositories x 10 tags, 10 shared base
#                                   layers of 20 MiB, one 1 MiB layer per image (~420 MB)
#   benches/replication.sh quick    20 images, 2 MiB bases, 256 KiB layers (CI)
#
# Starts Distribution (Debian package docker-registry) as the source and a release build
# of harbor-server as the destination, fills the source with harbor-seed (untimed), then
# times, in this order: `skopeo sync` of every repository into the project "skopeo", and a
# pull-based replication policy into the project "replica" (`harbor replication run
# --wait`). Both write to the same server, so the destination's cost is the same; the
# difference is the copier. It also reports how many blobs the replication transferred
# (from its task logs) against the number of distinct blobs: shared base layers are
# fetched once and mounted into the other repositories.
# JSON results go to $OUT (default target/bench-results/replication.json).
set -euo pipefail
cd "$(dirname "$0")/.."
# The build profile (HARBOR_BENCH_PROFILE, default release; CI passes dev to reuse the
# test build: its figures then show that the benchmark runs, not how fast a release is).
PROFILE="${HARBOR_BENCH_PROFILE:-release}"
PROFILE_DIR="$PROFILE"
[ "$PROFILE" = dev ] && PROFILE_DIR=debug
mode="${1:-full}"
OUT="${OUT:-target/bench-results}"
HARBOR_PORT="${HARBOR_PORT:-5320}"
DIST_PORT="${DIST_PORT:-5321}"

for tool in docker-registry skopeo curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (apt-get install $tool)" >&2; exit 1; }
done
cargo build --profile "$PROFILE" -q --workspace --bins
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE_DIR"

if [ "$mode" = quick ]; then
  seed=(--repos 4 --tags 5 --bases 2 --base-size $((2 * 1024 * 1024)) --layer-size $((256 * 1024)))
else
  seed=(--repos 20 --tags 10 --bases 10 --base-size $((20 * 1024 * 1024)) --layer-size $((1024 * 1024)))
fi

# shellcheck source=benches/remote-pair.sh
. benches/remote-pair.sh
start_pair replication

echo "== seeding Distribution (${seed[*]})"
seeded="$("$BIN"/harbor-seed --url "http://127.0.0.1:$DIST_PORT" --prefix bench "${seed[@]}")"
echo "$seeded"
images=$(echo "$seeded" | python3 -c 'import json,sys; print(json.load(sys.stdin)["images"])')
repos=$(echo "$seeded" | python3 -c 'import json,sys; print(json.load(sys.stdin)["repositories"])')
unique_blobs=$(echo "$seeded" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unique_blobs"])')

export HARBOR_CLI_CONFIG="$work/cli.json"
echo "$PASSWORD" | "$BIN"/harbor login "http://127.0.0.1:$HARBOR_PORT" -u admin --password-stdin >/dev/null
"$BIN"/harbor project create skopeo -q >/dev/null
"$BIN"/harbor project create replica -q >/dev/null

# skopeo sync: every repository, all tags, into harbor-server's project "skopeo".
{
  echo "127.0.0.1:$DIST_PORT:"
  echo "  tls-verify: false"
  echo "  images:"
  for r in $(seq 0 $((repos - 1))); do echo "    bench/app$r: []"; done
} >"$work/sync.yml"
echo "== skopeo sync: $images images"
start=$(date +%s.%N)
skopeo sync --src yaml --dest docker --dest-tls-verify=false --dest-creds "admin:$PASSWORD" \
  "$work/sync.yml" "127.0.0.1:$HARBOR_PORT/skopeo" >"$work/skopeo.log" 2>&1 \
  || { tail -20 "$work/skopeo.log" >&2; exit 1; }
skopeo_s=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")

echo "== Harbor-rs pull replication: $images images"
echo "$PASSWORD" | "$BIN"/harbor registry add dist --type docker-registry \
  --endpoint "http://127.0.0.1:$DIST_PORT" -q >/dev/null
"$BIN"/harbor replication policy create bench --from dist --name-filter 'bench/**' \
  --dest-namespace replica --replace-count 1 -q >/dev/null
start=$(date +%s.%N)
"$BIN"/harbor replication run bench --wait -q >"$work/run.out"
harbor_s=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
execution=$("$BIN"/harbor replication executions --policy bench -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$BIN"/harbor replication logs "$execution" >"$work/replication.log"
transferred=$(python3 - "$work/replication.log" <<'PY'
import re, sys
print(sum(int(m) for m in re.findall(r"and (\d+) blob\(s\) \(", open(sys.argv[1]).read())))
PY
)
copied_images=$(grep -c ": copied" "$work/replication.log" || true)

# Both copies are complete: the same number of tags arrived.
for project in skopeo replica; do
  count=$(curl -s -u "admin:$PASSWORD" "http://127.0.0.1:$HARBOR_PORT/api/v2.0/projects/$project/summary" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("repo_count", 0))')
  [ "$count" = "$repos" ] || { echo "$project holds $count repositories, expected $repos" >&2; exit 1; }
done
[ "$copied_images" = "$images" ] || { echo "replication copied $copied_images of $images images" >&2; exit 1; }

ratio=$(python3 -c "print(round($skopeo_s / $harbor_s, 2))")
printf '\n| copier | images | wall time (s) | blobs transferred |\n|---|---|---|---|\n'
printf '| skopeo sync %s | %s | %.1f | (per image) |\n' "$(skopeo --version | awk '{print $3}')" "$images" "$skopeo_s"
printf '| Harbor-rs replication | %s | %.1f | %s of %s distinct |\n' "$images" "$harbor_s" "$transferred" "$unique_blobs"
echo "skopeo sync / Harbor-rs replication: ${ratio}x"
cat >"$OUT/replication.json" <<JSON
{"mode": "$mode", "images": $images, "skopeo_sync_s": $skopeo_s, "harbor_replication_s": $harbor_s,
 "ratio": $ratio, "blobs_transferred": $transferred, "distinct_blobs": $unique_blobs}
JSON
