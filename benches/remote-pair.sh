# Sourced by replication.sh and proxy.sh: CNCF Distribution (the remote) and a release
# harbor-server, side by side on loopback.
#
#   start_pair NAME   sets PASSWORD (the administrator's) and work (a scratch directory,
#                     harbor-NAME.XXXXXX), starts Distribution on $DIST_PORT (no access
#                     log) and "$BIN"/harbor-server on $HARBOR_PORT (loopback registries
#                     allowed), waits until both answer; both stop and the directory goes
#                     on exit.

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

start_pair() {
  PASSWORD="Bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')-9Z"
  work="$(mktemp -d "${TMPDIR:-/tmp}/harbor-$1.XXXXXX")"
  pids=()
  trap cleanup EXIT
  mkdir -p "$OUT" "$work/dist"
  cat > "$work/dist/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/dist/data
http:
  addr: 127.0.0.1:$DIST_PORT
YAML
  docker-registry serve "$work/dist/config.yml" >"$work/dist/log" 2>&1 &
  pids+=($!)
  HARBOR_ADMIN_PASSWORD="$PASSWORD" HARBOR_AUTO_CREATE_PROJECTS=true HARBOR_REMOTE_ALLOW_LOOPBACK=true \
    "$BIN"/harbor-server --listen "127.0.0.1:$HARBOR_PORT" --data-dir "$work/harbor" --log warn \
    >"$work/harbor.log" 2>&1 &
  pids+=($!)
  for url in "http://127.0.0.1:$DIST_PORT/v2/" "http://127.0.0.1:$HARBOR_PORT/api/v2.0/ping"; do
    for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
  done
}
