#!/usr/bin/env python3
"""Push then pull N small images against a registry with C threads; print one JSON line.

Usage: push-pull-bench.py [--user U] [--password P] [--create-project] <base-url> <images>
                          <concurrency> <layer-bytes> [repo-prefix]
A rough end-to-end measure (Python client overhead included) used to compare storage
set-ups of the same server side by side; the real load generator is harbor-bench.

Credentials (also HARBOR_BENCH_USER / HARBOR_BENCH_PASSWORD) are sent only to a registry
that asks for them: a 401 with a Bearer challenge is answered with Docker's token flow (a
token per repository for pull,push from the challenge's realm, with Basic credentials if
given), a Basic challenge with Basic credentials. Tokens for every repository are fetched
before the timed phases and cached until shortly before they expire. With Harbor-rs the
repository prefix's first segment is the project: it must exist (--create-project creates
it through Harbor's REST API, POST /api/v2.0/projects, with the credentials), or the
server must run with HARBOR_AUTO_CREATE_PROJECTS=true; then a token fetched before the
first push created the project is refused and fetched anew inside the timed push phase
(counted in auth_round_trips_timed).
"""
import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import threading
import time

import requests

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--user", default=os.environ.get("HARBOR_BENCH_USER"))
ap.add_argument("--password", default=os.environ.get("HARBOR_BENCH_PASSWORD"))
ap.add_argument("--create-project", action="store_true",
                help="create the prefix's project (private) through Harbor's REST API first")
ap.add_argument("base")
ap.add_argument("images", type=int)
ap.add_argument("concurrency", type=int)
ap.add_argument("layer_bytes", type=int)
ap.add_argument("prefix", nargs="?", default="bench")
args = ap.parse_args()
base, n, c, size, prefix = args.base.rstrip("/"), args.images, args.concurrency, args.layer_bytes, args.prefix
local = threading.local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s


class Auth:
    """Docker's token flow (and Basic), per repository, only when challenged."""

    def __init__(self, user, password):
        self.basic = (user, password or "") if user else None
        self.lock = threading.Lock()
        self.cache = {}  # repo -> (headers, refresh_at or None)
        self.realm = None  # (realm, service) from a Bearer challenge
        self.round_trips = 0

    def headers(self, repo):
        hit = self.cache.get(repo)
        if hit is None:
            return {}
        h, refresh_at = hit
        if refresh_at is not None and time.monotonic() >= refresh_at:
            return self.token(repo, None) if self.realm else {}
        return h

    def answer(self, r, repo, sent):
        """The headers to retry a 401 with, or None."""
        challenge = r.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        params = {k: q if q or not u else u
                  for k, q, u in re.findall(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))', challenge)}
        if scheme == "bearer" and params.get("realm"):
            self.realm = (params["realm"], params.get("service"))
            return self.token(repo, sent)
        if scheme == "basic" and self.basic:
            if sent.get("Authorization", "").startswith("Bearer ") and self.realm:
                return self.token(repo, sent)
            pair = f"{self.basic[0]}:{self.basic[1]}".encode()
            h = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            if h == sent:
                return None
            self.cache[repo] = (h, None)
            return h
        return None

    def token(self, repo, sent):
        with self.lock:
            hit = self.cache.get(repo)
            if hit and hit[0] != sent and (hit[1] is None or time.monotonic() < hit[1]):
                return hit[0]
            realm, service = self.realm
            params = {"scope": f"repository:{repo}:pull,push"}
            if service:
                params["service"] = service
            asked = time.monotonic()
            self.round_trips += 1
            r = requests.get(realm, params=params, auth=self.basic)
            if r.status_code != 200:
                raise SystemExit(f"token service {realm}: HTTP {r.status_code}: {r.text[:300]}"
                                 + (" (check --user/--password)" if r.status_code == 401 else ""))
            body = r.json()
            token = body.get("token") or body.get("access_token")
            ttl = max(int(body.get("expires_in") or 60), 1)
            h = {"Authorization": f"Bearer {token}"}
            self.cache[repo] = (h, asked + ttl - min(max(ttl // 10, 1), 60))
            return h


auth = Auth(args.user, args.password)


def call(method, path, repo, headers=None, **kw):
    """One request with the cached credentials for `repo`; a 401 is answered and retried once."""
    h = dict(headers or {})
    sent = auth.headers(repo)
    r = session().request(method, f"{base}{path}", headers={**h, **sent}, **kw)
    if r.status_code == 401:
        new = auth.answer(r, repo, sent)
        if new:
            with auth.lock:
                auth.round_trips += 1
            r = session().request(method, f"{base}{path}", headers={**h, **new}, **kw)
    return r


def blob(repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = call("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", repo, data=data)
    assert r.status_code == 201, r.text
    return d


images = []
for i in range(n):
    layer = os.urandom(size)
    config = json.dumps({"i": i, "nonce": os.urandom(8).hex()}).encode()
    images.append((f"{prefix}/app{i % 10}", f"t{i}", config, layer))


def push(img):
    repo, tag, config, layer = img
    cd, ld = blob(repo, config), blob(repo, layer)
    m = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}],
    }).encode()
    r = call("PUT", f"/v2/{repo}/manifests/{tag}", repo, data=m,
             headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    return ld


def pull(img):
    repo, tag, _, _ = img
    r = call("GET", f"/v2/{repo}/manifests/{tag}", repo,
             headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200, r.text
    m = r.json()
    total = 0
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        b = call("GET", f"/v2/{repo}/blobs/{d}", repo)
        assert b.status_code == 200, b.text
        total += len(b.content)
    return total


def run(fn):
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(c) as ex:
        list(ex.map(fn, images))
    return time.monotonic() - t0


if args.create_project:
    project = prefix.split("/")[0]
    r = requests.post(f"{base}/api/v2.0/projects", auth=auth.basic,
                      json={"project_name": project, "metadata": {"public": "false"}})
    if r.status_code not in (201, 409):
        raise SystemExit(f"creating project {project}: HTTP {r.status_code}: {r.text[:300]}")

# Untimed: one probe per repository, which fetches its token if the registry wants one.
for repo in sorted({img[0] for img in images}):
    r = call("GET", f"/v2/{repo}/tags/list?n=1", repo)
    if r.status_code == 401:
        raise SystemExit(f"{repo}: HTTP 401: give --user/--password (or HARBOR_BENCH_USER/_PASSWORD)")
setup_round_trips = auth.round_trips

push_s = run(push)
pull_s = run(pull)
mb = n * size / 1e6
print(json.dumps({
    "images": n, "concurrency": c, "layer_bytes": size,
    "push_images_per_s": round(n / push_s, 1), "push_MB_per_s": round(mb / push_s, 1),
    "pull_images_per_s": round(n / pull_s, 1), "pull_MB_per_s": round(mb / pull_s, 1),
    "auth_round_trips_timed": auth.round_trips - setup_round_trips,
}))
