#!/usr/bin/env bash
# Memory under a soak: a release harbor-server (default configuration, fresh data
# directory) takes harbor-bench's mix (75% pull, 25% push, the same content every run) at
# -c 64 for a warm-up, then at -c 8 for SOAK_MINUTES (default 30). Its resident memory, threads and open files are
# sampled every SAMPLE_SECS (default 30) into $OUT/soak.csv; a summary follows.
#
#   scripts/soak.sh                  # 30 minutes
#   SOAK_MINUTES=3 scripts/soak.sh   # a short look
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${SOAK_MINUTES:-30}"
every="${SAMPLE_SECS:-30}"
OUT="${OUT:-target/bench-results}"
port="${SOAK_PORT:-5330}"
cargo build --release -q -p harbor-server -p harbor-benches --bin harbor-server --bin harbor-bench
BIN="${CARGO_TARGET_DIR:-target}/release"
export HARBOR_BENCH_USER=admin
export HARBOR_BENCH_PASSWORD="Soak-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-9Z"
work="$(mktemp -d)"
mkdir -p "$OUT"
HARBOR_ADMIN_PASSWORD="$HARBOR_BENCH_PASSWORD" \
  "$BIN"/harbor-server --listen "127.0.0.1:$port" --data-dir "$work/data" --log warn >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
curl -sf -u "admin:$HARBOR_BENCH_PASSWORD" -H 'content-type: application/json' \
  -d '{"project_name": "harbor-bench"}' "http://127.0.0.1:$port/api/v2.0/projects" >/dev/null
sample() {
  local rss threads fds
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  threads=$(awk '/Threads/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  echo "$1,$(( rss / 1024 )),$threads,$fds" >>"$OUT/soak.csv"
}
echo "seconds,rss_mib,threads,fds" >"$OUT/soak.csv"
start=$(date +%s)
sample 0
# The same content every run (--seed): storage stays bounded however long the soak.
"$BIN"/harbor-bench --url "http://127.0.0.1:$port" --pid "$pid" --seed 1 -w mix -c 64 -n 2000 >/dev/null 2>&1
sample $(( $(date +%s) - start ))
warm=$(tail -1 "$OUT/soak.csv" | cut -d, -f2)
end=$(( $(date +%s) + minutes * 60 ))
next=$(( $(date +%s) + every ))
while [ "$(date +%s)" -lt "$end" ]; do
  "$BIN"/harbor-bench --url "http://127.0.0.1:$port" --seed 1 -w mix -c 8 -n 200 >/dev/null 2>&1
  if [ "$(date +%s)" -ge "$next" ]; then
    sample $(( $(date +%s) - start ))
    next=$(( next + every ))
  fi
done
sample $(( $(date +%s) - start ))
last=$(tail -1 "$OUT/soak.csv" | cut -d, -f2)
max=$(tail -n +2 "$OUT/soak.csv" | cut -d, -f2 | sort -n | tail -1)
half=$(awk -F, -v t=$(( minutes * 30 )) 'NR > 1 && $1 >= t {print $2; exit}' "$OUT/soak.csv")
echo "soak: ${minutes} min of mix at -c 8 after a -c 64 warm-up"
echo "  RSS after the warm-up ${warm} MiB, at half time ${half:-?} MiB, at the end ${last} MiB, highest ${max} MiB"
echo "  samples: $OUT/soak.csv"
