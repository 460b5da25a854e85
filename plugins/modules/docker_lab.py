#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_lab
short_description: Containers on the local Docker Engine that behave like fresh hosts
version_added: 0.1.0
description:
  - Ensures a lab of containers that act as hosts (what kind is to Kubernetes) on a Docker Engine,
    with one bridge network with fixed addresses, and per host a container running systemd as PID 1
    with sshd and python3, C(/var/lib/docker) on a volume, sshd published on 127.0.0.1.
  - Uses the flag set that runs systemd and a nested Docker Engine without C(--privileged)
    (all capabilities but SYS_RESOURCE, seccomp and AppArmor unconfined, all devices, host cgroup namespace).
  - The SSH public key is written to C(/root/.ssh/authorized_keys) before the container starts.
  - A host whose definition changed is recreated (its C(/var/lib/docker) volume is kept); a stopped host is started.
  - Before creating anything, checks that every published port is free on the host and fails naming it.
  - With O(prune=false) (what the P(swarmops.core.lab_hosts#role) role passes when the play
    runs with C(--limit)), only the hosts in O(hosts) are created, changed or removed; every
    other host of the lab is left as it is.
requirements:
  - docker >= 6.0.0 (the Docker SDK for Python) where the module runs (the controller); the lab
    hosts' containers need its C(cgroupns) option.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the lab before and after.
options:
  name:
    description: Lab name; prefixes the network C(<name>-net), containers C(<name>-<host>) and volumes.
    type: str
    default: swarmops
  state:
    description:
      - V(present) creates and starts the lab; V(absent) removes its containers, volumes and network.
      - With O(prune=false), V(absent) removes only the hosts in O(hosts) (containers and
        volumes), and the network once no other host of the lab is left.
    type: str
    choices: [present, absent]
    default: present
  image:
    description: The node image (systemd, sshd, python3). Required with O(state=present).
    type: str
  subnet:
    description: Subnet of the lab's bridge network; its first address is the gateway.
    type: str
    default: 172.30.0.0/24
  ssh_public_key:
    description: OpenSSH public key allowed to log in as root. Required with O(state=present).
    type: str
  prune:
    description:
      - V(true) makes the lab exactly O(hosts) - a lab host not listed is removed - and
        O(state=absent) removes the whole lab.
      - V(false) touches only the hosts listed in O(hosts). A subnet change (which recreates every
        host) then fails, naming the hosts outside the list.
    type: bool
    default: true
  hosts:
    description: The lab hosts.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Host (and container host) name.
        type: str
        required: true
      address:
        description: Fixed address on the lab network.
        type: str
        required: true
      ssh_port:
        description: Port on 127.0.0.1 that forwards to the host's sshd.
        type: int
        required: true
      published_ports:
        description:
          - More ports, C([IP:]HOST_PORT:CONTAINER_PORT[/PROTO]); IP defaults to 127.0.0.1.
        type: list
        elements: str
        default: []
"""

EXAMPLES = r"""
- name: Three lab hosts
  swarmops.core.docker_lab:
    name: swarmops
    image: swarmops/lab-node:bookworm
    ssh_public_key: "{{ lookup('ansible.builtin.file', '~/.swarmops/labs/swarmops/id_ed25519.pub') }}"
    hosts:
      - {name: manager1, address: 172.30.0.11, ssh_port: 2221, published_ports: ["4000:4000", "8080:8080"]}
      - {name: worker1, address: 172.30.0.12, ssh_port: 2222}
      - {name: worker2, address: 172.30.0.13, ssh_port: 2223}

- name: Remove the lab
  swarmops.core.docker_lab:
    name: swarmops
    state: absent

- name: Remove worker2 only; the rest of the lab stays
  swarmops.core.docker_lab:
    name: swarmops
    state: absent
    prune: false
    hosts:
      - {name: worker2, address: 172.30.0.13, ssh_port: 2223}
"""

RETURN = r"""
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample: [{action: create, kind: network, name: swarmops-net}, {action: create, kind: container, name: manager1}]
hosts:
  description: The lab hosts as created.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{name: manager1, container: swarmops-manager1, address: 172.30.0.11, ssh_port: 2221}]
network:
  description: Name of the lab network.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils import lab
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def run(module):
    params = module.params
    present = params["state"] == "present"
    desired = lab.build(params) if present else dict(
        name=params["name"], network=lab.network_name(params["name"]), hosts=params["hosts"])
    client = connect(params, min_sdk="6.0.0")  # cgroupns for the lab containers
    actual = lab.read(client, params["name"])
    plan = lab.plan(actual, desired, params["state"], params["prune"])
    busy = lab.ports_in_use(plan, actual)
    if busy:
        raise SwarmOpsError("Port(s) already in use on this machine: %s. Free them or change the lab "
                            "definition (ssh_port / published_ports)." % ", ".join(busy))
    if plan and not module.check_mode:
        lab.apply(client, params["name"], desired, actual, plan, params["ssh_public_key"])
    result = dict(changed=bool(plan), actions=plan.summary(), network=desired["network"])
    if present:
        result["hosts"] = [dict(name=h["name"], container=h["container"], address=h["address"],
                                ssh_port=h["ssh_port"]) for h in desired["hosts"]]
    if module._diff:
        result["diff"] = plan.diff()
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            name=dict(type="str", default="swarmops"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            image=dict(type="str"),
            subnet=dict(type="str", default="172.30.0.0/24"),
            ssh_public_key=dict(type="str", no_log=False),
            prune=dict(type="bool", default=True),
            hosts=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                address=dict(type="str", required=True),
                ssh_port=dict(type="int", required=True),
                published_ports=dict(type="list", elements="str", default=[]),
            )),
        ),
        required_if=[("state", "present", ("image", "ssh_public_key"))],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
