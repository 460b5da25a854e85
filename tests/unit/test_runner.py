"""The module runner leaf (runner): the error type, run_module, step and clock, with no engine."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import runner
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


class FakeTime:
    """Stands in for the time module inside runner: sleeping advances a counter."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(runner, "time", fake)
    return fake


# ---------------------------------------------------------------- clock

def test_clock_first_attempt_at_once_then_every_interval_until_the_deadline(fake_time):
    attempts = list(runner.clock(10, 2))
    assert attempts == [0, 1, 2, 3, 4, 5]  # at t=0,2,4,6,8 and one last look at t=10
    assert fake_time.sleeps == [2] * 5


def test_clock_zero_timeout_still_looks_once(fake_time):
    assert list(runner.clock(0, 1)) == [0]
    assert fake_time.sleeps == []


def test_clock_deadline_is_fixed_when_called_not_at_first_attempt(fake_time):
    ticks = runner.clock(5, 1)
    fake_time.now += 4  # work done before the loop starts counts against the timeout
    assert list(ticks) == [0, 1]


def test_clock_stops_when_the_caller_returns(fake_time):
    def wait():
        for attempt in runner.clock(60, 0.5):
            if attempt == 2:
                return "done"
        return "timeout"
    assert wait() == "done" and fake_time.sleeps == [0.5, 0.5]


# ---------------------------------------------------------------- run_module

class Module:
    """What run_module uses of an AnsibleModule; exit_json/fail_json end the module as Ansible's do."""

    _name = "swarmops.core.example"

    def __init__(self):
        self.calls = []

    def exit_json(self, **result):
        self.calls.append(("exit", result))
        raise SystemExit(0)

    def fail_json(self, **result):
        self.calls.append(("fail", result))
        raise SystemExit(1)


def outcome(run):
    module = Module()
    with pytest.raises(SystemExit):
        runner.run_module(module, run)
    assert len(module.calls) == 1, module.calls  # exactly one of exit_json / fail_json
    return module.calls[0]


def test_run_module_exits_with_the_result_and_passes_the_module():
    seen = []

    def run(module):
        seen.append(module)
        return {"changed": True, "actions": ["create a"]}
    kind, result = outcome(run)
    assert (kind, result) == ("exit", {"changed": True, "actions": ["create a"]})
    assert isinstance(seen[0], Module)


def test_run_module_turns_our_error_and_its_details_into_fail_json():
    def run(module):
        raise SwarmOpsError("name: must be set", key="name", problems=["a", "b"])
    assert outcome(run) == ("fail", {"msg": "name: must be set", "key": "name", "problems": ["a", "b"]})


def test_run_module_names_an_engine_error_as_such():
    errors = pytest.importorskip("docker.errors")

    def run(module):
        raise errors.APIError("500 Server Error: boom")
    kind, result = outcome(run)
    assert kind == "fail" and result["msg"] == "Docker Engine API error: 500 Server Error: boom"
    assert "Traceback" in result["exception"]


def test_run_module_shortens_an_unexpected_error_and_keeps_the_traceback_apart():
    def run(module):
        raise ValueError("x" * 1000)
    kind, result = outcome(run)
    assert kind == "fail" and result["msg"].startswith("Unexpected error in module swarmops.core.example: ValueError: xxx")
    assert result["msg"].endswith("...") and len(result["msg"]) < 400
    assert "Traceback" not in result["msg"] and "Traceback" in result["exception"]


# ---------------------------------------------------------------- step

def test_step_without_a_subject_names_the_step_only():
    with pytest.raises(SwarmOpsError) as info:
        with runner.step("reading the key"):
            raise KeyError("k")
    assert str(info.value) == "Unexpected error while reading the key: KeyError: 'k'"
    assert "Traceback" in info.value.details["exception"]


def test_step_lets_engine_errors_through_unchanged():
    errors = pytest.importorskip("docker.errors")
    error = errors.NotFound("404 Client Error: no such service")
    with pytest.raises(errors.NotFound) as info:
        with runner.step("reading the stack", "s"):
            raise error
    assert info.value is error


def test_step_is_silent_when_nothing_fails():
    with runner.step("nothing"):
        value = 1
    assert value == 1
