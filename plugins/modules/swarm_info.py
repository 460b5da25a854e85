#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_info
short_description: Read this node's swarm membership, the swarm's nodes and, on request, its secrets
version_added: 0.1.0
description:
  - Read-only. Reports whether the engine is in a swarm and in which role; on a manager also
    the swarm ID, the managers and a C(docker node ls)-like list of all nodes.
  - With O(join_tokens=true) or O(unlock_key=true) also returns those secrets (managers only).
    Run such a task with C(no_log=true).
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
  - swarmops.core.attributes.info_module
options:
  join_tokens:
    description: Return the worker and manager join tokens (secrets) as RV(join_tokens).
    type: bool
    default: false
  unlock_key:
    description: Return the unlock key of an autolocked swarm (a secret) as RV(unlock_key).
    type: bool
    default: false
seealso:
  - module: swarmops.core.swarm_init
  - module: swarmops.core.swarm_join
author:
  - swarmops maintainers (@swarmops)
"""

EXAMPLES = r"""
- name: List the nodes, like docker node ls
  swarmops.core.swarm_info:
  register: swarm

- name: Read the join tokens without showing them
  swarmops.core.swarm_info:
    join_tokens: true
  register: swarm_secrets
  no_log: true

- name: Ask a remote engine from the controller, over SSH
  swarmops.core.swarm_info:
    docker_host: ssh://root@node1:22
  delegate_to: localhost
"""

RETURN = r"""
local_node_state:
  description: V(inactive), V(active), V(pending), V(error) or V(locked).
  returned: always
  type: str
role:
  description: V(manager) or V(worker) while the node is active in a swarm, else null.
  returned: always
  type: str
node_id:
  description: ID of this node.
  returned: always
  type: str
hostname:
  description: The engine's host name.
  returned: always
  type: str
engine_version:
  description: Version of the engine.
  returned: always
  type: str
swarm_id:
  description: ID of the swarm (managers only).
  returned: always
  type: str
manager_addrs:
  description: Swarm addresses of the managers.
  returned: always
  type: list
  elements: str
autolock:
  description:
    - True when the swarm is autolocked, so that a manager whose engine restarts stays locked until
      C(docker swarm unlock). Managers only (false elsewhere).
  returned: always
  type: bool
  version_added: 0.1.0
formed_by_swarmops:
  description:
    - True when M(swarmops.core.swarm_init) created this swarm (its spec carries the label
      C(io.swarmops.formed-by=swarmops.core)); false for a swarm formed otherwise. Managers only
      (false elsewhere). C(playbooks/teardown.yml) leaves only such a swarm, or one the
      inventory names.
  returned: always
  type: bool
swarm_error:
  description: Why a manager could not read its swarm (typically no leader, quorum lost); null otherwise.
  returned: always
  type: str
nodes:
  description: One entry per node, as C(docker node ls) shows them (managers only, else empty).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Node ID.
      type: str
    hostname:
      description: Host name of the node.
      type: str
    status:
      description: V(Ready), V(Down), V(Unknown) or V(Disconnected).
      type: str
    availability:
      description: V(Active), V(Pause) or V(Drain).
      type: str
    manager_status:
      description: V(Leader), V(Reachable), V(Unreachable), or empty for workers.
      type: str
    engine_version:
      description: Engine version on the node.
      type: str
    role:
      description: V(manager) or V(worker).
      type: str
    addr:
      description: Address the node is seen at.
      type: str
    labels:
      description: Node labels.
      type: dict
join_tokens:
  description: Join tokens (secrets), with O(join_tokens=true) on a manager.
  returned: when requested on a manager
  type: dict
  contains:
    worker:
      description: Worker join token.
      type: str
    manager:
      description: Manager join token.
      type: str
unlock_key:
  description: The unlock key (a secret; empty when the swarm is not autolocked).
  returned: when requested on a manager
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
    result = dict(
        swarm.cluster_view(actual),
        changed=False, local_node_state=actual.state, role=actual.role, node_id=actual.node_id,
        hostname=actual.hostname, engine_version=actual.engine_version, swarm_error=actual.swarm_error,
        autolock=actual.autolock, formed_by_swarmops=actual.formed_by_swarmops)
    if actual.is_manager and params["join_tokens"]:
        result["join_tokens"] = dict(worker=actual.tokens["Worker"], manager=actual.tokens["Manager"])
    if actual.is_manager and params["unlock_key"]:
        result["unlock_key"] = client.get_unlock_key().get("UnlockKey") or ""
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            join_tokens=dict(type="bool", default=False, no_log=False),
            unlock_key=dict(type="bool", default=False, no_log=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
