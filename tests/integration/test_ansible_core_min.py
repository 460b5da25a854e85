"""The collection on the lowest ansible-core that meta/runtime.yml claims (requires_ansible).

The rest of the suite runs on the newest 2.19.x (requirements.txt); this file builds a venv with
exactly ansible-core==<the claimed minimum> plus requirements.txt's other pins (without the
lint/changelog tools, which bring their own ansible-core) and runs, on that ansible-core: the unit
tests, the compatibility-relevant ansible-test sanity tests on a copy of the collection, ansible-doc
of every module and a one-task playbook against the local Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, ansible_env

# Lint and changelog tools: not needed by the unit tests, and each pins a newer ansible-core.
NOT_FOR_UNIT_TESTS = {"ansible-core", "molecule", "ansible-lint", "antsibull-changelog"}
SANITY_TESTS = ["validate-modules", "ansible-doc", "compile", "yamllint", "runtime-metadata", "ignores"]


def claimed_minimum():
    spec = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    match = re.fullmatch(r"\s*>=\s*(\d+\.\d+\.\d+)\s*(,.*)?", spec)
    assert match, "requires_ansible %r does not start with >=X.Y.Z" % spec
    return match.group(1)


def other_pins():
    pins = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        name = re.match(r"[A-Za-z0-9_.-]*", line).group(0).lower()
        if line and name not in NOT_FOR_UNIT_TESTS:
            pins.append(line)
    return pins


@pytest.fixture(scope="module")
def core_min(tmp_path_factory):
    """(version, venv bin dir) of a venv with the claimed minimum ansible-core."""
    version = claimed_minimum()
    venv = tmp_path_factory.mktemp("core-min") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                          "ansible-core==" + version] + other_pins(), capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    out = subprocess.run([str(venv / "bin" / "ansible"), "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert re.match(r"ansible \[core %s\]" % re.escape(version), out), out
    return version, venv / "bin"


def min_env(bindir, extra=None):
    env = ansible_env(extra)
    env["PATH"] = str(bindir) + os.pathsep + env["PATH"]
    env.pop("VIRTUAL_ENV", None)
    return env


def test_unit_tests_on_the_claimed_minimum(core_min):
    _, bindir = core_min
    proc = subprocess.run([str(bindir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
                          cwd=ROOT, env=min_env(bindir, {"SWARMOPS_FUZZ_EXAMPLES": "100"}),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert re.search(r"\d+ passed", proc.stdout), proc.stdout[-2000:]


def test_sanity_on_the_claimed_minimum(core_min, tmp_path):
    version, bindir = core_min
    # A copy laid out like `make sanity`'s, under tmp so it never meets build/.
    coll = tmp_path / "ansible_collections" / "swarmops" / "core"
    coll.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    files = [f for f in files if not f.startswith((".collections/", "tests/stacks/bad/"))
             and (ROOT / f).exists()]
    subprocess.run("set -o pipefail; tar -cf - -T - | tar -C '%s' -xf -" % coll, shell=True,
                   executable="/bin/bash", cwd=ROOT, input="\n".join(files), text=True, check=True)
    subprocess.run("git init -q && git add -A", shell=True, cwd=coll, check=True)

    # Its own HOME: ansible-test keeps its sanity venvs in ~/.ansible/test/venv, shared with any
    # concurrent `make sanity`. pip's cache stays shared; get-pip.py is a local stand-in (see Makefile).
    home = tmp_path / "home"
    reqs = next((bindir.parent / "lib").glob("python3*/site-packages/ansible_test/_internal/python_requirements.py"))
    pipver = re.search(r"^\s*pip='([0-9.]+)',", reqs.read_text(), re.M).group(1)
    cache = home / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % pipver.replace(".", "_"))
    cache.parent.mkdir(parents=True)
    cache.write_bytes((ROOT / "tools" / "ansible_test_get_pip.py").read_bytes())
    pip_cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                               text=True).stdout.strip()

    cmd = [str(bindir / "ansible-test"), "sanity", "--python", "%d.%d" % sys.version_info[:2], "--color", "no"]
    for test in SANITY_TESTS:
        cmd += ["--test", test]
    env = min_env(bindir, {"HOME": str(home), "PIP_CACHE_DIR": pip_cache or str(Path.home() / ".cache" / "pip")})
    proc = subprocess.run(cmd, cwd=coll, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    for test in SANITY_TESTS:
        assert 'Running sanity test "%s"' % test in out, out[-4000:]
    proc = subprocess.run([str(bindir / "ansible-test"), "--version"], capture_output=True, text=True, env=env)
    assert proc.stdout.split()[-1] == version, proc.stdout


def test_modules_document_and_run_on_the_claimed_minimum(core_min, tmp_path):
    _, bindir = core_min
    env = min_env(bindir, {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"})
    modules = sorted("swarmops.core." + p.stem for p in (ROOT / "plugins" / "modules").glob("*.py")
                     if p.stem != "__init__")
    proc = subprocess.run([str(bindir / "ansible-doc"), "--json"] + modules, cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == modules
    for name, doc in docs.items():
        assert doc["doc"]["short_description"] and doc["doc"]["options"] is not None, name
        assert doc["examples"] and doc["return"], name
    text = subprocess.run([str(bindir / "ansible-doc")] + modules, cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert text.returncode == 0 and text.stdout.count("EXAMPLES:") == len(modules), text.stderr

    # module_defaults on the action group (meta/runtime.yml) as well as the module and its docker client.
    playbook = tmp_path / "engine_info.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/swarmops.core.docker": {"docker_host": "unix:///var/run/docker.sock"}},
        "tasks": [{"name": "Engine facts", "swarmops.core.docker_engine_info": {}, "register": "info"},
                  {"name": "Check", "ansible.builtin.assert": {"that": [
                      "info.engine.server_version | length > 0",
                      "info.engine.api_version is version('1.24', '>=')",
                      "docker_engine.server_version == info.engine.server_version",
                      "info is not changed"]}}],
    }]))
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + str(bindir / "python"), str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"localhost\s*:\s*ok=2\s+changed=0\s+unreachable=0\s+failed=0", proc.stdout), proc.stdout
