"""Table tests for bad stack input, in every module it reaches (issue 13).

compose_yaml (the loader), compose (values, names, files), stack_convert (what the
engine would refuse mid-deploy), runner (unexpected errors), stack_apply
(waits that end early with the engine's reason). No engine needed.
"""

from __future__ import annotations

import textwrap
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import compose, runner, stack_apply, stack_convert
from ansible_collections.swarmops.core.plugins.module_utils.compose_yaml import (
    MAX_DEPTH,
    YAMLLimitError,
    check_tree,
    load_bounded,
)

BAD = Path(__file__).resolve().parent.parent.parent / "stacks" / "bad"
IMG = "badinput/none:1"


def _bomb(levels=7, width=9):
    lines = ['x-0: &a0 [%s]' % ",".join(['"lol"'] * width)]
    for i in range(1, levels):
        lines.append("x-%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * width)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the loader

@pytest.mark.parametrize("text, message", [
    ("a: 1\nb: 2\na: 3\n", "mapping key 'a' already defined at line 1"),
    ("services:\n  web: {image: x}\n  web: {image: y}\n", "mapping key 'web' already defined at line 2"),
    (_bomb(), "excessive aliasing"),
    ("a: &a [*a]\n", "an alias refers to the value that contains it"),
    ("a: &a {b: *a}\n", "an alias refers to the value that contains it"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nesting deeper than %d levels" % MAX_DEPTH),
    ("a: " + "{b: " * 200 + "1" + "}" * 200 + "\n", "nesting deeper than"),
    ("a: " + "9" * 5000 + "\n", "integer with 5000 digits"),
    ("a: -0x" + "f" * 40 + "\n", "integer with"),
    ("? [1, 2]\n: x\n", "a mapping key must be a plain value, not a list"),
    ("? {a: 1}\n: x\n", "not a mapping"),
])
def test_loader_refuses(text, message):
    with pytest.raises(YAMLLimitError, match=message):
        load_bounded(text)


def test_alias_depth_through_aliases_is_bounded():
    lines = ["x0: &a0 [1]"] + ["x%d: &a%d [*a%d]" % (i, i, i - 1) for i in range(1, MAX_DEPTH + 5)]
    with pytest.raises(YAMLLimitError, match="deeper than"):
        load_bounded("\n".join(lines))


@pytest.mark.parametrize("text, expected", [
    ("x: &x {a: 1}\ny: {<<: *x, a: 2}\n", {"x": {"a": 1}, "y": {"a": 2}}),
    ("a: {k: 1}\nb: {k: 2}\n", {"a": {"k": 1}, "b": {"k": 2}}),
    ("a: &v [1, 2]\nb: *v\n", {"a": [1, 2], "b": [1, 2]}),
    ("n: 123456789012345678901234567890\n", {"n": 123456789012345678901234567890}),
    ("", None),
])
def test_loader_accepts(text, expected):
    assert load_bounded(text) == expected


def test_alias_bomb_is_refused_before_expansion_in_bounded_memory():
    text = _bomb(levels=10, width=10)  # 10**10 nodes once expanded
    tracemalloc.start()
    with pytest.raises(YAMLLimitError, match="excessive aliasing"):
        load_bounded(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2 ** 20


def _nested(levels):
    tree = []
    for _ in range(levels - 1):
        tree = [tree]
    return {"x": tree}


@pytest.mark.parametrize("tree, problem", [
    ({"services": {"web": {"image": "x"}}}, None),
    (_nested(MAX_DEPTH - 1), None),
    (_nested(MAX_DEPTH + 1), "nesting deeper than"),
    ({"x": list(range(200000))}, "more than"),
])
def test_check_tree_for_inline_mappings(tree, problem):
    result = check_tree(tree)
    assert (result is None) if problem is None else (problem in result)


# ---------------------------------------------------------------- compose.load

def _load(tmp_path, text, env=None, name="docker-compose.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return compose.load([str(path)], env or {}), str(path)


def _problems(tmp_path, text, **kw):
    with pytest.raises(compose.ComposeError) as exc:
        _load(tmp_path, text, **kw)
    return exc.value.problems


def _svc(body):
    body = textwrap.dedent(body)
    if body and not body.endswith("\n"):
        body += "\n"
    return "services:\n  web:\n    image: %s\n%s" % (IMG, textwrap.indent(body, "    "))


def _deploy(body):
    return _svc("deploy:\n" + textwrap.indent(textwrap.dedent(body), "  "))


BAD_VALUES = [
    # ports
    (_svc("ports: ['70000:80']"), "services.web.ports[0]: port 70000 is out of range"),
    (_svc("ports: ['8080:0']"), "services.web.ports[0]: port 0 is out of range"),
    (_svc("ports: ['1-5000000:1-5000000']"), "services.web.ports[0]: port '1-5000000' is out of range"),
    (_svc("ports: ['1-99999999999999999999']"), "is out of range"),
    (_svc("ports: ['9000-8000:9000-8000']"), "the end is below the start"),
    (_svc("ports: [{target: 70000}]"), "services.web.ports[0].target: must be between 1 and 65535"),
    (_svc("ports: [{target: 80, published: -1}]"), "services.web.ports[0].published: must be between 0 and 65535"),
    (_svc("ports: [{target: 80, published: 65536}]"), "published: must be between 0 and 65535"),
    (_svc("ports: [[80]]"), "services.web.ports[0]: must be a port string"),
    # wrong types that used to reach Python
    ("services: [web, api]\n", "services: must be a mapping, got a list"),
    ("services: web\n", "services: must be a mapping, got a string"),
    (_deploy("resources: {limits: {cpus: 'Infinity'}}"), "limits.cpus: must be a finite number of CPUs"),
    (_deploy("resources: {limits: {cpus: .nan}}"), "limits.cpus: must be a finite number of CPUs"),
    (_deploy("resources: {limits: {cpus: -0.5}}"), "limits.cpus: must not be negative"),
    (_deploy("resources: {limits: {cpus: '0.0001'}}"), "at least 0.001"),
    (_deploy("resources: {limits: {cpus: '1e30'}}"), "CPUs is out of range"),
    (_svc("restart: 5"), "services.web.restart: must be one of no, always"),
    (_svc("restart: sometimes"), "services.web.restart: must be one of"),
    (_deploy("replicas: 100000000000000000000"), "services.web.deploy.replicas: 100000000000000000000 is out of range"),
    (_deploy("replicas: -1"), "services.web.deploy.replicas: must not be negative"),
    (_deploy("replicas: '99999999999999999999999999999999999'"), "deploy.replicas: must be an integer"),
    (_deploy("replicas: [1]"), "deploy.replicas: must be an integer, got a list"),
    # memory
    (_deploy("resources: {limits: {memory: -5}}"), "limits.memory: must be a size"),
    (_deploy("resources: {limits: {memory: 1k}}"), "limits.memory: must be 0 (no limit) or at least 4MiB"),
    (_deploy("resources: {reservations: {memory: 99999999999P}}"), "reservations.memory: must be a size"),
    # durations
    (_svc("stop_grace_period: -10s"), "services.web.stop_grace_period: must not be negative"),
    (_svc("stop_grace_period: 999999999h"), "stop_grace_period: '999999999h' is too long"),
    (_svc("stop_grace_period: 10"), "stop_grace_period: must be a duration"),
    (_svc("healthcheck: {test: [CMD, 'true'], interval: -1s}"), "healthcheck.interval: must not be negative"),
    (_svc("healthcheck: {test: [CMD, 'true'], timeout: 10us}"), "healthcheck.timeout: must be 0 or at least 1ms"),
    (_deploy("update_config: {delay: -5s}"), "update_config.delay: must not be negative"),
    (_deploy("rollback_config: {monitor: -1m}"), "rollback_config.monitor: must not be negative"),
    (_deploy("restart_policy: {window: -1s}"), "restart_policy.window: must not be negative"),
    (_deploy("update_config: {max_failure_ratio: 2}"), "max_failure_ratio: must be between 0 and 1"),
    (_deploy("update_config: {max_failure_ratio: .inf}"), "max_failure_ratio: must be a finite number"),
    # modes
    (_svc("secrets: [{source: pw, mode: rw}]") + "secrets: {pw: {file: /etc/hostname}}\n",
     "services.web.secrets[0].mode: must be an octal file mode"),
    (_svc("secrets: [{source: pw, mode: 99999}]") + "secrets: {pw: {file: /etc/hostname}}\n",
     "services.web.secrets[0].mode: must be a file mode between 0 and 0o7777"),
    (_svc("configs: [{source: c, mode: -1}]") + "configs: {c: {content: x}}\n", "configs[0].mode: must not be negative"),
    (_svc("volumes: [{type: tmpfs, target: /t, tmpfs: {mode: abc}}]"), "volumes[0].tmpfs.mode: must be an octal"),
    # names
    ("services:\n  1: {image: %s}\n" % IMG, "services: invalid name 1"),
    ("services:\n  true: {image: %s}\n" % IMG, "services: invalid name True"),
    ("services:\n  web app: {image: %s}\n" % IMG, "services: invalid name 'web app'"),
    (_svc("networks: [n]") + "networks:\n  n: {}\n  null: {}\n", "networks: invalid name None"),
    (_svc("") + "volumes:\n  'a/b': {}\n", "volumes: invalid name 'a/b'"),
    (_svc("") + "secrets:\n  1.5: {file: /etc/hostname}\n", "secrets: invalid name 1.5"),
    # elsewhere
    (_svc("tmpfs: ['/run:size=lots']"), "services.web.tmpfs[0].size: must be a size"),
    (_svc("tmpfs: ['/run:mode=rwx']"), "services.web.tmpfs[0].mode: must be an octal mode"),
    (_svc("tmpfs: ['/run:uid=0']"), "unsupported tmpfs option 'uid=0'"),
    (_svc("tmpfs: ['run']"), "the tmpfs target must be an absolute path"),
    (_deploy("placement: {constraints: ['node.role=manager']}"), "constraints[0]: invalid placement constraint"),
    (_svc("oom_score_adj: 2000"), "oom_score_adj: must be between -1000 and 1000"),
    (_svc("") + "secrets: {pw: {file: /proc/self/mem}}\n", "secrets.pw.file: cannot read the file"),
    (_svc("") + "secrets: {pw: {file: /}}\n", "secrets.pw.file: is a directory, not a file"),
]


@pytest.mark.parametrize("text, message", BAD_VALUES, ids=range(len(BAD_VALUES)))
def test_bad_values_name_the_file_and_key(tmp_path, text, message):
    problems = _problems(tmp_path, text)
    path = str(tmp_path / "docker-compose.yml")
    assert any(p.startswith(path + ": ") and message in p for p in problems), problems


def test_env_file_that_is_not_utf8(tmp_path):
    (tmp_path / "latin1.env").write_bytes(b"A=caf\xe9\n")
    problems = _problems(tmp_path, _svc("env_file: ./latin1.env"))
    assert "services.web.env_file[0]: env_file %s is not UTF-8 text (byte 5)" % (tmp_path / "latin1.env") in problems[0]


def test_every_problem_is_listed_at_once(tmp_path):
    problems = _problems(tmp_path, _svc("""\
        ports: ['70000:80', '1-5000000:1']
        stop_grace_period: -1s
        deploy: {replicas: -1, resources: {limits: {cpus: Infinity, memory: -5}}}
        """))
    assert len(problems) == 6, problems


@pytest.mark.parametrize("value, good", [
    ("0440", True), (0o440, True), (288, True), ("440", True), ("0o440", False), ("8888", False), (True, False),
])
def test_file_modes(value, good):
    if good:
        assert compose._mode(value, "m") == 0o440
    else:
        with pytest.raises(compose._Invalid):
            compose._mode(value, "m")


@pytest.mark.parametrize("value", ["no", "always", "unless-stopped", "on-failure", "on-failure:3"])
def test_restart_values_the_cli_knows_pass(value):
    assert compose.RESTART(value, "r") == value


def test_inline_mapping_too_deep_is_refused():
    deep = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(compose.ComposeError, match=r"compose\[0\] \(inline\): nesting deeper than"):
        compose.load([deep], {})


def test_oversized_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.yml"
    path.write_text("x-pad: '%s'\n" % ("a" * (compose.MAX_FILE_BYTES + 10)))
    with pytest.raises(compose.ComposeError, match="larger than 4 MiB"):
        compose.load([str(path)], {})


# ---------------------------------------------------------------- stack_convert.value_problems

def _model(tmp_path, text):
    (model, dummy), dummy2 = _load(tmp_path, text)
    return model


@pytest.mark.parametrize("text, message", [
    (_svc("") + "secrets:\n  pw: {name: %s, file: /etc/hostname}\n" % ("s" * 100), "the secret name 'sss"),
    (_svc("") + "configs:\n  c: {name: 'bad..', content: x}\n", "the config name 'bad..' is invalid"),
    (_svc("") + "configs:\n  %s: {content: x}\n" % ("c" * 60), "configs.%s: the config name" % ("c" * 60)),
    (_svc("networks: [n]") + "networks:\n  n: {name: .hidden}\n", "the network name '.hidden' is invalid"),
    (_svc("volumes: ['v:/v']") + "volumes:\n  v: {name: x}\n", "the volume name 'x' is invalid"),
    (_svc("ports: ['18080:80', '18080:81']"), "services.web.ports: published port 18080/tcp is also published by "
                                              "service web"),
    (_svc("ports: ['18080:80']") + "  api:\n    image: x\n    ports: ['18080:80']\n",
     "services.web.ports: published port 18080/tcp is also published by service api"),
])
def test_values_the_engine_would_refuse_mid_deploy(tmp_path, text, message):
    problems = stack_convert.value_problems("badin", _model(tmp_path, text))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("text", [
    _svc("ports: ['18080:80/tcp', '18080:80/udp', '18081:80']"),
    _svc("ports: [{target: 80, published: 18080, mode: host}]") + "  api:\n    image: x\n    ports: "
    "[{target: 80, published: 18080, mode: host}]\n",
    _svc("secrets: [pw]") + "secrets:\n  pw: {file: /etc/hostname}\n",
])
def test_valid_stacks_have_no_value_problems(tmp_path, text):
    assert stack_convert.value_problems("badin", _model(tmp_path, text)) == []


# ---------------------------------------------------------------- the corpus, offline

@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yml")))
def test_corpus_file_is_refused_by_load_or_value_checks(name):
    path = str(BAD / name)
    try:
        model, dummy = compose.load([path], {})
    except compose.ComposeError as exc:
        assert all(p.startswith(path) for p in exc.problems), exc.problems
        return
    problems = stack_convert.name_problems("badin", model) + stack_convert.value_problems("badin", model)
    assert problems and all(p.startswith(path) for p in problems), problems


# ---------------------------------------------------------------- runner: module boundary

class _Module:
    _name = "swarmops.core.stack_deploy"

    def fail_json(self, **kw):
        raise SystemExit(("failed", kw))

    def exit_json(self, **kw):
        raise SystemExit(("ok", kw))


def _outcome(run):
    with pytest.raises(SystemExit) as exc:
        runner.run_module(_Module(), run)
    return exc.value.args[0]


def test_unexpected_exception_becomes_a_failure_not_a_traceback():
    status, result = _outcome(lambda m: {}["missing"])
    assert status == "failed"
    assert result["msg"] == "Unexpected error in module swarmops.core.stack_deploy: KeyError: 'missing'"
    assert "Traceback" in result["exception"]  # only for -vvv


def test_step_names_the_step_and_the_input():
    def run(module):
        with runner.step("loading the compose files", "bad.yml"):
            raise RecursionError("maximum recursion depth exceeded")
    status, result = _outcome(run)
    assert result["msg"] == ("Unexpected error while loading the compose files (bad.yml): "
                             "RecursionError: maximum recursion depth exceeded")


def test_step_lets_our_own_errors_through():
    def run(module):
        with runner.step("x"):
            raise runner.SwarmOpsError("clear message", problems=["a"])
    assert _outcome(run) == ("failed", {"msg": "clear message", "problems": ["a"]})


# ---------------------------------------------------------------- stack_apply: waits that end early

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=timezone.utc)


def _stamp(delta=0):
    return (NOW + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Engine:
    """Answers inspect_service/tasks with data shaped like the Engine API's."""

    def __init__(self, mode, tasks, restart=None):
        spec = {"Mode": mode, "TaskTemplate": {}}
        if restart:
            spec["TaskTemplate"]["RestartPolicy"] = {"Condition": restart}
        self.service = {"ID": "s1", "Spec": spec}
        self._tasks = tasks

    def inspect_service(self, ident):
        return self.service

    def tasks(self, filters=None):
        return self._tasks


def _task(ident, state, desired="running", err=None, slot=1, index=10, node="n1"):
    status = {"State": state}
    if err:
        status["Err"] = err
    return {"ID": ident, "ServiceID": "s1", "NodeID": node, "Slot": slot, "DesiredState": desired,
            "Status": status, "CreatedAt": _stamp(1), "Version": {"Index": index}}


def _status(engine, action=None):
    action = action or {"id": "s1", "action": "create", "since": NOW}
    return stack_apply._service_status(engine, action, {"n1": "node-one"})


def test_rejected_task_is_fatal_at_once_with_reason_and_node():
    engine = _Engine({"Replicated": {"Replicas": 1}}, [
        _task("t1", "rejected", desired="shutdown", err="No such image: badinput/none:1")])
    done, failures, fatal = _status(engine)
    assert (done, fatal) == (False, True)
    assert failures == [{"node": "node-one", "task": "t1", "state": "rejected",
                         "error": "No such image: badinput/none:1"}]


def test_unschedulable_task_is_fatal_after_the_grace(monkeypatch):
    engine = _Engine({"Replicated": {"Replicas": 1}}, [
        _task("t1", "pending", err="no suitable node (scheduling constraints not satisfied on 1 node)", node="")])
    action = {"id": "s1", "action": "create", "since": NOW}
    assert _status(engine, action)[2] is False  # first sighting: within the grace
    monkeypatch.setattr(stack_apply, "UNSCHEDULABLE_GRACE", 0.0)
    done, failures, fatal = _status(engine, action)
    assert fatal and failures[0]["state"] == "unschedulable" and "no suitable node" in failures[0]["error"]
    assert failures[0]["node"] == "(not scheduled)"


def test_pending_without_a_reason_keeps_waiting(monkeypatch):
    monkeypatch.setattr(stack_apply, "UNSCHEDULABLE_GRACE", 0.0)
    engine = _Engine({"Replicated": {"Replicas": 1}}, [_task("t1", "pending")])
    assert _status(engine) == (False, [], False)


@pytest.mark.parametrize("restart, tasks, done", [
    ("on-failure", [_task("a", "complete", "shutdown", slot=1), _task("b", "complete", "shutdown", slot=2)], True),
    ("none", [_task("a", "complete", "shutdown", slot=1), _task("b", "running", slot=2)], True),
    ("none", [_task("a", "complete", "shutdown", slot=1)], False),  # slot 2 not there yet
    ("any", [_task("a", "complete", "shutdown", slot=1), _task("b", "complete", "shutdown", slot=2)], False),
    (None, [_task("a", "complete", "shutdown", slot=1), _task("b", "complete", "shutdown", slot=2)], False),
    ("on-failure", [_task("a", "complete", "shutdown", slot=1, index=5), _task("a2", "starting", slot=1, index=9),
                    _task("b", "running", slot=2)], False),
])
def test_replicated_one_shot_tasks_that_exit_0_count_as_done(restart, tasks, done):
    engine = _Engine({"Replicated": {"Replicas": 2}}, tasks, restart=restart)
    assert _status(engine)[0] is done


def test_failed_tasks_still_need_three_before_giving_up():
    engine = _Engine({"Replicated": {"Replicas": 1}}, [_task("t1", "failed", "shutdown", err="exit 1")])
    done, failures, fatal = _status(engine)
    assert not done and not fatal and len(failures) == 1
