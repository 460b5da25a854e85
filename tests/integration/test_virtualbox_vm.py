"""virtualbox_vm through `ansible`, against the simulated VBoxManage in tests/fakes.

VirtualBox cannot run on these machines; the fake keeps VM state in a JSON file and answers with
VirtualBox's output formats, error messages and exit codes. Waiting for SSH goes to a loopback
listener standing in for the VM's 127.0.0.1 port forward; every Python process of these tests
runs with the loopback_only guard, and each test asserts it refused nothing.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pycdlib
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fakes"))
from fake_vbox_env import FakeVBox, SshListener  # noqa: E402

NAME = "sotest-vbox-m1"


@pytest.fixture()
def vbox(tmp_path):
    fake = FakeVBox(tmp_path)
    yield fake
    assert fake.guard_violations() == ""


@pytest.fixture(scope="module")
def sshd():
    listener = SshListener()
    yield listener
    listener.close()


@pytest.fixture()
def run(ansible_module, vbox):
    def _run(check=False, diff=True, verbosity=0, env=None, **args):
        return ansible_module("virtualbox_vm", args, check=check, diff=diff, verbosity=verbosity,
                              env=dict(vbox.env, **(env or {})))
    return _run


def printed_diff(out):
    """The before/after Ansible printed for --diff (the callback strips `diff` from the result)."""
    sides = {"-": {}, "+": {}}
    for line in out.splitlines():
        if line[:1] in sides and line[1:5] == "    " and ": " in line:
            key, _, value = line[5:].partition(": ")
            sides[line[0]][json.loads(key)] = json.loads(value.rstrip(","))
    return {"before": sides["-"], "after": sides["+"]}


def vm_args(vbox, sshd, **extra):
    args = dict(name=NAME, ova=vbox.ova, ssh_port=sshd.port, ssh_key_file=str(vbox.root / "keys" / "id_ed25519"),
                wait_timeout=20)
    args.update(extra)
    return args


def test_create_check_then_apply_then_unchanged(run, vbox, sshd):
    args = vm_args(vbox, sshd)
    result, out = run(check=True, **args)
    assert result["changed"] and not result.get("failed"), out
    assert result["actions"] == ["create_hostonlyif", "add_dhcpserver", "create", "modify", "seed", "start"]
    assert vbox.vm(NAME) is None and not (vbox.root / "keys").exists()

    connections = sshd.connections
    result, out = run(verbosity=3, **args)
    assert result["changed"] and not result.get("failed"), out
    private = (vbox.root / "keys" / "id_ed25519").read_text()
    assert "PRIVATE KEY" in private
    assert "PRIVATE KEY" not in out and private.splitlines()[1] not in out
    assert result["state"] == "running"
    assert result["ssh_host"] == "127.0.0.1" and result["ssh_port"] == sshd.port
    assert result["hostonly_ip"] == "192.168.99.100" and result["hostonly_interface"] == "vboxnet0"
    assert result["ssh_banner"].startswith("SSH-2.0-") and sshd.connections > connections
    assert printed_diff(out)["after"]["cpus"] == 1 and printed_diff(out)["after"]["state"] == "running"

    vm = vbox.vm(NAME)
    assert vm["uuid"] == result["uuid"] and vm["state"] == "running"
    assert vm["nics"]["1"]["type"] == "nat" and vm["nics"]["2"]["type"] == "hostonly"
    assert vm["nics"]["1"]["forwards"]["ssh"] == "ssh,tcp,127.0.0.1,%d,,22" % sshd.port
    assert vm["nics"]["2"]["hostonlyadapter"] == "vboxnet0"
    assert vbox.state()["hostonlyifs"]["vboxnet0"]["ip"] == "192.168.99.1"
    dhcp = vbox.state()["dhcpservers"]["HostInterfaceNetworking-vboxnet0"]
    assert (dhcp["lower"], dhcp["upper"], dhcp["enabled"]) == ("192.168.99.100", "192.168.99.254", True)

    # the seed ISO: label cidata, the generated public key for the docker user, DHCP on both NICs
    seed = Path(vm["storage"]["swarmops-seed"]["ports"]["0-0"]["medium"])
    iso = pycdlib.PyCdlib()
    iso.open(str(seed))
    assert iso.pvd.volume_identifier.decode().strip() == "cidata"
    files = {}
    for name in ("user-data", "meta-data", "network-config"):
        buf = io.BytesIO()
        iso.get_file_from_iso_fp(buf, rr_path="/" + name)
        files[name] = buf.getvalue().decode()
    iso.close()
    public_key = (vbox.root / "keys" / "id_ed25519.pub").read_text().strip()
    assert public_key.startswith("ssh-ed25519 ") and public_key in files["user-data"]
    assert "name: docker" in files["user-data"] and files["user-data"].startswith("#cloud-config")
    assert "instance-id: %s" % vm["uuid"] in files["meta-data"]
    assert files["network-config"].count("dhcp4: true") == 2
    assert oct(os.stat(vbox.root / "keys" / "id_ed25519").st_mode & 0o777) == "0o600"

    result, out = run(**args)
    assert not result["changed"] and result["actions"] == [], out
    assert result["uuid"] == vm["uuid"] and result["hostonly_ip"] == "192.168.99.100"
    result, out = run(check=True, **args)
    assert not result["changed"], out


def test_stop_and_start(run, vbox, sshd):
    args = vm_args(vbox, sshd)
    run(**args)
    result, out = run(check=True, **dict(args, state="stopped"))
    assert result["changed"] and result["actions"] == ["stop"], out
    assert vbox.vm(NAME)["state"] == "running"
    result, out = run(**dict(args, state="stopped"))
    assert result["changed"] and result["state"] == "poweroff", out
    assert printed_diff(out) == {"before": {"state": "running"}, "after": {"state": "poweroff"}}
    assert result["hostonly_ip"] is None
    result, _ = run(**dict(args, state="stopped"))
    assert not result["changed"]
    result, _ = run(**dict(args, state="present"))
    assert not result["changed"] and result["state"] == "poweroff"
    result, out = run(**args)
    assert result["changed"] and result["actions"] == ["start"] and result["state"] == "running", out
    assert result["hostonly_ip"] == "192.168.99.100"  # the same lease for the same MAC

    vbox.edit_vm(NAME, ignore_acpi=True)  # a guest that ignores the power button is powered off
    result, out = run(**dict(args, state="stopped", stop_timeout=1))
    assert result["changed"] and result["state"] == "poweroff", out


def test_address_from_dhcp_lease_without_guest_additions(run, vbox, sshd):
    args = vm_args(vbox, sshd)
    run(**dict(args, state="present"))
    vbox.edit_vm(NAME, no_guest_additions=True)
    result, out = run(**args)
    assert result["changed"] and result["state"] == "running", out
    assert "/VirtualBox/GuestInfo/Net/1/V4/IP" not in vbox.vm(NAME)["guestprops"]
    assert result["hostonly_ip"] == "192.168.99.100"  # from `dhcpserver findlease`


def test_settings_change_running_needs_restart(run, vbox, sshd):
    args = vm_args(vbox, sshd)
    run(**args)
    result, out = run(**dict(args, cpus=2, memory=2048))
    assert result.get("failed"), out
    assert "is running" in result["msg"] and "restart: true" in result["msg"]
    assert "cpus" in result["msg"] and "memory" in result["msg"]
    assert vbox.vm(NAME)["cpus"] == 1 and vbox.vm(NAME)["state"] == "running"

    result, out = run(check=True, **dict(args, cpus=2, memory=2048, restart=True))
    assert result["changed"] and result["actions"] == ["stop", "modify", "start"], out
    assert vbox.vm(NAME)["cpus"] == 1
    result, out = run(**dict(args, cpus=2, memory=2048, restart=True))
    assert result["changed"] and not result.get("failed"), out
    assert printed_diff(out)["before"] == {"cpus": 1, "memory": 1024}
    assert printed_diff(out)["after"] == {"cpus": 2, "memory": 2048}
    vm = vbox.vm(NAME)
    assert (vm["cpus"], vm["memory"], vm["state"]) == (2, 2048, "running")
    result, _ = run(**dict(args, cpus=2, memory=2048, restart=True))
    assert not result["changed"]


def test_settings_change_stopped_and_disk_growth(run, vbox, sshd):
    args = vm_args(vbox, sshd, state="stopped")
    run(**args)
    other = SshListener()
    try:
        result, out = run(**dict(args, cpus=3, ssh_port=other.port, disk_size=8192))
        assert result["changed"] and result["actions"] == ["modify", "resize"], out
        assert printed_diff(out)["before"] == {"cpus": 1, "ssh_port": sshd.port, "disk_size": 2048}
        vm = vbox.vm(NAME)
        assert vm["cpus"] == 3 and vm["nics"]["1"]["forwards"] == {"ssh": "ssh,tcp,127.0.0.1,%d,,22" % other.port}
        disk = vm["storage"]["SATA"]["ports"]["0-0"]["medium"]
        assert vbox.state()["media"][disk]["capacity"] == 8192
        result, _ = run(**dict(args, cpus=3, ssh_port=other.port, disk_size=8192))
        assert not result["changed"]
        result, out = run(**dict(args, cpus=3, ssh_port=other.port, disk_size=4096))
        assert result.get("failed") and "only grow" in result["msg"], out
    finally:
        other.close()


def test_delete(run, vbox, sshd):
    args = vm_args(vbox, sshd)
    created, _ = run(**args)
    folder = Path(vbox.vm(NAME)["cfgfile"]).parent
    result, out = run(check=True, name=NAME, state="absent")
    assert result["changed"] and result["actions"] == ["poweroff", "unregister"], out
    assert vbox.vm(NAME) is not None
    result, out = run(name=NAME, state="absent")
    assert result["changed"] and result["state"] == "absent", out
    assert printed_diff(out) == {"before": {"state": "running"}, "after": {"state": "absent"}}
    assert vbox.vm(NAME) is None and not folder.exists()
    assert NAME not in vbox.vboxmanage("list", "vms").stdout
    result, _ = run(name=NAME, state="absent")
    assert not result["changed"]


def test_linked_clone_of_a_base_vm(run, vbox, sshd):
    vbox.vboxmanage("import", vbox.ova, "--vsys", "0", "--vmname", "sotest-vbox-base")
    args = dict(name=NAME, base_vm="sotest-vbox-base", linked_clone=True, ssh_port=sshd.port, wait_timeout=20)
    result, out = run(**args)
    assert result["changed"] and result["state"] == "running", out
    assert [s["name"] for s in vbox.vm("sotest-vbox-base")["snapshots"]] == ["swarmops-base"]
    disk = vbox.vm(NAME)["storage"]["SATA"]["ports"]["0-0"]["medium"]
    assert vbox.state()["media"][disk]["parent"].endswith("sotest-vbox-base-disk001.vmdk")
    assert "swarmops-seed" not in vbox.vm(NAME)["storage"]  # no ssh_key_file, no seed
    result, out = run(**args)
    assert not result["changed"], out
    assert len(vbox.vm("sotest-vbox-base")["snapshots"]) == 1


# ------------------------------------------------------------------------------------ errors

def test_vboxmanage_missing(run, vbox, sshd):
    result, out = run(env=dict(PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])),
                      **vm_args(vbox, sshd))
    assert result.get("failed") and "VBoxManage was not found" in result["msg"], out


def test_locked_vm(run, vbox, sshd):
    args = vm_args(vbox, sshd, state="stopped")
    run(**args)
    vbox.edit_vm(NAME, locked=True)
    result, out = run(**dict(args, memory=2048))
    assert result.get("failed"), out
    assert "VBoxManage modifyvm failed (rc=1)" in result["msg"]
    assert "is already locked for a session" in result["msg"]
    assert "VBOX_E_INVALID_OBJECT_STATE" in result["stderr"]
    assert vbox.vm(NAME)["memory"] == 1024
    result, out = run(name=NAME, state="absent")
    assert result.get("failed") and "already locked" in result["msg"], out
    assert vbox.vm(NAME) is not None


@pytest.mark.parametrize("content", [None, b"not an appliance"])
def test_failed_import(run, vbox, sshd, content):
    bad = vbox.root / "broken.ova"
    if content:
        bad.write_bytes(content)
    result, out = run(**vm_args(vbox, sshd, ova=str(bad)))
    assert result.get("failed"), out
    assert "VBoxManage import failed (rc=1)" in result["msg"] and "Appliance read failed" in result["msg"]
    assert str(bad) in result["msg"]
    assert vbox.vm(NAME) is None


def test_name_clash_with_foreign_vm(run, vbox, sshd):
    vbox.vboxmanage("import", vbox.ova, "--vsys", "0", "--vmname", NAME)  # made by hand, not by the module
    result, out = run(**vm_args(vbox, sshd))
    assert result.get("failed") and "already exists" in result["msg"], out
    assert "was not created by swarmops.core.virtualbox_vm" in result["msg"]
    result, out = run(name=NAME, state="absent")
    assert result.get("failed") and "not removing it" in result["msg"], out
    assert vbox.vm(NAME)["state"] == "poweroff"


def test_name_clash_with_other_definition(run, vbox, sshd):
    run(**vm_args(vbox, sshd, state="present"))
    other = vbox.make_ova("ubuntu.ova")
    result, out = run(**vm_args(vbox, sshd, ova=other))
    assert result.get("failed") and "was created from" in result["msg"] and "ubuntu.ova" in result["msg"], out
    args = vm_args(vbox, sshd, base_vm="elsewhere")
    del args["ova"]
    result, out = run(**args)
    assert result.get("failed") and "was created from" in result["msg"], out


def test_name_clash_with_leftover_files(run, vbox, sshd):
    leftover = vbox.root / "VirtualBox VMs" / NAME / (NAME + ".vbox")
    leftover.parent.mkdir(parents=True)
    leftover.write_text("<VirtualBox/>\n")
    result, out = run(**vm_args(vbox, sshd))
    assert result.get("failed"), out
    assert "Machine settings file '%s' already exists" % leftover in result["msg"]


def test_wait_for_ssh_times_out(run, vbox):
    not_ssh = SshListener(banner=b"HTTP/1.1 400 Bad Request\r\n\r\n")  # owned by the test: no race
    try:
        result, out = run(name=NAME, ova=vbox.ova, ssh_port=not_ssh.port, wait_timeout=1)
    finally:
        not_ssh.close()
    assert result.get("failed"), out
    assert "waiting for SSH on 127.0.0.1:%d: no SSH banner" % not_ssh.port in result["msg"]
    assert vbox.vm(NAME)["state"] == "running"  # created and started; only the wait failed


def test_bad_input_names_the_key(run, vbox):
    result, out = run(name=NAME)
    assert result.get("failed") and "ova" in result["msg"] and "base_vm" in result["msg"], out
    result, out = run(name=NAME, ova=vbox.ova, hostonly_cidr="192.168.99.1/40")
    assert result.get("failed") and "hostonly_cidr" in result["msg"], out
    assert vbox.vm(NAME) is None


def test_loopback_guard_refuses_other_addresses(vbox):
    import subprocess
    proc = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.168.99.100', 22), timeout=1)"],
        env=dict(os.environ, **vbox.env), capture_output=True, text=True)
    assert proc.returncode != 0 and "loopback_only" in proc.stderr
    assert "192.168.99.100" in vbox.guard_violations()
    vbox.guard_log.unlink()
