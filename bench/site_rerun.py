#!/usr/bin/env python3
"""Whole-site no-op re-run: this checkout vs an older commit (default d85face), same lab, one run.

Creates a git worktree of the older commit (in /tmp, reused), and a lab of its own name
(`sobench-site`, 172.30.163.0/24, ssh on 127.0.0.1:2591-2593, app 14591, visualizer 18591).
In each round, for each tree in turn: converge site.yml (not timed), then time the no-op re-run
of site.yml, which must report changed=0 on every host. The swarmops.core.timer callback (from
this checkout) writes each timed run's per-task JSON; the table shows the seconds and the
slowest tasks of the last round. The lab is removed at the end unless --keep-lab.

    .venv/bin/python bench/site_rerun.py [--base d85face] [--rounds 2] [--keep-lab]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def inventory(workdir, tree, name, octet, port):
    """An inventory dir for tree: the lab's hosts (own name, subnet, ports) + the tree's group_vars."""
    inv = Path(workdir) / ("inv-" + tree.name)
    inv.mkdir(exist_ok=True)
    hosts = {}
    for i, host in enumerate(["manager1", "worker1", "worker2"]):
        hosts[host] = {"lab_hosts_address": "172.30.%d.%d" % (octet, 11 + i), "ansible_port": port + i}
    app, visualizer = 14000 + port % 1000, 18000 + port % 1000
    hosts["manager1"]["lab_hosts_published_ports"] = ["%d:4000" % app, "%d:8080" % visualizer]
    doc = {"all": {
        "vars": {"stack_verify_url": "http://127.0.0.1:%d" % app,
                 "stack_verify_visualizer_url": "http://127.0.0.1:%d" % visualizer},
        "children": {"lab": {
            "vars": {"lab_hosts_name": name, "lab_hosts_subnet": "172.30.%d.0/24" % octet},
            "children": {"swarm_managers": {"hosts": {"manager1": hosts["manager1"]}},
                         "swarm_workers": {"hosts": {h: hosts[h] for h in ("worker1", "worker2")}}}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(doc))
    link = inv / "group_vars"
    if not link.exists():
        link.symlink_to(tree / "inventories" / "lab" / "group_vars")
    return inv


def site(tree, inv, timer_json=None, *extra, playbook="site.yml"):
    env = dict(os.environ, ANSIBLE_CONFIG=str(tree / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(tree / ".collections"), ANSIBLE_ROLES_PATH=str(tree / "roles"),
               PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))
    if timer_json:
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "plugins" / "callback"), ANSIBLE_CALLBACKS_ENABLED="timer",
                   SWARMOPS_TIMER_OUTPUT=str(timer_json), SWARMOPS_TIMER_TOP="0")
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), playbook, *extra],
                          cwd=tree, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode:
        sys.exit("site.yml in %s failed:\n%s\n%s" % (tree, proc.stdout[-6000:], proc.stderr[-2000:]))
    changed = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", proc.stdout, re.M)}
    results = sum(int(n) for n in re.findall(r"^\S+\s+: ok=(\d+)", proc.stdout, re.M))
    return elapsed, changed, results


def worktree(commit):
    path = Path(tempfile.gettempdir()) / ("sobench-site-" + commit)
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
                       check=True, capture_output=True)
    venv = path / ".venv"
    if not venv.exists():
        venv.symlink_to(BIN.parent)
    return path


def top(timer_json, n):
    tasks = json.loads(Path(timer_json).read_text())["tasks"]
    return sorted(tasks, key=lambda t: t["seconds"], reverse=True)[:n]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="d85face")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--lab-name", default="sobench-site")
    parser.add_argument("--lab-octet", type=int, default=163)
    parser.add_argument("--lab-port", type=int, default=2591,
                        help="ssh on PORT..PORT+2; the app on 14000 + PORT %% 1000, the visualizer on 18000 + ...")
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sobench-site-"))
    trees = {args.base: worktree(args.base), "HEAD (this checkout)": ROOT}
    invs = {k: inventory(work, t, args.lab_name, args.lab_octet, args.lab_port) for k, t in trees.items()}
    times = {k: [] for k in trees}
    results = {}
    try:
        for rnd in range(args.rounds):
            for key, tree in trees.items():
                site(tree, invs[key])
                out = work / ("timer-%s-%d.json" % (key.split()[0], rnd))
                elapsed, changed, count = site(tree, invs[key], out)
                if any(changed.values()):
                    sys.exit("%s: the re-run changed something: %s" % (key, changed))
                times[key].append(elapsed)
                results[key] = (count, out)
                print("round %d %-22s %6.1f s (%d task results, changed=0)" % (rnd + 1, key, elapsed, count),
                      file=sys.stderr)
        print("Whole-site no-op re-run, %d rounds alternating, load average %.1f" % (args.rounds, os.getloadavg()[0]))
        print("%-24s %10s %10s %14s" % ("tree", "median s", "min s", "task results"))
        for key in trees:
            print("%-24s %10.1f %10.1f %14d" % (key, statistics.median(times[key]), min(times[key]), results[key][0]))
        ratio = statistics.median(times["HEAD (this checkout)"]) / statistics.median(times[args.base])
        print("HEAD / %s: %.2fx (goal <= 0.5x)" % (args.base, ratio))
        for key in trees:
            print("\nslowest tasks, %s (last round):" % key)
            for task in top(results[key][1], args.top):
                print("%8.2f s  %s" % (task["seconds"], task["name"]))
    finally:
        if not args.keep_lab:
            down = work / "down.yml"
            down.write_text("- hosts: lab\n  gather_facts: false\n  roles:\n    - role: swarmops.core.lab_hosts\n"
                            "      vars: {lab_hosts_state: absent}\n")
            site(ROOT, invs["HEAD (this checkout)"], None, playbook=str(down))


if __name__ == "__main__":
    main()
