"""A fresh controller runs `make site`: proves no hand-installed Debian package is needed.

A container made from a bare Debian (minbase + python3, make, git) plays a fresh machine of
this project's kind: it gets only what such a machine has from outside (the docker CLI and
this machine's engine socket, package-index and CA settings, host networking), clones the
repo, and runs `make site`, then `make plan` (a no-op on the lab just converged), then
`make lab-down`, as root with CI=true and no stdin. The lab's images are untagged first, so
the site builds them again from nothing.
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.swarmops.core.plugins.module_utils.lab import LAB_LABEL
from ansible_collections.swarmops.core.plugins.module_utils.lab_image import apt_mirror

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("SWARMOPS_FRESH_CONTROLLER_IMAGE", "swarmops-test/fresh-controller:bookworm")
DEFAULT_LAB = "swarmops"
DEFAULT_LAB_LOCK = "/tmp/default-lab.lock"
DOCKER_SOCKET = "/var/run/docker.sock"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# debootstrap (the lab's base image) needs mknod, chroot and mounts inside the container.
# --privileged fails on these machines (CAP_SYS_RESOURCE is not in the bounding set, see
# LAB.md), so: every capability but that one, and no seccomp/AppArmor filter.
CAPABILITY_FLAGS = ["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"]


def lab_image_names():
    """The images the default lab builds on this machine's engine (roles/lab_hosts)."""
    defaults = yaml.safe_load((ROOT / "roles/lab_hosts/defaults/main.yml").read_text())
    return [defaults["lab_hosts_base_image"], defaults["lab_hosts_node_image"]]


def pip_settings_mounts():
    """This machine's pip configuration: its config files and every local path they name."""
    pip = [sys.executable, "-m", "pip", "config"]
    debug = subprocess.run(pip + ["debug"], capture_output=True, text=True, check=True).stdout
    paths = set(re.findall(r"^\s+(/\S+), exists: True$", debug, re.M))
    listing = subprocess.run(pip + ["list"], capture_output=True, text=True, check=True).stdout
    for value in re.findall(r"^\S+='(.*)'$", listing, re.M):
        for word in value.split():
            word = word[len("file://"):] if word.startswith("file://") else word
            if word.startswith("/"):
                # A local index's pages link to files beside it (../../files/x.whl): mount its root.
                paths.add(os.path.dirname(word.rstrip("/")) if word.rstrip("/").endswith("/simple") else word)
    return {p for p in paths if os.path.exists(p)}


def apt_settings_mounts():
    """This machine's apt sources (with their keyrings) and its Acquire:: settings."""
    paths = {p for p in ["/etc/apt/sources.list"] if os.path.exists(p) and os.path.getsize(p)}
    paths |= set(glob.glob("/etc/apt/sources.list.d/*.list") + glob.glob("/etc/apt/sources.list.d/*.sources"))
    for source in list(paths):
        text = Path(source).read_text()
        paths |= {k for k in re.findall(r"signed-by[=:]\s*(/\S+?)[\]\s]", text, re.I) if os.path.exists(k)}
    for conf in glob.glob("/etc/apt/apt.conf.d/*"):
        if "Acquire::" in Path(conf).read_text(errors="replace"):
            paths.add(conf)
    return paths


def controller_run_args(name, clone):
    mounts = {shutil.which("docker"): "/usr/local/bin/docker", DOCKER_SOCKET: DOCKER_SOCKET}
    for path in pip_settings_mounts() | apt_settings_mounts() | {CA_BUNDLE}:
        mounts[path] = path
    args = ["docker", "run", "-d", "--name", name, "--network", "host", "-e", "CI=true",
            "-v", "%s:%s" % (clone, clone), "-w", str(clone)] + CAPABILITY_FLAGS
    for src, dst in sorted(mounts.items()):
        args += ["-v", "%s:%s%s" % (src, dst, "" if src == DOCKER_SOCKET else ":ro")]
    for key, value in sorted(os.environ.items()):
        if key.startswith("PIP_"):
            args += ["-e", "%s=%s" % (key, value)]
    return args + [IMAGE, "sleep", "infinity"]


class StageClock:
    """Time stages of the run; each output line is logged with the seconds since the start."""

    def __init__(self, log):
        self.log, self.start, self.stages = log, time.monotonic(), []

    def line(self, text):
        self.log.write("[%7.1fs] %s\n" % (time.monotonic() - self.start, text.rstrip("\n")))
        self.log.flush()

    def run(self, stage, cmd, play_stages=False, cwd=None):
        """Run cmd (no stdin), log its output; with play_stages, time each ansible PLAY too."""
        self.line("$ " + " ".join(cmd))
        began = mark = time.monotonic()
        play = "before the first play (bootstrap, venv, engine)" if play_stages else None
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", cwd=cwd)
        output = []
        for text in proc.stdout:
            output.append(text)
            self.line(text)
            header = re.match(r"PLAY \[(.*)\]", text)
            if play and header:
                self.stages.append(("  " + stage + ": " + play, time.monotonic() - mark))
                play, mark = header.group(1), time.monotonic()
        rc = proc.wait()
        if play:
            self.stages.append(("  " + stage + ": " + play, time.monotonic() - mark))
        self.stages.append((stage, time.monotonic() - began))
        self.line("exit %s after %.1fs" % (rc, time.monotonic() - began))
        return rc, "".join(output)

    def summary(self):
        return "\n".join("%-70s %7.1fs" % (name, secs) for name, secs in self.stages)


@pytest.fixture
def default_lab_lock():
    """The default lab is shared: hold its lock for the whole test."""
    with open(DEFAULT_LAB_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
        fcntl.flock(handle, fcntl.LOCK_UN)


def clear_default_lab(clock):
    """A lab made by another controller has that controller's SSH key: take it down first,
    from this checkout (the playbook `make lab-down` runs, without touching the venv)."""
    found = subprocess.run(["docker", "ps", "-aq", "--filter", "label=%s=%s" % (LAB_LABEL, DEFAULT_LAB)],
                           capture_output=True, text=True, check=True).stdout.split()
    if found:
        rc, out = clock.run("lab-down of the existing default lab (this checkout)",
                            [str(Path(sys.executable).parent / "ansible-playbook"),
                             str(ROOT / "playbooks/teardown.yml")], cwd=ROOT)
        assert rc == 0, "could not take the existing default lab down:\n" + out[-4000:]


@pytest.mark.e2e
def test_fresh_controller_runs_site(default_lab_lock, tmp_path):
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    name = "freshctl-controller-%d" % os.getpid()
    clone = tmp_path / "swarmops"
    with open(artifacts / "fresh-controller.log", "w") as log:
        clock = StageClock(log)
        rc, out = clock.run("controller image (debootstrap minbase, or reuse)",
                            [str(ROOT / "tools/fresh-controller-image.sh"), IMAGE, apt_mirror()])
        assert rc == 0, out
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", head], check=True)
        clear_default_lab(clock)
        for image in lab_image_names():  # untag only: other labs' running containers keep theirs
            clock.run("untag " + image, ["docker", "image", "rm", "-f", image])
        rc, out = clock.run("start the controller", controller_run_args(name, clone))
        assert rc == 0, out
        try:
            site_rc, site_out = clock.run("make site", ["docker", "exec", name, "make", "site"],
                                          play_stages=True)
            plan_rc, plan_out = (clock.run("make plan (no-op)", ["docker", "exec", name, "make", "plan"])
                                 if site_rc == 0 else (None, ""))
        finally:
            down_rc, down_out = clock.run("make lab-down", ["docker", "exec", name, "make", "lab-down"])
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
            subprocess.run(["rm", "-rf", str(clone)], check=False)
            clock.line("stage times:\n" + clock.summary())
    print("fresh controller stage times:\n" + clock.summary())
    assert site_rc == 0, "make site failed on a fresh controller:\n" + site_out[-6000:]
    assert re.search(r"App: +http://127\.0\.0\.1:4000", site_out), site_out[-3000:]
    assert re.search(r"TASK \[(swarmops\.core\.stack : )?Check greeting, counter and load spread\]", site_out), site_out[-3000:]
    # make plan on the lab make site just converged: nothing to change, nothing failing, anywhere.
    assert plan_rc == 0, "make plan failed on the converged lab:\n" + plan_out[-6000:]
    recap = dict(re.findall(r"^(\S+)\s+: (ok=.*)$", plan_out, re.M))
    assert set(recap) >= {"manager1", "worker1", "worker2"}, plan_out[-3000:]
    busy = {host: line for host, line in recap.items()
            if not re.search(r"\bchanged=0\b.*\bfailed=0\b", line)}
    assert not busy, "make plan on a converged lab is not a no-op: %s\n%s" % (busy, plan_out[-6000:])
    assert down_rc == 0, "make lab-down failed on the fresh controller:\n" + down_out[-4000:]
