"""Fixtures shared by the image and registry tests: the engine, and a local registry."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "sotest-images"
REGISTRY_IMAGE = PREFIX + "-registry"
USER, PASSWORD = "sotest-user", "sotest-Pa55-do-not-log"


@pytest.fixture(scope="module")
def engine():
    """A low-level client; afterwards removes every image the test module made."""
    client = docker.APIClient(version="auto")
    yield client
    for image in client.images(all=True):
        tags = image.get("RepoTags") or []
        labels = image.get("Labels") or {}
        if REGISTRY_IMAGE + ":latest" in tags:
            continue  # shared by the test modules; registry_image removes it at the end
        if any(PREFIX in t for t in tags) or labels.get("sotest") == PREFIX:
            try:
                client.remove_image(image["Id"], force=True)
            except docker.errors.APIError:
                pass
    client.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def registry_image(ansible_module, debian_base_image):
    """The lab registry image (roles/registry/files/lab-image), built once per session."""
    result, out = ansible_module("docker_image_build", dict(
        name=REGISTRY_IMAGE, path=str(ROOT / "roles/registry/files/lab-image"),
        build_args=dict(BASE_IMAGE=debian_base_image), labels=dict(sotest=PREFIX)))
    assert not result.get("failed"), out
    yield REGISTRY_IMAGE
    try:
        docker.APIClient(version="auto").remove_image(REGISTRY_IMAGE, force=True)
    except docker.errors.NotFound:
        pass


@pytest.fixture(scope="module")
def registry(ansible_module, engine, registry_image, tmp_path_factory):
    """A registry built from Debian's docker-registry, basic auth, plain HTTP on 127.0.0.1 only
    (the engine treats 127.0.0.0/8 registries as insecure, so no certificate is needed)."""
    auth_dir = tmp_path_factory.mktemp("registry-auth")
    (auth_dir / "htpasswd").write_text(
        "%s:%s\n" % (USER, bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()))
    port = _free_port()
    container = engine.create_container(
        REGISTRY_IMAGE, name=PREFIX + "-registry-%d" % port, ports=[5000],
        environment=dict(REGISTRY_AUTH="htpasswd", REGISTRY_AUTH_HTPASSWD_REALM="sotest",
                         REGISTRY_AUTH_HTPASSWD_PATH="/auth/htpasswd"),
        host_config=engine.create_host_config(port_bindings={5000: ("127.0.0.1", port)},
                                              binds=["%s:/auth:ro" % auth_dir]))
    engine.start(container)
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/v2/" % port, timeout=1)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    break
            except OSError:
                time.sleep(0.2)
        yield "127.0.0.1:%d" % port
    finally:
        engine.remove_container(container, force=True, v=True)
