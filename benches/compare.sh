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
#
# Authentication: Harbor-rs is closed by default, so both harbor-servers start with the
# admin password $HARBOR_BENCH_PASSWORD (generated when unset), the private project
# "harbor-bench" is created through the REST API before any workload runs
# (HARBOR_AUTO_CREATE_PROJECTS=true too, as a fallback), and harbor-bench gets user and
# password through its environment. It answers Harbor-rs's 401s with Docker's token flow,
# fetching one token per repository in the untimed set-up; Distribution runs without
# authentication and never asks for credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build profile (HARBOR_BENCH_PROFILE, default release; CI passes dev to reuse the
# test build: its figures then show that the benchmark runs, not how fast a release is).
PROFILE="${HARBOR_BENCH_PROFILE:-release}"
PROFILE_DIR="$PROFILE"
[ "$PROFILE" = dev ] && PROFILE_DIR=debug
mode="${1:-full}"
OUT="${OUT:-target/bench-results}"
OURS_PORT="${OURS_PORT:-5310}"
DIST_PORT="${DIST_PORT:-5311}"
NOSYNC_PORT="${NOSYNC_PORT:-5312}"

command -v docker-registry >/dev/null 2>&1 || {
  echo "docker-registry (CNCF Distribution) is missing: apt-get install docker-registry" >&2
  exit 1
}
command -v curl >/dev/null 2>&1 || { echo "curl is missing: apt-get install curl" >&2; exit 1; }
cargo build --profile "$PROFILE" -q --workspace --bins
# Where cargo put them (CARGO_TARGET_DIR, if set, else ./target).
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE_DIR"

# Credentials: the servers' first start creates "admin" with this password, harbor-bench
# reads them from its environment (not from its command line, which others can see).
export HARBOR_BENCH_USER=admin
if [ -z "${HARBOR_BENCH_PASSWORD:-}" ]; then
  # Harbor's policy: 8+ characters with an uppercase letter, a lowercase letter, a digit.
  HARBOR_BENCH_PASSWORD="Bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')-9Z"
fi
export HARBOR_BENCH_PASSWORD

work="$(mktemp -d "${STORAGE_DIR:-${TMPDIR:-/tmp}}/harbor-compare.XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
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
HARBOR_ADMIN_PASSWORD="$HARBOR_BENCH_PASSWORD" HARBOR_AUTO_CREATE_PROJECTS=true \
  "$BIN"/harbor-server --listen "127.0.0.1:$OURS_PORT" --data-dir "$work/harbor" --log warn >"$work/harbor.log" 2>&1 &
pids+=($!); ours_pid=$!
HARBOR_ADMIN_PASSWORD="$HARBOR_BENCH_PASSWORD" HARBOR_AUTO_CREATE_PROJECTS=true HARBOR_STORAGE_FSYNC=false \
  "$BIN"/harbor-server --listen "127.0.0.1:$NOSYNC_PORT" --data-dir "$work/harbor-nosync" --log warn >"$work/harbor-nosync.log" 2>&1 &
pids+=($!); nosync_pid=$!

# Up when /v2/ answers 200 (Distribution) or 401 (Harbor-rs, which wants credentials).
# wait_up <name> <pid> <port> <log>
wait_up() {
  local code=000
  for _ in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || break
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$3/v2/" 2>/dev/null || true)"
    case "$code" in 200|401) return 0 ;; esac
    sleep 0.1
  done
  echo "$1 did not come up on 127.0.0.1:$3 (last answer: HTTP $code); its log:" >&2
  cat "$4" >&2
  exit 1
}
wait_up distribution "$dist_pid" "$DIST_PORT" "$work/dist/log"
wait_up harbor-rs "$ours_pid" "$OURS_PORT" "$work/harbor.log"
wait_up harbor-rs-nosync "$nosync_pid" "$NOSYNC_PORT" "$work/harbor-nosync.log"
# The project the workloads push into ("harbor-bench", from harbor-bench's --repo), created
# up front with the admin's Basic credentials (which proves they work): the registry
# refuses a token issued before its project existed, so relying on the first push to
# create it could cost a token fetch inside a timed phase.
printf 'Authorization: Basic %s\n' "$(printf '%s:%s' "$HARBOR_BENCH_USER" "$HARBOR_BENCH_PASSWORD" | base64 -w0)" >"$work/basic"
for which in "$OURS_PORT:harbor" "$NOSYNC_PORT:harbor-nosync"; do
  code="$(curl -s -o "$work/project.out" -w '%{http_code}' -X POST -H @"$work/basic" \
    -H 'Content-Type: application/json' -d '{"project_name":"harbor-bench","metadata":{"public":"false"}}' \
    "http://127.0.0.1:${which%%:*}/api/v2.0/projects" || true)"
  case "$code" in
    201|409) ;;
    *)
      echo "harbor-server on port ${which%%:*}: creating the project failed (HTTP $code): $(cat "$work/project.out" 2>/dev/null)" >&2
      cat "$work/${which#*:}.log" >&2
      exit 1
      ;;
  esac
done

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "== harbor-server $("$BIN"/harbor-server --version | awk '{print $2}') (default config) vs $(docker-registry --version 2>/dev/null | head -1)"

# bench <name> <ours|nosync> <harbor-bench arguments...>
bench() {
  local name="$1" which="$2"; shift 2
  local port="$OURS_PORT" pid="$ours_pid" label=harbor-rs
  if [ "$which" = nosync ]; then port="$NOSYNC_PORT" pid="$nosync_pid" label=harbor-rs-nosync; fi
  echo
  echo "== $name ($label): $*"
  if ! "$BIN"/harbor-bench --url "http://127.0.0.1:$port" --name "$label" --pid "$pid" \
    --compare-url "http://127.0.0.1:$DIST_PORT" --compare-name distribution --compare-pid "$dist_pid" \
    --json "$OUT/$name.json" "$@" 2>"$work/bench.err"; then
    cat "$work/bench.err" >&2
    echo "harbor-bench failed ($name); harbor-server log:" >&2
    tail -n 50 "$work/$( [ "$which" = nosync ] && echo harbor-nosync || echo harbor).log" >&2
    exit 1
  fi
  # Authentication notes (token service, any requests it added inside timed phases).
  grep -E 'tokens from|authentication|errors, first' "$work/bench.err" || true
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
