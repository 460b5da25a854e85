"""qemu_vm and qemu_base_image through `ansible`, with a real QEMU; the whole site on a QEMU VM.

The quick tests (bad input, check mode, a VM created stopped and removed) run whenever qemu-img is
installed (`make test` installs qemu-utils through SWARMOPS_TEST_TOOLS=1
tools/bootstrap-controller.sh; SWARMOPS_QEMU=1 adds qemu-system-x86 for booting). Booting a real VM
under TCG takes minutes (measured on a shared 2-core machine: base image build ~4 min, first boot
to SSH ~2-3 min, the whole site ~25 min), so those tests are opt-in: SWARMOPS_TEST_VM=1
(`make test-vm`). The base image is kept in SWARMOPS_QEMU_BASE (default
/var/tmp/swarmops-qemu-base) and reused across runs. Set SWARMOPS_TIMER_OUTPUT to keep the site
run's per-task times (the swarmops.core.timer callback's JSON).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import BIN, ROOT, ansible_env

NAME = "sotest-qemu-m1"
BASE_DIR = os.environ.get("SWARMOPS_QEMU_BASE", "/var/tmp/swarmops-qemu-base")
SSH_PORT = 22961  # loopback only; distinct from the lab's 2221-2223

pytestmark = pytest.mark.skipif(not shutil.which("qemu-img"),
                                reason="qemu-img missing: SWARMOPS_QEMU=1 tools/bootstrap-controller.sh")
boots = pytest.mark.skipif(os.environ.get("SWARMOPS_TEST_VM") != "1",
                           reason="boots a real VM under TCG (minutes): set SWARMOPS_TEST_VM=1")


@pytest.fixture()
def run(ansible_module, tmp_path):
    def _run(check=False, diff=True, **args):
        args.setdefault("state_dir", str(tmp_path / "vms"))
        return ansible_module("qemu_vm", args, check=check, diff=diff)
    return _run


@pytest.fixture()
def tiny_image(tmp_path):
    path = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return str(path)


def test_bad_input_fails_before_any_change(run, tmp_path, tiny_image):
    result, out = run(name=NAME, image=str(tmp_path / "missing.qcow2"), cpus=0)
    assert result.get("failed"), out
    assert "image:" in result["msg"] and "cpus:" in result["msg"]
    assert not (tmp_path / "vms").exists()


def test_present_check_then_create_unchanged_resize_and_remove(run, tmp_path, tiny_image):
    args = dict(name=NAME, image=tiny_image, state="present", ssh_port=SSH_PORT,
                ssh_key_file=str(tmp_path / "keys" / "id_ed25519"))
    result, out = run(check=True, **args)
    assert result["changed"] and result["actions"] == ["create"], out
    assert not (tmp_path / "vms").exists() and not (tmp_path / "keys").exists()

    result, out = run(**args)
    assert result["changed"] and result["state"] == "stopped", out
    vm_dir = tmp_path / "vms" / NAME
    assert {p.name for p in vm_dir.iterdir()} == {"vm.json", "disk.qcow2", "seed.iso"}
    assert "PRIVATE KEY" not in out

    result, out = run(**args)
    assert not result["changed"] and result["actions"] == [], out
    result, out = run(check=True, **args)
    assert not result["changed"], out

    result, out = run(disk_size=256, **args)
    assert result["changed"] and result["actions"] == ["resize"], out
    info = subprocess.run(["qemu-img", "info", str(vm_dir / "disk.qcow2")], capture_output=True, text=True).stdout
    assert "256 MiB" in info
    result, out = run(disk_size=128, **args)
    assert result.get("failed") and "disk_size: 128 MiB is smaller" in result["msg"], out

    result, out = run(check=True, name=NAME, state="absent")
    assert result["changed"] and vm_dir.exists(), out
    result, out = run(name=NAME, state="absent")
    assert result["changed"] and result["actions"] == ["remove"] and not vm_dir.exists(), out
    result, out = run(name=NAME, state="absent")
    assert not result["changed"], out


def test_foreign_directory_is_not_touched(run, tmp_path, tiny_image):
    foreign = tmp_path / "vms" / NAME
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    result, out = run(name=NAME, state="absent")
    assert result.get("failed") and "not a VM this module created" in result["msg"], out
    assert (foreign / "notes.txt").read_text() == "mine"


@pytest.fixture()
def base_image(ansible_module):
    result, out = ansible_module("qemu_base_image", {"path": BASE_DIR, "nice": 10})
    assert not result.get("failed"), out
    return result


def ssh(key, *command):
    return subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-i", key, "-p", str(SSH_PORT),
                           "docker@127.0.0.1"] + list(command), capture_output=True, text=True, timeout=120)


@boots
def test_real_vm_boots_with_cloud_init_and_ip_vs(run, tmp_path, base_image):
    key = str(tmp_path / "keys" / "id_ed25519")
    args = dict(name=NAME, image=base_image["image"], kernel=base_image["kernel"], initrd=base_image["initrd"],
                ssh_port=SSH_PORT, ssh_key_file=key, cpus=1, memory=1024, disk_size=6144, nice=10,
                wait_timeout=900)
    try:
        result, out = run(check=True, **args)
        assert result["changed"] and result["actions"] == ["create", "start"], out

        result, out = run(**args)
        assert result["changed"] and result["state"] == "running", out
        assert result["accel"] in ("kvm", "tcg") and result["accel_message"], out
        assert result["ssh_banner"].startswith("SSH-2.0-"), out

        for _attempt in range(30):  # sshd answers just before cloud-init has installed the key
            probe = ssh(key, "hostname; sudo modprobe ip_vs && test -d /proc/sys/net/ipv4/vs && echo ipvs-ok; "
                             "df -m --output=size / | tail -1; cloud-init status --wait")
            if probe.returncode == 0:
                break
        assert probe.returncode == 0, probe.stdout + probe.stderr  # cloud-init status exits 1 on error
        lines = probe.stdout.split()
        assert lines[0] == NAME and "ipvs-ok" in lines and int(lines[2]) > 5000, probe.stdout
        assert "status: done" in probe.stdout, probe.stdout

        result, out = run(**args)
        assert not result["changed"] and result["actions"] == [], out
        result, out = run(check=True, **args)
        assert not result["changed"], out

        result, out = run(state="stopped", **args)
        assert result["changed"] and result["actions"] == ["stop"] and result["state"] == "stopped", out
    finally:
        result, out = run(name=NAME, state="absent")
        assert not result.get("failed"), out
        assert not (tmp_path / "vms" / NAME).exists()


# The site journey's VM: inventories/qemu's myvm1, moved to ports of its own (loopback only; not the
# lab's 2221-2223/4000/8080, nor the inventory's 2241) and to a state directory of the test's own.
SITE_SSH_PORT, SITE_APP_PORT, SITE_VISUALIZER_PORT = 22941, 24000, 28080
SITE_VM = "myvm1"


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def site_playbook(playbook, env):
    extra = {"ansible_port": SITE_SSH_PORT, "qemu_app_port": SITE_APP_PORT, "qemu_visualizer_port": SITE_VISUALIZER_PORT}
    proc = subprocess.run([str(BIN / "ansible-playbook"), playbook, "-i", "inventories/qemu", "-e", json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    return proc, proc.stdout[-8000:] + proc.stderr[-2000:]


def process_gone(pid, seconds=30):
    """True once the pid is gone or a zombie (its parent reaps it when it gets to it)."""
    for _ in range(seconds):
        try:
            with open("/proc/%d/stat" % pid) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(1)
    return False


def stage_times(timer_file):
    """Seconds per play of the run (the stages), from the timer callback's JSON."""
    with open(timer_file) as handle:
        report = json.load(handle)
    stages = {}
    for task in report["tasks"]:
        stages[task["play"]] = stages.get(task["play"], 0) + task["seconds"]
    return report["total_seconds"], stages


def answers(url, count):
    bodies = []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    for _ in range(count):
        with opener.open(url, timeout=30) as response:
            bodies.append(response.read().decode())
    return ([m.group(1) for m in (re.search(r"Hostname:</b> *([^<\s]+)", b) for b in bodies) if m],
            [int(m.group(1)) for m in (re.search(r"Visits:</b> *([0-9]+)", b) for b in bodies) if m])


@boots
def test_site_journey_on_a_real_vm_through_the_routing_mesh(tmp_path, base_image, ansible_module):
    """From nothing: VM, cloud-init, SSH, engine, swarm, registry, images, the stack with
    stack_routing: ingress, verify; the app answers on the VM's published port 4000 (forwarded to
    SITE_APP_PORT) from several replicas through IPVS; then teardown leaves nothing."""
    for port in (SITE_SSH_PORT, SITE_APP_PORT, SITE_VISUALIZER_PORT):
        assert not port_open(port), "127.0.0.1:%d is already taken: the test would not know whose answers it reads" % port
    state = tmp_path / "qemu"
    vm_dir = state / SITE_VM
    timer = os.environ.get("SWARMOPS_TIMER_OUTPUT") or str(tmp_path / "timer.json")
    env = ansible_env({"SWARMOPS_QEMU_DIR": str(state), "SWARMOPS_QEMU_BASE": BASE_DIR,
                       "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                       "ANSIBLE_CALLBACKS_ENABLED": "swarmops.core.timer",
                       "SWARMOPS_TIMER_OUTPUT": timer, "SWARMOPS_TIMER_TOP": "0"})
    key = str(state / "id_ed25519")
    torn_down = False
    try:
        proc, out = site_playbook("site.yml", env)
        assert os.path.exists(timer), out  # the timer writes at the end of any playbook it saw start
        total, stages = stage_times(timer)
        print("site.yml on QEMU: %.0f s; per stage: %s" % (total, json.dumps({k: round(v) for k, v in stages.items()})))
        assert proc.returncode == 0, out
        assert re.search(r"myvm1 +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0", proc.stdout), out

        def on_vm(command):
            probe = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                                    "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-i", key, "-p",
                                    str(SITE_SSH_PORT), "docker@127.0.0.1", command],
                                   capture_output=True, text=True, timeout=120)
            assert probe.returncode == 0, probe.stderr
            return probe.stdout

        assert "status: done" in on_vm("cloud-init status")
        # The routing mesh for real: IPVS loaded, web published in ingress mode (not the lab's
        # host-mode HAProxy fallback), and the answers come from the web service's own tasks.
        ports = json.loads(on_vm("test -d /proc/sys/net/ipv4/vs && sudo docker service inspect "
                                 "--format '{{json .Endpoint.Ports}}' getstartedlab_web"))
        assert [(p["PublishedPort"], p["PublishMode"]) for p in ports] == [(4000, "ingress")], ports
        assert "getstartedlab_proxy" not in on_vm("sudo docker service ls --format '{{.Name}}'")
        tasks = set(on_vm("sudo docker ps --filter label=com.docker.swarm.service.name=getstartedlab_web "
                          "--format '{{.ID}}'").split())
        assert len(tasks) == 5, tasks

        hostnames, visits = answers("http://127.0.0.1:%d" % SITE_APP_PORT, 20)
        assert len(visits) == 20 and visits == sorted(set(visits)), visits
        assert len(set(hostnames)) >= 3 and set(hostnames) <= tasks, (hostnames, tasks)

        pid = int((vm_dir / "qemu.pid").read_text())
        started = time.monotonic()
        proc, out = site_playbook("playbooks/teardown.yml", env)
        print("teardown: %.0f s" % (time.monotonic() - started))
        torn_down = proc.returncode == 0
        assert torn_down, out
        assert not vm_dir.exists() and process_gone(pid), out
        for port in (SITE_SSH_PORT, SITE_APP_PORT, SITE_VISUALIZER_PORT):
            assert not port_open(port), port
    finally:
        if not torn_down and vm_dir.exists():
            result, out = ansible_module("qemu_vm", {"name": SITE_VM, "state": "absent", "state_dir": str(state)})
            assert not result.get("failed"), out
