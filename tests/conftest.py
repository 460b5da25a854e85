"""Shared pytest helpers: run collection modules for real, through ansible."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Tests import module_utils as ansible_collections.swarmops.core.plugins...
sys.path.insert(0, str(ROOT / ".collections"))

BASE_IMAGE = os.environ.get("SWARMOPS_BASE_IMAGE", "swarmops/lab-base:bookworm")


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_NOCOLOR="1",
        PATH=str(BIN) + os.pathsep + env.get("PATH", ""),
    )
    env.update(extra or {})
    return env


def run_module(module, args, check=False, diff=False, verbosity=0, env=None, host="localhost",
               prefix=None, python=None):
    """Run swarmops.core.<module> on localhost via `ansible` ad hoc; return (result, stdout).

    ``python``: the interpreter the module runs with (default: the test's own).

    The result is the module's result dict as Ansible reports it (changed, diff,
    failed, msg, ...). stdout is the whole raw output, to assert secrets never appear.
    """
    fqcn = module if "." in module else "swarmops.core." + module
    cmd = list(prefix or []) + [
        str(BIN / "ansible"), host, "-i", "localhost,", "-c", "local",
        "-e", "ansible_python_interpreter=" + str(python or sys.executable), "-m", fqcn, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(env), capture_output=True, text=True)
    out = proc.stdout
    marker = re.search(r"^%s \| [A-Z !]+ => " % re.escape(host), out, re.M)
    try:
        result, _ = json.JSONDecoder().raw_decode(out[marker.end():])
    except (AttributeError, ValueError):
        raise AssertionError("ansible printed no result (rc=%s):\n%s\n%s" % (proc.returncode, out, proc.stderr))
    if "FAILED" in marker.group(0) or "UNREACHABLE" in marker.group(0):
        result["failed"] = True  # ansible-core 2.19 drops 'failed' from the printed result
    return result, out + proc.stderr


@pytest.fixture(scope="session")
def ansible_module():
    """The run_module function, as a fixture."""
    return run_module


@pytest.fixture
def host_log(tmp_path):
    """(PYTHONPATH, file): a stand-in syslog module on that PYTHONPATH writes to the file what a
    module run with it logs (AnsibleModule logs its invocation to the host's journal or syslog)."""
    fake = tmp_path / "fake-syslog"
    fake.mkdir()
    logged = tmp_path / "syslog.txt"
    (fake / "syslog.py").write_text(
        "LOG_INFO = LOG_USER = LOG_PID = LOG_NDELAY = 0\n"
        "def openlog(*args, **kwargs):\n    pass\n"
        "def syslog(*args):\n    open(%r, 'a').write(repr(args) + '\\n')\n" % str(logged))
    return str(fake), logged


@pytest.fixture(scope="session")
def debian_base_image():
    """The lab's Debian base image (pulled or debootstrapped once, then reused)."""
    result, out = run_module("lab_base_image", {"name": BASE_IMAGE})
    assert not result.get("failed"), out
    return BASE_IMAGE


# ---------------------------------------------------------------- the host engine as a swarm (integration)
# Here, not in tests/integration/conftest.py: a second conftest.py would take the module name
# `conftest` over and break every `from conftest import ...` (debian_base_image is here too).

STACK_NAMESPACE = "com.docker.stack.namespace"


@pytest.fixture(scope="session")
def client():
    """A low-level client of the host engine."""
    docker = pytest.importorskip("docker")
    return docker.APIClient(version="auto")


@pytest.fixture(scope="session")
def swarm(client):
    """The host engine as a swarm manager: init it if inactive, never leave it."""
    if client.info()["Swarm"]["LocalNodeState"] == "inactive":
        client.init_swarm(advertise_addr="127.0.0.1")
    assert client.info()["Swarm"]["ControlAvailable"], "the host engine must be a swarm manager"
    return client


def stack_objects(client, stack):
    """The names of a stack's services, networks, configs and secrets, as the engine lists them."""
    label = {"label": "%s=%s" % (STACK_NAMESPACE, stack)}
    return {
        "services": sorted(s["Spec"]["Name"] for s in client.services(filters=label)),
        "networks": sorted(n["Name"] for n in client.networks(filters=label)),
        "configs": sorted(c["Spec"]["Name"] for c in client.configs(filters=label)),
        "secrets": sorted(s["Spec"]["Name"] for s in client.secrets(filters=label)),
    }


def remove_stack(client, stack):
    """Remove a stack with stack_deploy state=absent and check that nothing is left.

    Not `docker stack rm`: it removes networks while tasks still stop, which leaks
    their ingress addresses (moby/moby#37338) until the ingress pool is exhausted.
    """
    from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy

    deploy(client, {"name": stack, "state": "absent", "wait_timeout": 120})
    for _ in range(120):
        if not any(stack_objects(client, stack).values()):
            return
        time.sleep(0.5)
    raise AssertionError("stack %s not removed: %s" % (stack, stack_objects(client, stack)))


@pytest.fixture
def new_stack(swarm):
    """``new_stack(name)`` -> name: removes that stack now (a leftover) and again after the test."""
    names = []

    def make(name):
        names.append(name)
        remove_stack(swarm, name)
        return name

    yield make
    for name in names:
        remove_stack(swarm, name)
