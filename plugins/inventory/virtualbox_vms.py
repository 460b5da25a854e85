# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: virtualbox_vms
short_description: The VirtualBox VMs swarmops.core.virtualbox_vm made, with their SSH forward and host-only address
version_added: 0.1.0
description:
  - Lists the VMs registered in VirtualBox on the controller (C(VBoxManage list vms)), like C(docker-machine ls),
    and sets what Ansible needs to reach each one through its NAT port forward on 127.0.0.1.
  - Host variables set - C(ansible_host) (V(127.0.0.1)), C(ansible_port) (the forwarded ssh port),
    C(ansible_user) and C(ansible_ssh_private_key_file) (as recorded at creation), C(virtualbox_uuid),
    C(virtualbox_state), C(virtualbox_ssh_port), C(virtualbox_hostonly_interface) and C(virtualbox_hostonly_ip)
    (guest property C(/VirtualBox/GuestInfo/Net/1/V4/IP), else the host-only DHCP lease; null when not running).
  - Hosts join O(group). Combine it with a static file in the same inventory directory that puts the same host
    names into swarm_managers/swarm_workers (see inventories/virtualbox in the collection's source).
  - The configuration file name must end in C(virtualbox_vms.yml) or C(virtualbox_vms.yaml).
  - B(Tested here against a simulated VBoxManage only), because VirtualBox cannot run on the machines this
    collection is developed and tested on.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [swarmops.core.virtualbox_vms]
    type: str
  vboxmanage:
    description: Path of VBoxManage; found on the PATH when unset.
    type: path
  managed_only:
    description: Only VMs created by swarmops.core.virtualbox_vm (they carry the extra data C(swarmops/definition)).
    type: bool
    default: true
  names:
    description: Only these VM names (all VMs when empty).
    type: list
    elements: str
    default: []
  group:
    description: Group every listed VM joins.
    type: str
    default: virtualbox_vms
"""

EXAMPLES = r"""
# inventories/virtualbox/virtualbox_vms.yml
plugin: swarmops.core.virtualbox_vms
names: [myvm1, myvm2]
keyed_groups:
  - key: virtualbox_state
    prefix: vbox
# then `ansible-inventory -i inventories/virtualbox --graph --vars` is `docker-machine ls`
"""

import os
import shutil
import subprocess

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from ansible_collections.swarmops.core.plugins.module_utils.virtualbox import (
    SSH_KEY_FILE_KEY,
    SSH_USER_KEY,
    VBoxManage,
    hostonly_address,
    parse_value,
    parse_vm_list,
    read_vm,
)


def _run(args):
    proc = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"), check=False)
    return proc.returncode, proc.stdout, proc.stderr


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "swarmops.core.virtualbox_vms"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("virtualbox_vms.yml", "virtualbox_vms.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            self._populate(VBoxManage(self.get_option("vboxmanage") or shutil.which("VBoxManage"), _run))
        except SwarmOpsError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc))

    def _populate(self, vbox):
        group = self.inventory.add_group(self.get_option("group"))
        wanted = set(self.get_option("names"))
        strict = self.get_option("strict")
        for name in parse_vm_list(vbox("list", "vms")):
            if wanted and name not in wanted:
                continue
            actual, _ = read_vm(vbox, name)
            if actual is None or (self.get_option("managed_only") and actual["definition"] is None):
                continue
            running = actual["state"] == "running"
            address = hostonly_address(vbox, name, actual["hostonly_adapter"], actual["mac2"], 0) if running else None
            hostvars = dict(
                ansible_host="127.0.0.1",
                virtualbox_uuid=actual["uuid"],
                virtualbox_state=actual["state"],
                virtualbox_ssh_port=actual["ssh_port"],
                virtualbox_hostonly_interface=actual["hostonly_adapter"],
                virtualbox_hostonly_ip=address,
            )
            if actual["ssh_port"]:
                hostvars["ansible_port"] = actual["ssh_port"]
            user = parse_value(vbox("getextradata", name, SSH_USER_KEY))
            key_file = parse_value(vbox("getextradata", name, SSH_KEY_FILE_KEY))
            if user:
                hostvars["ansible_user"] = user
            if key_file:
                hostvars["ansible_ssh_private_key_file"] = key_file
            self.inventory.add_host(name, group=group)
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
