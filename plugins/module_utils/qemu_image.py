# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A QEMU VM base built from Debian packages only (no cloud image download needed).

debootstrap (kernel, systemd, openssh-server) -> cloud-init installed in the chroot (debootstrap
cannot resolve python3-cryptography's virtual dependency itself) -> first-boot hygiene (empty
machine-id, no ssh host keys, NoCloud only, DHCP by systemd-networkd) -> `mkfs.ext4 -d` (a file
system filled from a directory, no loop device or mount needed) -> qcow2. The kernel and initrd are
copied next to it: VMs boot them directly (no bootloader, no partition table, root=/dev/vda).

The directory's build.json records the inputs; the same inputs and all files present = no change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from ansible_collections.swarmops.core.plugins.module_utils.json_file import read_json, write_json
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

FILES = ("base.qcow2", "vmlinuz", "initrd.img")
RECORD = "build.json"
LAYOUT = 2  # bump when the build's steps change, so existing bases are rebuilt
BASE_PACKAGES = ("linux-image-cloud-amd64", "systemd", "systemd-sysv", "udev", "dbus", "kmod", "iproute2",
                 "openssh-server", "sudo", "python3", "ca-certificates",
                 "apparmor")  # the cloud kernel enables AppArmor: dockerd needs apparmor_parser
LATE_PACKAGES = ("python3-cffi-backend", "cloud-init")
CLOUD_CFG = "datasource_list: [NoCloud, None]\n"
DHCP_NETWORK = "[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n"


def build_inputs(params):
    return dict(layout=LAYOUT, suite=params["suite"], mirror=params["mirror"], size=params["size"],
                packages=sorted(set(BASE_PACKAGES) | set(params.get("extra_packages") or [])))


def read(directory):
    """The recorded inputs if every file is there, else None."""
    record = read_json(os.path.join(directory, RECORD))
    if record is None or not all(os.path.isfile(os.path.join(directory, name)) for name in FILES):
        return None
    return record


def paths(directory):
    return {"image": os.path.join(directory, "base.qcow2"), "kernel": os.path.join(directory, "vmlinuz"),
            "initrd": os.path.join(directory, "initrd.img")}


def build(directory, inputs, run, nice=0):
    """Build into a temporary directory next to `directory`, then move the files in place."""
    for tool in ("debootstrap", "mkfs.ext4", "qemu-img", "chroot"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            raise SwarmOpsError("%s is missing on this host; SWARMOPS_QEMU=1 tools/bootstrap-controller.sh installs "
                                "what the QEMU provider needs." % tool)
    if os.geteuid() != 0:
        raise SwarmOpsError("Building the QEMU base image needs root (debootstrap and chroot).")
    prefix = ["nice", "-n", str(nice)] if nice else []
    os.makedirs(directory, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".build-", dir=directory)
    root = os.path.join(work, "root")
    try:
        run(prefix + ["debootstrap", "--variant=minbase", "--include=" + ",".join(inputs["packages"]),
                      inputs["suite"], root, inputs["mirror"]], "debootstrap")
        with open(os.path.join(root, "etc/apt/sources.list"), "w") as handle:
            handle.write("deb %s %s main\n" % (inputs["mirror"], inputs["suite"]))
        run(prefix + ["chroot", root, "sh", "-c",
                      "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq "
                      "--no-install-recommends %s && apt-get clean && rm -rf /var/lib/apt/lists/*"
                      % " ".join(LATE_PACKAGES)], "installing cloud-init in the chroot")
        run(["chroot", root, "systemctl", "enable", "systemd-networkd"], "enabling systemd-networkd")
        _hygiene(root)
        boot = os.path.join(root, "boot")
        kernels = sorted(name for name in os.listdir(boot) if name.startswith("vmlinuz-"))
        if not kernels:
            raise SwarmOpsError("No kernel in the built root's /boot (is linux-image-cloud-amd64 installed?)")
        version = kernels[-1][len("vmlinuz-"):]
        shutil.copyfile(os.path.join(boot, "vmlinuz-" + version), os.path.join(work, "vmlinuz"))
        shutil.copyfile(os.path.join(boot, "initrd.img-" + version), os.path.join(work, "initrd.img"))
        raw = os.path.join(work, "base.raw")
        run(prefix + ["mkfs.ext4", "-q", "-F", "-L", "swarmops-root", "-d", root, raw, "%dM" % inputs["size"]],
            "mkfs.ext4")
        run(prefix + ["qemu-img", "convert", "-O", "qcow2", raw, os.path.join(work, "base.qcow2")], "qemu-img convert")
        for name in FILES:
            os.replace(os.path.join(work, name), os.path.join(directory, name))
        write_json(os.path.join(directory, RECORD), dict(inputs, kernel_version=version), indent=2)
        return version
    finally:
        _unmount_below(root)
        shutil.rmtree(work, ignore_errors=True)


def _unmount_below(root):
    """debootstrap mounts /proc and /sys in the root and may leave them after a failure: never
    delete through a mount."""
    try:
        with open("/proc/mounts") as handle:
            points = [line.split()[1] for line in handle]
    except OSError:
        return
    for point in sorted((p for p in points if p == root or p.startswith(root + "/")), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def _hygiene(root):
    """What makes one image boot as many distinct machines."""
    def write(path, text):
        with open(os.path.join(root, path.lstrip("/")), "w") as handle:
            handle.write(text)
    write("/etc/fstab", "/dev/vda / ext4 defaults,discard 0 1\n")
    write("/etc/machine-id", "")
    write("/etc/hostname", "localhost\n")
    write("/etc/cloud/cloud.cfg.d/90_swarmops.cfg", CLOUD_CFG)
    write("/etc/systemd/network/99-swarmops-dhcp.network", DHCP_NETWORK)
    # VMs boot the kernel and initrd copied out at build time; rebuilding the guest's own initrd on
    # every package install took minutes under TCG (docker.io's install: 3+ min) for nothing.
    write("/etc/initramfs-tools/update-initramfs.conf", "update_initramfs=no\nbackup_initramfs=no\n")
    for path in ("/var/lib/dbus/machine-id",):
        if os.path.lexists(os.path.join(root, path.lstrip("/"))):
            os.remove(os.path.join(root, path.lstrip("/")))
    ssh_dir = os.path.join(root, "etc/ssh")
    for name in os.listdir(ssh_dir):
        if name.startswith("ssh_host_"):
            os.remove(os.path.join(ssh_dir, name))
    archives = os.path.join(root, "var/cache/apt/archives")
    for name in os.listdir(archives):
        if name.endswith(".deb"):
            os.remove(os.path.join(archives, name))


def ensure(params, run, check_mode):
    directory = os.path.abspath(os.path.expanduser(params["path"]))
    inputs = build_inputs(params)
    found = read(directory)
    current = {key: found.get(key) for key in inputs} if found else None
    changed = current != inputs if not params["force"] else True
    result = dict(changed=changed, path=directory, diff=dict(before=current or {}, after=inputs), **paths(directory))
    if changed and not check_mode:
        result["kernel_version"] = build(directory, inputs, run, params.get("nice") or 0)
    elif found:
        result["kernel_version"] = found.get("kernel_version")
    return result
