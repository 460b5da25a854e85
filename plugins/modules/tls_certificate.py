#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_certificate
short_description: Keep a small self-signed CA and a server certificate signed by it
version_added: 0.1.0
description:
  - In O(path), ensures C(ca.crt)/C(ca.key), a self-signed CA (ECDSA P-256), and
    C(<name>.crt)/C(<name>.key), a server certificate signed by that CA for O(common_name) and
    O(subject_alt_names). Private keys are written with mode C(0600), and a key file found with
    a looser mode is set back to C(0600).
  - The CA carries critical name constraints for the names and addresses of O(subject_alt_names)
    only, so whoever trusts it trusts it for those names and nothing else. A CA without them, or
    whose constraints do not cover the names asked for, is issued anew (with a new certificate).
  - The CA key is not encrypted (the certificate is renewed unattended); keep O(path) on the
    controller, readable by its owner only.
  - Existing files are kept while they are valid, match each other, carry the wanted names and
    do not expire within O(renew_before_days); otherwise what is needed is issued again
    (a new CA also means a new server certificate). The reasons are returned in RV(actions).
  - Meant for labs and private registries; uses the Python C(cryptography) package
    (no C(community.crypto) needed). Usually run on the controller (C(delegate_to=localhost)).
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
    description: The directory that holds the files.
    type: path
    required: true
  name:
    description: The base name of the server certificate and key files.
    type: str
    default: server
  common_name:
    description: The server certificate's common name.
    type: str
    required: true
  subject_alt_names:
    description:
      - DNS names and IP addresses the certificate is valid for (C(DNS:) and C(IP:) prefixes are accepted).
      - Defaults to O(common_name).
    type: list
    elements: str
    default: []
  ca_common_name:
    description: The CA's common name (used only when a CA is issued).
    type: str
    default: swarmops private CA
  valid_days:
    description: Validity of a new server certificate, in days (never beyond the CA's).
    type: int
    default: 825
  ca_valid_days:
    description: Validity of a new CA, in days.
    type: int
    default: 3650
  renew_before_days:
    description: Issue again when a certificate expires within this many days.
    type: int
    default: 30
requirements:
  - cryptography (Python) where the module runs
"""

EXAMPLES = r"""
- name: CA and certificate for the registry, kept on the controller
  swarmops.core.tls_certificate:
    path: "{{ lookup('ansible.builtin.env', 'HOME') }}/.swarmops/registry/pki"
    common_name: manager1
    subject_alt_names: [manager1, localhost, 127.0.0.1]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
ca_cert:
  description: Path of the CA certificate.
  returned: always
  type: str
ca_key:
  description: Path of the CA private key.
  returned: always
  type: str
cert:
  description: Path of the server certificate.
  returned: always
  type: str
key:
  description: Path of the server private key.
  returned: always
  type: str
ca_pem:
  description: The CA certificate (public), to distribute to clients.
  returned: when a CA exists (or was issued)
  type: str
actions:
  description: What was (or in check mode would be) issued, and why.
  returned: always
  type: list
  elements: str
  sample: ["issue server certificate (subject alternative names differ)"]
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.x509 import ensure


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            name=dict(type="str", default="server"),
            common_name=dict(type="str", required=True),
            subject_alt_names=dict(type="list", elements="str", default=[]),
            ca_common_name=dict(type="str", default="swarmops private CA"),
            valid_days=dict(type="int", default=825),
            ca_valid_days=dict(type="int", default=3650),
            renew_before_days=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda m: ensure(m.params, m.check_mode))


if __name__ == "__main__":
    main()
