"""apps/friendlyhello built on the lab's Debian base, smoke-tested with docker_http_probe."""

from __future__ import annotations

import json
import time
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "sotest-images-friendlyhello"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NO_REDIS = {"redis": "127.0.0.1"}  # refused at once, and no DNS lookup leaves the host


@pytest.fixture(scope="module")
def app_image(ansible_module, debian_base_image):
    params = dict(name=IMAGE, path=str(ROOT / "apps/friendlyhello"),
                  build_args=dict(BASE_IMAGE=debian_base_image), ca_certificates=[HOST_CA_BUNDLE])
    result, out = ansible_module("docker_image_build", params)
    assert not result.get("failed"), out
    yield params, result
    client = docker.APIClient(version="auto")
    try:
        client.remove_image(IMAGE, force=True)
    except docker.errors.NotFound:
        pass


def test_app_image_is_idempotent_and_configured_like_the_tutorial(ansible_module, app_image):
    params, first = app_image
    again, out = ansible_module("docker_image_build", params)
    assert again["changed"] is False and again["image_id"] == first["image_id"], out
    config = docker.APIClient(version="auto").inspect_image(IMAGE)["Config"]
    assert "NAME=World" in config["Env"]
    assert "80/tcp" in config["ExposedPorts"]
    assert config["Cmd"][0] == "gunicorn"


def test_probe_answers_hello_world_and_counter_disabled(ansible_module, app_image):
    result, out = ansible_module("docker_http_probe", dict(
        image=IMAGE, extra_hosts=NO_REDIS, expect=["Hello World!", "cannot connect to Redis, counter disabled"]))
    assert result.get("failed") is None and result["changed"] is False and result["status"] == 200, out
    assert "Hostname:" in result["body"]
    assert not docker.APIClient(version="auto").containers(all=True, filters={"label": "io.swarmops.probe"})


def test_probe_runs_the_very_image_it_read(ansible_module, app_image):
    """The container is created from the id probe_once read (the one a record would list), not
    from the tag again: the engine's create event names the image as it was given."""
    client = docker.APIClient(version="auto")
    name = "sotest-images-probe-by-id"
    since = int(time.time()) - 1
    result, out = ansible_module("docker_http_probe", dict(image=IMAGE, name=name, extra_hosts=NO_REDIS))
    assert result.get("failed") is None and result["probed"] is True, out
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"type": "container", "event": "create", "container": name})
    assert [event["Actor"]["Attributes"]["image"] for event in events] == [result["image_id"]]


def test_probe_uses_the_environment_and_reports_a_missing_text(ansible_module, app_image):
    result, out = ansible_module("docker_http_probe", dict(
        image=IMAGE, env=dict(NAME="Swarm"), extra_hosts=NO_REDIS, expect=["Hello World!"]))
    assert result["failed"] is True and "'Hello World!'" in result["msg"], out
    assert "Hello Swarm!" in result["body"] and result["logs"]
    assert not docker.APIClient(version="auto").containers(all=True, filters={"label": "io.swarmops.probe"})


def test_probe_check_mode_runs_nothing_and_a_wrong_port_fails_clearly(ansible_module, app_image):
    result, out = ansible_module("docker_http_probe", dict(image="sotest-images-absent:never"), check=True)
    assert result["changed"] is False and not result.get("failed"), out
    result, out = ansible_module("docker_http_probe", dict(image="sotest-images-absent:never"))
    assert result["failed"] is True and "sotest-images-absent:never not found" in result["msg"], out
    result, out = ansible_module("docker_http_probe", dict(image=IMAGE, container_port=8080, probe_timeout=4,
                                                           extra_hosts=NO_REDIS))
    assert result["failed"] is True and "did not answer on port 8080" in result["msg"], out


def test_probe_record_runs_each_image_once(ansible_module, app_image, tmp_path):
    record = tmp_path / "smoke" / "passed.json"
    params = dict(image=IMAGE, extra_hosts=NO_REDIS, expect=["Hello World!"], passed_record=str(record))
    check, out = ansible_module("docker_http_probe", params, check=True)
    assert check["changed"] is False and check["probed"] is False and not record.exists(), out

    first, out = ansible_module("docker_http_probe", params)
    assert first["changed"] is False and first["probed"] is True and first["status"] == 200, out
    assert json.loads(record.read_text()) == [first["image_id"]]

    again, out = ansible_module("docker_http_probe", params)
    assert again["probed"] is False and "passed before" in again["skipped_reason"], out
    check, out = ansible_module("docker_http_probe", params, check=True)
    assert check["probed"] is False and "passed before" in check["skipped_reason"], out

    # A failing probe records nothing: the image is run again next time.
    record.write_text("[]")
    failed, out = ansible_module("docker_http_probe", dict(params, expect=["Goodbye"]))
    assert failed["failed"] is True and json.loads(record.read_text()) == [], out
