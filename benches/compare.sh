#!/usr/bin/env bash
# Side-by-side benchmark: Harbor-rs against CNCF Distribution on this machine.
#
#   benches/compare.sh          full run (a few minutes)
#   benches/compare.sh quick    small request counts (CI)
#   STORAGE_DIR=/dev/shm benches/compare.sh    both registries store in memory (tmpfs):
#                               compares CPU efficiency without the disk's noise
#
# Starts a release build of harbor-server with its default configuration on a fresh data
# directory, and CNCF Distribution (Debian package docker-registry) with filesystem storage
# on another loopback port, then runs every harbor-bench workload against both,
# interleaved, and prints the tables and ratios. The default configuration flushes every
# push to disk (storage.fsync = true) and Distribution does not, so the push workloads also
# run against a second harbor-server with storage.fsync = false: like for like.
# JSON results go to $OUT (default target/bench-results).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
OUT="${OUT:-target/bench-results}"
OURS_PORT="${OURS_PORT:-5310}"
DIST_PORT="${DIST_PORT:-5311}"
NOSYNC_PORT="${NOSYNC_PORT:-5312}"

command -v docker-registry >/dev/null 2>&1 || {
  echo "docker-registry (CNCF Distribution) is missing: apt-get install docker-registry" >&2
  exit 1
}
cargo build --release -q -p harbor-server -p harbor-benches --bin harbor-server --bin harbor-bench

work="$(mktemp -d "${STORAGE_DIR:-${TMPDIR:-/tmp}}/harbor-compare.XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$OUT" "$work/dist"

cat > "$work/dist/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/dist/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DIST_PORT
YAML
docker-registry serve "$work/dist/config.yml" >"$work/dist/log" 2>&1 &
pids+=($!); dist_pid=$!
./target/release/harbor-server --listen "127.0.0.1:$OURS_PORT" --data-dir "$work/harbor" --log warn >"$work/harbor.log" 2>&1 &
pids+=($!); ours_pid=$!
HARBOR_STORAGE_FSYNC=false ./target/release/harbor-server --listen "127.0.0.1:$NOSYNC_PORT" --data-dir "$work/harbor-nosync" --log warn >"$work/harbor-nosync.log" 2>&1 &
pids+=($!); nosync_pid=$!
for port in "$OURS_PORT" "$DIST_PORT" "$NOSYNC_PORT"; do
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "== harbor-server $(./target/release/harbor-server --version | awk '{print $2}') (default config) vs $(docker-registry --version 2>/dev/null | head -1)"

# bench <name> <ours|nosync> <harbor-bench arguments...>
bench() {
  local name="$1" which="$2"; shift 2
  local port="$OURS_PORT" pid="$ours_pid" label=harbor-rs
  if [ "$which" = nosync ]; then port="$NOSYNC_PORT" pid="$nosync_pid" label=harbor-rs-nosync; fi
  echo
  echo "== $name ($label): $*"
  ./target/release/harbor-bench --url "http://127.0.0.1:$port" --name "$label" --pid "$pid" \
    --compare-url "http://127.0.0.1:$DIST_PORT" --compare-name distribution --compare-pid "$dist_pid" \
    --json "$OUT/$name.json" "$@" 2>/dev/null
}

if [ "$mode" = quick ]; then
  bench images-small ours -w push,push-chunked,pull --size 1MB,10MB -c 10 -n 20
  bench images-100mb ours -w push,push-chunked,pull --size 100MB -c 4 -n 3
  bench like-for-like nosync -w push,push-chunked --size 1MB,100MB -c 4 -n 3
  bench metadata ours -w manifest-get,manifest-head,tags,catalog -c 10 -n 2000
  bench c64 ours -w push,pull,mix --size 1MB -c 64 -n 256
  bench single-stream nosync -w push --size 256MiB -c 1 -n 1
else
  bench images-small ours -w push,push-chunked,pull --size 1MB,10MB -c 10 -n 100
  bench images-100mb ours -w push,push-chunked,pull --size 100MB -c 4 -n 12
  bench like-for-like nosync -w push,push-chunked --size 1MB,100MB -c 4 -n 12
  bench metadata ours -w manifest-get,manifest-head,tags,catalog -c 10 -n 20000
  bench c64 ours -w push,pull,mix --size 1MB -c 64 -n 2000
  if [ -n "${STORAGE_DIR:-}" ]; then
    echo; echo "== single-stream: skipped with STORAGE_DIR (the blobs above already fill memory)"
  else
    bench single-stream-durable ours -w push --size 1GiB -c 1 -n 3 --memory 3GiB
    bench single-stream nosync -w push --size 1GiB -c 1 -n 3 --memory 3GiB
  fi
fi
hwm() { awk '/^VmHWM/ {printf "%d MiB", $2/1024}' "/proc/$1/status"; }
echo
echo "== peak resident memory: harbor-rs $(hwm "$ours_pid"), harbor-rs-nosync $(hwm "$nosync_pid"), distribution $(hwm "$dist_pid")"
echo "== JSON results in $OUT"
