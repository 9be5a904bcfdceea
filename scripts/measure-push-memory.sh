#!/usr/bin/env bash
# Pushes and pulls one large blob through a release build of harbor-server with curl and
# reports the server's peak resident memory (VmHWM) and the transfer times.
#   scripts/measure-push-memory.sh [size, default 1G]
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1G}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q -p harbor-server
head -c "$size" /dev/urandom > "$work/blob"
digest="sha256:$(sha256sum "$work/blob" | cut -d' ' -f1)"
bytes=$(stat -c %s "$work/blob")

./target/release/harbor-server --listen 127.0.0.1:0 --data-dir "$work/data" --log warn > "$work/out" &
pid=$!
until grep -q listening "$work/out" 2>/dev/null; do sleep 0.1; done
base="$(sed -n 's/^harbor-server listening on //p' "$work/out")"
rss() { awk '/^(VmRSS|VmHWM)/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$pid/status"; echo; }
echo "server pid $pid at $base; blob $bytes bytes; after start: $(rss)"

seconds() { python3 -c "import time; print(time.monotonic())"; }
rate() { python3 -c "print(f'{$bytes / ($2 - $1) / 1e6:.0f} MB/s ({$2 - $1:.2f} s)')"; }

# Streamed chunked push: POST, one PATCH with the whole body, PUT with the digest.
loc=$(curl -sfi -X POST "$base/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^location: //Ip')
t0=$(seconds)
curl -sf -X PATCH -H 'Content-Type: application/octet-stream' -T "$work/blob" "$base$loc" -o /dev/null
curl -sf -X PUT "$base$loc?digest=$digest" -o /dev/null
t1=$(seconds)
echo "streamed PATCH push: $(rate "$t0" "$t1"); $(rss)"

# Monolithic push of the same bytes to another repository.
t0=$(seconds)
curl -sf -X POST -H 'Content-Type: application/octet-stream' -T "$work/blob" "$base/v2/bench/mono/blobs/uploads?digest=$digest" -o /dev/null
t1=$(seconds)
echo "monolithic POST push: $(rate "$t0" "$t1"); $(rss)"

# Pull.
t0=$(seconds)
curl -sf "$base/v2/bench/big/blobs/$digest" -o /dev/null
t1=$(seconds)
echo "pull: $(rate "$t0" "$t1"); $(rss)"
echo "peak resident memory of the server: $(awk '/^VmHWM/ {printf "%d MiB", $2/1024}' /proc/$pid/status)"
