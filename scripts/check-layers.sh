#!/usr/bin/env bash
# The layering ratchet (docs/architecture.md, "Boundaries"): REST handlers should decode,
# call one service method and encode. Two things show where they do more:
#   store   - `.store()`: a handler reaching an IdentityStore or JobStore port directly;
#   audit   - `record_now(`: a handler writing the audit log itself instead of a service
#             emitting a domain event.
# scripts/layers.budget holds how many of each every file under crates/harbor-server/src/api
# may have. A file over its budget (or a new file with any) fails; a file under it is
# reported, so the budget is lowered in the same change. The budget only goes down. Direct
# store calls are at zero everywhere: any new one fails (go through harbor_platform).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=scripts/layers.budget
status=0
declare -A allowed
while read -r file kind n; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  allowed["$file $kind"]=$n
done <"$budget"
count() { grep -c -- "$2" "$1" || true; }
for f in crates/harbor-server/src/api/*.rs; do
  for kind in store audit; do
    case $kind in
      store) n=$(count "$f" '\.store()') ;;
      audit) n=$(count "$f" 'record_now(') ;;
    esac
    max=${allowed["$f $kind"]:-0}
    if (( n > max )); then
      echo "layers: $f has $n $kind call(s), its budget is $max: go through a core service" >&2
      status=1
    elif (( n < max )); then
      echo "layers: $f has $n $kind call(s), fewer than its budget $max: lower it in $budget"
    fi
  done
done
total_store=$(cat crates/harbor-server/src/api/*.rs | grep -c '\.store()' || true)
total_audit=$(cat crates/harbor-server/src/api/*.rs | grep -c 'record_now(' || true)
echo "layers: $total_store direct store calls and $total_audit handler audit entries left under api/"
exit $status
