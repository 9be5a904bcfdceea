#!/usr/bin/env bash
# The layering check (docs/architecture.md, "Boundaries"): REST handlers decode, call one
# service method and encode. Two things would show a handler doing more:
#   `.store()`     - reaching an IdentityStore or JobStore port directly instead of a
#                    harbor_platform service;
#   `record_now(`  - writing the audit log itself instead of a service emitting a domain
#                    event (the audit log is a subscriber of the event stream).
# Neither may appear in any file under crates/harbor-server/src/api.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for f in crates/harbor-server/src/api/*.rs; do
  for pattern in '\.store()' 'record_now('; do
    if grep -n -- "$pattern" "$f" >&2; then
      echo "layers: $f calls ${pattern//\\/} above: go through a harbor_platform service" >&2
      status=1
    fi
  done
done
[ "$status" = 0 ] && echo "layers: no handler under api/ reaches a store or writes the audit log itself"
exit $status
