"""The pure helpers of stack_apply.py and stack.py (no engine needed)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import stack_apply, stack_current  # noqa: E402
from ansible_collections.swarmops.core.plugins.module_utils.stack import _failure_message  # noqa: E402


def test_engine_timestamps_parse_with_nanoseconds():
    assert stack_apply._ts("2026-11-30T00:39:09.279395124Z") == datetime(2026, 11, 30, 0, 39, 9, 279395,
                                                                         tzinfo=timezone.utc)
    assert stack_apply._ts("2026-11-30T00:39:09Z").second == 9
    assert stack_apply._ts(None) is None


@pytest.mark.parametrize("image, expected", [
    ("redis", "redis:latest@sha256:abc"),
    ("redis:7", "redis:7@sha256:abc"),
    ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest@sha256:abc"),
    ("127.0.0.1:5000/app:2", "127.0.0.1:5000/app:2@sha256:abc"),
])
def test_digest_pinning_keeps_the_tag(image, expected):
    assert stack_current._with_digest(image, "sha256:abc") == expected


def test_registry_auth_header_only_when_asked(tmp_path, monkeypatch):
    auth = base64.b64encode(b"sotest:s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    spec = {"TaskTemplate": {"ContainerSpec": {"Image": "127.0.0.1:5000/app:1"}}}
    assert stack_apply._registry_headers(client, spec, False) is None
    header = stack_apply._registry_headers(client, spec, True)["X-Registry-Auth"]
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    assert decoded["username"] == "sotest" and decoded["serveraddress"] == "127.0.0.1:5000"
    other = {"TaskTemplate": {"ContainerSpec": {"Image": "elsewhere.example/app:1"}}}
    assert stack_apply._registry_headers(client, other, True) is None


def test_failure_message_names_services_nodes_and_errors():
    failed = {"st_app": [
        {"node": "node-1", "task": "t1", "state": "rejected", "error": "No such image: x:1"},
        {"node": "node-1", "task": "t2", "state": "rejected", "error": "No such image: x:1"},
        {"node": "node-2", "task": "t3", "state": "failed", "error": "task: non-zero exit (1)"}]}
    msg = _failure_message(failed, [{"name": "st_app", "rollback": "previous spec"}])
    assert msg == ("Services did not reach their new spec: st_app: rejected on node node-1: No such image: x:1; "
                   "failed on node node-2: task: non-zero exit (1). Rolled back: st_app (previous spec)")
