"""stack_deploy against the local engine as a single-node swarm (and docker stack deploy side by side).

Every stack here is named sotest-stack-*; each test removes what it deployed.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT, ansible_env, remove_stack
from conftest import stack_objects as _stack_objects

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import (  # noqa: E402
    docker_client,
    stack_apply,
    stack_convert,
    stack_current,
    stack_plan,
)
from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy as stack_deploy  # noqa: E402

STACKS = Path(__file__).resolve().parent.parent / "stacks"
APP = "sotest-stack/app:1"
APP2 = "sotest-stack/app:2"
MISSING = "sotest-stack/does-not-exist:1"
NS = "com.docker.stack.namespace"
CORPUS = sorted(p.name for p in STACKS.glob("*.yml"))
SECRET_TEXT = "hunter2-sotest-secret"  # the content of tests/stacks/files/db_password.txt
CONTENT_KEY = "sotest-stack-content-key-0123456789"  # keeps the host's key file out of these tests


@pytest.fixture(scope="session")
def images(client, debian_base_image):
    """Two tags of a tiny image that just sleeps (also as `redis-server`); nothing can be pulled."""
    dockerfile = (
        "FROM %s\n"
        "RUN printf '#!/bin/sh\\nexec sleep infinity\\n' > /usr/local/bin/redis-server"
        " && chmod +x /usr/local/bin/redis-server\n"
        # sleep as PID 1 ignores SIGTERM: stop with SIGKILL so tasks go away at once
        "STOPSIGNAL SIGKILL\n"
        "CMD [\"sleep\", \"infinity\"]\n" % debian_base_image)
    for line in client.build(fileobj=io.BytesIO(dockerfile.encode()), tag=APP, rm=True, decode=True):
        assert "error" not in line, line
    client.tag(APP, "sotest-stack/app", "2")
    return {"WEB_IMAGE": APP, "VISUALIZER_IMAGE": APP, "REDIS_IMAGE": APP, "APP_IMAGE": APP}


@pytest.fixture
def stacks(new_stack):
    """Hands out stack names and removes those stacks afterwards."""
    return lambda suffix: new_stack("sotest-stack-" + suffix)


@pytest.fixture
def deploy(ansible_module, images, tmp_path):
    data_dir = tmp_path / "redis-data"
    data_dir.mkdir()

    def run(name, compose, check=False, diff=True, verbosity=0, **params):
        env = dict(images, REDIS_DATA=str(data_dir))
        env.update(params.pop("env", {}))
        # Network rule: never let the engine ask a registry on the internet for digests.
        params.setdefault("resolve_image", "never")
        params.setdefault("content_key", CONTENT_KEY)
        args = dict(name=name, compose=compose, env=env, wait_timeout=params.pop("wait_timeout", 120), **params)
        return ansible_module("stack_deploy", args, check=check, diff=diff, verbosity=verbosity)

    run.env = lambda: dict(images, REDIS_DATA=str(data_dir))
    return run


def changes(result):
    return [a for a in result["actions"] if a["action"] != "unchanged"]


def service_spec(client, name):
    return client.inspect_service(name)["Spec"]


needs_cli = pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is needed for the comparison")


def cli(*args, env=None):
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ---------------------------------------------------------------- the seed files

def test_part3_check_apply_idempotent_with_diff(deploy, stacks, swarm):
    stack = stacks("p3")
    compose = [str(STACKS / "part3.yml")]

    result, out = deploy(stack, compose, check=True)
    assert result["changed"] and not result.get("failed"), out
    assert changes(result) == [
        {"kind": "network", "name": stack + "_webnet", "action": "create"},
        {"kind": "service", "name": stack + "_web", "action": "create"}]
    assert not any(_stack_objects(swarm, stack).values()), "check mode applied something"

    result, out = deploy(stack, compose, verbosity=3)  # -vvv keeps the diff in the printed result
    assert result["changed"] and not result.get("failed"), out
    assert result["diff"]["after"]["service/%s_web" % stack]["Mode"] == {"Replicated": {"Replicas": 5}}
    assert result["diff"]["before"] == {}
    spec = service_spec(swarm, stack + "_web")
    assert spec["Labels"] == {NS: stack, "com.docker.stack.image": APP}
    assert spec["TaskTemplate"]["Resources"]["Limits"] == {"NanoCPUs": 10 ** 8, "MemoryBytes": 50 * 1024 ** 2}
    assert spec["EndpointSpec"]["Ports"][0]["PublishedPort"] == 4000

    result, out = deploy(stack, compose)
    assert result["changed"] is False, out
    result, out = deploy(stack, compose, check=True)
    assert result["changed"] is False, out

    # The CLI sees it as a stack of its own.
    assert stack in cli("stack", "ls", "--format", "{{.Name}}").split()
    assert cli("stack", "services", stack, "--format", "{{.Name}} {{.Replicas}}").split()[:2] == [stack + "_web", "5/5"]


def test_part5_deploys_and_check_mode_reports_only_the_replicas_change(deploy, stacks, swarm):
    stack = stacks("p5")
    compose = [str(STACKS / "part5.yml")]
    result, out = deploy(stack, compose)
    assert result["changed"] and not result.get("failed"), out
    assert sorted(a["name"] for a in changes(result)) == sorted(
        [stack + "_webnet", stack + "_web", stack + "_visualizer", stack + "_redis"])
    redis = service_spec(swarm, stack + "_redis")["TaskTemplate"]
    assert redis["ContainerSpec"]["Args"] == ["redis-server", "--appendonly", "yes"]
    assert redis["Placement"]["Constraints"] == ["node.role == manager"]

    scaled = compose + [{"services": {"web": {"deploy": {"replicas": 2}}}}]
    result, out = deploy(stack, scaled, check=True, verbosity=3)
    assert not result.get("failed"), out
    assert changes(result) == [{"kind": "service", "name": stack + "_web", "action": "update"}]
    assert result["diff"]["before"]["service/%s_web" % stack]["Mode"]["Replicated"]["Replicas"] == 5
    assert result["diff"]["after"]["service/%s_web" % stack]["Mode"]["Replicated"]["Replicas"] == 2
    assert service_spec(swarm, stack + "_web")["Mode"]["Replicated"]["Replicas"] == 5

    result, out = deploy(stack, scaled)
    assert changes(result) == [{"kind": "service", "name": stack + "_web", "action": "update"}], out
    assert service_spec(swarm, stack + "_web")["Mode"]["Replicated"]["Replicas"] == 2
    result, out = deploy(stack, scaled)
    assert result["changed"] is False, out


@needs_cli
def test_stack_first_deployed_by_the_cli_is_unchanged(deploy, stacks, swarm):
    stack = stacks("cli5")
    cli("stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(STACKS / "part5.yml"), stack, env=deploy.env())
    result, out = deploy(stack, [str(STACKS / "part5.yml")])
    assert result["changed"] is False and not result.get("failed"), out
    assert len(result["actions"]) == 4


# ---------------------------------------------------------------- CLI equivalence over the corpus

# Lists whose order neither the engine nor the CLI defines (the CLI sorts secret and config
# references by name with an unstable sort; one object mounted twice ties): compared as sets.
UNORDERED = ("Secrets", "Configs", "Mounts", "Env")


def _unordered(spec):
    cs = spec.get("TaskTemplate", {}).get("ContainerSpec", {})
    for field in UNORDERED:
        if isinstance(cs.get(field), list):
            cs[field] = sorted(cs[field], key=lambda item: json.dumps(item, sort_keys=True))
    return spec


def _normalized_specs(client, stack):
    current = stack_current.read_current(client, stack)
    out = {}
    for name, svc in current["services"].items():
        text = json.dumps(stack_plan.normalize(svc["Spec"], current["network_names"]), sort_keys=True)
        text = text.replace(stack, "STACK")
        # our content-addressed config/secret names carry an HMAC suffix the CLI's lack
        text = re.sub(r'"(STACK_[A-Za-z0-9_-]+?)_[0-9a-f]{12}"', r'"\1"', text)
        out[name.replace(stack, "STACK")] = _unordered(json.loads(text))
    return out


@needs_cli
@pytest.mark.parametrize("compose_file", CORPUS)
def test_cli_and_module_produce_equal_service_specs(compose_file, deploy, stacks, swarm):
    path = str(STACKS / compose_file)
    cli_stack, mod_stack = stacks("eq-cli"), stacks("eq-mod")
    cli("stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", path, cli_stack, env=deploy.env())
    by_cli = _normalized_specs(swarm, cli_stack)
    remove_stack(swarm, cli_stack)  # published ports and subnets must be free again

    result, out = deploy(mod_stack, [path], wait=False)
    assert result["changed"] and not result.get("failed"), out
    by_module = _normalized_specs(swarm, mod_stack)
    assert by_cli and by_module == by_cli
    # and a second deploy of the same file changes nothing (module_utils entry point, in-process)
    again = stack_deploy(swarm, {"name": mod_stack, "compose": [path], "env": deploy.env(), "wait": False,
                                 "resolve_image": "never", "content_key": CONTENT_KEY})
    assert again["changed"] is False, changes(again)


# ---------------------------------------------------------------- configs, prune, wait, rollback, absent

def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_changed_config_rolls_out_under_a_new_name(deploy, stacks, swarm, tmp_path):
    stack = stacks("cfg")
    conf = tmp_path / "app.conf"
    conf.write_text("version one\n")
    compose = [_write(tmp_path / "stack.yml", {
        "services": {"app": {"image": "${APP_IMAGE}", "configs": [{"source": "app_conf", "target": "/app.conf"}]}},
        "configs": {"app_conf": {"file": "./app.conf"}}})]
    result, out = deploy(stack, compose)
    assert not result.get("failed"), out
    first = _stack_objects(swarm, stack)["configs"]
    assert len(first) == 1 and first[0].startswith(stack + "_app_conf_")

    conf.write_text("version two\n")
    result, out = deploy(stack, compose, check=True)
    assert [(a["kind"], a["action"]) for a in changes(result)] == [
        ("config", "create"), ("service", "update"), ("config", "remove")], out
    assert _stack_objects(swarm, stack)["configs"] == first

    result, out = deploy(stack, compose)
    assert not result.get("failed"), out
    second = _stack_objects(swarm, stack)["configs"]
    assert len(second) == 1 and second != first
    # wait (the default) returned only once the rolling update had completed
    assert swarm.inspect_service(stack + "_app")["UpdateStatus"]["State"] == "completed"
    ref = service_spec(swarm, stack + "_app")["TaskTemplate"]["ContainerSpec"]["Configs"][0]
    assert ref["ConfigName"] == second[0] and ref["File"]["Name"] == "/app.conf"
    assert deploy(stack, compose)[0]["changed"] is False


def test_prune_removes_a_dropped_service(deploy, stacks, swarm):
    stack = stacks("prune")
    both = {"services": {"keep": {"image": "${APP_IMAGE}"}, "drop": {"image": "${APP_IMAGE}"}}}
    one = {"services": {"keep": {"image": "${APP_IMAGE}"}}}
    assert deploy(stack, [both])[0]["changed"]
    result, out = deploy(stack, [one])
    assert result["changed"] is False, out  # without prune, the extra service stays
    assert _stack_objects(swarm, stack)["services"] == [stack + "_drop", stack + "_keep"]
    result, out = deploy(stack, [one], prune=True)
    assert changes(result) == [{"kind": "service", "name": stack + "_drop", "action": "remove"}], out
    assert _stack_objects(swarm, stack)["services"] == [stack + "_keep"]


def test_wait_fails_clearly_on_a_missing_image_and_rolls_back(deploy, stacks, swarm):
    stack = stacks("wait")
    node = swarm.info()["Name"]
    good = {"services": {"app": {"image": "${APP_IMAGE}", "deploy": {"replicas": 1}}}}
    assert not deploy(stack, [good])[0].get("failed")

    bad = {"services": {"app": {"image": MISSING, "deploy": {"replicas": 1}}}}
    result, out = deploy(stack, [bad], rollback=True, wait_timeout=90)
    assert result.get("failed"), out
    assert "%s_app" % stack in result["msg"] and MISSING in result["msg"], result["msg"]
    assert "on node %s" % node in result["msg"], result["msg"]
    assert "Rolled back: %s_app (previous spec)" % stack in result["msg"]
    # the update was rolled back to the previous (working) spec
    for _ in range(60):
        if service_spec(swarm, stack + "_app")["TaskTemplate"]["ContainerSpec"]["Image"] == APP:
            break
        time.sleep(0.5)
    assert service_spec(swarm, stack + "_app")["TaskTemplate"]["ContainerSpec"]["Image"] == APP

    new = {"services": {"app": {"image": "${APP_IMAGE}"}, "broken": {"image": MISSING}}}
    result, out = deploy(stack, [new], rollback=True, wait_timeout=90)
    assert result.get("failed") and "%s_broken" % stack in result["msg"], out
    assert _stack_objects(swarm, stack)["services"] == [stack + "_app"]  # the created one was removed


def test_wait_without_rollback_leaves_the_failed_service(deploy, stacks, swarm):
    stack = stacks("norb")
    result, out = deploy(stack, [{"services": {"bad": {"image": MISSING}}}], wait_timeout=90)
    assert result.get("failed") and "No such image" in result["msg"], out
    assert _stack_objects(swarm, stack)["services"] == [stack + "_bad"]


def test_state_absent_removes_everything(deploy, stacks, swarm, ansible_module):
    stack = stacks("absent")
    compose = [str(STACKS / "storage-keys.yml")]
    result, out = deploy(stack, compose, wait=False)
    assert not result.get("failed"), out
    before = _stack_objects(swarm, stack)
    assert before["services"] and before["networks"] and before["configs"] and before["secrets"]

    result, out = ansible_module("stack_deploy", {"name": stack, "state": "absent"}, check=True)
    assert result["changed"] and _stack_objects(swarm, stack) == before, out
    result, out = ansible_module("stack_deploy", {"name": stack, "state": "absent", "wait_timeout": 120})
    assert result["changed"] and not result.get("failed"), out
    assert [a["kind"] for a in result["actions"]] == ["service", "config", "secret", "network", "network"]
    assert not any(_stack_objects(swarm, stack).values())
    assert ansible_module("stack_deploy", {"name": stack, "state": "absent"})[0]["changed"] is False


# ---------------------------------------------------------------- validation, warnings, secrets

BAD_INPUTS = [
    ("unknown-key", {"services": {"web": {"image": "${APP_IMAGE}", "replicas": 2}}},
     "services.web.replicas: unknown key"),
    ("wrong-type", {"services": {"web": {"image": "${APP_IMAGE}", "deploy": {"replicas": "many"}}}},
     "services.web.deploy.replicas: must be an integer"),
    ("bad-duration", {"services": {"web": {"image": "${APP_IMAGE}", "stop_grace_period": "soon"}}},
     "services.web.stop_grace_period: must be a duration"),
    ("bad-size", {"services": {"web": {"image": "${APP_IMAGE}",
                                       "deploy": {"resources": {"limits": {"memory": "lots"}}}}}},
     "services.web.deploy.resources.limits.memory: must be a size"),
    ("undeclared-network", {"services": {"web": {"image": "${APP_IMAGE}", "networks": ["webnet"]}}},
     "services.web.networks.webnet: network is not declared"),
    ("missing-secret-file", {"services": {"web": {"image": "${APP_IMAGE}", "secrets": ["pw"]}},
                             "secrets": {"pw": {"file": "./no-such-file"}}},
     "secrets.pw.file: file not found"),
    ("required-variable", {"services": {"web": {"image": "${SOTEST_STACK_IMAGE:?set SOTEST_STACK_IMAGE}"}}},
     "services.web.image: required variable SOTEST_STACK_IMAGE is missing a value: set SOTEST_STACK_IMAGE"),
]


@pytest.mark.parametrize("case, data, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_fails_naming_file_and_key_and_creates_nothing(case, data, message, deploy, stacks, swarm,
                                                                 tmp_path):
    stack = stacks("bad")
    path = _write(tmp_path / ("%s.yml" % case), data)
    good = {"services": {"fine": {"image": "${APP_IMAGE}"}}, "networks": {"extra": {}}}
    result, out = deploy(stack, [good, path])
    assert result.get("failed"), out
    assert "%s: %s" % (path, message) in result["msg"], result["msg"]
    assert not any(_stack_objects(swarm, stack).values())


def test_ignored_keys_warn_like_the_cli(deploy, stacks):
    stack = stacks("warn")
    data = {"services": {"web": {"image": "${APP_IMAGE}", "build": ".", "container_name": "web",
                                 "depends_on": ["db"], "links": ["db"]},
                         "db": {"image": "${APP_IMAGE}"}}}
    result, out = deploy(stack, [data], wait=False)
    assert not result.get("failed"), out
    assert "[WARNING]: Ignoring unsupported options: build, links" in out
    assert "Ignoring unsupported options: build, links" in result["stack_warnings"]
    assert any("container_name" in w for w in result["stack_warnings"])
    assert any("depends_on" in w for w in result["stack_warnings"])


def test_secret_content_never_appears(deploy, stacks, swarm):
    stack = stacks("secret")
    compose = [str(STACKS / "storage-keys.yml")]
    encoded = base64.b64encode(SECRET_TEXT.encode() + b"\n").decode()
    for kwargs in ({"check": True}, {}, {"verbosity": 3}):
        result, out = deploy(stack, compose, wait=False, **kwargs)
        assert not result.get("failed"), out
        assert SECRET_TEXT not in out and encoded not in out
    assert deploy(stack, compose, wait=False)[0]["changed"] is False


@needs_cli
def test_update_with_a_stale_version_is_retried(deploy, stacks, swarm):
    """Someone updates the service between our read and our write: "update out of sequence" -> retry."""
    from ansible_collections.swarmops.core.plugins.module_utils import compose, stack_convert

    stack = stacks("seq")
    data = {"services": {"app": {"image": APP, "deploy": {"replicas": 1}}}}
    assert not deploy(stack, [data], wait=False)[0].get("failed")
    data["services"]["app"]["deploy"]["replicas"] = 2
    model, _ = compose.load([data])
    plan = stack_plan.make_plan(stack_convert.build(stack, model), stack_current.read_current(swarm, stack),
                                resolve_image="never")
    stale = [a for a in plan.actions if a["action"] == "update"][0]["version"]
    cli("service", "update", "--detach", "--label-add", "sotest=bump", stack + "_app")
    assert swarm.inspect_service(stack + "_app")["Version"]["Index"] > stale
    stack_apply.apply_plan(swarm, plan)
    assert service_spec(swarm, stack + "_app")["Mode"]["Replicated"]["Replicas"] == 2


def test_external_network_is_used_not_managed(deploy, stacks, swarm):
    stack = stacks("ext")
    net = "sotest-stack-extnet"
    data = {"services": {"app": {"image": "${APP_IMAGE}", "networks": ["shared"]}},
            "networks": {"shared": {"external": True, "name": net}}}
    result, out = deploy(stack, [data], wait=False)
    assert result.get("failed") and "network '%s' is declared as external, but could not be found" % net in \
        result["msg"], out
    assert not any(_stack_objects(swarm, stack).values())

    swarm.create_network(net, driver="overlay", scope="swarm")
    try:
        result, out = deploy(stack, [data], wait=False)
        assert not result.get("failed"), out
        assert [a["kind"] for a in result["actions"]] == ["service"]
        target = service_spec(swarm, stack + "_app")["TaskTemplate"]["Networks"][0]["Target"]
        assert target == swarm.inspect_network(net)["Id"]
        assert deploy(stack, [data], wait=False)[0]["changed"] is False
        remove_stack(swarm, stack)
        swarm.inspect_network(net)  # still there: not part of the stack
    finally:
        for _ in range(60):
            try:
                swarm.remove_network(net)
                break
            except docker.errors.APIError:
                time.sleep(0.5)


# ---------------------------------------------------------------- issue 11: secrets and removal order (stacks sec*)

@pytest.fixture
def sec_stacks(new_stack):
    """Like `stacks`, for the names of issue 11's tests (prefixed sec)."""
    return lambda suffix: new_stack("sec" + suffix)


SENTINELS = ("secSentinelEnv-7f3a9c", "secSentinelInline-2b8e41", "secSentinelFile-c05d17")


def _playbook(tmp_path, stack, env_sentinel):
    (tmp_path / "token.txt").write_text(SENTINELS[2] + "\n")
    compose = {"services": {"app": {
        "image": "${APP_IMAGE}",
        "environment": {"DB_PASSWORD": "${SEC_PASSWORD}", "API_TOKEN": SENTINELS[1], "MODE": "demo"},
        "secrets": ["token"]}},
        "secrets": {"token": {"file": str(tmp_path / "token.txt")}}}
    task = {"name": "deploy", "swarmops.core.stack_deploy": {
        "name": stack, "compose": [compose], "project_dir": str(tmp_path), "resolve_image": "never",
        "env": {"APP_IMAGE": APP, "SEC_PASSWORD": env_sentinel},
        "content_key_file": str(tmp_path / "content.key"), "wait_timeout": 120}}
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    return path


def _run_playbook(path, *args):
    cmd = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-vvv", "--diff",
           "-e", "ansible_python_interpreter=" + sys.executable, str(path)] + list(args)
    proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}),
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def test_no_secret_in_playbook_output_at_vvv_with_diff(sec_stacks, swarm, images, tmp_path):
    stack = sec_stacks("out")
    outputs = []
    for sentinel, args in ((SENTINELS[0], ["--check"]), (SENTINELS[0], []), (SENTINELS[0], []),
                           (SENTINELS[0] + "-v2", [])):
        rc, out = _run_playbook(_playbook(tmp_path, stack, sentinel), *args)
        assert rc == 0, out
        outputs.append(out)
    text = "\n".join(outputs)
    for secret in SENTINELS:
        for form in (secret, base64.b64encode(secret.encode()).decode()[:16]):
            assert text.count(form) == 0, form
    # what is shown is still useful: object names, env keys, the image
    assert "%s_app" % stack in text and "DB_PASSWORD=********" in text and "API_TOKEN=********" in text
    assert "changed=1" in outputs[1] and "changed=0" in outputs[2] and "changed=1" in outputs[3]
    env = service_spec(swarm, stack + "_app")["TaskTemplate"]["ContainerSpec"]["Env"]
    assert "DB_PASSWORD=%s-v2" % SENTINELS[0] in env  # the real value did reach the service
    assert os.stat(tmp_path / "content.key").st_mode & 0o777 == 0o600  # made on first use


def _config_stack(tmp_path, content, image="${APP_IMAGE}"):
    (tmp_path / "app.conf").write_text(content)
    return [_write(tmp_path / "stack.yml", {
        "services": {"app": {"image": image, "deploy": {"replicas": 1},
                             "configs": [{"source": "app_conf", "target": "/app.conf"}]}},
        "configs": {"app_conf": {"file": "./app.conf"}}})]


def test_superseded_config_outlives_the_rollout_and_a_rollback(deploy, sec_stacks, swarm, tmp_path):
    stack = sec_stacks("order")
    assert not deploy(stack, _config_stack(tmp_path, "one\n"))[0].get("failed")
    first = _stack_objects(swarm, stack)["configs"]

    # wait off: the old config stays (deferred) until a later run
    result, out = deploy(stack, _config_stack(tmp_path, "two\n"), wait=False)
    assert [(a["kind"], a["action"]) for a in changes(result)] == [
        ("config", "create"), ("service", "update"), ("config", "deferred")], out
    assert "kept until a later run" in " ".join(result["stack_warnings"])
    second = sorted(set(_stack_objects(swarm, stack)["configs"]) - set(first))
    assert set(first) < set(_stack_objects(swarm, stack)["configs"])
    result, out = deploy(stack, _config_stack(tmp_path, "two\n"))
    assert changes(result) == [{"kind": "config", "name": first[0], "action": "remove"}], out
    assert _stack_objects(swarm, stack)["configs"] == second
    assert deploy(stack, _config_stack(tmp_path, "two\n"))[0]["changed"] is False

    # a failed rollout rolled back: the config of the previous spec is still there
    result, out = deploy(stack, _config_stack(tmp_path, "three\n", MISSING), rollback=True, wait_timeout=90)
    assert result.get("failed") and "Rolled back" in result["msg"], out
    for _ in range(60):
        ref = service_spec(swarm, stack + "_app")["TaskTemplate"]["ContainerSpec"]["Configs"][0]
        if ref["ConfigName"] == second[0]:
            break
        time.sleep(0.5)
    assert ref["ConfigName"] == second[0]
    assert second[0] in _stack_objects(swarm, stack)["configs"]


def test_secret_declared_external_is_never_removed_even_with_the_stack_label(deploy, sec_stacks, swarm):
    stack = sec_stacks("ext")
    name = stack + "_shared"
    swarm.create_secret(name, b"external", labels={NS: stack})
    data = {"services": {"app": {"image": "${APP_IMAGE}"}},
            "secrets": {"shared": {"external": True, "name": name}}}
    result, out = deploy(stack, [data], wait=False)
    assert not result.get("failed") and not [a for a in result["actions"] if a["kind"] == "secret"], out
    assert deploy(stack, [data], wait=False, prune=True)[0]["changed"] is False
    assert _stack_objects(swarm, stack)["secrets"] == [name]


def test_objects_under_the_old_content_label_move_to_the_new_one_once(deploy, stacks, swarm, tmp_path):
    """A stack of an earlier build (com.swarmops.stack.content-hmac): one label-only update per
    config and secret, the service untouched, then no change."""
    stack = stacks("relabel")
    (tmp_path / "app.conf").write_text("one\n")
    (tmp_path / "pw.txt").write_text("sotest-relabel-pw\n")
    compose = [_write(tmp_path / "stack.yml", {
        "services": {"app": {"image": "${APP_IMAGE}", "secrets": ["pw"],
                             "configs": [{"source": "conf", "target": "/app.conf"}]}},
        "configs": {"conf": {"file": "./app.conf"}}, "secrets": {"pw": {"file": "./pw.txt"}}})]
    assert not deploy(stack, compose)[0].get("failed")
    old, new = stack_convert.OLD_HMAC_LABEL, stack_convert.HMAC_LABEL
    hmacs = []
    for kind in ("config", "secret"):  # what an earlier build left: the same objects under the old label
        for obj in getattr(swarm, kind + "s")(filters={"label": "%s=%s" % (NS, stack)}):
            labels = dict(obj["Spec"]["Labels"])
            labels[old] = labels.pop(new)
            hmacs.append(labels[old])
            docker_client.post_json(swarm, "/%ss/%s/update" % (kind, obj["ID"]), dict(obj["Spec"], Labels=labels),
                                    params={"version": obj["Version"]["Index"]})
    service_version = swarm.inspect_service(stack + "_app")["Version"]["Index"]

    for check in (True, False):
        result, out = deploy(stack, compose, check=check, verbosity=3)  # -vvv keeps the diff in the result
        assert result["changed"] and sorted((a["kind"], a["action"]) for a in changes(result)) == [
            ("config", "update"), ("secret", "update")], out
        assert result["diff"]["after"]["secret/" + [a["name"] for a in changes(result) if a["kind"] == "secret"][0]][
            "content_label"] == new
        assert not any(h in out for h in hmacs)
    for kind in ("config", "secret"):
        objects = getattr(swarm, kind + "s")(filters={"label": "%s=%s" % (NS, stack)})
        assert len(objects) == 1 and old not in objects[0]["Spec"]["Labels"] and new in objects[0]["Spec"]["Labels"]
    assert swarm.inspect_service(stack + "_app")["Version"]["Index"] == service_version
    result, out = deploy(stack, compose)
    assert result["changed"] is False, out


# ---------------------------------------------------------------- issue 12: env_files (stacks secenv*)

ENV_FILE_SECRET = "secEnvFileSentinel-4e9d2a"


def _env_files_playbook(tmp_path, stack):
    (tmp_path / "first.env").write_text("# defaults\nAPP_IMAGE=%s\nDB_PASSWORD=secEnvFileShadowed-17c3\n"
                                        "MODE=fromfile\n" % APP)
    (tmp_path / "second.env").write_text("DB_PASSWORD=%s\n" % ENV_FILE_SECRET)
    compose = {"services": {"app": {
        "image": "${APP_IMAGE}", "deploy": {"replicas": 1, "labels": {"sotest.leaky": "${DB_PASSWORD}"}},
        "environment": {"DB_PASSWORD": "${DB_PASSWORD}", "MODE": "${MODE}"}}}}
    task = {"name": "deploy", "swarmops.core.stack_deploy": {
        "name": stack, "compose": [compose], "project_dir": str(tmp_path), "resolve_image": "never",
        "env_files": ["first.env", str(tmp_path / "second.env")], "env": {"MODE": "fromenv"},
        "content_key": CONTENT_KEY, "wait_timeout": 120}}
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    return path


def test_env_files_check_apply_idempotent_and_never_shown(sec_stacks, swarm, images, tmp_path):
    stack = sec_stacks("envfiles")
    play = _env_files_playbook(tmp_path, stack)
    rc, checked = _run_playbook(play, "--check")
    assert rc == 0 and "changed=1" in checked, checked
    assert not any(_stack_objects(swarm, stack).values()), "check mode applied something"
    rc, applied = _run_playbook(play)
    assert rc == 0 and "changed=1" in applied, applied
    rc, again = _run_playbook(play)
    assert rc == 0 and "changed=0" in again, again
    text = checked + applied + again
    assert ENV_FILE_SECRET not in text and "secEnvFileShadowed" not in text
    assert "DB_PASSWORD=********" in text and "%s_app" % stack in text  # the diff is still there
    spec = service_spec(swarm, stack + "_app")
    env = spec["TaskTemplate"]["ContainerSpec"]["Env"]
    # the later file wins over the earlier one, env wins over the files
    assert "DB_PASSWORD=%s" % ENV_FILE_SECRET in env and "MODE=fromenv" in env
    assert spec["Labels"]["sotest.leaky"] == ENV_FILE_SECRET


def test_env_files_bad_file_fails_naming_it_before_the_engine(deploy, sec_stacks, swarm, tmp_path):
    stack = sec_stacks("envbad")
    missing = tmp_path / "nope.env"
    result, out = deploy(stack, [{"services": {"app": {"image": "${APP_IMAGE}"}}}],
                         env_files=[str(missing)], docker_host="tcp://192.0.2.10:2375")
    # the file is refused first: no connection is attempted (the address is refused anyway)
    assert result.get("failed") and result["msg"] == \
        "env_files[0]: cannot read env_file %s: No such file or directory" % missing, out
    assert not any(_stack_objects(swarm, stack).values())
