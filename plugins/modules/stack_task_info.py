#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_task_info
short_description: List the tasks of a swarm stack, like docker stack ps
version_added: 0.1.0
description:
  - Read-only. Lists the tasks of one stack's services, like C(docker stack ps), including
    tasks that were shut down, unless filtered.
  - A stack is the set of services labelled C(com.docker.stack.namespace=<name>), as for the
    docker CLI.
  - Must talk to a swarm manager.
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
  - swarmops.core.attributes.info_module
options:
  name:
    description: The stack.
    type: str
    required: true
  filters:
    description:
      - Only the tasks that match, as C(docker stack ps --filter). Within one key any value
        matches; all keys must match.
    type: dict
    suboptions:
      id:
        description: Task IDs (or their prefixes).
        type: list
        elements: str
      name:
        description: Task names (or their prefixes), such as C(getstartedlab_web.1).
        type: list
        elements: str
      node:
        description: Node hostnames or IDs.
        type: list
        elements: str
      desired_state:
        description: Desired states of the tasks.
        type: list
        elements: str
        choices: [running, shutdown, accepted]
seealso:
  - module: swarmops.core.stack_info
  - module: swarmops.core.stack_deploy
author:
  - swarmops maintainers (@swarmops)
"""

EXAMPLES = r"""
- name: All tasks of the stack, like docker stack ps getstartedlab
  swarmops.core.stack_task_info:
    name: getstartedlab
  register: lab_tasks

- name: The tasks that should be running, on one node
  swarmops.core.stack_task_info:
    name: getstartedlab
    filters:
      desired_state: [running]
      node: [myvm1]
  register: lab_running

- name: Wait until every task that should run does
  swarmops.core.stack_task_info:
    name: getstartedlab
    filters:
      desired_state: [running]
  register: lab_running
  until: lab_running.tasks | rejectattr('state', '==', 'running') | list | length == 0
  retries: 30
  delay: 2
"""

RETURN = r"""
exists:
  description: Whether the stack has any service.
  returned: always
  type: bool
tasks:
  description: The tasks, sorted by name, the newest first within a name.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Task ID.
      type: str
    name:
      description: C(<service>.<slot>) (C(<service>.<node ID>) for global services), as C(docker stack ps) names it.
      type: str
      sample: getstartedlab_web.1
    service:
      description: Service name.
      type: str
    slot:
      description: Replica slot; not returned for global services.
      type: int
    node_id:
      description: ID of the node the task was scheduled on.
      type: str
    node:
      description: Hostname of that node.
      type: str
    image:
      description: The image of the task.
      type: str
    desired_state:
      description: The state the orchestrator wants, the C(DESIRED STATE) column.
      type: str
      sample: running
    state:
      description: The current state, the C(CURRENT STATE) column without the age.
      type: str
      sample: running
    state_since:
      description: When the task entered its current state (RFC 3339).
      type: str
    message:
      description: The engine's status message.
      type: str
    error:
      description: The error of a failed task, the C(ERROR) column.
      type: str
    container_id:
      description: The task's container, once created.
      type: str
    ports:
      description: Ports published in host mode by this task.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.stack_query import read_tasks

FILTER_OPTIONS = dict(
    id=dict(type="list", elements="str"),
    name=dict(type="list", elements="str"),
    node=dict(type="list", elements="str"),
    desired_state=dict(type="list", elements="str", choices=["running", "shutdown", "accepted"]),
)


def run(module):
    tasks = read_tasks(connect(module.params, direct_reads=True), module.params["name"], module.params["filters"])
    return dict(changed=False, exists=tasks is not None, tasks=tasks or [])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            name=dict(type="str", required=True),
            filters=dict(type="dict", options=FILTER_OPTIONS),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
