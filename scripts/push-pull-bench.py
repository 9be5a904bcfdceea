#!/usr/bin/env python3
"""Push then pull N small images against a registry with C threads; print one JSON line.

Usage: push-pull-bench.py <base-url> <images> <concurrency> <layer-bytes> [repo-prefix]
A rough end-to-end measure (Python client overhead included) used to compare storage
set-ups of the same server side by side; the real load generator is harbor-bench.
"""
import concurrent.futures
import hashlib
import json
import os
import sys
import threading
import time

import requests

base, n, c, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
prefix = sys.argv[5] if len(sys.argv) > 5 else "bench"
local = threading.local()


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s


def blob(repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = session().post(f"{base}/v2/{repo}/blobs/uploads/?digest={d}", data=data)
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
    r = session().put(f"{base}/v2/{repo}/manifests/{tag}", data=m,
                      headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    return ld


def pull(img):
    repo, tag, _, _ = img
    r = session().get(f"{base}/v2/{repo}/manifests/{tag}",
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    m = r.json()
    total = 0
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        b = session().get(f"{base}/v2/{repo}/blobs/{d}")
        assert b.status_code == 200
        total += len(b.content)
    return total


def run(fn):
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(c) as ex:
        list(ex.map(fn, images))
    return time.monotonic() - t0


push_s = run(push)
pull_s = run(pull)
mb = n * size / 1e6
print(json.dumps({
    "images": n, "concurrency": c, "layer_bytes": size,
    "push_images_per_s": round(n / push_s, 1), "push_MB_per_s": round(mb / push_s, 1),
    "pull_images_per_s": round(n / pull_s, 1), "pull_MB_per_s": round(mb / pull_s, 1),
}))
