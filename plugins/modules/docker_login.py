#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_login
short_description: Log a host's Docker client in to a registry (the auths entry of config.json)
version_added: 0.1.0
description:
  - Like C(docker login), without the docker CLI. With O(state=present) writes the registry's
    credentials into the C(auths) of O(config_path) (mode C(0600)); other keys of the file are kept.
    O(state=absent) removes the entry, like C(docker logout).
  - Before writing new credentials the engine logs in to the registry (O(validate)), so a wrong
    password fails here, naming the registry and the user, and nothing is written.
  - Unchanged credentials change nothing and are not sent anywhere.
  - The password is never logged or returned.
author: swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Validates new credentials but writes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
options:
  registry:
    description: The registry address as images name it, for example C(registry.lab:5000).
    type: str
    required: true
  username:
    description: The user name.
    type: str
  password:
    description: The password.
    type: str
  state:
    description: V(present) logs in, V(absent) logs out.
    type: str
    choices: [present, absent]
    default: present
  config_path:
    description: The Docker client configuration file.
    type: path
    default: ~/.docker/config.json
  validate:
    description: Let the engine log in to the registry before new credentials are written.
    type: bool
    default: true
requirements:
  - docker >= 4.4.0 (the Docker SDK for Python), for O(validate)
"""

EXAMPLES = r"""
- name: Log the manager in, so stack deploys can pass registry credentials to the workers
  swarmops.core.docker_login:
    registry: manager1:5000
    username: "{{ registry_username }}"
    password: "{{ registry_password }}"
"""

RETURN = r"""
registry:
  description: The registry.
  returned: always
  type: str
config_path:
  description: The configuration file written.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_auth import ensure
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            registry=dict(type="str", required=True),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            config_path=dict(type="path", default="~/.docker/config.json"),
            validate=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ("username", "password"))],
        supports_check_mode=True,
    )
    run_module(module, lambda m: ensure(m.params, m.check_mode))


if __name__ == "__main__":
    main()
