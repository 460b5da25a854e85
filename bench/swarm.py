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
timed), the shapes (and checkouts) taking turns run by run after one untimed formation; the
table shows the median and min wall-clock seconds of the whole `ansible-playbook` run of the
role (init, token read, parallel joins, labels/Ready wait from the manager, node table).
Shapes: 3 = 1 manager + 2 workers, 9 = 1 manager + 8 workers and 9 = 3 managers + 6 workers.

With --before REF (e.g. main), the role of a git worktree of REF (in /tmp, reused) is timed
too, on the same engines, alternating with this checkout's run by run: a before/after table
from one run of the bench. With --timer DIR, each timed run writes the swarmops.core.timer
callback's JSON to DIR/<column>.<checkout>.<hosts>.<managers>m.<run>.json and a per-task table
(median seconds of each task per shape) follows: where the time goes as the swarm grows.
"""

from __future__ import annotations

import argparse
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


def env(tree, **extra):
    return dict(os.environ, **extra, ANSIBLE_CONFIG=str(tree / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_COLLECTIONS_PATH=str(tree / ".collections"),
                PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))


def worktree(ref):
    """A git worktree of ``ref`` in /tmp (reused when it is there) with this checkout's venv."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], check=True,
                            capture_output=True, text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / ("sobench-swarm-" + commit)
    if not path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
                       check=True, capture_output=True)
    return path


CPU = {}  # playbook file name -> CPU seconds (user + system) of its last run, modules run locally included


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pids):
    """CPU seconds (user + system) used so far by these processes and their descendants, from /proc
    (the sandbox's dockerds and their containerds)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    children = {}
    for pid, (ppid, dummy) in stats.items():
        children.setdefault(ppid, []).append(pid)
    ticks, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        if pid in stats:
            ticks += stats[pid][1]
            todo.extend(children.get(pid, []))
    return ticks / os.sysconf("SC_CLK_TCK")


def playbook(workdir, name, text, inventory, timer=None, tree=ROOT):
    path = Path(workdir) / name
    path.write_text(text)
    extra = {}
    if timer:
        extra = {"ANSIBLE_CALLBACKS_ENABLED": "swarmops.core.timer", "SWARMOPS_TIMER_OUTPUT": str(timer),
                 "SWARMOPS_TIMER_TOP": "0"}
    start, cpu = time.monotonic(), children_cpu()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(path)],
                          cwd=tree, env=env(tree, **extra), capture_output=True, text=True)
    elapsed = time.monotonic() - start
    CPU[path.name] = children_cpu() - cpu
    if proc.returncode:
        sys.exit("%s failed:\n%s\n%s" % (name, proc.stdout[-5000:], proc.stderr[-2000:]))
    return elapsed


def shape_inventory(hosts, managers, workers):
    """hosts: [(name, hostvars)] -> inventory with bench_managers/bench_workers groups."""
    chosen = hosts[:managers + workers]
    return {"all": {"children": {
        "bench_managers": {"hosts": dict(chosen[:managers])},
        "bench_workers": {"hosts": dict(chosen[managers:])}}}}


def time_shapes(workdir, hosts, runs, leave_inventory, trees, timer_dir=None, column="", engines_cpu=None):
    """{(checkout label, shape): [seconds]}; shapes and checkouts take turns run by run.
    With ``engines_cpu`` (a callable: the engines' CPU seconds so far), also what the engines
    used during each timed run.

    Interleaved, so that the other load on a shared machine, which drifts over minutes, falls on
    every shape and checkout alike: the 9/3 ratios compare runs minutes apart otherwise. One
    formation of each checkout first, not timed (fresh engines and caches).
    """
    results = {}
    inventories = {}
    for managers, workers in SHAPES:
        inventories[managers, workers] = Path(workdir) / ("inv-%d-%d.yml" % (managers, workers))
        inventories[managers, workers].write_text(yaml.safe_dump(shape_inventory(hosts, managers, workers)))
    for tree in trees.values():
        playbook(workdir, "leave.yml", LEAVE_PLAY, leave_inventory)
        playbook(workdir, "warm-up.yml", ROLE_PLAY, inventories[SHAPES[0]], tree=tree)
    for run in range(runs):
        for managers, workers in SHAPES:
            for label, tree in trees.items():
                playbook(workdir, "leave.yml", LEAVE_PLAY, leave_inventory)
                timer = timer_dir and Path(timer_dir) / ("%s.%s.%d.%dm.%d.json" % (
                    column, label, managers + workers, managers, run))
                before = engines_cpu() if engines_cpu else 0.0
                results.setdefault((label, (managers, workers)), []).append(
                    playbook(workdir, "role.yml", ROLE_PLAY, inventories[managers, workers], timer, tree))
                results.setdefault((label, (managers, workers), "cpu"), []).append(CPU["role.yml"])
                if engines_cpu:
                    results.setdefault((label, (managers, workers), "engines"), []).append(engines_cpu() - before)
    playbook(workdir, "leave.yml", LEAVE_PLAY, leave_inventory)
    return results


def sandbox(workdir, runs, trees, timer_dir=None):
    from sandbox_engine import SandboxNet

    with SandboxNet(9) as net:
        hosts = [(e.hostname, {"ansible_connection": "local", "ansible_python_interpreter": str(e.python),
                               "swarm_docker_host": e.docker_host, "swarm_advertise_addr": e.addr})
                 for e in net.engines]
        leave = Path(workdir) / "leave-all.yml"
        leave.write_text(yaml.safe_dump({"all": {"hosts": dict(hosts)}}))
        return time_shapes(workdir, hosts, runs, leave, trees, timer_dir, "sandbox",
                           lambda: tree_cpu([e.proc.pid for e in net.engines]))


def lab(workdir, runs, keep, trees, name=LAB, octet=49, port=2491, timer_dir=None):
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
        return time_shapes(workdir, hosts, runs, inv, trees, timer_dir, "lab")
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
    parser.add_argument("--before", metavar="REF", help="also time the role of a git worktree of REF, alternating")
    args = parser.parse_args()
    if args.timer:
        Path(args.timer).mkdir(parents=True, exist_ok=True)
    trees = {"HEAD": ROOT}
    if args.before:
        trees[re.sub(r"[^\w-]", "_", args.before)] = worktree(args.before)

    columns = {}
    with tempfile.TemporaryDirectory(prefix="sobench-swarm-") as workdir:
        if not args.no_sandbox:
            columns["sandbox"] = sandbox(workdir, args.runs, trees, args.timer)
        if args.lab:
            columns["lab"] = lab(workdir, args.runs, args.keep_lab, trees, args.lab_name, args.lab_octet,
                                 args.lab_port, args.timer)

    names = [(column, label) for column in columns for label in trees]
    print("swarm role, wall-clock seconds of ansible-playbook: median / min of %d (median CPU seconds of the\n"
          "controller's processes: ansible-playbook, its workers and, in the sandbox, the modules; in the sandbox,\n"
          "+ the engines' during the run); sandbox = private engines, lab = lab hosts over SSH" % args.runs)
    print("%-28s" % "hosts (managers + workers)" + "".join("%-24s" % ("%s %s" % n) for n in names))
    for managers, workers in SHAPES:
        cells = []
        for column, label in names:
            t = columns[column][(label, (managers, workers))]
            cpu = "%.1f" % statistics.median(columns[column][(label, (managers, workers), "cpu")])
            engines = columns[column].get((label, (managers, workers), "engines"))
            if engines:
                cpu += " + %.1f" % statistics.median(engines)
            cells.append("%-24s" % ("%.1f / %.1f (%s)" % (statistics.median(t), min(t), cpu)))
        print("%-28s" % ("%d (%d + %d)" % (managers + workers, managers, workers)) + "".join(cells))
    for column, label in names:
        base = statistics.median(columns[column][(label, SHAPES[0])])
        print("%s %s: 9 hosts / 3 hosts (medians) = %s" % (column, label, ", ".join(
            "%.2fx (%d managers)" % (statistics.median(columns[column][(label, shape)]) / base, shape[0])
            for shape in SHAPES[1:])))
    if args.timer:
        task_table(Path(args.timer))


def task_table(timer_dir):
    """Median seconds of each task (as a whole) per column, checkout and shape, from the timer's JSON."""
    seconds = {}  # (column checkout, shape) -> task name -> [seconds]
    order = []
    for path in sorted(timer_dir.glob("*.json")):
        column, label, hosts, managers, dummy = path.stem.split(".")
        for task in json.loads(path.read_text())["tasks"]:
            name = task["name"].split(" : ", 1)[-1]
            if name not in order:
                order.append(name)
            key = ("%s %s" % (column, label), "%s/%s" % (hosts, managers))
            seconds.setdefault(key, {}).setdefault(name, []).append(task.get("seconds") or 0.0)
    keys = sorted(seconds)
    print("\nper task, median seconds; columns: checkout, hosts/managers")
    print("%-50s" % "task" + "".join("%-18s" % ("%s %s" % k) for k in keys))
    for name in order:
        print("%-50s" % name[:49] + "".join(
            "%-18s" % ("%.2f" % statistics.median(seconds[k][name]) if name in seconds[k] else "-") for k in keys))


if __name__ == "__main__":
    main()
