"""Pure logic of plugins/module_utils/qemu.py and qemu_image.py: validation, planning, the QEMU
command line, the cloud-init seed files and the base image's build inputs."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import qemu
from ansible_collections.swarmops.core.plugins.module_utils import qemu_image
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


@pytest.fixture()
def image(tmp_path):
    path = tmp_path / "base.qcow2"
    path.write_bytes(b"")
    return str(path)


def params(image_path, **extra):
    base = dict(name="vm1", state="running", image=image_path, kernel=None, initrd=None, cpus=1, memory=1024,
                disk_size=None, ssh_port=2299, ssh_user="docker", ssh_key_file=None, restart=False,
                wait_timeout=600, stop_timeout=60, state_dir="/tmp/x")
    base.update(extra)
    return base


def actual(image, running=True, disk_size=3072, **settings):
    record = dict(definition=qemu.definition(dict(image=image)),
                  settings=dict(dict(cpus=1, memory=1024, ssh_port=2299), **settings))
    return dict(dir="/tmp/x/vm1", record=record, running=running, disk_size=disk_size)


def test_create_and_start(image):
    plan = qemu.diff_vm(None, params(image))
    assert plan.summary() == ["create", "start"]
    assert plan.before == {"state": "absent"}
    assert plan.after == {"cpus": 1, "memory": 1024, "ssh_port": 2299, "state": "running"}


def test_present_creates_without_starting(image):
    assert qemu.diff_vm(None, params(image, state="present")).summary() == ["create"]


def test_unchanged_running_vm_is_no_change(image):
    plan = qemu.diff_vm(actual(image), params(image))
    assert not plan and plan.before == {} and plan.after == {}


def test_stopped_vm_started_and_running_vm_stopped(image):
    assert qemu.diff_vm(actual(image, running=False), params(image)).summary() == ["start"]
    plan = qemu.diff_vm(actual(image), params(image, state="stopped"))
    assert plan.summary() == ["stop"] and plan.after == {"state": "stopped"}
    assert not qemu.diff_vm(actual(image, running=False), params(image, state="present"))


def test_settings_change_on_running_vm_needs_restart(image):
    with pytest.raises(SwarmOpsError, match="memory.*restart: true"):
        qemu.diff_vm(actual(image), params(image, memory=2048))
    plan = qemu.diff_vm(actual(image), params(image, memory=2048, restart=True))
    assert plan.summary() == ["settings", "stop", "start"]
    assert plan.before == {"memory": 1024} and plan.after == {"memory": 2048}


def test_settings_change_on_stopped_vm_is_recorded_only(image):
    plan = qemu.diff_vm(actual(image, running=False), params(image, cpus=2, state="present"))
    assert plan.summary() == ["settings"]


def test_disk_grows_never_shrinks(image):
    plan = qemu.diff_vm(actual(image, running=False), params(image, disk_size=8192, state="stopped"))
    assert plan.summary() == ["resize"] and plan.after == {"disk_size": 8192}
    with pytest.raises(SwarmOpsError, match="disk_size: 1024 MiB is smaller"):
        qemu.diff_vm(actual(image, running=False), params(image, disk_size=1024))


def test_other_origin_is_not_taken_over(image, tmp_path):
    other = tmp_path / "other.qcow2"
    other.write_bytes(b"")
    with pytest.raises(SwarmOpsError, match="will not take it over"):
        qemu.diff_vm(actual(image), params(str(other)))


def test_absent(image):
    assert qemu.diff_vm(None, params(image, state="absent")).summary() == []
    assert qemu.diff_vm(actual(image), params(image, state="absent")).summary() == ["kill", "remove"]
    assert qemu.diff_vm(actual(image, running=False), params(image, state="absent")).summary() == ["remove"]


@pytest.mark.parametrize("extra, key", [
    (dict(name="../x"), "name:"),
    (dict(cpus=0), "cpus:"),
    (dict(memory=64), "memory:"),
    (dict(ssh_port=22), "ssh_port:"),
    (dict(image="/nonexistent/disk.qcow2"), "image: /nonexistent"),
    (dict(image=None), "image: required"),
    (dict(kernel="/nonexistent/vmlinuz"), "kernel:"),
])
def test_bad_input_names_the_key(image, extra, key):
    with pytest.raises(SwarmOpsError) as info:
        qemu.validate(params(image, **extra))
    assert key in str(info.value)


def test_bad_input_reports_every_problem_at_once(image):
    with pytest.raises(SwarmOpsError) as info:
        qemu.validate(params(image, cpus=0, memory=1))
    assert "cpus:" in str(info.value) and "memory:" in str(info.value)


def test_absent_needs_no_image():
    qemu.validate(params(None, state="absent"))


def test_command_line_tcg_direct_kernel():
    record = dict(settings=dict(cpus=2, memory=1536, ssh_port=2299),
                  definition=dict(image="/i/base.qcow2", kernel="/i/vmlinuz", initrd="/i/initrd.img"))
    cmd = qemu.qemu_command("qemu-system-x86_64", "/s/vm1", "vm1", record, "tcg")
    line = " ".join(cmd)
    assert "accel=tcg" in line and "-cpu max" in line and "-smp 2 -m 1536" in line
    assert "hostfwd=tcp:127.0.0.1:2299-:22" in line
    assert "-kernel /i/vmlinuz" in line and "-initrd /i/initrd.img" in line
    assert "root=/dev/vda" in cmd[cmd.index("-append") + 1]
    assert "file=/s/vm1/disk.qcow2,if=virtio,format=qcow2" in cmd


def test_command_line_kvm_own_bootloader():
    record = dict(settings=dict(cpus=1, memory=1024, ssh_port=2299), definition=dict(image="/i/cloud.qcow2"))
    cmd = qemu.qemu_command("qemu-system-x86_64", "/s/vm1", "vm1", record, "kvm")
    assert "q35,accel=kvm" in cmd and "host" in cmd and "-kernel" not in cmd


def test_accel_tcg_asked_for():
    accel, message = qemu.choose_accel("tcg", "qemu-system-x86_64", None)
    assert accel == "tcg" and "asked for" in message


def test_cloud_init_files():
    files = qemu.cloud_init_files("vm1", "vm1-abc", "docker", "ssh-ed25519 AAAA test\n")
    assert files["user-data"].startswith("#cloud-config\n")
    assert "name: docker" in files["user-data"] and '"ssh-ed25519 AAAA test"' in files["user-data"]
    assert "manage_etc_hosts: true" in files["user-data"]
    assert "\nlocale: false\n" in files["user-data"]  # no `locales` in the base: cloud-init would end in error
    assert files["meta-data"] == "instance-id: vm1-abc\nlocal-hostname: vm1\n"


def test_base_image_inputs_and_unchanged(tmp_path):
    inputs = qemu_image.build_inputs(dict(suite="bookworm", mirror="http://m/debian", size=3072, extra_packages=["curl"]))
    assert "linux-image-cloud-amd64" in inputs["packages"] and "curl" in inputs["packages"]
    for name in qemu_image.FILES:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / qemu_image.RECORD).write_text(__import__("json").dumps(dict(inputs, kernel_version="6.1")))
    result = qemu_image.ensure(dict(path=str(tmp_path), suite="bookworm", mirror="http://m/debian", size=3072,
                                    extra_packages=["curl"], force=False), run=None, check_mode=False)
    assert not result["changed"] and result["kernel_version"] == "6.1"
    result = qemu_image.ensure(dict(path=str(tmp_path), suite="bookworm", mirror="http://m/debian", size=4096,
                                    extra_packages=["curl"], force=False), run=None, check_mode=True)
    assert result["changed"] and result["diff"]["after"]["size"] == 4096


def test_ports_forwarded_compared_and_validated(image):
    plan = qemu.diff_vm(actual(image, running=False), params(image, ports=["4000", "8080:80"], state="present"))
    assert plan.summary() == ["settings"] and plan.after == {"ports": ["4000:4000", "8080:80"]}
    assert not qemu.diff_vm(actual(image, running=False), params(image, ports=[], state="present"))
    assert not qemu.diff_vm(actual(image, running=False, ports=["4000:4000"]), params(image, state="present"))
    record = dict(settings=dict(cpus=1, memory=1024, ssh_port=2299, ports=["4000:4000"]),
                  definition=dict(image="/i/base.qcow2"))
    cmd = qemu.qemu_command("qemu-system-x86_64", "/s/vm1", "vm1", record, "tcg")
    assert "user,id=n0,hostfwd=tcp:127.0.0.1:2299-:22,hostfwd=tcp:127.0.0.1:4000-:4000" in cmd
    with pytest.raises(SwarmOpsError, match="ports: 'x:1'"):
        qemu.validate(params(image, ports=["x:1"]))
    with pytest.raises(SwarmOpsError, match="ports: '80:80'"):
        qemu.validate(params(image, ports=["80:80"]))


def test_vm_record_is_read_and_rewritten_through_json_file(tmp_path):
    vm_dir = tmp_path / "vm1"
    vm_dir.mkdir()
    record = vm_dir / qemu.RECORD
    record.write_text('{"definition": {"image": "/i/base.qcow2"}, "settings": {"cpus": 1, "memory": 1024}}')
    qemu._settings(None, dict(settings=dict(cpus=2)), None, dict(dir=str(vm_dir)))
    assert __import__("json").loads(record.read_text())["settings"] == dict(cpus=2, memory=1024)
    assert record.read_text().startswith('{\n  "definition"')  # still indented for people
    assert sorted(p.name for p in vm_dir.iterdir()) == [qemu.RECORD]  # written atomically, no leftovers

    record.write_text("{not json")
    with pytest.raises(SwarmOpsError, match="vm.json cannot be read as this module's record"):
        qemu.read_vm(dict(name="vm1", state_dir=str(tmp_path)), qemu_img=None)


def test_base_image_record_that_cannot_be_read_means_a_rebuild(tmp_path):
    for name in qemu_image.FILES:
        (tmp_path / name).write_bytes(b"x")
    assert qemu_image.read(str(tmp_path)) is None
    (tmp_path / qemu_image.RECORD).write_text("{not json")
    assert qemu_image.read(str(tmp_path)) is None
    (tmp_path / qemu_image.RECORD).write_text('{"layout": 2}')
    assert qemu_image.read(str(tmp_path)) == {"layout": 2}
    (tmp_path / "vmlinuz").unlink()
    assert qemu_image.read(str(tmp_path)) is None
