#!/usr/bin/env python3
"""docker_engine on 3 fresh lab hosts in parallel: first install, idempotent re-run, --check.

Stand-alone: `.venv/bin/python bench/docker_engine.py`. Needs the local engine; creates its
own lab (`bench-engine`, 172.30.44.0/24, ssh on 127.0.0.1:2441-2443) through
molecule/shared/create.yml, removes it at the end (also on failure). The lab image is built
first if absent (not timed). The apt download of the Docker packages (from Debian's mirror)
is part of the first run, as it is for a user.

Rows:
  install       the role's default path on 3 fresh hosts in parallel (forks >= 3)
  re-run        the same play again: nothing to do (changed=0 expected)
  re-run --check  the same in check mode
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
INVENTORY = """\
all:
  children:
    lab:
      vars:
        lab_hosts_name: bench-engine
        lab_hosts_subnet: 172.30.44.0/24
        ansible_host: 127.0.0.1
        ansible_user: root
        ansible_python_interpreter: /usr/bin/python3
        ansible_ssh_private_key_file: "~/.swarmops/labs/bench-engine/id_ed25519"
      hosts:
        bench1: {lab_hosts_address: 172.30.44.11, ansible_port: 2441}
        bench2: {lab_hosts_address: 172.30.44.12, ansible_port: 2442}
        bench3: {lab_hosts_address: 172.30.44.13, ansible_port: 2443}
"""
PLAY = """\
- name: docker_engine, defaults
  hosts: lab
  gather_facts: false
  roles:
    - role: swarmops.core.docker_engine
"""


def playbook(inventory, path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PATH=str(BIN) + os.pathsep + os.environ["PATH"])
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", inventory, str(path), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (path, proc.stdout[-4000:], proc.stderr[-2000:]))
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", proc.stdout))
    return elapsed, changed


def main():
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        inventory = Path(tmp) / "hosts.yml"
        inventory.write_text(INVENTORY)
        play = Path(tmp) / "engine.yml"
        play.write_text(PLAY)
        rows = []
        try:
            playbook(str(inventory), ROOT / "molecule/shared/create.yml")
            rows.append(("install (3 hosts)",) + playbook(str(inventory), play))
            rows.append(("re-run",) + playbook(str(inventory), play))
            rows.append(("re-run --check",) + playbook(str(inventory), play, "--check"))
        finally:
            playbook(str(inventory), ROOT / "molecule/shared/destroy.yml")
    print("%-20s %10s %14s" % ("docker_engine", "seconds", "changed tasks"))
    for name, seconds, changed in rows:
        print("%-20s %10.1f %14d" % (name, seconds, changed))


if __name__ == "__main__":
    main()
