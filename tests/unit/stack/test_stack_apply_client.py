"""stack_apply's engine calls against a fake at the client boundary (docker_client.post_json's
public surface: base_url, api_version, timeout, post()): the versioned update, its
out-of-sequence retry, rollback=previous, and networks through the SDK's create_network."""

from __future__ import annotations

import json

import pytest
import requests

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import docker_client, stack_apply  # noqa: E402


class FakeEngine:
    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 60

    def __init__(self, answers, fresh=None):
        self.answers = list(answers)  # (status, json) per POST, in order
        self.fresh = fresh
        self.posts, self.networks = [], []

    def post(self, url, data=None, params=None, headers=None, timeout=None):
        self.posts.append({"url": url, "body": json.loads(data), "params": params, "headers": headers})
        status, answer = self.answers.pop(0)
        response = requests.Response()
        response.status_code, response.url = status, url
        response._content = json.dumps(answer).encode()
        return response

    def inspect_service(self, ident):
        return self.fresh

    def create_network(self, name, **kwargs):
        self.networks.append(dict(kwargs, name=name))


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(docker_client.time, "sleep", lambda seconds: None)


OUT_OF_SEQUENCE = (500, {"message": "rpc error: code = Unknown desc = update out of sequence"})


def test_update_retries_with_the_fresh_version_and_keeps_the_engines_force_update():
    fresh = {"Version": {"Index": 9}, "Spec": {"TaskTemplate": {"ForceUpdate": 2}}}
    engine = FakeEngine([OUT_OF_SEQUENCE, (200, {"Warnings": ["w"]})], fresh)
    action = {"id": "svc1", "version": 7, "body": {"Name": "s_web", "TaskTemplate": {"ForceUpdate": 0}}}
    result = stack_apply._update_service(engine, action, {"X-Registry-Auth": "abc"})
    assert result == {"Warnings": ["w"]}
    first, second = engine.posts
    assert first["url"] == "http+docker://localhost/v1.41/services/svc1/update"
    assert first["params"] == {"version": 7} and second["params"] == {"version": 9}
    assert second["body"]["TaskTemplate"]["ForceUpdate"] == 2 and second["body"]["Name"] == "s_web"
    assert second["headers"]["X-Registry-Auth"] == "abc"


def test_rollback_posts_the_fresh_spec_with_rollback_previous():
    fresh = {"Version": {"Index": 12}, "Spec": {"Name": "s_web", "Labels": {"fresh": "yes"}}}
    engine = FakeEngine([OUT_OF_SEQUENCE, (200, {})], fresh)
    stack_apply._update_service(engine, {"id": "svc1", "version": 11, "body": {"Name": "s_web"}}, None,
                                rollback=True)
    assert [p["params"] for p in engine.posts] == [{"version": 11, "rollback": "previous"},
                                                   {"version": 12, "rollback": "previous"}]
    assert engine.posts[1]["body"]["Labels"] == {"fresh": "yes"}


def test_update_gives_up_with_the_engines_error():
    engine = FakeEngine([OUT_OF_SEQUENCE] * docker_client.OUT_OF_SEQUENCE_ATTEMPTS,
                        {"Version": {"Index": 1}, "Spec": {"TaskTemplate": {}}})
    with pytest.raises(docker.errors.APIError, match="out of sequence"):
        stack_apply._update_service(engine, {"id": "s", "version": 0, "body": {"TaskTemplate": {}}}, None)
    assert len(engine.posts) == docker_client.OUT_OF_SEQUENCE_ATTEMPTS


def test_networks_go_through_the_sdks_create_network():
    engine = FakeEngine([])
    body = {"Name": "st_front", "Driver": "overlay", "Labels": {"com.docker.stack.namespace": "st"},
            "CheckDuplicate": True, "Attachable": True, "Options": {"encrypted": ""},
            "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24"}]}}
    stack_apply._create_network(engine, body)
    assert engine.networks == [{"name": "st_front", "driver": "overlay", "options": {"encrypted": ""},
                                "ipam": body["IPAM"], "check_duplicate": True, "internal": False,
                                "labels": body["Labels"], "enable_ipv6": False, "attachable": True}]
    assert engine.posts == []
