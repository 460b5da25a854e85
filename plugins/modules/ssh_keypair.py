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
"""

import os

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False


def public_line(private_key, comment):
    raw = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return "%s %s" % (raw.decode(), comment)


def write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), comment=dict(type="str", default="swarmops")),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg="The Python 'cryptography' library is required (pip install cryptography).")
    path, comment = module.params["path"], module.params["comment"]
    pub_path = path + ".pub"
    if os.path.exists(path):
        with open(path, "rb") as handle:
            try:
                key = serialization.load_ssh_private_key(handle.read(), password=None)
            except ValueError as exc:
                module.fail_json(msg="%s is not an unencrypted OpenSSH private key: %s" % (path, exc))
        line = public_line(key, comment)
        changed = not os.path.exists(pub_path)
        if changed and not module.check_mode:
            write(pub_path, (line + "\n").encode(), 0o644)
        module.exit_json(changed=changed, path=path, public_key=line)
    if module.check_mode:
        module.exit_json(changed=True, path=path, public_key="")
    key = Ed25519PrivateKey.generate()
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    write(path, pem, 0o600)
    line = public_line(key, comment)
    write(pub_path, (line + "\n").encode(), 0o644)
    module.exit_json(changed=True, path=path, public_key=line)


if __name__ == "__main__":
    main()
