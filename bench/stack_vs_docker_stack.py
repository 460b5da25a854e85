#!/usr/bin/env python3
"""No-op redeploy per task: swarmops.core.stack_deploy vs community.docker.docker_stack, one run.

Deploys the tutorial stack (tests/stacks/part5.yml, published on 14581, 18581, 16581) once as stack `sobench-cmp` on the local
engine's swarm, then times, alternating in each round, three playbooks on localhost:
  1. five looped no-op swarmops.core.stack_deploy tasks, the compose file given by path,
  1b. the same with the file's content given inline (as the stack role passes it: no YAML to parse),
  2. five looped no-op community.docker.docker_stack tasks (the docker CLI underneath),
  3. five looped ansible.builtin.ping tasks: what any module task costs (Python start-up and
     ansible.module_utils.basic on the host, Ansible's own work per task), the lower bound,
  4. one ansible.builtin.ping (the floor: ansible-playbook start-up, inventory, one task).
Per-task cost = (playbook - floor) / 5. Both modules get resolve_image=never and no registry auth.

community.docker is not a dependency of this collection. The full `ansible` package bundles it:
    pip download --no-deps -d /tmp/a 'ansible>=12,<13' and unzip ansible_collections/community/docker
then pass its parent with --community-docker DIR (the directory holding ansible_collections/).
docker_stack also needs jsondiff: pip install --target /tmp/j jsondiff, then --pythonpath /tmp/j.

    .venv/bin/python bench/stack_vs_docker_stack.py --community-docker /tmp/cd --pythonpath /tmp/j [-n 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / ".collections"))

import docker  # noqa: E402
import yaml  # noqa: E402

from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy  # noqa: E402

STACK = "sobench-cmp"
COMPOSE = ROOT / "tests" / "stacks" / "part5.yml"
IMAGE = "sobench-stack/app:1"
BASE = os.environ.get("SWARMOPS_BASE_IMAGE", "swarmops/lab-base:bookworm")
LOOP = 5

PLAYS = {
    "swarmops.core.stack_deploy": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: No-op stack_deploy
      swarmops.core.stack_deploy:
        name: {stack}
        compose: [{compose}]
        env: {env}
        resolve_image: never
        wait: true
      loop: {loop}
      register: r
      failed_when: r is failed or r is changed
""",
    "community.docker.docker_stack": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: No-op docker_stack
      community.docker.docker_stack:
        name: {stack}
        compose: [{compose}]
        resolve_image: never
      environment: {env}
      loop: {loop}
      register: r
      failed_when: r is failed or r is changed
""",
    "ansible.builtin.ping": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Five pings, the cheapest module task
      ansible.builtin.ping:
      loop: {loop}
""",
    "ping (floor)": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
""",
}
# The same play with the file's content given inline (the {compose} placeholder is filled with a mapping).
PLAYS = dict(list(PLAYS.items())[:1] + [("swarmops.core.stack_deploy inline", PLAYS["swarmops.core.stack_deploy"])]
             + list(PLAYS.items())[1:])


def ensure_image(client):
    dockerfile = ("FROM %s\nRUN printf '#!/bin/sh\\nexec sleep infinity\\n' > /usr/local/bin/redis-server"
                  " && chmod +x /usr/local/bin/redis-server\nSTOPSIGNAL SIGKILL\nCMD [\"sleep\", \"infinity\"]\n" % BASE)
    for line in client.build(fileobj=io.BytesIO(dockerfile.encode()), tag=IMAGE, rm=True, decode=True):
        if "error" in line:
            raise SystemExit("image build failed: %s" % line["error"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=3)
    parser.add_argument("--community-docker", default=os.environ.get("SWARMOPS_BENCH_COMMUNITY_DOCKER"),
                        help="directory holding ansible_collections/community/docker"
                             " (default: $SWARMOPS_BENCH_COMMUNITY_DOCKER)")
    parser.add_argument("--pythonpath", default=os.environ.get("SWARMOPS_BENCH_PYTHONPATH", ""),
                        help="extra module path for docker_stack's jsondiff (pip install --target DIR jsondiff)")
    args = parser.parse_args()
    if not args.community_docker or not (Path(args.community_docker) / "ansible_collections/community/docker").is_dir():
        print("skipped: community.docker not found (see --community-docker in this file's docstring)")
        return

    client = docker.APIClient(version="auto")
    if client.info()["Swarm"]["LocalNodeState"] == "inactive":
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    ensure_image(client)
    data_dir = Path("/tmp/sobench-redis-data")
    data_dir.mkdir(exist_ok=True)
    env = {"WEB_IMAGE": IMAGE, "VISUALIZER_IMAGE": IMAGE, "REDIS_IMAGE": IMAGE, "REDIS_DATA": str(data_dir)}
    ansible_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(ROOT / ".collections"), args.community_docker]),
                       PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))
    if args.pythonpath:
        ansible_env["PYTHONPATH"] = args.pythonpath
    work = Path(tempfile.mkdtemp(prefix="sobench-cmp-"))
    # The tutorial's ports moved, so the bench runs beside the tests' stacks on the same swarm.
    compose = work / "part5.yml"
    compose.write_text(COMPOSE.read_text().replace('"4000:80"', '"14581:80"')
                       .replace('"8080:8080"', '"18581:8080"').replace('"6379:6379"', '"16581:6379"'))
    paths = {}
    for name, text in PLAYS.items():
        path = work / (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") + ".yml")
        source = json.dumps(yaml.safe_load(compose.read_text())) if name.endswith(" inline") else compose
        path.write_text(text.format(stack=STACK, compose=source, env=env, loop=list(range(LOOP))))
        paths[name] = path

    def play(name):
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                               "-e", "ansible_python_interpreter=" + sys.executable, str(paths[name])],
                              cwd=ROOT, env=ansible_env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise SystemExit("%s failed:\n%s\n%s" % (name, proc.stdout[-4000:], proc.stderr[-2000:]))
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        return elapsed, cpu

    try:
        deploy(client, {"name": STACK, "compose": [str(compose)], "env": env, "resolve_image": "never",
                        "wait": True, "wait_timeout": 120}, check_mode=False)
        # One untimed warm-up: the docker CLI rewrites fields our deploy left unset (Privileges) once.
        subprocess.run(["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(compose), STACK],
                       env=dict(os.environ, **env), check=True, capture_output=True)
        for name in PLAYS:
            play(name)
        times = {name: [] for name in PLAYS}
        cpus = {name: [] for name in PLAYS}
        for _ in range(args.rounds):
            for name in PLAYS:
                elapsed, cpu = play(name)
                times[name].append(elapsed)
                cpus[name].append(cpu)
        print("No-op redeploy of the part-5 stack, %d looped tasks per playbook, %d rounds, load average %.1f"
              % (LOOP, args.rounds, os.getloadavg()[0]))
        header = ("playbook", "median s", "min s", "CPU s", "per task (med)", "(min)", "(CPU)")
        print("%-34s %9s %7s %9s %15s %13s %13s" % header)
        per_task = {}
        for name in PLAYS:
            cells = []
            for measure, values in (("med", times[name]), ("min", times[name]), ("cpu", cpus[name])):
                pick = min if measure == "min" else statistics.median
                floor = pick(times["ping (floor)"] if measure != "cpu" else cpus["ping (floor)"])
                cost = (pick(values) - floor) / LOOP if name != "ping (floor)" else None
                per_task[name, measure] = cost
                cells.append("-" if cost is None else "%.3f" % cost)
            row = (name, statistics.median(times[name]), min(times[name]), statistics.median(cpus[name]), *cells)
            print("%-34s %9.2f %7.2f %9.2f %15s %13s %13s" % row)
        for measure, label in (("med", "median wall"), ("min", "min wall"), ("cpu", "median CPU")):
            docker_stack = per_task["community.docker.docker_stack", measure]
            print("by %-12s stack_deploy / docker_stack per task: %.2fx (goal <= 0.5x), inline %.2fx;"
                  " ping / docker_stack: %.2fx (no module task costs less)"
                  % (label, per_task["swarmops.core.stack_deploy", measure] / docker_stack,
                     per_task["swarmops.core.stack_deploy inline", measure] / docker_stack,
                     per_task["ansible.builtin.ping", measure] / docker_stack))
    finally:
        deploy(client, {"name": STACK, "state": "absent", "wait_timeout": 120}, check_mode=False)


if __name__ == "__main__":
    main()
