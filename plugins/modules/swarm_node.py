#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_node
short_description: Set a swarm node's labels, availability and role from a manager; wait until it is Ready
version_added: 0.1.0
description:
  - Runs on (or with O(docker_host) points at) a swarm B(manager), because only managers can
    change nodes (C(docker node update), C(docker node promote/demote), C(docker node rm)).
  - Changes only what differs; node labels are merged into the current ones unless
    O(labels_state=replace).
  - With O(wait=true), waits until the managers report the node Ready and fails with the
    node's state and message after O(wait_timeout) seconds.
  - With O(nodes), sets several nodes in one call (one module run on the manager instead of one
    per node, and one wait for all of them).
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Reports what would change and applies nothing; does not wait.
  diff_mode:
    support: full
    description: Before/after of the node's role, availability and labels.
options:
  node:
    description:
      - Hostname, node ID or unique ID prefix of the node.
      - Required unless O(nodes) is given; not with O(nodes).
    type: str
  nodes:
    description:
      - Several nodes, each with its own O(nodes[].labels), O(nodes[].availability) and O(nodes[].role);
        O(state), O(labels_state), O(force), O(wait) and O(wait_timeout) apply to every one.
      - Every item is looked up and compared before any node changes, so a missing, ambiguous
        or repeated node fails the call (naming the item) and changes nothing.
      - With O(wait=true), one wait covers all the nodes; the error names every node not Ready.
      - Not with O(node).
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      node:
        description: Hostname, node ID or unique ID prefix of the node.
        type: str
        required: true
      labels:
        description: As O(labels), for this node.
        type: dict
      availability:
        description: As O(availability), for this node.
        type: str
        choices: [active, pause, drain]
      role:
        description: As O(role), for this node.
        type: str
        choices: [worker, manager]
  state:
    description: V(present) updates the node; V(absent) removes it from the swarm's node list (C(docker node rm)).
    type: str
    choices: [present, absent]
    default: present
  labels:
    description: Node labels (values are strings).
    type: dict
  labels_state:
    description: V(merge) adds and updates the given labels; V(replace) also removes the others.
    type: str
    choices: [merge, replace]
    default: merge
  availability:
    description: Whether the scheduler may place tasks on the node.
    type: str
    choices: [active, pause, drain]
  role:
    description: V(manager) promotes, V(worker) demotes.
    type: str
    choices: [worker, manager]
  force:
    description: With O(state=absent), remove a node that is not Down (it is dropped from the swarm).
    type: bool
    default: false
  wait:
    description: Wait until the node is Ready (after any change).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for Ready.
    type: int
    default: 60
seealso:
  - module: swarmops.core.swarm_join
  - module: swarmops.core.swarm_info
"""

EXAMPLES = r"""
- name: Label a worker and wait until it is Ready, from the first manager
  swarmops.core.swarm_node:
    node: "{{ swarm_join_result.node_id }}"
    labels: {zone: a}
    availability: active
  delegate_to: "{{ groups.swarm_managers[0] }}"

- name: Set every node of a new swarm in one call, then wait until all are Ready
  swarmops.core.swarm_node:
    nodes:
      - node: worker1
        labels: {zone: a}
      - node: worker2
        availability: drain
      - node: manager2
        role: manager
  delegate_to: "{{ groups.swarm_managers[0] }}"
  run_once: true
"""

RETURN = r"""
node:
  description: The node as C(docker node ls) shows it (see M(swarmops.core.swarm_info) RV(swarmops.core.swarm_info#module:nodes)).
  returned: when the node exists
  type: dict
actions:
  description: V(update_node), V(remove), or nothing; with O(nodes), the actions of every node in turn.
  returned: always
  type: list
  elements: str
nodes:
  description:
    - One entry per item of O(nodes), in order; the item's O(nodes[].node) as C(node), its C(actions),
      and, when the node exists and O(state=present), its row as in RV(node).
  returned: with O(nodes)
  type: list
  elements: dict
  sample:
    - node: worker1
      actions: [update_node]
      id: 2fy5g6mjzqs3wl8ot7vyvlmzb
      hostname: worker1
      status: Ready
      availability: Active
      labels: {zone: a}
swarm:
  description:
    - The swarm after the changes (read again at the end), as M(swarmops.core.swarm_info) reports it
      in RV(swarmops.core.swarm_info#module:swarm_id), RV(swarmops.core.swarm_info#module:manager_addrs)
      and RV(swarmops.core.swarm_info#module:nodes) (every node of the swarm).
    - A play that sets nodes then needs no second module run to read the swarm.
  returned: with O(nodes)
  type: dict
  contains:
    swarm_id:
      description: The swarm's ID.
      type: str
    manager_addrs:
      description: The managers' addresses.
      type: list
      elements: str
    nodes:
      description: One row per node of the swarm, by hostname.
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils import swarm
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def run(module):
    params = module.params
    client = connect(params, direct_reads=True)
    actual = swarm.read(client)
    if not actual.is_manager:
        raise SwarmOpsError("swarm_node must run on a swarm manager; %s is %s." % (
            actual.hostname, "a worker" if actual.state == "active" else "in no swarm (%s)" % actual.state))
    if params["nodes"] is None:
        return swarm.set_node(client, actual.nodes, params, module.check_mode, module._diff)
    result = swarm.set_nodes(client, actual.nodes, params, module.check_mode, module._diff)
    result["swarm"] = swarm.cluster_view(swarm.read(client))  # as the changes left it
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            node=dict(type="str"),
            nodes=dict(type="list", elements="dict", options=dict(
                node=dict(type="str", required=True),
                labels=dict(type="dict"),
                availability=dict(type="str", choices=["active", "pause", "drain"]),
                role=dict(type="str", choices=["worker", "manager"]),
            )),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            labels=dict(type="dict"),
            labels_state=dict(type="str", default="merge", choices=["merge", "replace"]),
            availability=dict(type="str", choices=["active", "pause", "drain"]),
            role=dict(type="str", choices=["worker", "manager"]),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=60),
        ),
        mutually_exclusive=[("node", "nodes")],
        required_one_of=[("node", "nodes")],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
