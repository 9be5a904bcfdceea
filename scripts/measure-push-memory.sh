#!/usr/bin/env bash
# Pushes and pulls one large blob through a release build of harbor-server with curl and
# reports the server's peak resident memory (VmHWM) and the transfer times.
#   scripts/measure-push-memory.sh [size, default 1G]
# The server is closed by default: it starts with the admin password
# $HARBOR_BENCH_PASSWORD (generated when unset), the project "bench" is created through the
# REST API, and curl sends a registry token for the two repositories, fetched once from
# /service/token before anything is timed (headers go through files, not command lines).
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1G}"
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
password="${HARBOR_BENCH_PASSWORD:-Bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')-9Z}"

cargo build --release -q -p harbor-server
# Where cargo put them (CARGO_TARGET_DIR, if set, else ./target).
BIN="${CARGO_TARGET_DIR:-target}/release"
head -c "$size" /dev/urandom > "$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"
bytes=$(stat -c %s "$work/blob")

HARBOR_ADMIN_PASSWORD="$password" \
  "$BIN"/harbor-server --listen 127.0.0.1:0 --data-dir "$work/data" --log warn > "$work/out" 2>&1 &
pid=$!
until grep -q listening "$work/out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/out" >&2; exit 1; }
  sleep 0.1
done
base="$(sed -n 's/^harbor-server listening on //p' "$work/out")"

# The project first (a token issued before its project existed is refused), then one
# token for both repositories.
printf 'Authorization: Basic %s\n' "$(printf 'admin:%s' "$password" | base64 -w0)" > "$work/basic"
curl -sf -o /dev/null -X POST -H @"$work/basic" -H 'Content-Type: application/json' \
  -d '{"project_name":"bench","metadata":{"public":"false"}}' "$base/api/v2.0/projects"
token="$(curl -sf -H @"$work/basic" \
  "$base/service/token?service=harbor-registry&scope=repository:bench/big:pull,push&scope=repository:bench/mono:pull,push" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
printf 'Authorization: Bearer %s\n' "$token" > "$work/auth"
rss() { awk '/^(VmRSS|VmHWM)/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$pid/status"; echo; }
echo "server pid $pid at $base; blob $bytes bytes; after start: $(rss)"

seconds() { python3 -c "import time; print(time.monotonic())"; }
rate() { python3 -c "print(f'{$bytes / ($2 - $1) / 1e6:.0f} MB/s ({$2 - $1:.2f} s)')"; }

# Streamed chunked push: POST, one PATCH with the whole body, PUT with the digest.
loc=$(curl -sfi -H @"$work/auth" -X POST "$base/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^location: //Ip')
t0=$(seconds)
curl -sf -H @"$work/auth" -X PATCH -H 'Content-Type: application/octet-stream' -T "$work/blob" "$base$loc" -o /dev/null
curl -sf -H @"$work/auth" -X PUT "$base$loc?digest=$digest" -o /dev/null
t1=$(seconds)
echo "streamed PATCH push: $(rate "$t0" "$t1"); $(rss)"

# Monolithic push of the same bytes to another repository.
t0=$(seconds)
curl -sf -H @"$work/auth" -X POST -H 'Content-Type: application/octet-stream' -T "$work/blob" "$base/v2/bench/mono/blobs/uploads?digest=$digest" -o /dev/null
t1=$(seconds)
echo "monolithic POST push: $(rate "$t0" "$t1"); $(rss)"

# Pull.
t0=$(seconds)
curl -sf -H @"$work/auth" "$base/v2/bench/big/blobs/$digest" -o /dev/null
t1=$(seconds)
echo "pull: $(rate "$t0" "$t1"); $(rss)"
echo "peak resident memory of the server: $(awk '/^VmHWM/ {printf "%d MiB", $2/1024}' /proc/$pid/status)"
