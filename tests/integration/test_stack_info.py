"""stack_info and stack_task_info against the local engine as a single-node swarm, compared with
``docker stack ls``, ``docker stack services`` and ``docker stack ps``.

The stack is named info-connopts-*, deployed with swarmops.core.stack_deploy from a local
image and removed with state=absent afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is the reference")

STACK = "info-connopts-a"
PORT = 18931  # published through the ingress; nothing else in this project uses it


def compose(image):
    command = ["sleep", "infinity"]
    return {"services": {
        "web": {"image": image, "command": command, "stop_signal": "SIGKILL",
                "deploy": {"replicas": 2}, "ports": ["%d:80" % PORT]},
        "agent": {"image": image, "command": command, "stop_signal": "SIGKILL",
                  "deploy": {"mode": "global"}},
    }}


def cli_rows(*args):
    out = subprocess.run(["docker", *args, "--format", "{{json .}}"], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def stack(swarm, debian_base_image, ansible_module):
    def deploy(state="present"):
        params = dict(name=STACK, state=state, wait_timeout=120)
        if state == "present":
            params.update(compose=[compose(debian_base_image)], resolve_image="never")
        result, out = ansible_module("stack_deploy", params)
        assert not result.get("failed"), out
    deploy("absent")
    deploy()
    for _ in range(120):
        states = [t["Status"]["State"] for t in swarm.tasks(
            filters={"label": "com.docker.stack.namespace=" + STACK, "desired-state": "running"})]
        if len(states) == 3 and set(states) == {"running"}:
            break
        time.sleep(0.5)
    yield STACK
    deploy("absent")


def test_stack_info_matches_docker_stack_ls_and_services(stack, ansible_module):
    before = {row["Name"]: row for row in cli_rows("stack", "ls")}
    result, out = ansible_module("stack_info", {"timeout": 60}, check=True)
    after = {row["Name"]: row for row in cli_rows("stack", "ls")}
    assert not result.get("failed") and result["changed"] is False, out
    ours = {s["name"]: s for s in result["stacks"]}
    # Other tests deploy and remove stacks meanwhile: compare the stacks that stayed put.
    assert set(before) & set(after) <= set(ours) <= set(before) | set(after)
    assert ours[stack]["service_count"] == int(after[stack]["Services"]) == 2

    services = ours[stack]["services"]
    cli = sorted(cli_rows("stack", "services", stack), key=lambda r: r["Name"])
    assert [(s["name"], s["mode"], s["replicas"], s["image"], ", ".join(s["ports"])) for s in services] == \
           [(r["Name"], r["Mode"], r["Replicas"], r["Image"], r["Ports"]) for r in cli]
    assert [s["replicas"] for s in services] == ["1/1", "2/2"]  # agent (global), web


def test_stack_info_by_name(stack, ansible_module):
    result, out = ansible_module("stack_info", {"name": [stack, "info-connopts-missing"]})
    assert [s["name"] for s in result["stacks"]] == [stack], out


def _cli_tasks(stack, *filters):
    args = ["stack", "ps", "--no-trunc"] + [a for f in filters for a in ("--filter", f)] + [stack]
    return cli_rows(*args)


def test_stack_task_info_matches_docker_stack_ps(stack, ansible_module):
    result, out = ansible_module("stack_task_info", {"name": stack}, check=True)
    assert not result.get("failed") and result["exists"] and result["changed"] is False, out
    ours = {t["id"]: t for t in result["tasks"]}
    cli = _cli_tasks(stack)
    assert set(ours) == {r["ID"] for r in cli}
    for row in cli:
        task = ours[row["ID"]]
        assert row["Name"].lstrip("\\_ ") == task["name"]
        assert (row["Node"], row["DesiredState"].lower()) == (task["node"], task["desired_state"])
        assert row["CurrentState"].lower().startswith(task["state"])
        assert row["Image"] == task["image"] and row["Error"] == task["error"]


def test_stack_task_info_filters_like_the_cli(stack, swarm, ansible_module):
    node = swarm.info()["Name"]
    filters = {"desired_state": ["running"], "node": [node], "name": [stack + "_web"]}
    result, out = ansible_module("stack_task_info", {"name": stack, "filters": filters})
    assert not result.get("failed"), out
    cli = _cli_tasks(stack, "desired-state=running", "node=" + node, "name=%s_web" % stack)
    assert sorted(t["id"] for t in result["tasks"]) == sorted(r["ID"] for r in cli)
    assert sorted(t["name"] for t in result["tasks"]) == [stack + "_web.1", stack + "_web.2"]
    assert {t["state"] for t in result["tasks"]} == {"running"}


def test_stack_task_info_unknown_stack_and_bad_filter(swarm, ansible_module):
    result, out = ansible_module("stack_task_info", {"name": "info-connopts-missing"})
    assert result["exists"] is False and result["tasks"] == [], out
    result, out = ansible_module("stack_task_info", {"name": "x", "filters": {"desired_state": ["sleeping"]}})
    assert result.get("failed") and "desired_state" in result["msg"], out
