#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: htpasswd
short_description: Keep an htpasswd file of bcrypt hashes (registry basic auth)
version_added: 0.1.0
description:
  - Ensures O(path) holds a bcrypt hash for every user of O(users), the only format the
    Docker registry's C(htpasswd) authentication accepts.
  - A stored hash is kept while the given password still verifies against it, so unchanged
    credentials change nothing. With O(exclusive=true) users not listed are removed.
  - Passwords are never logged or returned.
author: swarmops maintainers (@swarmops)
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
options:
  path:
    description: The htpasswd file.
    type: path
    required: true
  users:
    description: The users and their passwords.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The user name (no C(:)).
        type: str
        required: true
      password:
        description: The password (at most 72 bytes, bcrypt's limit).
        type: str
        required: true
  exclusive:
    description: Remove users that are not in O(users).
    type: bool
    default: true
  rounds:
    description: bcrypt cost factor for new hashes.
    type: int
    default: 10
  mode:
    description: File mode of O(path).
    type: raw
    default: "0600"
requirements:
  - bcrypt (Python) where the module runs
"""

EXAMPLES = r"""
- name: Registry users, kept on the controller
  swarmops.core.htpasswd:
    path: "{{ registry_local_dir }}/htpasswd"
    users:
      - name: "{{ registry_username }}"
        password: "{{ registry_password }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
users:
  description: The user names in the file (without passwords).
  returned: always
  type: list
  elements: str
actions:
  description: Users added, updated or removed.
  returned: always
  type: list
  elements: str
  sample: ["add user deploy"]
"""

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.htpasswd import ensure
from ansible_collections.swarmops.core.plugins.module_utils.runner import SecretSafeModule, run_module


def run(module):
    mode = module.params["mode"]
    module.params["mode"] = int(mode, 8) if isinstance(mode, str) else mode
    return ensure(module.params, module.check_mode)


def main():
    module = SecretSafeModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            users=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
            )),
            exclusive=dict(type="bool", default=True),
            rounds=dict(type="int", default=10),
            mode=dict(type="raw", default="0600"),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
