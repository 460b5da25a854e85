#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_join
short_description: Join this node to a Docker swarm, or leave it
version_added: 0.1.0
description:
  - Joins the engine to the swarm whose managers are O(remote_addrs), as a worker or a
    manager depending on O(join_token) (C(docker swarm join)).
  - Idempotent by checking B(which) swarm the node is in, not merely that it is in one. The
    node counts as a member of the wanted swarm when one of its known managers is one of
    O(remote_addrs) (names are resolved on the node), or, on a manager, when the swarm's root
    CA is the one the token pins. Then nothing changes.
  - A node in a B(different) swarm is an error naming that swarm's managers, unless
    O(rejoin=true), in which case it leaves that swarm (forced) and joins this one.
  - Before joining, connects to port 2377 of each manager from the host the module runs on
    (see O(probe_managers)), so an unreachable manager (refused, no route, or no answer as
    behind a firewall) is reported by address. A refused token is reported as such. A failed
    or timed-out join is cancelled, so the node is left outside any swarm.
  - Waits until the node is active; a node that joins as a manager also waits until the
    managers report it Ready. A worker cannot see the node list. To wait until the managers
    report a worker Ready, and to set node labels (which only a manager can), run
    M(swarmops.core.swarm_node) on a manager, as the P(swarmops.core.swarm#role) role does.
  - A node in the right swarm with another role than O(role) is reported with a warning and
    left alone; promotion and demotion are done from a manager with M(swarmops.core.swarm_node).
  - With O(state=absent), leaves whatever swarm the node is in. A worker leaves without force;
    a manager, or a node whose swarm is locked, only with O(force=true). Without it the module
    fails, saying whether the node is the last manager (leaving erases the swarm), whether
    leaving would cost the swarm its raft quorum, or whether the swarm is locked.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Reads the engine and reports what would change; applies nothing and does not probe the managers.
  diff_mode:
    support: full
    description: Before/after of the membership (state, role, managers); never a token.
options:
  state:
    description: V(present) joins (or confirms); V(absent) leaves.
    type: str
    choices: [present, absent]
    default: present
  join_token:
    description:
      - The worker or manager join token (from M(swarmops.core.swarm_info) or
        M(swarmops.core.swarm_init)). It never appears in the module's output.
      - Required with O(state=present).
    type: str
  remote_addrs:
    description:
      - Addresses of one or more managers of the swarm, C(host) or C(host:port) (port 2377 by default).
      - Required with O(state=present).
    type: list
    elements: str
  role:
    description:
      - The role the token grants. Only used to check an existing membership; a node in the
        right swarm with another role gets a warning. When unset, the role is not checked.
    type: str
    choices: [worker, manager]
  advertise_addr:
    description: Address (or interface) other nodes use to reach this node.
    type: str
  listen_addr:
    description: Address this node listens on for swarm traffic (used by managers).
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description: Address (or interface) for overlay network (VXLAN) traffic.
    type: str
  availability:
    description:
      - Availability the node joins with. Later changes are made from a manager with
        M(swarmops.core.swarm_node).
    type: str
    choices: [active, pause, drain]
  rejoin:
    description:
      - Leave a different swarm the node is in and join this one.
      - A node that manages the other swarm (or whose swarm is locked) leaves it only with
        O(force=true) as well.
    type: bool
    default: false
  force:
    description:
      - Let a manager, or a node of a locked swarm, leave (C(docker swarm leave --force)), with
        O(state=absent) or O(rejoin=true). The last manager leaving erases its swarm; a manager
        leaving may cost the swarm its raft quorum.
    type: bool
    default: false
  join_timeout:
    description: Seconds to wait for the node to become active (and Ready, for a manager) after joining.
    type: int
    default: 60
  probe_managers:
    description:
      - TCP-probe the managers from the host the module runs on before joining.
      - V(auto) probes when O(docker_host) is a C(unix://) socket (the module runs on the node,
        so it shares the engine's network) and skips the probe for C(tcp://) and C(ssh://),
        whose engine sees another network. Without a probe, an unreachable manager is reported
        from the engine's own error after its join timeout (about 20 s).
    type: str
    choices: [auto, always, never]
    default: auto
  probe_timeout:
    description: Seconds each TCP probe of a manager address may take before it counts as firewalled.
    type: int
    default: 5
seealso:
  - module: swarmops.core.swarm_init
  - module: swarmops.core.swarm_info
  - module: swarmops.core.swarm_node
"""

EXAMPLES = r"""
- name: Read the worker token on the first manager (kept out of the output)
  swarmops.core.swarm_info:
    join_tokens: true
  delegate_to: "{{ groups.swarm_managers[0] }}"
  run_once: true
  register: swarm_facts
  no_log: true

- name: Join as a worker
  swarmops.core.swarm_join:
    join_token: "{{ swarm_facts.join_tokens.worker }}"
    remote_addrs: ["{{ hostvars[groups.swarm_managers[0]].ansible_host }}:2377"]
    advertise_addr: "{{ ansible_default_ipv4.address }}"
    role: worker

- name: Leave whatever swarm this node is in
  swarmops.core.swarm_join:
    state: absent
    force: true
"""

RETURN = r"""
node_id:
  description: ID of this node in the swarm (null when outside one, or in check mode before a join).
  returned: always
  type: str
role:
  description: V(worker) or V(manager), as the node reports itself; null outside a swarm.
  returned: always
  type: str
swarm_id:
  description: ID of the swarm; only known on a manager (workers cannot read it).
  returned: always
  type: str
manager_addrs:
  description: Swarm addresses (ip:port) of the managers the node knows.
  returned: always
  type: list
  elements: str
local_node_state:
  description: V(inactive), V(active), V(pending), V(error) or V(locked).
  returned: always
  type: str
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [leave, join]
unreachable:
  description: Manager addresses that did not answer the TCP probe, and why.
  returned: on failure to reach a manager
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils import swarm
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS, docker_host_from
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def probe_timeout(params):
    """0 (no probe) unless this host shares the engine's network, or the user insists."""
    if params["probe_managers"] == "never":
        return 0
    local = docker_host_from(params).startswith("unix://")
    return params["probe_timeout"] if params["probe_managers"] == "always" or local else 0


def run(module):
    params = module.params
    client = connect(params, direct_reads=True)
    actual = swarm.read(client)
    resolved = swarm.resolve_addrs(params["remote_addrs"] or [])
    plan = swarm.diff_join(actual, params, resolved)
    for warning in plan.warnings:
        module.warn(warning)
    if plan and not module.check_mode:
        swarm.apply(client, plan, params["join_timeout"], probe_timeout(params))
        actual = swarm.read(client)
    result = dict(
        changed=bool(plan), actions=plan.summary(), node_id=actual.node_id, role=actual.role,
        swarm_id=actual.swarm_id, manager_addrs=actual.manager_addrs, local_node_state=actual.state)
    if module._diff:
        result["diff"] = plan.diff()
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            state=dict(type="str", default="present", choices=["present", "absent"]),
            join_token=dict(type="str", no_log=True),
            remote_addrs=dict(type="list", elements="str"),
            role=dict(type="str", choices=["worker", "manager"]),
            advertise_addr=dict(type="str"),
            listen_addr=dict(type="str", default="0.0.0.0:2377"),
            data_path_addr=dict(type="str"),
            availability=dict(type="str", choices=["active", "pause", "drain"]),
            rejoin=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            join_timeout=dict(type="int", default=60),
            probe_managers=dict(type="str", default="auto", choices=["auto", "always", "never"]),
            probe_timeout=dict(type="int", default=5),
        ),
        required_if=[("state", "present", ("join_token", "remote_addrs"))],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
