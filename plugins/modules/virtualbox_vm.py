#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: virtualbox_vm
short_description: A VirtualBox VM built the way docker-machine's virtualbox driver built it
version_added: 0.1.0
description:
  - Drives C(VBoxManage) on the host the module runs on (usually the controller, C(localhost)).
  - Creates the VM by importing an OVA/OVF (O(ova)) or cloning a base VM (O(base_vm), optionally as a
    linked clone), sets O(cpus), O(memory) and a minimum O(disk_size).
  - NIC 1 is NAT with an C(ssh) port forward from V(127.0.0.1) to the guest's port 22; NIC 2 is host-only
    on a network the module ensures (docker-machine's default V(192.168.99.1/24) with a DHCP server
    leasing from .100, so the first VM gets V(192.168.99.100)).
  - On creation an SSH key is injected through a cloud-init NoCloud seed ISO (volume label C(cidata)), built
    in Python with pycdlib, no shell tools. The key pair in O(ssh_key_file) is created when missing.
    The image must run cloud-init (Debian/Ubuntu cloud images do).
  - Starts headless, waits for an SSH banner on the 127.0.0.1 forwarded port, and returns the uuid, state,
    forwarded port and the host-only address (guest property C(/VirtualBox/GuestInfo/Net/1/V4/IP), NIC 2;
    C(Net/0) is the NAT NIC), falling back to the host-only DHCP server's lease when the guest has no
    Guest Additions.
  - The VM records where it came from (VM extra data C(swarmops/definition)); a VM of the same name with
    another origin, or not made by this module, is an error, never taken over.
  - B(Tested here against a simulated VBoxManage only) (C(tests/fakes/VBoxManage) in the collection's
    source), because VirtualBox cannot run on the machines this collection is developed and tested on.
    See C(docs/virtualbox.md) for what a run on a real VirtualBox host should check.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Decides every action and reports it; nothing is imported, changed, started or waited for.
  diff_mode:
    support: full
    details: Before/after of the compared settings (cpus, memory, ssh_port, NICs, disk_size) and the power state.
  platform:
    platforms: posix
options:
  name:
    description: VM name (C(docker-machine create NAME)).
    type: str
    required: true
  state:
    description:
      - V(running) creates if needed and starts; V(present) creates (powered off) and leaves the power state alone;
        V(stopped) creates if needed and powers off (ACPI shutdown, then a hard power-off after O(stop_timeout));
        V(absent) powers off and unregisters the VM, deleting its disks (C(docker-machine rm)); a VM this module did
        not create is never removed.
    type: str
    choices: [present, running, stopped, absent]
    default: running
  ova:
    description: OVA or OVF appliance to import (one virtual system). Mutually exclusive with O(base_vm).
    type: path
  base_vm:
    description: Name of a registered VM to clone. Mutually exclusive with O(ova).
    type: str
  linked_clone:
    description: Clone O(base_vm) as a linked clone from snapshot O(base_snapshot) (taken when missing).
    type: bool
    default: false
  base_snapshot:
    description: Snapshot of O(base_vm) a linked clone starts from.
    type: str
    default: swarmops-base
  base_folder:
    description: Folder the VM's directory is created in (VBoxManage C(--basefolder)); VirtualBox's default when unset.
    type: path
  cpus:
    description: Virtual CPUs.
    type: int
    default: 1
  memory:
    description: Memory in MB (docker-machine's default was 1024).
    type: int
    default: 1024
  disk_size:
    description: Minimum size of the VM's first disk in MB; the disk grows to it (VirtualBox disks never shrink).
      Unset leaves the image's size.
    type: int
  ssh_port:
    description: Host port on 127.0.0.1 forwarded to the guest's port 22. When unset, a free port is picked at
      creation and kept afterwards.
    type: int
  ssh_user:
    description: User cloud-init creates (with passwordless sudo) for the injected key.
    type: str
    default: docker
  ssh_key_file:
    description: Private key whose C(.pub) is injected at first boot; an ed25519 pair is created when the file is
      missing. Unset injects no key (no seed ISO). Only used when the VM is created.
    type: path
  hostonly_cidr:
    description: Host side address and prefix of the host-only network (docker-machine's C(--virtualbox-hostonly-cidr)).
      An existing host-only interface with this address is reused, otherwise one is created.
    type: str
    default: 192.168.99.1/24
  restart:
    description: Allow powering a running VM off to change cpus, memory, NICs, ssh_port or disk_size, and start it again.
      Without it such a change on a running VM is an error.
    type: bool
    default: false
  wait:
    description: After starting, wait until SSH answers on the forwarded 127.0.0.1 port and the host-only address is known.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for SSH and the host-only address.
    type: int
    default: 300
  stop_timeout:
    description: Seconds to wait for an ACPI shutdown before a hard power-off.
    type: int
    default: 60
  vboxmanage:
    description: Path of VBoxManage; found on the PATH when unset.
    type: path
notes:
  - Settings compared on every run are cpus, memory, ssh_port, the two NICs and disk_size; the ssh key, the seed ISO
    and the origin are only used at creation (the origin is checked, never changed).
  - The host-only network comes from VBoxManage C(hostonlyif)/C(dhcpserver) (host-only interfaces); VirtualBox 7 on
    macOS/ARM host-only networks (C(hostonlynet)) are not handled.
requirements:
  - VirtualBox 6.1 or later (VBoxManage) on the host the module runs on
  - pycdlib (Python, to build the seed ISO) and cryptography (to create the key pair)
seealso:
  - name: docker-machine's virtualbox driver
    description: The behaviour this module reproduces.
    link: https://github.com/docker/machine
"""

EXAMPLES = r"""
- name: docker-machine create --driver virtualbox myvm1, from a Debian cloud image
  swarmops.core.virtualbox_vm:
    name: myvm1
    ova: /srv/images/debian-12-generic-amd64.ova
    cpus: 2
    memory: 2048
    disk_size: 20000
    ssh_key_file: ~/.swarmops/virtualbox/id_ed25519
  register: myvm1

- name: A worker as a linked clone of a prepared base VM
  swarmops.core.virtualbox_vm:
    name: myvm2
    base_vm: debian-base
    linked_clone: true
    ssh_key_file: ~/.swarmops/virtualbox/id_ed25519

- name: docker-machine stop myvm2
  swarmops.core.virtualbox_vm:
    name: myvm2
    state: stopped
    base_vm: debian-base
    linked_clone: true

- name: docker-machine rm myvm2
  swarmops.core.virtualbox_vm:
    name: myvm2
    state: absent
"""

RETURN = r"""
uuid:
  description: The VM's UUID (null when absent).
  returned: always
  type: str
state:
  description: VirtualBox's VMState (V(running), V(poweroff), V(saved), ...) or V(absent).
  returned: always
  type: str
ssh_host:
  description: Where the ssh port forward listens; always V(127.0.0.1).
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
  returned: when ssh_key_file is set and the VM exists
  type: str
hostonly_ip:
  description: The host-only NIC's address (C(docker-machine ip)); null when the VM is not running or reports none.
  returned: always
  type: str
  sample: 192.168.99.100
hostonly_interface:
  description: The host-only interface NIC 2 is attached to.
  returned: always
  type: str
  sample: vboxnet0
actions:
  description: The planned actions in order (create_hostonlyif, add_dhcpserver, create, modify, resize, seed, stop, start, poweroff, unregister).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.virtualbox import VBoxManage, ensure


def run(module):
    binary = module.params["vboxmanage"] or module.get_bin_path("VBoxManage")
    vbox = VBoxManage(binary, lambda args: module.run_command(args, environ_update=dict(LC_ALL="C")))
    return ensure(vbox, module.params, module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="running", choices=["present", "running", "stopped", "absent"]),
            ova=dict(type="path"),
            base_vm=dict(type="str"),
            linked_clone=dict(type="bool", default=False),
            base_snapshot=dict(type="str", default="swarmops-base"),
            base_folder=dict(type="path"),
            cpus=dict(type="int", default=1),
            memory=dict(type="int", default=1024),
            disk_size=dict(type="int"),
            ssh_port=dict(type="int"),
            ssh_user=dict(type="str", default="docker"),
            ssh_key_file=dict(type="path", no_log=False),
            hostonly_cidr=dict(type="str", default="192.168.99.1/24"),
            restart=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
            stop_timeout=dict(type="int", default=60),
            vboxmanage=dict(type="path"),
        ),
        mutually_exclusive=[("ova", "base_vm")],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
