"""docker_client's direct reads against the host engine: the same answers as the SDK's methods,
errors that name the call, every other attribute from a real docker.APIClient, and a no-op
stack deploy that never imports the SDK.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import docker_client  # noqa: E402
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError  # noqa: E402

LABEL = {"label": "sotest.direct=1"}


@pytest.fixture
def direct(swarm):
    client = docker_client.connect({}, direct_reads=True)
    assert isinstance(client, docker_client.DirectReadClient)
    return client


@pytest.fixture
def labelled(swarm, debian_base_image):
    """A service, a config and a secret labelled sotest.direct=1 (removed afterwards)."""
    labels = {"sotest.direct": "1"}
    service = swarm.create_service(docker.types.TaskTemplate(docker.types.ContainerSpec(
        debian_base_image, ["sleep", "infinity"])), name="sotest-direct-svc", labels=labels)
    config = swarm.create_config("sotest-direct-config", b"direct", labels=labels)
    secret = swarm.create_secret("sotest-direct-secret", b"direct", labels=labels)
    yield
    swarm.remove_service(service["ID"])
    swarm.remove_config(config["ID"])
    swarm.remove_secret(secret["ID"])


def ids(items):
    return sorted(item["ID"] if "ID" in item else item["Id"] for item in items)


# The list reads (each takes filters); info, version and the swarm and node inspects have their own tests.
LIST_READS = sorted(set(docker_client.DIRECT_READS) - {"info", "version", "inspect_swarm", "inspect_node"})


@pytest.mark.parametrize("method", LIST_READS)
def test_each_list_read_answers_as_the_sdk(method, direct, swarm, labelled):
    assert ids(getattr(direct, method)()) == ids(getattr(swarm, method)())
    if method != "networks":
        assert ids(getattr(direct, method)(filters=LABEL)) == ids(getattr(swarm, method)(filters=LABEL))
    if method in ("services", "configs", "secrets"):
        assert len(getattr(direct, method)(filters=LABEL)) == 1


def test_info_services_status_and_networks_filters_answer_as_the_sdk(direct, swarm, labelled):
    assert direct.info()["Swarm"]["NodeID"] == swarm.info()["Swarm"]["NodeID"]
    assert direct.api_version == swarm.api_version
    with_status = direct.services(filters=LABEL, status=True)
    assert with_status[0]["Spec"]["Name"] == "sotest-direct-svc" and "ServiceStatus" in with_status[0]
    assert "ServiceStatus" not in direct.services(filters=LABEL)[0]
    assert [n["Name"] for n in direct.networks(filters={"name": "ingress"})] == ["ingress"]
    assert ids(direct.tasks(filters={"desired-state": "running"})) == ids(
        swarm.tasks(filters={"desired-state": "running"}))


def test_filters_are_encoded_as_the_sdk_encodes_them():
    from docker.utils import convert_filters

    for filters in ({"label": "a=b"}, {"label": ["a=b", "c"]}, {"dangling": True}, {"until": 10},
                    {"name": "x", "dangling": False}):
        assert json.loads(docker_client.encode_filters(filters)) == json.loads(convert_filters(filters))


def test_an_engine_error_names_the_call_and_the_engine_message(direct):
    with pytest.raises(SwarmOpsError, match=r"GET /services: 400 .*bogus"):
        direct.services(filters={"bogus": "x"})


def test_an_unreachable_socket_fails_clearly(tmp_path):
    url = "unix://%s" % (tmp_path / "nothing.sock")
    with pytest.raises(SwarmOpsError, match="Cannot reach the Docker daemon at %s" % url):
        docker_client.connect({"docker_host": url}, direct_reads=True)


def test_without_direct_reads_connect_gives_the_sdk_client(swarm):
    assert isinstance(docker_client.connect({}), docker.APIClient)


def test_every_other_call_goes_through_an_sdk_client_at_the_same_version(direct, swarm):
    config = direct.create_config("sotest-direct-write", b"x", labels={"sotest.direct": "1"})
    try:
        assert direct.inspect_config(config["ID"])["Spec"]["Name"] == "sotest-direct-write"
        assert direct.base_url == "http+docker://localhost"
        assert direct.version(api_version=False)["ApiVersion"] == direct.api_version
        assert direct.ping() is True
    finally:
        direct.remove_config(config["ID"])
    assert not swarm.configs(filters={"name": "sotest-direct-write"})


NO_OP_DEPLOY = """
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy
result = deploy(connect({}, direct_reads=True), json.loads(sys.argv[1]))
print(json.dumps({"changed": result["changed"], "sdk_imported": "docker" in sys.modules,
                  "requests_imported": "requests" in sys.modules, "http_client_imported": "http.client" in sys.modules,
                  "write_side_imported": "ansible_collections.swarmops.core.plugins.module_utils.stack_apply" in sys.modules}))
"""


def test_a_no_op_deploy_reads_without_importing_the_sdk(swarm, new_stack, debian_base_image, tmp_path):
    from ansible_collections.swarmops.core.plugins.module_utils.stack import deploy

    stack = new_stack("sotest-direct-noop")
    compose = tmp_path / "stack.yml"
    compose.write_text("services:\n  app:\n    image: %s\n    command: [sleep, infinity]\n" % debian_base_image)
    params = {"name": stack, "compose": [str(compose)], "resolve_image": "never", "wait_timeout": 120}
    assert deploy(swarm, params)["changed"]

    def run():
        proc = subprocess.run([sys.executable, "-c", NO_OP_DEPLOY % {"collections": str(ROOT / ".collections")},
                               json.dumps(params)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert run() == {"changed": False, "sdk_imported": False, "requests_imported": False,
                     "http_client_imported": False, "write_side_imported": False}
    compose.write_text(compose.read_text() + "    environment: [CHANGED=1]\n")
    assert run() == {"changed": True, "sdk_imported": True, "requests_imported": True,
                     "http_client_imported": True, "write_side_imported": True}


def test_the_sdk_version_is_read_without_importing_the_sdk():
    proc = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n"
                           "from ansible_collections.swarmops.core.plugins.module_utils import docker_client\n"
                           "print(docker_client.installed_sdk_version(), 'docker' in sys.modules)"
                           % str(ROOT / ".collections")], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [docker.__version__, "False"]


SDK_LOADING = """
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.swarmops.core.plugins.module_utils import (
    container, docker_auth, engine, http_probe, image_build, lab, lab_image)
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
after_import = "docker" in sys.modules
client = connect({})
print(json.dumps({"sdk_at_import": after_import, "paramiko": "paramiko" in sys.modules,
                  "missing_image": lab_image.image_present(client, "sotest-no-such-image:none"),
                  "missing_container": container.read(client, "sotest-no-such-container")}))
"""


def test_engine_module_utils_load_the_sdk_at_connect_without_paramiko(swarm):
    """Their modules used to import docker.errors at load, which brought paramiko (and invoke) in
    on a controller before connect() could leave it out; sdk_errors still catches the SDK's errors."""
    pytest.importorskip("paramiko")  # installed where the controller-side modules run
    proc = subprocess.run([sys.executable, "-c", SDK_LOADING % {"collections": str(ROOT / ".collections")}],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"sdk_at_import": False, "paramiko": False,
                                       "missing_image": None, "missing_container": None}


def test_version_swarm_and_node_reads_answer_as_the_sdk(direct, swarm):
    assert direct.version()["ApiVersion"] == swarm.version()["ApiVersion"]
    assert direct.inspect_swarm()["ID"] == swarm.inspect_swarm()["ID"]
    node_id = swarm.info()["Swarm"]["NodeID"]
    assert direct.inspect_node(node_id) == swarm.inspect_node(node_id)


def test_a_missing_node_is_a_404_that_inspect_or_none_turns_into_none(direct):
    with pytest.raises(docker_client.EngineAPIError, match="GET /nodes/sotest-no-such-node: 404") as caught:
        direct.inspect_node("sotest-no-such-node")
    assert caught.value.status_code == 404 and "sotest-no-such-node" in caught.value.explanation
    assert docker_client.inspect_or_none(direct.inspect_node, "sotest-no-such-node") is None


SWARM_AND_ENGINE_READS = """
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.swarmops.core.plugins.module_utils import engine, swarm
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
client = connect({}, direct_reads=True)
actual = swarm.read(client)
facts = engine.read_facts(client)
print(json.dumps({"manager": actual.is_manager, "nodes": len(actual.nodes), "tokens": sorted(actual.tokens),
                  "api": facts["api_version"], "sdk_imported": "docker" in sys.modules}))
"""


def test_swarm_and_engine_reads_do_not_import_the_sdk(swarm):
    """What no-op swarm_info/swarm_init/swarm_node and docker_engine_host_info runs read."""
    proc = subprocess.run([sys.executable, "-c", SWARM_AND_ENGINE_READS % {"collections": str(ROOT / ".collections")}],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"manager": True, "nodes": len(swarm.nodes()), "tokens": ["Manager", "Worker"],
                    "api": swarm.version()["ApiVersion"], "sdk_imported": False}


# ---------------------------------------------------------------- writes posted straight to the socket

def test_a_direct_post_answers_as_the_sdk_client_does(direct, swarm):
    created = docker_client.post_json(direct, "/configs/create", {
        "Name": "sotest-direct-post", "Data": "eA==", "Labels": {"sotest.direct": "1"}, "Templating": None})
    try:
        assert set(created) == {"ID"}
        assert swarm.inspect_config(created["ID"])["Spec"]["Name"] == "sotest-direct-post"
        assert "Templating" not in swarm.inspect_config(created["ID"])["Spec"]  # None is left out, as the SDK does
    finally:
        swarm.remove_config(created["ID"])


@pytest.mark.parametrize("path, body", [
    ("/services/sotest-no-such-service/update", {"Name": "x"}),            # 404 NotFound
    ("/swarm/join", {"RemoteAddrs": ["127.0.0.1:2377"], "JoinToken": "x"}),  # 503: already in a swarm
    ("/configs/create", {"Name": "sotest-direct-bad", "Data": "not base64!"}),  # 400
])
def test_a_direct_post_error_is_the_sdks_own_exception(direct, swarm, path, body):
    """Callers catch docker.errors for both clients: the same class, status and explanation."""
    params = {"version": 1} if "update" in path else None
    with pytest.raises(docker.errors.APIError) as by_sdk:
        docker_client.post_json(swarm, path, body, params=params)
    with pytest.raises(docker.errors.APIError) as by_direct:
        docker_client.post_json(direct, path, body, params=params)
    assert type(by_direct.value) is type(by_sdk.value)
    assert by_direct.value.status_code == by_sdk.value.status_code
    assert by_direct.value.explanation == by_sdk.value.explanation
    assert str(by_direct.value) == str(by_sdk.value)  # the same URL too, query included


DIRECT_POST = """
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect, post_json
created = post_json(connect({}, direct_reads=True), "/configs/create", {"Name": "sotest-direct-post-sdk", "Data": "eA=="})
print(json.dumps({"id": created["ID"], "sdk_imported": "docker" in sys.modules, "paramiko": "paramiko" in sys.modules}))
"""


def test_a_direct_post_does_not_import_the_sdk(swarm):
    """A join, an init or a service update through a DirectReadClient: no docker, no paramiko."""
    proc = subprocess.run([sys.executable, "-c", DIRECT_POST % {"collections": str(ROOT / ".collections")}],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    swarm.remove_config(seen.pop("id"))
    assert seen == {"sdk_imported": False, "paramiko": False}


SDK_ON_FIRST_WRITE = """
import json, sys
sys.path.insert(0, %(collections)r)
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect, inspect_or_none
client = connect({}, direct_reads=True)
missing = inspect_or_none(client.inspect_node, "sotest-no-such-node")
after_404 = "docker" in sys.modules
config = client.create_config("sotest-direct-first-write", b"x")
client.remove_config(config["ID"])
print(json.dumps({"missing": missing, "sdk_after_404": after_404, "sdk": "docker" in sys.modules,
                  "paramiko": "paramiko" in sys.modules}))
"""


def test_the_sdk_loads_at_the_first_sdk_call_without_paramiko(swarm):
    """A direct read's 404 does not load the SDK to compare error classes; the first call the
    direct client does not cover loads it, without the ssh adapter's paramiko."""
    pytest.importorskip("paramiko")
    proc = subprocess.run([sys.executable, "-c", SDK_ON_FIRST_WRITE % {"collections": str(ROOT / ".collections")}],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"missing": None, "sdk_after_404": False, "sdk": True, "paramiko": False}
