#!/usr/bin/env python3
"""Time to form a swarm with the swarm role: 3 hosts vs 9 hosts, side by side.

Stand-alone: `.venv/bin/python bench/swarm.py [--runs N] [--lab]`. Run as root.

  sandbox  private dockerds in network namespaces (tests/integration/sandbox_engine.py);
           each inventory host's modules run inside its engine's namespace.
  lab      (--lab) lab hosts over SSH: creates the lab `bench-swarm` (9 hosts, 172.30.49.0/24,
           ssh on 127.0.0.1:2491-2499) with the lab_hosts role, installs Docker with the
           docker_engine role (not timed), then times the swarm role. Removes the lab at the end
           unless --keep-lab.

Each size is formed N times from nothing (every engine leaves its swarm between runs, not
timed); the table shows the median and min wall-clock seconds of the whole
`ansible-playbook` run of the role (init, token read, parallel joins, labels/Ready wait from
the manager, node table). Shapes: 3 = 1 manager + 2 workers, 9 = 1 manager + 8 workers and
9 = 3 managers + 6 workers.

With --timer DIR, each timed run writes the swarmops.core.timer callback's JSON to
DIR/<column>-<hosts>-<managers>m-<run>.json and a per-task table (median seconds of each task
per shape) follows the wall-clock table: where the time goes as the swarm grows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / ".collections")]

SHAPES = [(1, 2), (1, 8), (3, 6)]
LAB = "bench-swarm"
ROLE_PLAY = """
- name: Form the swarm
  hosts: bench_managers:bench_workers
  gather_facts: false
  roles:
    - role: swarmops.core.swarm
      vars:
        swarm_managers_group: bench_managers
        swarm_workers_group: bench_workers
        swarm_show_summary: false
"""
LEAVE_PLAY = """
- name: Leave every swarm
  hosts: all
  gather_facts: false
  tasks:
    - name: Leave
      swarmops.core.swarm_join:
        docker_host: "{{ swarm_docker_host | default(omit, true) }}"
        state: absent
        force: true
"""


def env(**extra):
    return dict(os.environ, **extra, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
                PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))


def playbook(workdir, name, text, inventory, timer=None):
    path = Path(workdir) / name
    path.write_text(text)
    extra = {}
    if timer:
        extra = {"ANSIBLE_CALLBACKS_ENABLED": "swarmops.core.timer", "SWARMOPS_TIMER_OUTPUT": str(timer),
                 "SWARMOPS_TIMER_TOP": "0"}
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(path)],
                          cwd=ROOT, env=env(**extra), capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode:
        sys.exit("%s failed:\n%s\n%s" % (name, proc.stdout[-5000:], proc.stderr[-2000:]))
    return elapsed


def shape_inventory(hosts, managers, workers):
    """hosts: [(name, hostvars)] -> inventory with bench_managers/bench_workers groups."""
    chosen = hosts[:managers + workers]
    return {"all": {"children": {
        "bench_managers": {"hosts": dict(chosen[:managers])},
        "bench_workers": {"hosts": dict(chosen[managers:])}}}}


def time_shapes(workdir, hosts, runs, leave_inventory, timer_dir=None, column=""):
    results = {}
    for managers, workers in SHAPES:
        inv = Path(workdir) / ("inv-%d-%d.yml" % (managers, workers))
        inv.write_text(yaml.safe_dump(shape_inventory(hosts, managers, workers)))
        times = []
        for run in range(runs):
            playbook(workdir, "leave.yml", LEAVE_PLAY, leave_inventory)
            timer = timer_dir and Path(timer_dir) / ("%s-%d-%dm-%d.json" % (column, managers + workers, managers, run))
            times.append(playbook(workdir, "role.yml", ROLE_PLAY, inv, timer))
        playbook(workdir, "leave.yml", LEAVE_PLAY, leave_inventory)
        results[(managers, workers)] = times
    return results


def sandbox(workdir, runs, timer_dir=None):
    from sandbox_engine import SandboxNet

    with SandboxNet(9) as net:
        hosts = [(e.hostname, {"ansible_connection": "local", "ansible_python_interpreter": str(e.python),
                               "swarm_docker_host": e.docker_host, "swarm_advertise_addr": e.addr})
                 for e in net.engines]
        leave = Path(workdir) / "leave-all.yml"
        leave.write_text(yaml.safe_dump({"all": {"hosts": dict(hosts)}}))
        return time_shapes(workdir, hosts, runs, leave, timer_dir, "sandbox")


def lab(workdir, runs, keep, name=LAB, octet=49, port=2491, timer_dir=None):
    hosts = []
    for i in range(9):
        hosts.append(("bench%d" % (i + 1), {"lab_hosts_address": "172.30.%d.%d" % (octet, 11 + i), "ansible_port": port + i}))
    group_vars = {"lab_hosts_name": name, "lab_hosts_subnet": "172.30.%d.0/24" % octet, "ansible_host": "127.0.0.1",
                  "ansible_user": "root", "ansible_python_interpreter": "/usr/bin/python3",
                  "ansible_ssh_private_key_file": "~/.swarmops/labs/%s/id_ed25519" % name}
    hosts = [(name, dict(group_vars, swarm_advertise_addr=hv["lab_hosts_address"], **hv)) for name, hv in hosts]
    inv = Path(workdir) / "lab.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"lab": {"hosts": dict(hosts)}}}}))
    up = playbook(workdir, "up.yml", "- hosts: lab\n  gather_facts: false\n  roles: [swarmops.core.lab_hosts]\n", inv)
    print("lab hosts up in %.0f s" % up, file=sys.stderr)
    try:
        engine = playbook(workdir, "engine.yml", "- hosts: lab\n  gather_facts: false\n  roles: [swarmops.core.docker_engine]\n", inv)
        print("docker_engine on 9 hosts in %.0f s" % engine, file=sys.stderr)
        return time_shapes(workdir, hosts, runs, inv, timer_dir, "lab")
    finally:
        if not keep:
            playbook(workdir, "down.yml", "- hosts: lab\n  gather_facts: false\n  roles:\n    - role: swarmops.core.lab_hosts\n"
                     "      vars: {lab_hosts_state: absent}\n", inv)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lab", action="store_true", help="also on 9 lab hosts over SSH (slow: installs Docker)")
    parser.add_argument("--keep-lab", action="store_true")
    parser.add_argument("--no-sandbox", action="store_true", help="lab hosts only (with --lab)")
    parser.add_argument("--lab-name", default=LAB, help="another lab name, to run beside someone's bench")
    parser.add_argument("--lab-octet", type=int, default=49, help="the lab subnet is 172.30.OCTET.0/24")
    parser.add_argument("--lab-port", type=int, default=2491, help="first of the 9 ssh ports on 127.0.0.1")
    parser.add_argument("--timer", metavar="DIR", help="write the timer callback's JSON of every timed run to DIR")
    args = parser.parse_args()
    if args.timer:
        Path(args.timer).mkdir(parents=True, exist_ok=True)

    columns = {}
    with tempfile.TemporaryDirectory(prefix="sobench-swarm-") as workdir:
        if not args.no_sandbox:
            columns["sandbox engines"] = sandbox(workdir, args.runs, args.timer)
        if args.lab:
            columns["lab hosts (SSH)"] = lab(workdir, args.runs, args.keep_lab, args.lab_name, args.lab_octet,
                                             args.lab_port, args.timer)

    names = list(columns)
    print("swarm role, wall-clock seconds of ansible-playbook (median / min of %d)" % args.runs)
    print("%-28s" % "hosts (managers + workers)" + "".join("%-22s" % n for n in names))
    for managers, workers in SHAPES:
        cells = []
        for n in names:
            t = columns[n][(managers, workers)]
            cells.append("%-22s" % ("%.1f / %.1f" % (statistics.median(t), min(t))))
        print("%-28s" % ("%d (%d + %d)" % (managers + workers, managers, workers)) + "".join(cells))
    if args.timer:
        task_table(Path(args.timer))


def task_table(timer_dir):
    """Median seconds of each task (as a whole) per column and shape, from the timer's JSON files."""
    seconds = {}  # (column, shape) -> task name -> [seconds]
    order = []
    for path in sorted(timer_dir.glob("*.json")):
        column, hosts, managers, _ = path.stem.split("-")
        document = json.loads(path.read_text())
        for task in document["tasks"]:
            if task["name"] not in order:
                order.append(task["name"])
            seconds.setdefault((column, "%s/%s" % (hosts, managers)), {}).setdefault(task["name"], []).append(
                task.get("seconds") or 0.0)
    keys = sorted(seconds)
    print("\nper task, median seconds (column hosts/managers)")
    print("%-60s" % "task" + "".join("%-14s" % ("%s %s" % k) for k in keys))
    for name in order:
        print("%-60s" % name[:59] + "".join("%-14s" % ("%.2f" % statistics.median(seconds[k][name]) if name in seconds[k] else "-")
                                            for k in keys))


if __name__ == "__main__":
    main()
