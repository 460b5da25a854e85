# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QEMU VMs as docker-machine made them, without a hypervisor daemon: one directory per VM.

<state_dir>/<name>/ holds vm.json (what the module created and the settings it keeps), disk.qcow2
(a copy-on-write overlay on the image), seed.iso (cloud-init NoCloud), qemu.pid, console.log and
monitor.sock (the human monitor, used for an ACPI power-button press).

read (files and /proc only) -> diff (pure: ordered actions, before/after) -> apply (the only code
that changes anything, driven by STEPS) -> wait (an SSH banner on the 127.0.0.1 forward).
Settings (cpus, memory, ssh_port) take effect at the next start; a running VM is restarted only
when told to (restart=true).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid

from ansible_collections.swarmops.core.plugins.module_utils.json_file import read_json, write_json
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch
from ansible_collections.swarmops.core.plugins.module_utils import units
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, clock
from ansible_collections.swarmops.core.plugins.module_utils.ssh_key import public_key_for
from ansible_collections.swarmops.core.plugins.module_utils.virtualbox import (
    build_seed_iso,
    free_loopback_port,
    wait_for_ssh,
)

RECORD = "vm.json"
DISK = "disk.qcow2"
SEED = "seed.iso"
PIDFILE = "qemu.pid"
CONSOLE = "console.log"
MONITOR = "monitor.sock"
SETTINGS = ("cpus", "memory", "ssh_port", "ports")
KVM_PROBE_TIMEOUT = 20


# --------------------------------------------------------------------------- build (pure)

def validate(params):
    """Every input problem at once, naming the option, before anything is touched."""
    errors = []
    name = params.get("name") or ""
    if not name or name.startswith(".") or "/" in name or len(name) > 64:
        errors.append("name: %r must be 1-64 characters, no '/' and not starting with '.'" % name)
    for key, low, high in (("cpus", 1, 64), ("memory", 128, 1048576), ("disk_size", 1, 1 << 24),
                           ("ssh_port", 1024, 65535), ("wait_timeout", 1, 86400), ("stop_timeout", 0, 3600)):
        value = params.get(key)
        if value is not None and not low <= value <= high:
            errors.append("%s: %s is out of range (%d-%d)" % (key, value, low, high))
    for entry in params.get("ports") or []:
        try:
            host, guest = parse_port(entry)
        except ValueError:
            errors.append("ports: %r must be HOST:GUEST, two TCP port numbers (1024-65535 on the host)" % entry)
    if params.get("state") != "absent":
        if not params.get("image"):
            errors.append("image: required for state=%s (a qcow2/raw disk image: the base from "
                          "swarmops.core.qemu_base_image or a cloud image)" % params.get("state"))
        elif not os.path.isfile(params["image"]):
            errors.append("image: %s does not exist" % params["image"])
        for key in ("kernel", "initrd", "ssh_key_file"):
            if key != "ssh_key_file" and params.get(key) and not os.path.isfile(params[key]):
                errors.append("%s: %s does not exist" % (key, params[key]))
        if params.get("initrd") and not params.get("kernel"):
            errors.append("initrd: needs kernel (the initrd is only used with a directly booted kernel)")
    if errors:
        raise SwarmOpsError("Invalid qemu_vm input: " + "; ".join(errors), errors=errors)


def parse_port(entry):
    """'4000:4000' or '4000' -> (4000, 4000); ValueError unless two TCP port numbers, 1024+ on the host.

    QEMU forwards on loopback only (hostfwd=tcp:127.0.0.1:...): an entry naming another address is refused.
    """
    port = units.parse_port(entry, "127.0.0.1", bare="same")
    if port.ip != "127.0.0.1" or port.proto != "tcp" or port.host_port < 1024:
        raise ValueError(entry)
    return port.host_port, port.container_port


def definition(params):
    """What identifies "the same VM": its image and how it boots. Checked, never changed in place."""
    return {"image": os.path.abspath(params["image"]),
            "kernel": params.get("kernel") and os.path.abspath(params["kernel"]),
            "initrd": params.get("initrd") and os.path.abspath(params["initrd"])}


def desired_settings(params):
    want = {key: params[key] for key in SETTINGS if params.get(key) is not None}
    if "ports" in want:
        want["ports"] = ["%d:%d" % parse_port(entry) for entry in want["ports"]]
    return want


def diff_vm(actual, params):
    """Pure. actual: None or dict(record=..., running=bool, disk_size=MiB) -> Plan."""
    plan = Plan()
    state, name = params["state"], params["name"]
    if state == "absent":
        if actual:
            plan.before, plan.after = dict(state=_state(actual)), dict(state="absent")
            if actual["running"]:
                plan.add("kill")
            plan.add("remove")
        return plan
    want = desired_settings(params)
    if not actual:
        plan.before = dict(state="absent")
        plan.after = dict(want, state="running" if state == "running" else "stopped")
        if params.get("disk_size"):
            plan.after["disk_size"] = params["disk_size"]
        plan.add("create", definition=definition(params), settings=want)
        if state == "running":
            plan.add("start")
        return plan
    record = actual["record"]
    if record.get("definition") != definition(params):
        raise SwarmOpsError(
            "A QEMU VM named '%s' already exists in %s but was created from %s, not from %s; this module "
            "will not take it over. Remove it (state=absent) or choose another name."
            % (name, actual["dir"], json.dumps(record.get("definition")), json.dumps(definition(params))))
    changed = {key: value for key, value in want.items()
               if record["settings"].get(key, [] if key == "ports" else None) != value}
    size = params.get("disk_size")
    resize = bool(size) and actual.get("disk_size") is not None and size != actual["disk_size"]
    if resize and size < actual["disk_size"]:
        raise SwarmOpsError("disk_size: %d MiB is smaller than the VM's disk (%d MiB); disks only grow."
                            % (size, actual["disk_size"]))
    if changed:
        plan.before.update({key: record["settings"].get(key) for key in changed})
        plan.after.update(changed)
    if resize:
        plan.before["disk_size"], plan.after["disk_size"] = actual["disk_size"], size
    target = {"running": True, "stopped": False}.get(state, actual["running"])
    if actual["running"] and target and (changed or resize) and not params.get("restart"):
        raise SwarmOpsError(
            "VM '%s' is running; changing %s needs a restart. Set restart: true to let the module stop it, "
            "apply the change and start it again." % (name, ", ".join(sorted(list(changed) + (["disk_size"] if resize else [])))))
    if changed:
        plan.add("settings", settings=changed)
    if actual["running"] and (not target or resize or (changed and params.get("restart"))):
        plan.add("stop")
    if resize:
        plan.add("resize", size=size)
    if target and (not actual["running"] or "stop" in plan.verbs()):
        plan.add("start")
    if ("start" in plan.verbs()) != ("stop" in plan.verbs()):
        plan.before["state"], plan.after["state"] = _state(actual), "running" if target else "stopped"
    return plan


def _state(actual):
    return "running" if actual["running"] else "stopped"


def qemu_command(binary, vm_dir, name, record, accel):
    """The qemu-system command line for a VM directory (pure)."""
    s, d = record["settings"], record["definition"]
    cmd = [binary, "-name", "swarmops-" + name, "-machine", "q35,accel=" + accel,
           "-cpu", "host" if accel == "kvm" else "max", "-smp", str(s["cpus"]), "-m", str(s["memory"]),
           "-display", "none", "-serial", "file:" + os.path.join(vm_dir, CONSOLE),
           "-monitor", "unix:%s,server,nowait" % os.path.join(vm_dir, MONITOR),
           "-pidfile", os.path.join(vm_dir, PIDFILE), "-daemonize",
           "-drive", "file=%s,if=virtio,format=qcow2" % os.path.join(vm_dir, DISK),
           "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22%s" % (s["ssh_port"], "".join(
               ",hostfwd=tcp:127.0.0.1:%d-:%d" % parse_port(entry) for entry in s.get("ports") or [])),
           "-device", "virtio-net-pci,netdev=n0,romfile="]
    if os.path.exists(os.path.join(vm_dir, SEED)):
        cmd += ["-drive", "file=%s,if=virtio,format=raw,readonly=on" % os.path.join(vm_dir, SEED)]
    if d.get("kernel"):
        cmd += ["-kernel", d["kernel"], "-append", record.get("append") or "root=/dev/vda rw console=ttyS0"]
        if d.get("initrd"):
            cmd += ["-initrd", d["initrd"]]
    return cmd


def cloud_init_files(name, instance_id, ssh_user, public_key):
    """NoCloud seed: the user with the key and passwordless sudo; the hostname in /etc/hosts."""
    user_data = "\n".join([
        "#cloud-config",
        "hostname: %s" % name,
        "manage_etc_hosts: true",
        "users:",
        "  - default",
        "  - name: %s" % ssh_user,
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    shell: /bin/bash",
        "    ssh_authorized_keys:",
        "      - %s" % json.dumps(public_key.strip()),
        "ssh_pwauth: false",
        # The Debian-built base has no `locales` (update-locale): setting one failed the locale
        # module and left `cloud-init status` at error. Keep the image's locale.
        "locale: false",
        "",
    ])
    return {"user-data": user_data, "meta-data": "instance-id: %s\nlocal-hostname: %s\n" % (instance_id, name)}


# --------------------------------------------------------------------------- read

def vm_dir(params):
    return os.path.join(os.path.abspath(os.path.expanduser(params["state_dir"])), params["name"])


def running_pid(directory):
    """The QEMU process of this VM directory, or None (a stale pid file is ignored)."""
    try:
        with open(os.path.join(directory, PIDFILE)) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if os.path.join(directory, DISK).encode() in b" ".join(cmdline) else None


def read_vm(params, qemu_img):
    directory = vm_dir(params)
    path = os.path.join(directory, RECORD)
    if not os.path.exists(path):
        if os.path.exists(directory) and os.listdir(directory):
            raise SwarmOpsError("%s exists but holds no %s: not a VM this module created; not touching it."
                                % (directory, RECORD))
        return None
    record = read_json(path)
    if not isinstance(record, dict):
        raise SwarmOpsError("%s cannot be read as this module's record (not a JSON object); not touching %s."
                            % (path, directory))
    info = json.loads(qemu_img("info", "-U", "--output=json", os.path.join(directory, DISK)))  # -U: the VM may hold the lock
    return dict(dir=directory, record=record, running=running_pid(directory) is not None,
                disk_size=info["virtual-size"] // (1024 * 1024))


# --------------------------------------------------------------------------- accelerator

def kvm_usable(binary, kernel, timeout=KVM_PROBE_TIMEOUT):
    """(True/False, why). /dev/kvm must open read-write; with a kernel, a probe guest must also reach
    the kernel's root mount within `timeout` seconds (nested KVM can open /dev/kvm yet hang the guest)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError as exc:
        return False, "/dev/kvm cannot be opened (%s)" % exc.strerror
    if not kernel:
        return True, "/dev/kvm opens (no kernel given to test-boot, trusted as is)"
    cmd = [binary, "-machine", "q35,accel=kvm", "-cpu", "host", "-m", "256", "-display", "none",
           "-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", kernel,
           "-append", "console=ttyS0 panic=-1 root=/dev/null"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = b""
    try:
        for _ in clock(timeout, 0):
            if proc.poll() is not None:
                break
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                output += os.read(proc.stdout.fileno(), 65536)
                if b"VFS: " in output or b"Kernel panic" in output:
                    return True, "/dev/kvm opens and a test guest booted its kernel"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    tail = output.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no console output"]
    return False, ("/dev/kvm opens but a test guest did not boot its kernel within %ds (nested KVM? last "
                   "console line: %s)" % (timeout, tail[0][:120]))


def choose_accel(wanted, binary, kernel):
    """-> (accel, message). wanted: auto | kvm | tcg."""
    if wanted == "tcg":
        return "tcg", "TCG (software emulation): accel=tcg was asked for"
    ok, why = kvm_usable(binary, kernel)
    if ok:
        return "kvm", "KVM: " + why
    if wanted == "kvm":
        raise SwarmOpsError("accel: kvm was asked for but KVM is not usable here: %s" % why)
    return "tcg", "TCG (software emulation, much slower): " + why


# --------------------------------------------------------------------------- apply

def apply(plan, params, tools):
    ctx = dict(dir=vm_dir(params), accel=None, accel_message=None)
    for step in plan.actions:
        dispatch(STEPS, step["action"])(params, step, tools, ctx)
    return ctx


def _create(params, step, tools, ctx):
    directory = ctx["dir"]
    os.makedirs(directory, exist_ok=True)
    disk = os.path.join(directory, DISK)
    fmt = json.loads(tools.qemu_img("info", "--output=json", step["definition"]["image"]))["format"]
    tools.qemu_img("create", "-q", "-f", "qcow2", "-b", step["definition"]["image"], "-F", fmt, disk)
    if params.get("disk_size"):
        tools.qemu_img("resize", "-q", disk, "%dM" % params["disk_size"])
    instance_id = "%s-%s" % (params["name"], uuid.uuid4().hex[:12])
    if params.get("ssh_key_file"):
        build_seed_iso(os.path.join(directory, SEED), cloud_init_files(
            params["name"], instance_id, params["ssh_user"], public_key_for(params["ssh_key_file"])))
    record = dict(definition=step["definition"], settings=step["settings"], instance_id=instance_id,
                  ssh_user=params["ssh_user"], append=params.get("append"),
                  ssh_key_file=params.get("ssh_key_file") and os.path.abspath(params["ssh_key_file"]))
    write_json(os.path.join(directory, RECORD), record, indent=2)


def _settings(params, step, tools, ctx):
    path = os.path.join(ctx["dir"], RECORD)
    record = read_json(path)
    record["settings"].update(step["settings"])
    write_json(path, record, indent=2)


def _start(params, step, tools, ctx):
    record = read_json(os.path.join(ctx["dir"], RECORD))
    accel, message = choose_accel(params["accel"], tools.qemu, record["definition"].get("kernel"))
    ctx.update(accel=accel, accel_message=message)
    cmd = qemu_command(tools.qemu, ctx["dir"], params["name"], record, accel)
    if params.get("nice"):
        cmd = ["nice", "-n", str(params["nice"])] + cmd
    tools.run(cmd)


def _stop(params, step, tools, ctx):
    """ACPI power button through the monitor, then SIGTERM after stop_timeout."""
    directory = ctx["dir"]
    pid = running_pid(directory)
    if pid is None:
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(os.path.join(directory, MONITOR))
            sock.sendall(b"system_powerdown\n")
    except OSError:
        pass
    for _ in clock(params["stop_timeout"], 1):
        if running_pid(directory) != pid:
            break
    _kill(params, step, tools, ctx)


def _kill(params, step, tools, ctx):
    pid = running_pid(ctx["dir"])
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _ in clock(15, 0.2):
        if running_pid(ctx["dir"]) != pid:
            return
    os.kill(pid, signal.SIGKILL)
    while running_pid(ctx["dir"]) == pid:
        time.sleep(0.2)


def _resize(params, step, tools, ctx):
    tools.qemu_img("resize", "-q", os.path.join(ctx["dir"], DISK), "%dM" % step["size"])


def _remove(params, step, tools, ctx):
    shutil.rmtree(ctx["dir"])


STEPS = {"create": _create, "settings": _settings, "start": _start, "stop": _stop, "kill": _kill,
         "resize": _resize, "remove": _remove}


class Tools:
    """qemu-system-x86_64 and qemu-img, run through the module's run_command."""

    def __init__(self, qemu, qemu_img, run_command):
        if not qemu_img:
            raise SwarmOpsError("qemu-img was not found on the PATH; install qemu-utils (Debian) or set qemu_img.")
        self.qemu, self.qemu_img_bin, self._run = qemu, qemu_img, run_command

    def run(self, cmd):
        rc, out, err = self._run(cmd)
        if rc != 0:
            raise SwarmOpsError("%s failed (rc=%d): %s" % (os.path.basename(cmd[0]), rc, (err or out).strip()),
                                command=cmd, rc=rc)
        return out

    def qemu_img(self, *args):
        return self.run([self.qemu_img_bin] + list(args))


# --------------------------------------------------------------------------- the module's run

def ensure(tools, params, check_mode):
    validate(params)
    params = dict(params)
    actual = read_vm(params, tools.qemu_img)
    if params["state"] != "absent" and params.get("ssh_port") is None:
        params["ssh_port"] = actual["record"]["settings"]["ssh_port"] if actual else free_loopback_port(set())
    plan = diff_vm(actual, params)
    if "start" in plan.verbs() and not tools.qemu:
        raise SwarmOpsError("qemu-system-x86_64 was not found on the PATH; install qemu-system-x86 (Debian) "
                            "or set qemu.")
    ctx = {}
    if plan and not check_mode:
        ctx = apply(plan, params, tools)
    result = dict(changed=bool(plan), actions=plan.summary(), diff=plan.diff(),
                  name=params["name"], state="absent", ssh_host="127.0.0.1", ssh_port=None,
                  ssh_user=params["ssh_user"], vm_dir=vm_dir(params))
    if ctx.get("accel"):
        result.update(accel=ctx["accel"], accel_message=ctx["accel_message"])
    if params["state"] == "absent":
        return result
    if check_mode:
        result.update(state=plan.after.get("state") or _state(actual), ssh_port=params["ssh_port"])
        return result
    actual = read_vm(params, tools.qemu_img)
    record = actual["record"]
    result.update(state=_state(actual), ssh_port=record["settings"]["ssh_port"], instance_id=record["instance_id"],
                  console_log=os.path.join(actual["dir"], CONSOLE))
    if record.get("ssh_key_file"):
        result["ssh_key_file"] = record["ssh_key_file"]
    if actual["running"] and params["wait"]:
        result["ssh_banner"] = wait_for_ssh("127.0.0.1", result["ssh_port"], params["wait_timeout"])
    return result
