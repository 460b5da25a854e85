"""The engine-facing modules on the oldest Docker SDK for Python they claim to support.

A separate venv gets exactly docker==MIN_DOCKER_SDK from the package index, with the
requests/urllib3/websocket-client/paramiko versions of Debian 12 (the lab hosts' python3-docker
stack), and the modules run with that interpreter: swarm_init/swarm_join/swarm_node/swarm_info
on private engines (sandbox_engine), stack_deploy/stack_info on the local engine's swarm like
test_stack_deploy.py (stacks named sotest-stack-minsdk*, removed afterwards);
docker_engine_info, docker_image_build (build, push) and docker_login against the local engine
and the images tests' registry.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import run_module
from images_support import PASSWORD, PREFIX, USER, engine, registry, registry_image  # noqa: F401  (fixtures)
from sandbox_engine import sandbox_engines  # noqa: F401  (pytest fixture)
from test_stack_deploy import images, stacks  # noqa: F401  (pytest fixtures; client and swarm come from conftest)

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import MIN_DOCKER_SDK

# Debian 12 (bookworm) ships these next to python3-docker 5.0.3; docker-py before 7.1 does not
# work with requests >= 2.32, nor before 6.1 with urllib3 2.
PINS = ["docker==" + MIN_DOCKER_SDK, "requests==2.28.1", "urllib3==1.26.12", "websocket-client==1.2.3",
        "paramiko==2.12.0", "six"]


@pytest.fixture(scope="session")
def min_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("min-sdk") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q"] + PINS, capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    version = subprocess.run([str(python), "-c", "import docker; print(docker.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == MIN_DOCKER_SDK
    return python


def ok(result, out):
    assert not result.get("failed"), out
    return result


def test_swarm_modules_on_the_minimum_sdk(sandbox_engines, min_python):  # noqa: F811
    e0, e1 = sandbox_engines(2).engines

    # /swarm/init posted raw (DataPathPort), then an in-place spec update (the out-of-sequence retry path).
    init = {"advertise_addr": e0.addr, "data_path_port": 4790, "task_history_limit": 3}
    result, out = e0.run("swarm_init", init, python=min_python)
    assert ok(result, out)["changed"] and result["actions"] == ["init"], out
    assert e0.client().inspect_swarm()["DataPathPort"] == 4790
    result, out = e0.run("swarm_init", init, python=min_python)
    assert ok(result, out)["changed"] is False, out
    result, out = e0.run("swarm_init", dict(init, task_history_limit=6), python=min_python)
    assert ok(result, out)["changed"] and result["actions"] == ["update"], out
    assert e0.client().inspect_swarm()["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 6

    result, out = e0.run("swarm_info", {"join_tokens": True}, python=min_python)
    token = ok(result, out)["join_tokens"]["worker"]

    # /swarm/join posted raw (Availability), then the wait for Ready (the clock).
    join = {"join_token": token, "remote_addrs": [e0.addr], "advertise_addr": e1.addr,
            "availability": "drain"}
    result, out = e1.run("swarm_join", join, python=min_python)
    assert ok(result, out)["changed"] and result["role"] == "worker", out
    node = e0.client().nodes(filters={"name": e1.hostname})[0]
    assert node["Spec"]["Availability"] == "drain" and node["Status"]["State"] == "ready"
    result, out = e1.run("swarm_join", join, python=min_python)
    assert ok(result, out)["changed"] is False, out

    args = {"node": e1.hostname, "labels": {"zone": "a"}, "availability": "active"}
    result, out = e0.run("swarm_node", args, python=min_python)
    assert ok(result, out)["changed"] and result["node"]["labels"] == {"zone": "a"}, out
    result, out = e0.run("swarm_node", args, python=min_python)
    assert ok(result, out)["changed"] is False, out


def _compose(tmp_path, images, message):  # noqa: F811
    (tmp_path / "app.conf").write_text("greeting=%s\n" % message)
    (tmp_path / "pw.txt").write_text("sotest-minsdk-password\n")
    return {
        "services": {
            "web": {
                "image": images["APP_IMAGE"],
                "environment": {"MESSAGE": message},
                "networks": ["front"],
                "configs": [{"source": "app_conf", "target": "/etc/app.conf"}],
                "secrets": ["pw"],
                "deploy": {"replicas": 1, "endpoint_mode": "dnsrr"},
            },
        },
        "networks": {"front": {"driver": "overlay", "attachable": True, "labels": {"tier": "front"}}},
        "configs": {"app_conf": {"file": str(tmp_path / "app.conf")}},
        "secrets": {"pw": {"file": str(tmp_path / "pw.txt")}},
    }


def test_stack_deploy_and_info_on_the_minimum_sdk(min_python, images, stacks, swarm, tmp_path):  # noqa: F811
    name = stacks("minsdk")

    def deploy(compose, **params):
        args = dict(name=name, compose=[compose], resolve_image="never", wait_timeout=120,
                    content_key="sotest-minsdk-content-key-0123456789", **params)
        return run_module("stack_deploy", args, diff=True, python=min_python)

    # create: network (SDK create_network), config and secret, service (raw POSTs), then the wait.
    result, out = deploy(_compose(tmp_path, images, "one"))
    assert ok(result, out)["changed"], out
    verbs = {(a["kind"], a["action"]) for a in result["actions"]}
    assert {("network", "create"), ("config", "create"), ("secret", "create"), ("service", "create")} <= verbs
    network = swarm.networks(names=[name + "_front"])[0]
    assert network["Labels"]["tier"] == "front" and swarm.inspect_network(network["Id"])["Attachable"]

    result, out = deploy(_compose(tmp_path, images, "one"))
    assert ok(result, out)["changed"] is False, out

    # update (raw POST /services/{id}/update with the version), with a new config rolled out.
    result, out = deploy(_compose(tmp_path, images, "two"))
    assert ok(result, out)["changed"] and ("service", "update") in {
        (a["kind"], a["action"]) for a in result["actions"]}, out
    spec = swarm.inspect_service(name + "_web")["Spec"]
    assert "MESSAGE=two" in spec["TaskTemplate"]["ContainerSpec"]["Env"]

    # stack_info: SDK < 6.1 lists services without ServiceStatus; replicas come from the tasks then.
    result, out = run_module("stack_info", {"name": [name]}, python=min_python)
    assert [s["name"] for s in ok(result, out)["stacks"]] == [name], out
    assert [s["replicas"] for s in result["stacks"][0]["services"]] == ["1/1"], out
    result, out = run_module("stack_task_info", {"name": name}, python=min_python)
    assert ok(result, out)["exists"] and result["tasks"], out

    # state=absent: services, then the network (waiting until it is gone), configs, secrets.
    result, out = deploy(_compose(tmp_path, images, "two"), state="absent")
    assert ok(result, out)["changed"], out
    assert not swarm.services(filters={"label": "com.docker.stack.namespace=" + name})
    assert not swarm.networks(names=[name + "_front"])


def test_engine_and_image_modules_on_the_minimum_sdk(min_python, engine, registry, debian_base_image,  # noqa: F811
                                                     tmp_path):
    info, out = run_module("docker_engine_info", {"timeout": 60}, python=min_python)
    assert ok(info, out)["engine"]["server_version"], out

    config = tmp_path / "docker" / "config.json"
    login = dict(registry=registry, username=USER, password=PASSWORD, config_path=str(config))
    result, out = run_module("docker_login", login, python=min_python)
    assert ok(result, out)["changed"] and registry in config.read_text(), out

    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM %s\nCOPY app.txt /app.txt\n" % debian_base_image)
    (context / "app.txt").write_text("min sdk\n")
    build = dict(name="%s/%s-minsdk" % (registry, PREFIX), src=str(context), labels=dict(sotest=PREFIX),
                 push=True, registry_auth=dict(username=USER, password=PASSWORD))
    first, out = run_module("docker_image_build", build, python=min_python)
    assert ok(first, out)["changed"] and first["digest"].startswith("sha256:"), out
    again, out = run_module("docker_image_build", build, python=min_python)
    assert ok(again, out)["changed"] is False and again["digest"] == first["digest"], out
