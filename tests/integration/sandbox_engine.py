"""Private Docker engines in network namespaces, for tests that init, join and leave swarms.

The host engine may be a swarm manager other tests rely on, so swarm tests never touch it.
``SandboxNet(n)`` starts ``n`` dockerd processes, each in its own network namespace
(``sotest-swarm-e<i>``) with one veth leg plugged into a bridge in a hub namespace
(``sotest-swarm-hub``). The engines reach each other on the private subnet 10.231.0.0/24
(engine i has 10.231.0.<10+i>) and nothing else; the controller talks to each engine over
its unix socket, ``unix:///tmp/sosw/e<i>/docker.sock``.

    with SandboxNet(3) as net:
        net.engines[0].docker_host   # unix:///tmp/sosw/e0/docker.sock
        net.engines[0].addr          # 10.231.0.10
        net.add_engine()             # one more, on the same subnet
        net.block_port(1, 2377)      # drop traffic to engine 1's swarm port (firewall)

Run as root (ip netns, nsenter). Teardown kills only the dockerds it started (by pid),
removes its namespaces and data directories. Stale leftovers of a killed run are removed
at start. The names and paths are fixed, so one SandboxNet runs on a machine at a time:
a lock (LOCK) makes a concurrent test run (another worktree's) wait instead of tearing
this one down as "stale".
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

PREFIX = "sotest-swarm"
HUB = PREFIX + "-hub"
ROOT = Path("/tmp/sosw")
LOCK = Path("/tmp/sosw.lock")
SUBNET = "10.231.0"
MASK = 24


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def ns_exec(ns, *args, check=True):
    return sh("ip", "netns", "exec", ns, *args, check=check)


@dataclass
class Engine:
    index: int
    netns: str
    dir: Path
    addr: str
    proc: subprocess.Popen | None = None

    @property
    def hostname(self):
        return "sosw-e%d" % self.index

    @property
    def python(self):
        return self.dir / "python"

    @property
    def docker_host(self):
        return "unix://%s/docker.sock" % self.dir

    def client(self):
        return docker.APIClient(base_url=self.docker_host, version="auto", timeout=60)

    def run(self, module, args, **kwargs):
        """Run a collection module in this engine's namespace (see ``run_in``)."""
        return run_in(self, module, args, **kwargs)

    def swarm(self):
        return self.client().info()["Swarm"]


def _kill_pidfile(pidfile):
    try:
        pid = int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return
    _kill(pid)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _umount_under(path):
    with open("/proc/mounts") as fh:
        mounts = [line.split()[1] for line in fh]
    for mnt in sorted((m for m in mounts if m.startswith(str(path) + "/")), key=len, reverse=True):
        sh("umount", "-l", mnt, check=False)


def cleanup_stale():
    """Remove what an earlier, killed run of this helper left behind."""
    if ROOT.exists():
        for pidfile in ROOT.glob("e*/docker.pid"):
            _kill_pidfile(pidfile)
        _umount_under(ROOT)
        shutil.rmtree(ROOT, ignore_errors=True)
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(PREFIX + "-"):
            sh("ip", "netns", "del", name, check=False)


class SandboxNet:
    """N private engines on one bridged subnet. Use as a context manager."""

    def __init__(self, count, start_timeout=60):
        self.count = count
        self.start_timeout = start_timeout
        self.engines: list[Engine] = []

    def __enter__(self):
        self._lock = open(LOCK, "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        cleanup_stale()
        ROOT.mkdir(parents=True)
        sh("ip", "netns", "add", HUB)
        ns_exec(HUB, "ip", "link", "set", "lo", "up")
        ns_exec(HUB, "ip", "link", "add", "br0", "type", "bridge")
        ns_exec(HUB, "ip", "link", "set", "br0", "up")
        try:
            for _ in range(self.count):
                self._create()
            for engine in self.engines:
                self._wait_ready(engine)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def add_engine(self):
        engine = self._create()
        self._wait_ready(engine)
        return engine

    def _create(self):
        i = len(self.engines)
        ns = "%s-e%d" % (PREFIX, i)
        engine = Engine(i, ns, ROOT / ("e%d" % i), "%s.%d" % (SUBNET, 10 + i))
        self.engines.append(engine)
        sh("ip", "netns", "add", ns)
        ns_exec(ns, "ip", "link", "set", "lo", "up")
        # veth: "eth0" inside the engine's namespace, "v<i>" on the hub's bridge.
        sh("ip", "link", "add", "sosw-v%d" % i, "type", "veth", "peer", "name", "sosw-p%d" % i)
        sh("ip", "link", "set", "sosw-v%d" % i, "netns", HUB)
        sh("ip", "link", "set", "sosw-p%d" % i, "netns", ns)
        ns_exec(HUB, "ip", "link", "set", "sosw-v%d" % i, "master", "br0", "up")
        ns_exec(ns, "ip", "link", "set", "sosw-p%d" % i, "name", "eth0")
        ns_exec(ns, "ip", "addr", "add", "%s/%d" % (engine.addr, MASK), "dev", "eth0")
        ns_exec(ns, "ip", "link", "set", "eth0", "up")
        for sub in ("data", "exec"):
            (engine.dir / sub).mkdir(parents=True)
        # An interpreter for Ansible hosts that stand for this engine: modules then run in
        # its network namespace, as on a real node.
        engine.python.write_text('#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' % (ns, sys.executable))
        engine.python.chmod(0o755)
        log = open(engine.dir / "dockerd.log", "w")
        # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroups.
        # Its own UTS namespace too, so every engine has its own node hostname.
        engine.proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + ns, "unshare", "--uts", "--",
             "sh", "-c", 'hostname "$0" && exec "$@"', engine.hostname, "dockerd",
             "-H", engine.docker_host,
             "--data-root", str(engine.dir / "data"),
             "--exec-root", str(engine.dir / "exec"),
             "--pidfile", str(engine.dir / "docker.pid"),
             "--storage-driver", "vfs",
             "--bridge", "none",
             "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return engine

    def _wait_ready(self, engine):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if engine.proc.poll() is not None:
                raise RuntimeError("sandbox dockerd %s exited: %s" % (
                    engine.netns, (engine.dir / "dockerd.log").read_text()[-2000:]))
            try:
                engine.client().ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError("sandbox dockerd %s did not answer in %ss" % (
                        engine.netns, self.start_timeout))
                time.sleep(0.2)

    def stop(self, index):
        """Kill engine ``index`` (a host failure): its dockerd and containerd, at once."""
        proc = self.engines[index].proc
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def block_port(self, index, port, action="DROP"):
        """Firewall: make engine ``index`` drop (or reject) incoming TCP to ``port``."""
        ns_exec(self.engines[index].netns, "iptables", "-I", "INPUT", "-p", "tcp",
                "--dport", str(port), "-j", action)

    def __exit__(self, *exc):
        # Each dockerd leads its own process group (with its containerd): stop them all
        # at once, then kill what is left after a few seconds.
        running = [e.proc for e in self.engines if e.proc and e.proc.poll() is None]
        for proc in running:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        _umount_under(ROOT)
        for engine in self.engines:
            sh("ip", "netns", "del", engine.netns, check=False)
        sh("ip", "netns", "del", HUB, check=False)
        shutil.rmtree(ROOT, ignore_errors=True)
        self.engines = []
        lock, self._lock = getattr(self, "_lock", None), None
        if lock:
            lock.close()  # releases the flock
        return False


def run_in(engine, module, args, **kwargs):
    """Run a collection module *inside* the engine's network namespace, against its socket.

    The module then sees the network the engine sees (as on a real node), and nothing it
    does can reach an address outside the sandbox.
    """
    from conftest import run_module  # tests/conftest.py, on sys.path under pytest

    args = dict({"docker_host": engine.docker_host}, **args)
    return run_module(module, args, prefix=["nsenter", "--net=/run/netns/" + engine.netns], **kwargs)


@pytest.fixture
def sandbox_engines():
    """Factory: ``net = sandbox_engines(3)`` -> a started SandboxNet, torn down after the test."""
    nets = []

    def start(count):
        net = SandboxNet(count).__enter__()
        nets.append(net)
        return net

    yield start
    for net in nets:
        net.__exit__(None, None, None)
