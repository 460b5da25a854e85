#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_engine_info
short_description: Facts about a Docker Engine, as C(docker version) and C(docker info) give them
version_added: 0.1.0
description:
  - Reads the Engine's version and system information through the Engine API and returns the
    parts an operator checks after an install, also as the fact C(docker_engine).
  - The client version is the one of the C(docker) CLI on the host the module runs on, if any.
  - Read-only.
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
  - swarmops.core.attributes.info_module
options: {}
author:
  - swarmops maintainers (@swarmops)
"""

EXAMPLES = r"""
- name: Read the engine's facts
  swarmops.core.docker_engine_info:

- name: Show them
  ansible.builtin.debug:
    msg: "{{ docker_engine.server_version }} on {{ docker_engine.storage_driver }}, swarm {{ docker_engine.swarm_state }}"
"""

RETURN = r"""
engine:
  description: The engine's facts; also set as the fact C(docker_engine).
  returned: success
  type: dict
  contains:
    client_version:
      description: Version of the C(docker) CLI on the host, null without a CLI.
      type: str
      sample: 20.10.24+dfsg1
    server_version:
      description: The daemon's version.
      type: str
      sample: 20.10.24+dfsg1
    api_version:
      description: The highest Engine API version the daemon speaks.
      type: str
      sample: "1.41"
    storage_driver:
      description: The storage driver (C(docker info) Storage Driver).
      type: str
      sample: overlay2
    cgroup_driver:
      description: The cgroup driver.
      type: str
      sample: systemd
    cgroup_version:
      description: The cgroup version the daemon sees.
      type: str
      sample: "1"
    swarm_state:
      description: The node's swarm state (V(inactive), V(active), V(pending), V(error), V(locked)).
      type: str
      sample: inactive
    swarm_node_id:
      description: The swarm node ID, null outside a swarm.
      type: str
    swarm_manager:
      description: Whether this node is a swarm manager.
      type: bool
    images:
      description: Number of images.
      type: int
    containers:
      description: Number of containers.
      type: int
    docker_root_dir:
      description: The daemon's data root.
      type: str
      sample: /var/lib/docker
    registry_mirrors:
      description: Registry mirrors in use.
      type: list
      elements: str
    insecure_registries:
      description: Registries and CIDRs reached without TLS verification.
      type: list
      elements: str
    labels:
      description: The daemon's labels.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.engine import cli_version, read_facts
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def run(module):
    facts = read_facts(connect(module.params, direct_reads=True), cli_version(module))
    return dict(changed=False, engine=facts, ansible_facts=dict(docker_engine=facts))


def main():
    module = AnsibleModule(argument_spec=dict(DOCKER_COMMON_ARGS), supports_check_mode=True)
    run_module(module, run)


if __name__ == "__main__":
    main()
