#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_info
short_description: List swarm stacks and their services' replicas, like docker stack ls and docker stack services
version_added: 0.1.0
description:
  - Read-only. Lists the stacks on a swarm, like C(docker stack ls), each with its services and
    their replicas, like C(docker stack services).
  - A stack is the set of services labelled C(com.docker.stack.namespace=<name>), as for the
    docker CLI, so stacks deployed with C(docker stack deploy) and with
    M(swarmops.core.stack_deploy) are both listed.
  - Must talk to a swarm manager.
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
  - swarmops.core.attributes.info_module
options:
  name:
    description:
      - Only these stacks. A stack that does not exist is simply not listed.
      - All stacks when not set.
    type: list
    elements: str
seealso:
  - module: swarmops.core.stack_task_info
  - module: swarmops.core.stack_deploy
author:
  - swarmops maintainers (@swarmops)
"""

EXAMPLES = r"""
- name: List the stacks, like docker stack ls
  swarmops.core.stack_info:
  register: swarm_stacks

- name: Show each service's replicas of the getstartedlab stack
  ansible.builtin.debug:
    msg: "{{ item.name }} {{ item.replicas }}"
  loop: "{{ (swarm_stacks.stacks | selectattr('name', '==', 'getstartedlab') | first).services }}"

- name: Only some stacks
  swarmops.core.stack_info:
    name: [getstartedlab, monitoring]
  register: some_stacks
"""

RETURN = r"""
stacks:
  description: The stacks, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The stack name.
      type: str
      sample: getstartedlab
    orchestrator:
      description: Always V(Swarm).
      type: str
      sample: Swarm
    service_count:
      description: Number of services, the C(SERVICES) column of C(docker stack ls).
      type: int
      sample: 3
    services:
      description: The services, sorted by name, like C(docker stack services).
      type: list
      elements: dict
      contains:
        id:
          description: Service ID.
          type: str
        name:
          description: Service name, C(<stack>_<service>).
          type: str
          sample: getstartedlab_web
        mode:
          description: V(replicated), V(global), V(replicated-job) or V(global-job).
          type: str
        running_tasks:
          description: Tasks in state running.
          type: int
        desired_tasks:
          description: Tasks the service should run.
          type: int
        replicas:
          description: C(running/desired), the C(REPLICAS) column.
          type: str
          sample: 5/5
        image:
          description: The image of the service spec.
          type: str
        ports:
          description: Ports published through the routing mesh, as C(docker stack services) shows them.
          type: list
          elements: str
          sample: ["*:4000->80/tcp"]
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.stack_query import read_stacks


def run(module):
    return dict(changed=False, stacks=read_stacks(connect(module.params, direct_reads=True), module.params["name"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(DOCKER_COMMON_ARGS, name=dict(type="list", elements="str")),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
