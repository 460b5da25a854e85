"""The stack role's images (tasks_from: images) on the local engine: which support images it
builds for each stack_routing, the same in check mode and for real."""

from __future__ import annotations

import json
import re
import subprocess

import docker
import pytest
import yaml

from conftest import BIN, ROOT, ansible_env

PREFIX = "sotest-stackimg"
PROXY = PREFIX + "/proxy:latest"
VISUALIZER = PREFIX + "/visualizer:latest"


def run_images(tmp_path, check, **extra):
    """Run the images tasks on a local 'manager'; -> (names of the images built or planned, output)."""
    play = [{
        "name": "The stack's images", "hosts": "managers", "gather_facts": False,
        "tasks": [
            {"name": "Images", "ansible.builtin.include_role": {"name": "swarmops.core.stack", "tasks_from": "images"},
             "vars": dict({"stack_manager_group": "managers", "stack_proxy_image": PROXY,
                           "stack_visualizer_image": VISUALIZER}, **extra)},
            {"name": "Say what was built", "ansible.builtin.debug": {
                "msg": "BUILT={{ stack_images_built.results | rejectattr('skipped', 'defined')"
                       " | map(attribute='item.name') | list | to_json }}"}},
        ],
    }]
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python")}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"managers": {"hosts": {"m1": host}}}}}))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd + (["--check"] if check else []), cwd=ROOT, capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    return json.loads(re.search(r'"BUILT=(\[.*?\])"', out).group(1).replace('\\"', '"')), out


@pytest.fixture
def no_test_images():
    client = docker.APIClient(version="auto")
    yield client
    for ref in (PROXY, VISUALIZER):
        try:
            client.remove_image(ref, force=True)
        except docker.errors.NotFound:
            pass


@pytest.mark.parametrize("routing, built", [
    ("ingress", [VISUALIZER]),  # no proxy service is deployed: its image is not built
    ("proxy", [VISUALIZER, PROXY]),
    ("auto", [VISUALIZER, PROXY]),  # decided later, from the manager's kernel
])
def test_check_mode_plans_the_images_the_routing_needs(tmp_path, no_test_images, routing, built):
    names, out = run_images(tmp_path, check=True, stack_routing=routing)
    assert names == built, out
    assert not no_test_images.images(name=PREFIX + "/proxy") and not no_test_images.images(name=PREFIX + "/visualizer")


def test_ingress_builds_no_proxy_image_for_real(tmp_path, no_test_images):
    only_proxy = dict(stack_routing="ingress", stack_build_images=[{"name": PROXY, "path": "proxy"}])
    names, out = run_images(tmp_path, check=True, **only_proxy)
    assert names == [], out
    names, out = run_images(tmp_path, check=False, **only_proxy)
    assert names == [] and "skipping" in out, out
    assert not no_test_images.images(name=PREFIX + "/proxy")
