#!/usr/bin/env bash
# Proxy-cache benchmark: pulls through a proxy-cache project of CNCF Distribution, against
# pulling from Distribution directly and from a regular project of the same server.
#
#   benches/proxy.sh          4 images of 96 MiB (a 64 MiB and a 32 MiB layer each)
#   benches/proxy.sh quick    4 images of 10 MiB (CI)
#
# Starts Distribution (Debian package docker-registry) as the upstream and a release build
# of harbor-server with proxy-cache projects "hub1".."hub3" of it, fills Distribution with
# harbor-seed and copies the same images into a regular project "local" (untimed), then
# times `skopeo copy ... dir:` of the 4 images, one after the other, each into a fresh
# directory:
#   direct   from Distribution
#   first    through the proxy cache, nothing cached (fetched, streamed and stored)
#   cached   through the proxy cache again, everything cached (a HEAD upstream per tag)
#   local    from the regular project
# Goals: first <= 1.2 x direct; cached about local. Each phase runs 3 times in full mode
# (the first pulls through 3 proxy-cache projects, each empty at its turn), and the best
# run is kept.
# JSON results go to $OUT (default target/bench-results/proxy.json).
set -euo pipefail
cd "$(dirname "$0")/.."
# The build profile (HARBOR_BENCH_PROFILE, default release; CI passes dev to reuse the
# test build: its figures then show that the benchmark runs, not how fast a release is).
PROFILE="${HARBOR_BENCH_PROFILE:-release}"
PROFILE_DIR="$PROFILE"
[ "$PROFILE" = dev ] && PROFILE_DIR=debug
mode="${1:-full}"
OUT="${OUT:-target/bench-results}"
HARBOR_PORT="${HARBOR_PORT:-5330}"
DIST_PORT="${DIST_PORT:-5331}"

for tool in docker-registry skopeo curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing (apt-get install $tool)" >&2; exit 1; }
done
cargo build --profile "$PROFILE" -q --workspace --bins
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE_DIR"

if [ "$mode" = quick ]; then
  seed=(--repos 4 --tags 1 --bases 4 --base-size $((8 * 1024 * 1024)) --layer-size $((2 * 1024 * 1024)))
  rounds=1
else
  seed=(--repos 4 --tags 1 --bases 4 --base-size $((64 * 1024 * 1024)) --layer-size $((32 * 1024 * 1024)))
  rounds=3
fi

# shellcheck source=benches/remote-pair.sh
. benches/remote-pair.sh
start_pair proxy

echo "== seeding Distribution (${seed[*]})"
"$BIN"/harbor-seed --url "http://127.0.0.1:$DIST_PORT" --prefix bench "${seed[@]}"
images=(bench/app0:v0 bench/app1:v0 bench/app2:v0 bench/app3:v0)

export HARBOR_CLI_CONFIG="$work/cli.json"
echo "$PASSWORD" | "$BIN"/harbor login "http://127.0.0.1:$HARBOR_PORT" -u admin --password-stdin >/dev/null
"$BIN"/harbor registry add dist --type docker-registry --endpoint "http://127.0.0.1:$DIST_PORT" -q >/dev/null
# One proxy-cache project per round of first pulls: each starts empty.
for r in $(seq "$rounds"); do
  "$BIN"/harbor project create "hub$r" --proxy-cache dist -q >/dev/null
done
"$BIN"/harbor project create local -q >/dev/null
for i in "${images[@]}"; do
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --dest-creds "admin:$PASSWORD" \
    "docker://127.0.0.1:$DIST_PORT/$i" "docker://127.0.0.1:$HARBOR_PORT/local/$i"
done

# Seconds to pull every image from $1 (a registry prefix), each into a fresh directory.
pull_all() {
  local prefix="$1" creds=() start
  [ "$prefix" = "127.0.0.1:$DIST_PORT" ] || creds=(--src-creds "admin:$PASSWORD")
  rm -rf "$work/pulls"
  mkdir -p "$work/pulls"
  start=$(date +%s.%N)
  for i in "${images[@]}"; do
    skopeo copy -q --src-tls-verify=false "${creds[@]}" "docker://$prefix/$i" \
      "dir:$work/pulls/${i//[\/:]/_}"
  done
  python3 -c "print(round($(date +%s.%N) - $start, 3))"
}
# The best of $rounds runs of pull_all $1.
best_of() {
  local best=""
  for _ in $(seq "$rounds"); do
    t=$(pull_all "$1")
    best=$(python3 -c "print(min(x for x in ($t, ${best:-$t})))")
  done
  echo "$best"
}

echo "== pulls of ${#images[@]} images"
direct=$(best_of "127.0.0.1:$DIST_PORT")
first=""
for r in $(seq "$rounds"); do
  t=$(pull_all "127.0.0.1:$HARBOR_PORT/hub$r")
  first=$(python3 -c "print(min(x for x in ($t, ${first:-$t})))")
done
# Cached in the background once the blobs are stored: wait for every artifact.
for i in "${images[@]}"; do
  repo="${i%:*}"; repo="${repo//\//%252F}"
  for _ in $(seq 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$PASSWORD" \
      "http://127.0.0.1:$HARBOR_PORT/api/v2.0/projects/hub1/repositories/$repo/artifacts/v0")
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || { echo "hub1/$i was not cached" >&2; exit 1; }
done
cached=$(best_of "127.0.0.1:$HARBOR_PORT/hub1")
local_s=$(best_of "127.0.0.1:$HARBOR_PORT/local")

first_ratio=$(python3 -c "print(round($first / $direct, 2))")
cached_ratio=$(python3 -c "print(round($cached / $local_s, 2))")
size=$(du -sb "$work/pulls" | awk '{print $1}')
printf '\n| pull of %s images (%s MB) | wall time (s) |\n|---|---|\n' "${#images[@]}" "$((size / 1000000))"
printf '| direct from Distribution | %s |\n| first, through the proxy cache | %s |\n' "$direct" "$first"
printf '| cached, through the proxy cache | %s |\n| from a regular project | %s |\n' "$cached" "$local_s"
echo "first / direct: ${first_ratio}x (goal <= 1.2); cached / local: ${cached_ratio}x"
cat >"$OUT/proxy.json" <<JSON
{"mode": "$mode", "images": ${#images[@]}, "bytes": $size, "direct_s": $direct, "first_s": $first,
 "cached_s": $cached, "local_s": $local_s, "first_over_direct": $first_ratio, "cached_over_local": $cached_ratio}
JSON
