#!/usr/bin/env python3
"""No-op redeploy of the seed's part-5 stack: stack_deploy vs `docker stack deploy`, side by side.

Deploys tests/stacks/part5.yml once as stack `sobench-p5` (locally built image, nothing is
pulled), then times N redeploys of the unchanged stack with
  1. `docker stack deploy -c part5.yml` (the docker CLI, which updates every service),
  2. swarmops.core.stack_deploy through `ansible localhost -m ...` (process start-up included),
  3. the module's Python entry point (module_utils.stack.deploy) called directly,
interleaved in each round, and prints a table. Removes the stack at the end.

Needs the host engine to be a swarm manager (it runs `docker swarm init --advertise-addr
127.0.0.1` when the swarm is inactive, like the tests) and the lab base image
(swarmops/lab-base:bookworm, see the lab_base_image module).

    .venv/bin/python bench/stack_deploy.py [-n 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".collections"))

import docker  # noqa: E402

from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy  # noqa: E402

STACK = "sobench-p5"
COMPOSE = ROOT / "tests" / "stacks" / "part5.yml"
IMAGE = "sobench-stack/app:1"
BASE = os.environ.get("SWARMOPS_BASE_IMAGE", "swarmops/lab-base:bookworm")
BIN = Path(sys.executable).parent


def ensure_swarm(client):
    if client.info()["Swarm"]["LocalNodeState"] == "inactive":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)


def ensure_image(client):
    dockerfile = ("FROM %s\nRUN printf '#!/bin/sh\\nexec sleep infinity\\n' > /usr/local/bin/redis-server"
                  " && chmod +x /usr/local/bin/redis-server\nSTOPSIGNAL SIGKILL\nCMD [\"sleep\", \"infinity\"]\n" % BASE)
    for line in client.build(fileobj=io.BytesIO(dockerfile.encode()), tag=IMAGE, rm=True, decode=True):
        if "error" in line:
            raise SystemExit("image build failed: %s" % line["error"])


def timed(fn):
    start = time.perf_counter()
    changed = fn()
    return time.perf_counter() - start, changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repetitions", type=int, default=5)
    args = parser.parse_args()

    client = docker.APIClient(version="auto")
    ensure_swarm(client)
    ensure_image(client)
    data_dir = Path("/tmp/sobench-redis-data")
    data_dir.mkdir(exist_ok=True)
    env = {"WEB_IMAGE": IMAGE, "VISUALIZER_IMAGE": IMAGE, "REDIS_IMAGE": IMAGE, "REDIS_DATA": str(data_dir)}
    # resolve_image never (both sides): the lab may not contact registries on the internet.
    params = {"name": STACK, "compose": [str(COMPOSE)], "env": env, "wait": True, "wait_timeout": 120,
              "resolve_image": "never"}
    module_args = json.dumps(params)
    ansible_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                       ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    cli_env = dict(os.environ, **env)

    def cli():
        subprocess.run(["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(COMPOSE), STACK],
                       env=cli_env, check=True, capture_output=True)
        return "n/a (always updates)"

    def via_ansible():
        out = subprocess.run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                              "-e", "ansible_python_interpreter=" + sys.executable,
                              "-m", "swarmops.core.stack_deploy", "-a", module_args],
                             env=ansible_env, cwd=ROOT, capture_output=True, text=True)
        if "FAILED" in out.stdout or out.returncode not in (0, 2):
            raise SystemExit(out.stdout + out.stderr)
        return "CHANGED" in out.stdout.split("=>")[0]

    def direct():
        return deploy(client, dict(params), check_mode=False)["changed"]

    def ansible_ping():
        subprocess.run([str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                        "-e", "ansible_python_interpreter=" + sys.executable, "-m", "ansible.builtin.ping"],
                       env=ansible_env, cwd=ROOT, capture_output=True, check=True)
        return "-"

    def versions():
        """Sum of the stack's service Version.Index: it grows with every service update written."""
        label = {"label": "com.docker.stack.namespace=" + STACK}
        return sum(svc["Version"]["Index"] for svc in client.services(filters=label))

    try:
        first = deploy(client, dict(params), check_mode=False)
        print("initial deploy of %s: changed=%s (%d objects)" % (STACK, first["changed"], len(first["actions"])))
        methods = [("docker stack deploy (CLI 28)", cli), ("stack_deploy via ansible", via_ansible),
                   ("stack_deploy python function", direct), ("(ansible -m ping, baseline)", ansible_ping)]
        times = {name: [] for name, _ in methods}
        changed = {name: set() for name, _ in methods}
        writes = {name: 0 for name, _ in methods}
        for _ in range(args.repetitions):
            for name, fn in methods:
                before = versions()
                seconds, was_changed = timed(fn)
                writes[name] += 1 if versions() != before else 0
                times[name].append(seconds)
                changed[name].add(str(was_changed))
        print()
        print("No-op redeploy of the part-5 stack (3 services, 1 network), %d rounds, load average %.1f"
              % (args.repetitions, os.getloadavg()[0]))
        columns = ("method", "min s", "median s", "max s", "rounds w/ writes", "changed")
        header = "%-32s %8s %8s %8s  %-14s %s" % columns
        print(header)
        print("-" * len(header))
        for name, _ in methods:
            t = times[name]
            print("%-32s %8.3f %8.3f %8.3f  %-16s %s" % (name, min(t), statistics.median(t), max(t),
                                                         "%d/%d" % (writes[name], len(t)),
                                                         ",".join(sorted(changed[name]))))
    finally:
        deploy(client, {"name": STACK, "state": "absent", "wait_timeout": 120}, check_mode=False)


if __name__ == "__main__":
    main()
