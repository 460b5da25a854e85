"""The virtualbox_hosts role, inventories/virtualbox and its inventory plugin, through
ansible-playbook / ansible-inventory against the simulated VBoxManage (tests/fakes).

Runs playbooks/virtualbox_hosts.yml in check mode (nothing created), then twice (changed, then
not), lists the VMs like `docker-machine ls`, and tears them down with
playbooks/virtualbox_teardown.yml (changed, then not).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fakes"))
from fake_vbox_env import FakeVBox, SshListener  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import BIN, ansible_env  # noqa: E402


@pytest.fixture()
def lab(tmp_path):
    fake = FakeVBox(tmp_path)
    listeners = {name: SshListener() for name in ("myvm1", "myvm2")}
    extra = dict(virtualbox_hosts_ova=fake.ova,
                 virtualbox_hosts_ssh_key_file=str(tmp_path / "keys" / "id_ed25519"),
                 virtualbox_hosts_ssh_ports={name: sshd.port for name, sshd in listeners.items()},
                 virtualbox_hosts_disk_size=4096,
                 virtualbox_hosts_wait_timeout=20)
    yield fake, listeners, extra
    for sshd in listeners.values():
        sshd.close()
    assert fake.guard_violations() == ""


def playbook(fake, name, extra, *args):
    env = ansible_env(dict(fake.env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/virtualbox", "playbooks/" + name,
                           "-e", json.dumps(extra)] + list(args), cwd=ROOT, env=env, capture_output=True, text=True)
    recap = re.search(r"^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout, re.M)
    assert proc.returncode == 0 and recap, proc.stdout + proc.stderr
    return int(recap.group(2)), proc.stdout


def plain(value):
    """ansible-inventory --list marks values from inventory plugins as unsafe: {"__ansible_unsafe": v}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def inventory(fake):
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", "inventories/virtualbox", "--list"],
                          cwd=ROOT, env=ansible_env(fake.env), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    for hostvars in listing["_meta"]["hostvars"].values():
        hostvars.update({key: plain(value) for key, value in hostvars.items()})
    return listing


def test_role_check_apply_idempotent_list_and_teardown(lab):
    fake, listeners, extra = lab

    changed, out = playbook(fake, "virtualbox_hosts.yml", extra, "--check")
    assert changed == 1, out
    assert fake.vm("myvm1") is None and fake.vm("myvm2") is None

    changed, out = playbook(fake, "virtualbox_hosts.yml", extra)
    assert changed == 2, out  # the VMs, then add_host handing them over
    for name, address in (("myvm1", "192.168.99.100"), ("myvm2", "192.168.99.101")):
        vm = fake.vm(name)
        assert vm["state"] == "running" and vm["cpus"] == 1 and vm["memory"] == 1024
        assert fake.state()["media"][vm["storage"]["SATA"]["ports"]["0-0"]["medium"]]["capacity"] == 4096
        assert vm["nics"]["1"]["forwards"]["ssh"] == "ssh,tcp,127.0.0.1,%d,,22" % listeners[name].port
        assert vm["guestprops"]["/VirtualBox/GuestInfo/Net/1/V4/IP"] == address
        assert listeners[name].connections >= 1  # waited for SSH on the 127.0.0.1 forward

    changed, out = playbook(fake, "virtualbox_hosts.yml", extra)
    assert changed == 0, out
    changed, out = playbook(fake, "virtualbox_hosts.yml", extra, "--check")
    assert changed == 0, out

    # docker-machine ls: the inventory plugin lists both VMs with their ssh forward and address
    listing = inventory(fake)
    assert listing["swarm_managers"]["hosts"] == ["myvm1"] and listing["swarm_workers"]["hosts"] == ["myvm2"]
    hostvars = listing["_meta"]["hostvars"]
    for name, address in (("myvm1", "192.168.99.100"), ("myvm2", "192.168.99.101")):
        assert hostvars[name]["ansible_host"] == "127.0.0.1"
        assert hostvars[name]["ansible_port"] == listeners[name].port
        assert hostvars[name]["ansible_user"] == "docker"
        assert hostvars[name]["ansible_ssh_private_key_file"] == extra["virtualbox_hosts_ssh_key_file"]
        assert hostvars[name]["virtualbox_hostonly_ip"] == address
        assert hostvars[name]["virtualbox_state"] == "running"

    # the swarm advertises on the host-only addresses (inventories/virtualbox/group_vars)
    proc = subprocess.run([str(BIN / "ansible"), "-i", "inventories/virtualbox", "virtualbox_vms", "-m",
                           "ansible.builtin.debug", "-a", "var=swarm_advertise_addr"],
                          cwd=ROOT, env=ansible_env(fake.env), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'myvm1 | SUCCESS => {\n    "swarm_advertise_addr": "192.168.99.100"' in proc.stdout
    assert 'myvm2 | SUCCESS => {\n    "swarm_advertise_addr": "192.168.99.101"' in proc.stdout

    # a VM made by hand is not listed (managed_only)
    fake.vboxmanage("import", fake.ova, "--vsys", "0", "--vmname", "sotest-vbox-foreign")
    assert "sotest-vbox-foreign" not in inventory(fake)["_meta"]["hostvars"]

    changed, out = playbook(fake, "virtualbox_teardown.yml", extra, "--check")
    assert changed == 1 and fake.vm("myvm1")["state"] == "running", out
    changed, out = playbook(fake, "virtualbox_teardown.yml", extra)
    assert changed == 1, out
    assert fake.vm("myvm1") is None and fake.vm("myvm2") is None
    assert fake.vm("sotest-vbox-foreign") is not None
    changed, out = playbook(fake, "virtualbox_teardown.yml", extra)
    assert changed == 0, out
    hostvars = inventory(fake)["_meta"]["hostvars"]
    assert "virtualbox_state" not in hostvars.get("myvm1", {})


def test_role_rejects_missing_image(lab):
    fake, _, extra = lab
    extra = dict(extra, virtualbox_hosts_ova="")
    env = ansible_env(dict(fake.env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", SWARMOPS_VIRTUALBOX_OVA=""))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/virtualbox", "playbooks/virtualbox_hosts.yml",
                           "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "set exactly one of virtualbox_hosts_ova" in proc.stdout
    assert fake.vm("myvm1") is None
