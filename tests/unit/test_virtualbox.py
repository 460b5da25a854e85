"""Pure logic of plugins/module_utils/virtualbox.py: parsing VBoxManage output, planning, the
cloud-init seed ISO, and the SSH wait (against a loopback socket only)."""

from __future__ import annotations

import io
import socket
import threading

import pycdlib
import pytest

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from ansible_collections.swarmops.core.plugins.module_utils import virtualbox as vb

SHOWVMINFO = '''name="myvm1"
Encryption:     disabled
UUID="4f0e5c1a-0000-4000-8000-000000000001"
CfgFile="/vms/myvm1/myvm1.vbox"
memory=1024
cpus=1
VMState="running"
storagecontrollername0="SATA Controller"
storagecontrollername1="swarmops-seed"
"SATA Controller-0-0"="/vms/myvm1/disk001.vmdk"
"SATA Controller-ImageUUID-0-0"="aa"
"SATA Controller-1-0"="none"
"swarmops-seed-0-0"="/vms/myvm1/myvm1-seed.iso"
nic1="nat"
macaddress1="080027AAAAAA"
Forwarding(0)="ssh,tcp,127.0.0.1,42022,,22"
Forwarding(1)="web,tcp,,8080,,80"
nic2="hostonly"
macaddress2="080027BBBBBB"
hostonlyadapter2="vboxnet0"
nic3="none"
SnapshotName="base"
SnapshotName-1="later"
'''

HOSTONLYIFS = '''Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.56.1
NetworkMask:     255.255.255.0
VBoxNetworkName: HostInterfaceNetworking-vboxnet0

Name:            vboxnet1
GUID:            786f6276-656e-4174-8000-0a0027000001
DHCP:            Enabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
VBoxNetworkName: HostInterfaceNetworking-vboxnet1

'''

NET = vb.hostonly_network("192.168.99.1/24")


def params(**extra):
    base = dict(name="myvm1", state="running", ova="/img/debian.ova", base_vm=None, linked_clone=False,
                cpus=1, memory=1024, disk_size=None, ssh_port=None, ssh_key_file="/k/id", restart=False)
    base.update(extra)
    return base


def actual(**extra):
    facts = vb.vm_facts(vb.parse_machinereadable(SHOWVMINFO))
    facts["definition"] = vb.definition(params())
    facts.update(extra)
    return facts


def test_parse_showvminfo():
    facts = vb.vm_facts(vb.parse_machinereadable(SHOWVMINFO))
    assert facts["uuid"] == "4f0e5c1a-0000-4000-8000-000000000001"
    assert (facts["cpus"], facts["memory"], facts["state"]) == (1, 1024, "running")
    assert facts["ssh_port"] == 42022
    assert (facts["nic1"], facts["nic2"], facts["hostonly_adapter"]) == ("nat", "hostonly", "vboxnet0")
    assert facts["disk"] == "/vms/myvm1/disk001.vmdk"
    assert facts["snapshots"] == ["base", "later"]
    assert facts["seed_attached"] and facts["mac2"] == "080027BBBBBB"


def test_parse_lists_and_values():
    assert vb.parse_vm_list('"myvm1" {4f0e5c1a-0000-4000-8000-000000000001}\n"my vm 2" {ab-cd}\n') == \
        ["myvm1", "my vm 2"]
    assert vb.parse_value("Value: 192.168.99.100\n") == "192.168.99.100"
    assert vb.parse_value("No value set!\n") is None
    records = vb.parse_records(HOSTONLYIFS)
    assert [r["Name"] for r in records] == ["vboxnet0", "vboxnet1"]


def test_hostonly_network_like_docker_machine():
    assert NET == dict(ip="192.168.99.1", netmask="255.255.255.0", server_ip="192.168.99.2",
                       lower="192.168.99.100", upper="192.168.99.254")
    with pytest.raises(SwarmOpsError, match="hostonly_cidr"):
        vb.hostonly_network("192.168.99.1/30")
    with pytest.raises(SwarmOpsError, match="hostonly_cidr"):
        vb.hostonly_network("nonsense")


def test_diff_network_reuses_matching_interface():
    ifs = vb.parse_records(HOSTONLYIFS)
    adapter, actions = vb.diff_network(ifs, [], NET)
    assert adapter == "vboxnet1" and [a["action"] for a in actions] == ["add_dhcpserver"]
    dhcp = [{"NetworkName": "HostInterfaceNetworking-vboxnet1", "Dhcpd IP": "192.168.99.2",
             "LowerIPAddress": "192.168.99.100", "UpperIPAddress": "192.168.99.254",
             "NetworkMask": "255.255.255.0", "Enabled": "Yes"}]
    assert vb.diff_network(ifs, dhcp, NET) == ("vboxnet1", [])
    dhcp[0]["Enabled"] = "No"
    assert [a["action"] for a in vb.diff_network(ifs, dhcp, NET)[1]] == ["modify_dhcpserver"]
    adapter, actions = vb.diff_network(ifs[:1], [], NET)
    assert adapter is None and [a["action"] for a in actions] == ["create_hostonlyif", "add_dhcpserver"]


def test_plan_create():
    plan = vb.diff_vm(None, params(disk_size=20000, ssh_port=42022), "vboxnet1")
    assert plan.summary() == ["create", "modify", "resize", "seed", "start"]
    assert plan.before == {"state": "absent"}
    assert plan.after["state"] == "running" and plan.after["ssh_port"] == 42022
    assert vb.diff_vm(None, params(state="present", ssh_key_file=None), "vboxnet1").summary() == ["create", "modify"]


def test_plan_unchanged_and_power():
    assert not vb.diff_vm(actual(), params(), "vboxnet0")
    assert vb.diff_vm(actual(), params(state="stopped"), "vboxnet0").summary() == ["stop"]
    assert vb.diff_vm(actual(state="poweroff"), params(), "vboxnet0").summary() == ["start"]
    assert not vb.diff_vm(actual(state="poweroff"), params(state="present"), "vboxnet0")
    plan = vb.diff_vm(actual(state="saved"), params(), "vboxnet0")
    assert plan.summary() == ["start"] and plan.before == {"state": "saved"}


def test_plan_settings_on_running_vm():
    with pytest.raises(SwarmOpsError, match="restart: true") as err:
        vb.diff_vm(actual(), params(cpus=2), "vboxnet0")
    assert "cpus" in str(err.value)
    plan = vb.diff_vm(actual(), params(cpus=2, restart=True), "vboxnet0")
    assert plan.summary() == ["stop", "modify", "start"]
    assert (plan.before, plan.after) == ({"cpus": 1}, {"cpus": 2})
    # stopping anyway: no restart needed, and it stays off
    assert vb.diff_vm(actual(), params(cpus=2, state="stopped"), "vboxnet0").summary() == ["stop", "modify"]
    assert vb.diff_vm(actual(state="poweroff"), params(memory=2048, state="present"), "vboxnet0").summary() == ["modify"]


def test_plan_disk_only_grows():
    assert vb.diff_vm(actual(state="poweroff"), params(disk_size=4096, state="stopped"), "vboxnet0", 2048).summary() == ["resize"]
    with pytest.raises(SwarmOpsError, match="only grow"):
        vb.diff_vm(actual(state="poweroff"), params(disk_size=1024), "vboxnet0", 2048)


def test_plan_refuses_foreign_vm():
    with pytest.raises(SwarmOpsError, match="not created by swarmops"):
        vb.diff_vm(actual(definition=None), params(), "vboxnet0")
    with pytest.raises(SwarmOpsError, match="was created from"):
        vb.diff_vm(actual(), params(ova=None, base_vm="base"), "vboxnet0")


def test_plan_absent():
    assert vb.diff_vm(actual(), params(state="absent"), None).summary() == ["poweroff", "unregister"]
    assert vb.diff_vm(actual(state="poweroff"), params(state="absent"), None).summary() == ["unregister"]
    assert not vb.diff_vm(None, params(state="absent"), None)
    with pytest.raises(SwarmOpsError, match="not removing it"):
        vb.diff_vm(actual(definition=None), params(state="absent"), None)


def test_seed_iso_roundtrip(tmp_path):
    files = vb.cloud_init_files("myvm1", "uuid-1", "docker", "ssh-ed25519 AAAA test", ["080027AAAAAA", "080027BBBBBB"])
    assert '"ssh-ed25519 AAAA test"' in files["user-data"]
    assert 'macaddress: "08:00:27:bb:bb:bb"' in files["network-config"]
    path = tmp_path / "seed.iso"
    vb.build_seed_iso(str(path), files)
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "cidata"
        for name, text in files.items():
            for kind in ("rr_path", "joliet_path"):
                buf = io.BytesIO()
                iso.get_file_from_iso_fp(buf, **{kind: "/" + name})
                assert buf.getvalue().decode() == text
    finally:
        iso.close()


def test_key_pair_created_once(tmp_path):
    key = str(tmp_path / "k" / "id_ed25519")
    first = vb.public_key_for(key)
    assert first.startswith("ssh-ed25519 ") and vb.public_key_for(key) == first


def test_wait_for_ssh_loopback_only():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def greet():
        conn, _ = server.accept()
        conn.sendall(b"SSH-2.0-test\r\n")
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    assert vb.wait_for_ssh("127.0.0.1", server.getsockname()[1], 5) == "SSH-2.0-test"
    server.close()
    with pytest.raises(SwarmOpsError, match="only the 127.0.0.1 port forward"):
        vb.wait_for_ssh("192.168.99.100", 22, 1)


def test_vboxmanage_error_carries_its_message():
    err = ("VBoxManage: error: The machine 'myvm1' is already locked for a session (or being unlocked)\n"
           "VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap\n"
           "VBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line 5 of file x.cpp\n")
    vbox = vb.VBoxManage("/usr/bin/VBoxManage", lambda args: (1, "", err))
    with pytest.raises(SwarmOpsError) as exc:
        vbox("modifyvm", "myvm1", "--cpus", "2")
    assert str(exc.value) == ("VBoxManage modifyvm failed (rc=1): The machine 'myvm1' is already locked "
                              "for a session (or being unlocked)")
    assert exc.value.details["stderr"] == err
    with pytest.raises(SwarmOpsError, match="VBoxManage was not found"):
        vb.VBoxManage(None, None)
