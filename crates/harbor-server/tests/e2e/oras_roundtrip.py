"""Exercise a Harbor-rs registry with the `oras` Python client (ORAS SDK).

Usage: oras_roundtrip.py <host:port> <workdir> <username> <password>
Signs in first (the registry is closed by default): the SDK then follows the token flow
(401 with a Bearer challenge, a token fetched with Basic credentials). Prints one JSON
object describing what happened; the Rust test asserts on it and on the registry's own
view.
"""
import hashlib
import json
import os
import sys
import types

import oras.client
import oras.decorator
import oras.oci
import requests

host, work, username, password = sys.argv[1:5]
os.chdir(work)
# oras-py's login prefers a Docker daemon; point it at none so that it writes its own
# credentials file, kept in the work directory rather than ~/.docker.
os.environ["DOCKER_HOST"] = "unix://" + os.path.join(work, "no-docker.sock")
config = os.path.join(work, "docker-config.json")
# oras-py retries a failing request five times, sleeping 2 + 3**n seconds in between
# (over two minutes in all): keep the retries, skip the sleeps.
oras.decorator.time = types.SimpleNamespace(sleep=lambda _seconds: None)
client = oras.client.OrasClient(hostname=host, insecure=True)
out = {}
out["login"] = client.login(
    username=username, password=password, hostname=host, tls_verify=False,
    config_path=config,
)
# Plain HTTP calls below authenticate with the same credentials (Basic works on /v2/).
auth = (username, password)

# 1. Push a file artifact (monolithic uploads) and pull it back.
payload = ("hello from oras\n" * 5000).encode()
with open("artifact.txt", "wb") as f:
    f.write(payload)
resp = client.push(
    files=["artifact.txt"], target=f"{host}/e2e/oras:v1", config_path=config, quiet=True,
)
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
    auth=auth,
)
out["subject_status"] = r.status_code
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
d = requests.get(f"http://{host}/v2/e2e/oras/referrers/{subject_digest}", auth=auth)
out["discover_status"] = d.status_code
out["discover_content_type"] = d.headers.get("Content-Type")
out["discovered"] = [m["digest"] for m in d.json()["manifests"]]
out["discovered_annotations"] = [m.get("annotations", {}) for m in d.json()["manifests"]]

# Without credentials the same call is challenged to fetch a token.
anon = requests.get(f"http://{host}/v2/e2e/oras/referrers/{subject_digest}")
out["anonymous_status"] = anon.status_code
out["anonymous_challenge"] = anon.headers.get("WWW-Authenticate")

print(json.dumps(out))
