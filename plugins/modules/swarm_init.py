#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_init
short_description: Create a Docker swarm on this node, keep its settings, or leave it
version_added: 0.1.0
description:
  - With O(state=present), makes the engine the first manager of a new swarm
    (C(docker swarm init)); on a node that already manages a swarm, changes nothing unless a
    setting differs, and then updates the swarm in place (C(docker swarm update)).
  - On a worker, or on a node that is still trying to join a swarm, fails with a clear
    message and changes nothing.
  - With O(state=absent), leaves the swarm. A manager leaves only with O(force=true); without
    it the module fails, saying whether the node is the last manager (leaving erases the swarm),
    whether leaving would cost the swarm its raft quorum, or whether the swarm is locked.
  - A swarm this module creates carries the label C(io.swarmops.formed-by=swarmops.core) in
    its spec, so a teardown on any controller can tell it from a swarm it found
    (RV(swarmops.core.swarm_info#module:formed_by_swarmops)).
  - Settings you leave unset are not compared. O(default_addr_pool), O(subnet_size) and
    O(data_path_port) are fixed when a swarm is created; on an existing swarm a difference
    is a warning. O(advertise_addr), O(listen_addr) and O(data_path_addr) are used only when
    the swarm is created.
  - Join tokens are secrets. They are returned only with O(return_join_tokens=true); run such
    a task with C(no_log=true). The P(swarmops.core.swarm#role) role reads them with
    M(swarmops.core.swarm_info) in a C(no_log) task instead, so its init task can show its
    result and diff.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Reads the engine and reports what would change; applies nothing.
  diff_mode:
    support: full
    description: Before/after of the membership and the managed settings; never a token.
options:
  state:
    description: V(present) creates the swarm or keeps it; V(absent) leaves it (see O(force)).
    type: str
    choices: [present, absent]
    default: present
  advertise_addr:
    description:
      - Address (or interface name) other nodes use to reach this manager, with an optional
        port (C(10.0.0.1:2377), C(eth1)). The engine picks one when unset.
    type: str
  listen_addr:
    description: Address the manager listens on for swarm traffic.
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description: Address (or interface) for overlay network (VXLAN) traffic.
    type: str
  data_path_port:
    description: UDP port for VXLAN traffic (the engine's default is 4789). Creation only.
    type: int
  default_addr_pool:
    description: Address pools (CIDRs) overlay networks are allocated from. Creation only.
    type: list
    elements: str
  subnet_size:
    description: Prefix length of the subnets taken from O(default_addr_pool). Creation only.
    type: int
  autolock:
    description:
      - Lock the managers' raft data with a key that must be given after an engine restart
        (C(docker swarm unlock)). Read the key with M(swarmops.core.swarm_info) O(swarmops.core.swarm_info#module:unlock_key=true).
    type: bool
  task_history_limit:
    description: How many finished tasks per service slot the swarm keeps.
    type: int
  node_cert_expiry:
    description: Validity of node certificates, a duration such as C(2160h) or C(90d).
    type: str
  snapshot_interval:
    description: Raft log entries between snapshots.
    type: int
  dispatcher_heartbeat:
    description: Heartbeat period of the nodes, a duration such as C(5s).
    type: str
  rotate_worker_token:
    description: Rotate the worker join token. Reports a change every time it is set.
    type: bool
    default: false
  rotate_manager_token:
    description: Rotate the manager join token. Reports a change every time it is set.
    type: bool
    default: false
  rotate_unlock_key:
    description: Rotate the unlock key of an autolocked swarm. Reports a change every time it is set.
    type: bool
    default: false
  force_new_cluster:
    description:
      - Recovery after a lost quorum; re-creates a single-manager swarm from this manager's
        state, keeping services and nodes. Reports a change every time it is set, so use it
        once, then remove it.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), leave even when the node is the last manager (which erases the
        swarm), when leaving loses the raft quorum, or when the swarm is locked
        (C(docker swarm leave --force)). Without it those cases fail and nothing changes.
    type: bool
    default: false
  return_join_tokens:
    description:
      - Return the worker and manager join tokens as RV(join_tokens).
      - Anyone who reads them can join the swarm; use with C(no_log=true) on the task.
    type: bool
    default: false
notes:
  - Only the local node is inspected, so the module is idempotent on its own; to change a
    node's role, availability or labels use M(swarmops.core.swarm_node).
seealso:
  - module: swarmops.core.swarm_join
  - module: swarmops.core.swarm_info
  - module: swarmops.core.swarm_node
"""

EXAMPLES = r"""
- name: Create the swarm on the first manager
  swarmops.core.swarm_init:
    advertise_addr: "{{ ansible_default_ipv4.address }}"
    task_history_limit: 5
    node_cert_expiry: 2160h

- name: Read the join tokens (kept out of the output)
  swarmops.core.swarm_init:
    return_join_tokens: true
  register: swarm
  no_log: true

- name: Drive the engine of a remote host from the controller
  swarmops.core.swarm_init:
    docker_host: ssh://root@node1
  delegate_to: localhost

- name: Leave the swarm, even as its last manager (erases it)
  swarmops.core.swarm_init:
    state: absent
    force: true
"""

RETURN = r"""
swarm_id:
  description: ID of the swarm; null when the node is in none (or only would be, in check mode).
  returned: always
  type: str
  sample: 7slnq5whmorcxdrcmrea5vpzj
node_id:
  description: ID of this node in the swarm.
  returned: always
  type: str
manager_addrs:
  description: Swarm addresses (ip:port) of all managers.
  returned: always
  type: list
  elements: str
  sample: [10.231.0.10:2377]
local_node_state:
  description: V(inactive), V(active), V(pending), V(error) or V(locked).
  returned: always
  type: str
settings:
  description: The swarm settings this module manages, as the engine reports them.
  returned: always
  type: dict
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [update]
join_tokens:
  description: The join tokens. Secrets; only with O(return_join_tokens=true).
  returned: when O(return_join_tokens=true) and the node manages a swarm
  type: dict
  contains:
    worker:
      description: Token that joins a node as a worker.
      type: str
    manager:
      description: Token that joins a node as a manager.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils import swarm
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def run(module):
    params = module.params
    client = connect(params, direct_reads=True)
    actual = swarm.read(client)
    plan = swarm.diff_init(actual, swarm.build_init(params), params)
    for warning in plan.warnings:
        module.warn(warning)
    if plan and not module.check_mode:
        swarm.apply(client, plan)
        actual = swarm.read(client)
    result = dict(
        changed=bool(plan), actions=plan.summary(), swarm_id=actual.swarm_id,
        node_id=actual.node_id, manager_addrs=actual.manager_addrs,
        local_node_state=actual.state, settings=swarm.settings_view(actual))
    if module._diff:
        result["diff"] = plan.diff()
    if params["return_join_tokens"] and actual.tokens:
        result["join_tokens"] = dict(worker=actual.tokens["Worker"], manager=actual.tokens["Manager"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            state=dict(type="str", default="present", choices=["present", "absent"]),
            advertise_addr=dict(type="str"),
            listen_addr=dict(type="str", default="0.0.0.0:2377"),
            data_path_addr=dict(type="str"),
            data_path_port=dict(type="int"),
            default_addr_pool=dict(type="list", elements="str"),
            subnet_size=dict(type="int"),
            autolock=dict(type="bool"),
            task_history_limit=dict(type="int"),
            node_cert_expiry=dict(type="str"),
            snapshot_interval=dict(type="int"),
            dispatcher_heartbeat=dict(type="str"),
            rotate_worker_token=dict(type="bool", default=False, no_log=False),
            rotate_manager_token=dict(type="bool", default=False, no_log=False),
            rotate_unlock_key=dict(type="bool", default=False, no_log=False),
            force_new_cluster=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            return_join_tokens=dict(type="bool", default=False, no_log=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
