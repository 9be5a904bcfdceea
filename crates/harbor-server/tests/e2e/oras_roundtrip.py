"""Exercise a Harbor-rs registry with the `oras` Python client (ORAS SDK).

Usage: oras_roundtrip.py <host:port> <workdir>
Prints one JSON object describing what happened; the Rust test asserts on it and on the
registry's own view.
"""
import hashlib
import json
import os
import sys

import oras.client
import oras.oci
import requests

host, work = sys.argv[1], sys.argv[2]
os.chdir(work)
client = oras.client.OrasClient(hostname=host, insecure=True)
out = {}

# 1. Push a file artifact (monolithic uploads) and pull it back.
payload = ("hello from oras\n" * 5000).encode()
with open("artifact.txt", "wb") as f:
    f.write(payload)
resp = client.push(files=["artifact.txt"], target=f"{host}/e2e/oras:v1", quiet=True)
out["push_status"] = resp.status_code
pulled = client.pull(target=f"{host}/e2e/oras:v1", outdir=os.path.join(work, "pulled"))
out["pulled_files"] = [os.path.basename(p) for p in pulled]
with open(os.path.join(work, "pulled", "artifact.txt"), "rb") as f:
    out["pulled_matches"] = f.read() == payload
out["tags"] = client.get_tags(f"{host}/e2e/oras")

# 2. A chunked push (PATCH with Content-Range) of a larger file.
big = os.urandom(3 * 1024 * 1024 + 123)
with open("big.bin", "wb") as f:
    f.write(big)
resp = client.push(
    files=["big.bin"], target=f"{host}/e2e/oras:big", do_chunked=True,
    chunk_size=1024 * 1024, quiet=True,
)
out["chunked_push_status"] = resp.status_code
pulled = client.pull(target=f"{host}/e2e/oras:big", outdir=os.path.join(work, "pulled-big"))
with open(os.path.join(work, "pulled-big", "big.bin"), "rb") as f:
    out["chunked_pulled_matches"] = f.read() == big
out["big_digest"] = "sha256:" + hashlib.sha256(big).hexdigest()

# 3. Attach a referrer to v1 and discover it through the referrers API.
r = requests.get(
    f"http://{host}/v2/e2e/oras/manifests/v1",
    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
)
subject_digest = r.headers["Docker-Content-Digest"]
subject = oras.oci.Subject(
    mediaType="application/vnd.oci.image.manifest.v1+json",
    digest=subject_digest,
    size=len(r.content),
)
with open("signature.sig", "wb") as f:
    f.write(b"not really a signature")
resp = client.push(
    files=["signature.sig"], target=f"{host}/e2e/oras:sig", subject=subject,
    manifest_annotations={"org.example.kind": "signature"}, quiet=True,
)
out["referrer_push_status"] = resp.status_code
out["referrer_oci_subject"] = resp.headers.get("OCI-Subject")
out["referrer_digest"] = resp.headers.get("Docker-Content-Digest")
out["subject_digest"] = subject_digest
d = requests.get(f"http://{host}/v2/e2e/oras/referrers/{subject_digest}")
out["discover_content_type"] = d.headers.get("Content-Type")
out["discovered"] = [m["digest"] for m in d.json()["manifests"]]
out["discovered_annotations"] = [m.get("annotations", {}) for m in d.json()["manifests"]]

print(json.dumps(out))
