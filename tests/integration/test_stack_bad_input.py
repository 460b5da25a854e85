"""Bad input for stack_deploy against the real engine, next to `docker stack deploy`.

The corpus tests/stacks/bad/*.yml holds one mistake per file. For every file:
stack_deploy refuses it, names the file, and leaves no object of the stack behind;
the CLI is run on the same file and, where it accepts what we refuse, the file is
listed in DELIBERATE with the reason. Also: the waits that used to run into the
timeout (unschedulable, rejected tasks), which must now give up early (counted in polls,
not seconds), and one-shot replicated tasks.

Stacks here are named badin-*; each test removes what it (or the CLI) created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import stack_objects
from sandbox_engine import run_in, sandbox_engines  # noqa: F401  (pytest fixture)

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError  # noqa: E402
from ansible_collections.swarmops.core.plugins.module_utils import stack_apply  # noqa: E402
from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy as stack_deploy  # noqa: E402

BAD = Path(__file__).resolve().parent.parent / "stacks" / "bad"
CORPUS = sorted(p.name for p in BAD.glob("*.yml"))
LOCAL_IMAGE = os.environ.get("SWARMOPS_BASE_IMAGE", "swarmops/lab-base:bookworm")
MISSING = "badinput/none:1"

# Files `docker stack deploy` (28.x client, 20.10 engine) accepts and we refuse, and why.
DELIBERATE = {
    "deep-nesting.yml": "we bound nesting at 64 levels (real compose files need fewer than 10); "
                        "the CLI's YAML parser accepts 5000",
    "duration-negative.yml": "a negative stop_grace_period means nothing; the engine stores it as is",
    "port-target-zero.yml": "the CLI and the engine accept target port 0, which no container can listen on",
    "port-long-target-out-of-range.yml": "the CLI and the engine accept target port 70000, which no "
                                         "container can listen on",
    "secret-mode-too-big.yml": "mode 99999 has bits outside 0o7777; the CLI passes them to the engine",
    "tmpfs-bad-mode.yml": "the CLI drops service-level tmpfs; we convert it to tmpfs mounts, so it must parse",
    "tmpfs-bad-size.yml": "the CLI drops service-level tmpfs; we convert it to tmpfs mounts, so it must parse",
}


@pytest.fixture
def stacks(new_stack):
    return lambda suffix: new_stack("badin-" + suffix)


def params(stack, compose, **extra):
    return dict({"name": stack, "compose": compose, "resolve_image": "never", "wait_timeout": 120,
                 "env": {}, "project_dir": str(BAD)}, **extra)


def cli_deploy(stack, path):
    proc = subprocess.run(["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(path), stack],
                          capture_output=True, text=True, timeout=120, cwd=str(BAD))
    return proc.returncode, proc.stdout + proc.stderr


def test_corpus_is_big_enough_and_deliberate_differences_exist():
    assert len(CORPUS) >= 40
    assert set(DELIBERATE) <= set(CORPUS)


@pytest.mark.parametrize("name", CORPUS)
def test_refused_before_any_write_and_compared_with_the_cli(name, stacks, swarm):
    stack = stacks("c%02d" % CORPUS.index(name))
    path = BAD / name
    with pytest.raises(SwarmOpsError) as exc:
        stack_deploy(swarm, params(stack, [str(path)]))
    message = str(exc.value)
    assert name in message and "Traceback" not in message and "Unexpected error" not in message, message
    assert not any(stack_objects(swarm, stack).values()), "stack_deploy wrote before refusing"

    if shutil.which("docker") is None:
        pytest.skip("no docker CLI for the differential")
    rc, out = cli_deploy(stack, path)
    if name in DELIBERATE:
        assert rc == 0, "the CLI now refuses %s; drop it from DELIBERATE: %s" % (name, out)
    else:
        assert rc != 0, "the CLI accepts %s: list it in DELIBERATE with a reason" % name


def test_port_used_by_another_stack_is_refused_before_any_write(stacks, swarm):
    first, second = stacks("port-a"), stacks("port-b")
    compose = {"services": {"web": {"image": MISSING, "ports": ["18937:80"]}}}
    stack_deploy(swarm, params(first, [compose], wait=False))
    with pytest.raises(SwarmOpsError, match="18937/tcp is already in use by service %s_web" % first):
        stack_deploy(swarm, params(second, [compose], wait=False))
    assert not any(stack_objects(swarm, second).values())


@pytest.fixture
def wait_ticks(monkeypatch):
    """Count the polls of the deploy's waits: giving up early means using few of the timeout's ticks."""
    ticks = []
    real_clock = stack_apply.clock

    def counting_clock(timeout, interval):
        for tick in real_clock(timeout, interval):
            ticks.append(interval)
            yield tick
    monkeypatch.setattr(stack_apply, "clock", counting_clock)
    return ticks


def gave_up_early(ticks, timeout):
    """Less than a quarter of the timeout's worth of polls (the grace for a final reason is seconds)."""
    return sum(ticks) < timeout / 4


def test_unschedulable_task_fails_early_with_the_reason(stacks, swarm, wait_ticks):
    stack = stacks("unsched")
    compose = {"services": {"web": {"image": LOCAL_IMAGE, "command": ["sleep", "600"], "deploy": {
        "placement": {"constraints": ["node.labels.badinput-nowhere==yes"]}}}}}
    with pytest.raises(SwarmOpsError) as exc:
        stack_deploy(swarm, params(stack, [compose], wait_timeout=120))
    assert wait_ticks and gave_up_early(wait_ticks, 120), "polled %d times" % len(wait_ticks)
    assert "%s_web" % stack in str(exc.value) and "no suitable node" in str(exc.value), str(exc.value)


def test_rejected_task_fails_early_naming_the_node(stacks, swarm, wait_ticks):
    stack = stacks("reject")
    node = swarm.info()["Name"]
    with pytest.raises(SwarmOpsError) as exc:
        stack_deploy(swarm, params(stack, [{"services": {"web": {"image": MISSING}}}], wait_timeout=120))
    assert wait_ticks and gave_up_early(wait_ticks, 120), "polled %d times" % len(wait_ticks)
    assert "rejected on node %s" % node in str(exc.value) and "No such image" in str(exc.value), str(exc.value)


def test_replicated_one_shot_tasks_that_exit_0_count_as_done(stacks, swarm):
    stack = stacks("oneshot")
    compose = {"services": {"job": {"image": LOCAL_IMAGE, "command": ["true"], "deploy": {
        "replicas": 2, "restart_policy": {"condition": "on-failure"}}}}}
    result = stack_deploy(swarm, params(stack, [compose], wait_timeout=90))
    assert result["changed"]


def test_module_reports_bad_input_without_a_traceback(ansible_module, stacks, swarm):
    stack = stacks("module")
    for name in ("alias-bomb.yml", "services-is-a-list.yml", "restart-number.yml"):
        result, out = ansible_module("stack_deploy", params(stack, [str(BAD / name)]))
        assert result.get("failed"), out
        assert name in result["msg"] and "Traceback" not in out, out
        assert not any(stack_objects(swarm, stack).values())


def test_an_engine_that_is_not_a_manager_is_refused_by_name(sandbox_engines, tmp_path):  # noqa: F811
    """Outside a swarm, and on a worker: the module's own message naming the swarm state, for a
    deploy and a removal, and nothing created. (The manager check reads /info only when the
    engine refuses the swarm lists, so these are the paths that exercise it.)"""
    compose = tmp_path / "stack.yml"
    compose.write_text("services:\n  app:\n    image: %s\n" % LOCAL_IMAGE)
    manager, worker = sandbox_engines(2).engines
    deploy_args = {"name": "badin-manager", "compose": [str(compose)], "resolve_image": "never"}
    for engine, state in ((manager, "inactive"), (worker, "active")):
        if engine is worker:
            manager.client().init_swarm(advertise_addr=manager.addr, listen_addr="%s:2377" % manager.addr)
            engine.client().join_swarm(["%s:2377" % manager.addr], manager.client().inspect_swarm()["JoinTokens"]["Worker"],
                                       advertise_addr=engine.addr, listen_addr="%s:2377" % engine.addr)
        for args in (deploy_args, {"name": "badin-manager", "state": "absent"}):
            result, out = run_in(engine, "stack_deploy", args)
            assert result.get("failed"), out
            assert result["msg"].startswith("This node is not a swarm manager (swarm state: %s)" % state), result["msg"]
            assert "Traceback" not in out
    assert manager.client().services() == []
