"""swarmops.core.timer: a real playbook run with the callback enabled; its JSON and its summary."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from conftest import BIN, ROOT, ansible_env

PLAYBOOK = """
- name: Timed play
  hosts: all
  gather_facts: false
  tasks:
    - name: Sleep per host
      ansible.builtin.command: "{{ sleep_bin }} {{ nap }}"
      changed_when: false

    - name: Loop of two
      ansible.builtin.command: "{{ sleep_bin }} {{ item }}"
      loop: [0.1, 0.2]
      changed_when: true

    - name: Never runs
      ansible.builtin.debug:
        msg: skipped
      when: false

    - name: Fails on slow only
      ansible.builtin.fail:
        msg: on purpose
      when: inventory_hostname == 'slow'
      ignore_errors: true
"""

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
    sleep_bin: /bin/sleep
  hosts:
    fast: {{nap: 0.1}}
    slow: {{nap: 1.5}}
"""


def run(tmp_path, top):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts.yml").write_text(INVENTORY.format(python=sys.executable))
    out = tmp_path / "times.json"
    env = ansible_env({"ANSIBLE_CALLBACKS_ENABLED": "swarmops.core.timer",
                       "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                       "SWARMOPS_TIMER_OUTPUT": str(out), "SWARMOPS_TIMER_TOP": str(top)})
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                           str(tmp_path / "play.yml")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc.stdout


def test_json_has_every_task_and_host(tmp_path):
    doc, _ = run(tmp_path, top=20)
    assert doc["playbook"] == "play.yml"
    names = [t["name"] for t in doc["tasks"]]
    assert names == ["Sleep per host", "Loop of two", "Never runs", "Fails on slow only"]
    tasks = {t["name"]: t for t in doc["tasks"]}
    for task in doc["tasks"]:
        assert set(task["hosts"]) == {"fast", "slow"}
        assert task["play"] == "Timed play"
        assert task["path"].endswith("play.yml:%d" % (PLAYBOOK.splitlines().index("    - name: " + task["name"]) + 1))
        # A task lasts at least as long as its slowest host.
        assert task["seconds"] >= max(h["seconds"] for h in task["hosts"].values())
    sleep = tasks["Sleep per host"]
    assert sleep["action"] == "ansible.builtin.command"
    # Lower bounds only: a host's time includes its sleep.
    assert sleep["hosts"]["slow"]["seconds"] >= 1.5
    assert sleep["hosts"]["fast"]["seconds"] >= 0.1
    assert {h: v["status"] for h, v in sleep["hosts"].items()} == {"fast": "ok", "slow": "ok"}
    assert tasks["Loop of two"]["hosts"]["fast"]["seconds"] >= 0.3
    assert tasks["Loop of two"]["hosts"]["fast"]["status"] == "changed"
    assert tasks["Never runs"]["hosts"]["slow"]["status"] == "skipped"
    assert {h: v["status"] for h, v in tasks["Fails on slow only"]["hosts"].items()} == {
        "fast": "skipped", "slow": "failed"}
    assert doc["total_seconds"] >= sum(t["seconds"] for t in doc["tasks"])


def test_summary_after_recap_slowest_first(tmp_path):
    doc, stdout = run(tmp_path, top=2)
    recap = stdout.index("PLAY RECAP")
    banner = re.search(r"^TASK TIMES \(slowest 2 of 4, [0-9.]+s in all\)", stdout, re.M)
    assert banner and banner.start() > recap, stdout
    lines = [line for line in stdout[banner.end():].splitlines() if re.match(r"^ +[0-9.]+s  ", line)]
    assert len(lines) == 2, stdout
    expected = sorted(doc["tasks"], key=lambda t: t["seconds"], reverse=True)[:2]
    for line, task in zip(lines, expected):
        seconds, rest = line.split("s  ", 1)
        assert float(seconds) == round(task["seconds"], 2)
        slowest = max((h for h, v in task["hosts"].items() if v["status"] != "skipped"),
                      key=lambda h: task["hosts"][h]["seconds"])
        assert rest.startswith(task["name"] + "  (slowest: %s " % slowest), line


def test_top_zero_prints_no_summary_but_writes_json(tmp_path):
    doc, stdout = run(tmp_path, top=0)
    assert "TASK TIMES" not in stdout
    assert len(doc["tasks"]) == 4


def test_ansible_doc_renders():
    proc = subprocess.run([str(BIN / "ansible-doc"), "-t", "callback", "swarmops.core.timer"],
                          cwd=ROOT, env=ansible_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "SWARMOPS_TIMER_OUTPUT" in proc.stdout and "SWARMOPS_TIMER_TOP" in proc.stdout
