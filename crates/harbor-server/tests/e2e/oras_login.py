"""`oras login`, then `oras push` and `oras pull`, with the `oras` Python SDK.

Usage: oras_login.py <host:port> <workdir> <repository> <username> <password>
Logs in (which stores the credentials in a Docker-style config file), then pushes a file
artifact as `<repository>:v1` and pulls it back, each with a fresh client that finds the
credentials only in that file, as separate `oras` invocations would. A failing step is
recorded, not raised. Prints one JSON object last; the Rust test asserts on it.
"""
import json
import os
import sys
import types

import oras.client
import oras.decorator

host, work, repo, username, password = sys.argv[1:6]
os.chdir(work)
# oras-py's login prefers a Docker daemon; point it at none so that it writes its own
# credentials file, kept in the work directory rather than ~/.docker.
os.environ["DOCKER_HOST"] = "unix://" + os.path.join(work, "no-docker.sock")
config = os.path.join(work, "docker-config.json")
# oras-py retries a failing request five times, sleeping 2 + 3**n seconds in between
# (over two minutes in all): keep the retries, skip the sleeps.
oras.decorator.time = types.SimpleNamespace(sleep=lambda _seconds: None)
out = {}


def fresh():
    return oras.client.OrasClient(hostname=host, insecure=True)


out["login"] = fresh().login(
    username=username, password=password, hostname=host, tls_verify=False,
    config_path=config,
)
with open(config) as f:
    out["stored_hosts"] = sorted(json.load(f).get("auths", {}))

payload = ("artifact pushed after oras login\n" * 1000).encode()
with open("artifact.txt", "wb") as f:
    f.write(payload)
try:
    resp = fresh().push(
        files=["artifact.txt"], target=f"{host}/{repo}:v1", config_path=config,
        quiet=True,
    )
    out["push_status"] = resp.status_code
except Exception as e:  # noqa: BLE001 - the test asserts on the failure
    out["push_error"] = f"{type(e).__name__}: {e}"

outdir = os.path.join(work, "pulled")
try:
    pulled = fresh().pull(
        target=f"{host}/{repo}:v1", config_path=config, outdir=outdir,
    )
    out["pulled_files"] = [os.path.basename(p) for p in pulled]
    with open(os.path.join(outdir, "artifact.txt"), "rb") as f:
        out["pulled_matches"] = f.read() == payload
except Exception as e:  # noqa: BLE001
    out["pull_error"] = f"{type(e).__name__}: {e}"

print(json.dumps(out))
