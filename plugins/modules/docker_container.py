#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_container
short_description: Keep one long-running container (for example a registry) as defined
version_added: 0.1.0
description:
  - Ensures a container named O(name) runs O(image) with the given command, environment,
    published ports, bind mounts, restart policy and labels, like C(docker run -d --restart ...).
  - "Idempotence by definition hash: the image id and every option are hashed into the label
    C(io.swarmops.config-hash). The same hash and a running container change nothing; another
    hash removes and recreates the container; a stopped container is started."
  - Files mounted into the container are not part of the definition. Pass their checksums in
    O(config_digest) to recreate the container when they change.
  - A small module for the few containers the roles run outside the swarm, not a replacement
    for C(community.docker.docker_container).
author: swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details: Before and after definition hash.
options:
  name:
    description: The container's name.
    type: str
    required: true
  image:
    description: The image. Required with O(state=started).
    type: str
  state:
    description: V(started) ensures the container runs as defined; V(absent) removes it.
    type: str
    choices: [started, absent]
    default: started
  command:
    description: Arguments that replace the image's C(CMD).
    type: list
    elements: str
  env:
    description: Environment variables.
    type: dict
    default: {}
  ports:
    description: Published ports, C([ip:]host_port:container_port[/proto]).
    type: list
    elements: str
    default: []
  volumes:
    description: Bind mounts, C(/host/path:/container/path[:ro|rw]).
    type: list
    elements: str
    default: []
  restart_policy:
    description: The restart policy.
    type: str
    choices: ["no", on-failure, always, unless-stopped]
    default: unless-stopped
  labels:
    description: Container labels.
    type: dict
    default: {}
  config_digest:
    description: Any string; when it changes the container is recreated (for example checksums of mounted files).
    type: str
  pull:
    description: Pull O(image) when it is not on the engine; else fail.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: A registry with TLS and basic auth
  swarmops.core.docker_container:
    name: registry
    image: registry:2
    ports: ["5000:5000"]
    volumes:
      - /etc/swarmops/registry:/etc/swarmops/registry:ro
      - /var/lib/swarmops/registry:/var/lib/registry
    env:
      REGISTRY_AUTH: htpasswd
      REGISTRY_AUTH_HTPASSWD_REALM: Registry
      REGISTRY_AUTH_HTPASSWD_PATH: /etc/swarmops/registry/htpasswd
    config_digest: "{{ htpasswd_stat.stat.checksum }}"
"""

RETURN = r"""
container_id:
  description: The container's id (empty when absent).
  returned: always
  type: str
actions:
  description: What was (or would be) done, among C(remove), C(create), C(start).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.container import ensure
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            name=dict(type="str", required=True),
            image=dict(type="str"),
            state=dict(type="str", default="started", choices=["started", "absent"]),
            command=dict(type="list", elements="str"),
            env=dict(type="dict", default={}),
            ports=dict(type="list", elements="str", default=[]),
            volumes=dict(type="list", elements="str", default=[]),
            restart_policy=dict(type="str", default="unless-stopped",
                                choices=["no", "on-failure", "always", "unless-stopped"]),
            labels=dict(type="dict", default={}),
            config_digest=dict(type="str"),
            pull=dict(type="bool", default=True),
        ),
        required_if=[("state", "started", ("image",))],
        supports_check_mode=True,
    )
    run_module(module, lambda m: ensure(connect(m.params), m.params, m.check_mode))


if __name__ == "__main__":
    main()
