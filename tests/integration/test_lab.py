"""The lab end to end: playbooks/lab.yml brings up real hosts reached over SSH."""

from __future__ import annotations

import re
import socket
import subprocess
import textwrap

import docker
import pytest

from conftest import BIN, ROOT, ansible_env

LAB = "sotest-lab"
INVENTORY = textwrap.dedent("""\
    all:
      children:
        lab:
          vars:
            lab_hosts_name: %(lab)s
            lab_hosts_subnet: 172.30.42.0/24
            lab_hosts_ssh_timeout: 400
            ansible_host: 127.0.0.1
            ansible_user: root
            ansible_python_interpreter: /usr/bin/python3
            ansible_ssh_private_key_file: "~/.swarmops/labs/%(lab)s/id_ed25519"
          hosts:
            manager1: {lab_hosts_address: 172.30.42.11, ansible_port: 2421, lab_hosts_published_ports: ["4421:4000"]}
            worker1: {lab_hosts_address: 172.30.42.12, ansible_port: 2422}
            worker2: {lab_hosts_address: 172.30.42.13, ansible_port: 2423%(extra)s}
    """)


def playbook(path, inventory, *args):
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), path, *args],
                          cwd=ROOT, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}),
                          capture_output=True, text=True)
    recap = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", proc.stdout, re.M)}
    return proc.returncode, proc.stdout + proc.stderr, recap


def adhoc(inventory, module, args=""):
    cmd = [str(BIN / "ansible"), "lab", "-i", str(inventory), "-m", module, "-o"] + (["-a", args] if args else [])
    return subprocess.run(cmd, cwd=ROOT, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.oneline"}),
                          capture_output=True, text=True)


def lab_containers():
    return docker.from_env().containers.list(all=True, filters={"label": "io.swarmops.lab=%s" % LAB})


@pytest.fixture()
def inventory(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % dict(lab=LAB, extra=""))
    yield path
    playbook("playbooks/teardown.yml", path)


def test_lab_check_up_again_and_down_twice(inventory):
    rc, out, recap = playbook("playbooks/lab.yml", inventory, "--check")
    assert rc == 0, out
    assert lab_containers() == [], "check mode created containers"

    rc, out, recap = playbook("playbooks/lab.yml", inventory)
    assert rc == 0, out
    assert recap["manager1"] > 0

    pong = adhoc(inventory, "ansible.builtin.ping")
    assert pong.returncode == 0 and pong.stdout.count('"pong"') == 3, pong.stdout + pong.stderr
    facts = adhoc(inventory, "ansible.builtin.command", "hostname")
    for host in ("manager1", "worker1", "worker2"):
        assert re.search(r"^%s \| CHANGED \| rc=0 \| \(stdout\) %s$" % (host, host), facts.stdout, re.M), facts.stdout
    state = adhoc(inventory, "ansible.builtin.command", "systemctl is-system-running")
    assert state.stdout.count("(stdout) running") == 3, state.stdout
    no_docker = adhoc(inventory, "ansible.builtin.stat", "path=/usr/bin/docker")
    assert no_docker.stdout.count('"exists": false') == 3, no_docker.stdout

    rc, out, recap = playbook("playbooks/lab.yml", inventory)
    assert rc == 0 and set(recap.values()) == {0}, out

    # --limit touches only the hosts inside it: no "not in the inventory" removal of the others.
    rc, out, recap = playbook("playbooks/lab.yml", inventory, "--limit", "manager1", "--check", "--diff")
    assert rc == 0 and recap == {"manager1": 0}, out
    rc, out, recap = playbook("playbooks/lab.yml", inventory, "--limit", "manager1")
    assert rc == 0 and recap == {"manager1": 0}, out
    assert len(lab_containers()) == 3
    rc, out, recap = playbook("playbooks/teardown.yml", inventory, "--limit", "worker2")
    assert rc == 0, out
    assert sorted(c.name for c in lab_containers()) == ["%s-manager1" % LAB, "%s-worker1" % LAB]
    assert docker.from_env().networks.list(names=["%s-net" % LAB])
    rc, out, recap = playbook("playbooks/lab.yml", inventory, "--limit", "manager1")
    assert rc == 0 and recap == {"manager1": 0} and len(lab_containers()) == 2, out

    for _ in range(2):
        rc, out, _recap = playbook("playbooks/teardown.yml", inventory)
        assert rc == 0, out
    assert lab_containers() == []
    assert not docker.from_env().networks.list(names=["%s-net" % LAB])


def test_unknown_host_variable_is_rejected_before_anything_exists(tmp_path):
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY % dict(lab=LAB, extra=", lab_hosts_adress: 172.30.42.99"))
    rc, out, _ = playbook("playbooks/lab.yml", path)
    assert rc != 0
    assert "Lab host worker2 sets unknown variable(s) lab_hosts_adress" in out
    assert lab_containers() == []


def test_a_taken_port_is_named_and_nothing_is_created(ansible_module, debian_base_image):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result, out = ansible_module("docker_lab", dict(
            name=LAB, image=debian_base_image, subnet="172.30.42.0/24", ssh_public_key="ssh-ed25519 AAAA t",
            hosts=[dict(name="manager1", address="172.30.42.11", ssh_port=port)]))
    assert result.get("failed"), out
    assert "127.0.0.1:%d/tcp (lab host manager1)" % port in result["msg"]
    assert lab_containers() == []


def test_no_engine_is_a_clear_error(ansible_module):
    result, out = ansible_module("docker_lab", dict(name=LAB, state="absent", docker_host="unix:///nonexistent.sock"))
    assert result.get("failed"), out
    assert "Cannot reach the Docker daemon at unix:///nonexistent.sock" in result["msg"]
