#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ssh_keypair
short_description: Ensure an Ed25519 SSH key pair exists (generated on first use)
version_added: 0.1.0
description:
  - Creates an OpenSSH Ed25519 private key (mode 0600) and its C(.pub) file when absent; an
    existing key is kept, and a missing C(.pub) is derived from it.
  - Uses the Python C(cryptography) library, no C(ssh-keygen) needed.
author:
  - swarmops maintainers (@swarmops)
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: none
    description: No diff is returned.
options:
  path:
    description: Path of the private key; the public key is written to C(<path>.pub).
    type: path
    required: true
  comment:
    description: Comment appended to the public key.
    type: str
    default: swarmops
requirements:
  - cryptography
"""

EXAMPLES = r"""
- name: The lab's SSH key
  swarmops.core.ssh_keypair:
    path: ~/.swarmops/labs/swarmops/id_ed25519
"""

RETURN = r"""
public_key:
  description: The OpenSSH public key line (empty in check mode when the key does not exist yet).
  returned: always
  type: str
path:
  description: Path of the private key.
  returned: always
  type: str
actions:
  description: What was done (or, in check mode, would be done); empty when the pair was in place.
  returned: always
  type: list
  elements: str
  sample: ["generate key pair /home/me/.swarmops/labs/swarmops/id_ed25519"]
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.ssh_key import ensure


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), comment=dict(type="str", default="swarmops")),
        supports_check_mode=True,
    )
    run_module(module, lambda m: ensure(m.params, m.check_mode))


if __name__ == "__main__":
    main()
