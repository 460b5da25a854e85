#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: qemu_vm
short_description: A QEMU VM the way docker-machine made VMs, with no hypervisor daemon
version_added: 0.1.0
description:
  - Runs C(qemu-system-x86_64) on the host the module runs on (usually the controller, C(localhost)); each VM
    is a directory O(state_dir)/O(name) with a copy-on-write C(qcow2) overlay on O(image), the cloud-init seed
    and a record of what the module created (C(vm.json)).
  - User-mode networking with an SSH forward from V(127.0.0.1):O(ssh_port) to the guest's port 22 (no root,
    no bridge, nothing outside loopback).
  - On creation an SSH key is injected through a cloud-init NoCloud seed (an ISO labelled C(cidata), built in
    Python with pycdlib). The key pair in O(ssh_key_file) is created when missing.
  - Boots the image's own bootloader, or O(kernel)/O(initrd) directly (the base built by
    M(swarmops.core.qemu_base_image) boots that way).
  - Uses KVM when it is usable and TCG (software emulation) otherwise; O(accel=auto) test-boots the kernel
    under KVM first, because nested KVM can open C(/dev/kvm) and still hang a guest. The choice and the reason
    are returned in RV(accel) and RV(accel_message).
  - Tested for real under TCG (Debian's qemu-system-x86 7.2, Debian 12 cloud kernel).
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Decides every action and reports it; nothing is created, started, stopped or removed.
  diff_mode:
    support: full
    details: Before/after of cpus, memory, ssh_port, ports, disk_size and the power state.
  platform:
    platforms: posix
options:
  name:
    description: VM name; also the guest's hostname.
    type: str
    required: true
  state:
    description:
      - V(running) creates if needed and starts; V(present) creates and leaves the power state alone;
        V(stopped) creates if needed and shuts down (ACPI power button, then SIGTERM after O(stop_timeout));
        V(absent) kills the VM and deletes its directory. A directory this module did not create is never touched.
    type: str
    choices: [present, running, stopped, absent]
    default: running
  image:
    description: Disk image the VM's overlay is based on (qcow2 or raw), e.g. the base from
      M(swarmops.core.qemu_base_image) or a downloaded cloud image. Required unless O(state=absent).
      It must stay in place while the VM exists.
    type: path
  kernel:
    description: Kernel to boot directly (C(-kernel)); unset boots the image's bootloader.
    type: path
  initrd:
    description: Initial ramdisk for O(kernel).
    type: path
  append:
    description: Kernel command line for O(kernel).
    type: str
    default: root=/dev/vda rw console=ttyS0
  state_dir:
    description: Directory holding one sub-directory per VM.
    type: path
    default: ~/.swarmops/qemu
  cpus:
    description: Virtual CPUs (applied at the next start).
    type: int
    default: 1
  memory:
    description: Memory in MiB (applied at the next start).
    type: int
    default: 1024
  disk_size:
    description: Minimum size of the VM's disk in MiB; the overlay grows to it (never shrinks). Unset keeps the
      image's size. The guest grows its root filesystem at boot (cloud-init C(resize_rootfs)).
    type: int
  ssh_port:
    description: Port on 127.0.0.1 forwarded to the guest's port 22. Unset picks a free port at creation and keeps it.
    type: int
  ports:
    description: More TCP forwards from 127.0.0.1, as V(HOST:GUEST) (e.g. V(4000:4000) for the app published by
      the swarm). Unset leaves the VM's forwards as they are; V([]) removes them. Applied at the next start.
    type: list
    elements: str
  ssh_user:
    description: User cloud-init creates (passwordless sudo) for the injected key.
    type: str
    default: docker
  ssh_key_file:
    description: Private key whose C(.pub) is injected at first boot; an ed25519 pair is created when missing.
      Unset builds no seed. Only used at creation.
    type: path
  accel:
    description: V(auto) uses KVM when a test guest boots under it, else TCG; V(kvm) fails when KVM is not usable;
      V(tcg) always emulates.
    type: str
    choices: [auto, kvm, tcg]
    default: auto
  nice:
    description: Run QEMU under C(nice -n) this value (V(0) does not).
    type: int
    default: 0
  restart:
    description: Allow stopping a running VM to apply changed cpus, memory, ssh_port or disk_size and start it again.
    type: bool
    default: false
  wait:
    description: When the VM runs, wait for an SSH banner on its 127.0.0.1 port.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for SSH (a first boot under TCG takes minutes).
    type: int
    default: 600
  stop_timeout:
    description: Seconds to wait for an ACPI shutdown before SIGTERM.
    type: int
    default: 60
  qemu:
    description: Path of qemu-system-x86_64; found on the PATH when unset.
    type: path
  qemu_img:
    description: Path of qemu-img; found on the PATH when unset.
    type: path
notes:
  - Compared on every run are cpus, memory, ssh_port, ports (when set) and disk_size; the origin (O(image), O(kernel), O(initrd))
    is checked, never changed; the key, O(append) and the seed are only used at creation.
  - A private network between VMs is not provided yet; each VM reaches the host's loopback at 10.0.2.2.
requirements:
  - qemu-system-x86 and qemu-utils (Debian packages) on the host the module runs on
  - pycdlib (Python, to build the seed ISO) and cryptography (to create the key pair)
"""

EXAMPLES = r"""
- name: docker-machine create myvm1, from the base built from Debian packages
  swarmops.core.qemu_vm:
    name: myvm1
    image: ~/.swarmops/qemu-base/base.qcow2
    kernel: ~/.swarmops/qemu-base/vmlinuz
    initrd: ~/.swarmops/qemu-base/initrd.img
    cpus: 2
    memory: 2048
    disk_size: 10240
    ssh_key_file: ~/.swarmops/qemu/id_ed25519
  register: myvm1

- name: From a downloaded cloud image that boots by itself
  swarmops.core.qemu_vm:
    name: myvm2
    image: /srv/images/debian-12-genericcloud-amd64.qcow2
    ssh_key_file: ~/.swarmops/qemu/id_ed25519

- name: docker-machine rm myvm2
  swarmops.core.qemu_vm:
    name: myvm2
    state: absent
"""

RETURN = r"""
state:
  description: V(running), V(stopped) or V(absent).
  returned: always
  type: str
ssh_host:
  description: Where the ssh forward listens; always V(127.0.0.1).
  returned: always
  type: str
ssh_port:
  description: The forwarded ssh port on 127.0.0.1.
  returned: always
  type: int
  sample: 42317
ssh_user:
  description: The user the injected key logs in as.
  returned: always
  type: str
ssh_key_file:
  description: The private key injected at creation.
  returned: when the VM exists and was created with a key
  type: str
vm_dir:
  description: The VM's directory.
  returned: always
  type: str
console_log:
  description: The guest's serial console, written by QEMU.
  returned: when the VM exists
  type: str
accel:
  description: The accelerator the VM was started with (V(kvm) or V(tcg)).
  returned: when the module started the VM
  type: str
accel_message:
  description: Why that accelerator was chosen.
  returned: when the module started the VM
  type: str
actions:
  description: The planned actions in order (create, settings, stop, resize, start, kill, remove).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.qemu import Tools, ensure
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def run(module):
    params = module.params
    tools = Tools(params["qemu"] or module.get_bin_path("qemu-system-x86_64"),
                  params["qemu_img"] or module.get_bin_path("qemu-img"),
                  lambda cmd: module.run_command(cmd, environ_update=dict(LC_ALL="C")))
    result = ensure(tools, params, module.check_mode)
    if result.get("accel") == "tcg":
        module.warn(result["accel_message"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="running", choices=["present", "running", "stopped", "absent"]),
            image=dict(type="path"),
            kernel=dict(type="path"),
            initrd=dict(type="path"),
            append=dict(type="str", default="root=/dev/vda rw console=ttyS0"),
            state_dir=dict(type="path", default="~/.swarmops/qemu"),
            cpus=dict(type="int", default=1),
            memory=dict(type="int", default=1024),
            disk_size=dict(type="int"),
            ssh_port=dict(type="int"),
            ports=dict(type="list", elements="str"),
            ssh_user=dict(type="str", default="docker"),
            ssh_key_file=dict(type="path", no_log=False),
            accel=dict(type="str", default="auto", choices=["auto", "kvm", "tcg"]),
            nice=dict(type="int", default=0),
            restart=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
            stop_timeout=dict(type="int", default=60),
            qemu=dict(type="path"),
            qemu_img=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
