# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenSSH Ed25519 key pairs: the one place the collection makes one.

Used by the ssh_keypair module (the lab's key) and by the VM providers (the key injected at
first boot, ``public_key_for``). The module follows read -> build -> diff -> apply:
``read`` looks at the files, ``build`` and ``diff`` are pure, ``apply`` is the only writer.
A private key is never read back into a result; only the public line is returned.
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:  # pragma: no cover - reported by _require() when a key is needed
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()

GENERATE = "generate"
WRITE_PUBLIC = "write_public"
SUMMARY = {GENERATE: "generate key pair %s", WRITE_PUBLIC: "write public key %s.pub"}


def _require():
    if not HAS_CRYPTOGRAPHY:
        raise SwarmOpsError("The Python 'cryptography' library is required (pip install cryptography).",
                            exception=CRYPTOGRAPHY_ERROR)


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def public_line(private_key, comment):
    """The ``ssh-ed25519 AAAA... comment`` line of a private key."""
    raw = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return "%s %s" % (raw.decode(), comment)


def generate(path, comment):
    """Write a new Ed25519 pair: ``path`` (0600, in a 0700 directory made when missing) and
    ``path.pub`` (0644). Returns the public line."""
    _require()
    key = Ed25519PrivateKey.generate()
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                   serialization.NoEncryption()), 0o600)
    line = public_line(key, comment)
    _write(path + ".pub", (line + "\n").encode(), 0o644)
    return line


def public_key_for(key_file, comment="swarmops-virtualbox"):
    """The content of ``<key_file>.pub``, generating the pair first when ``key_file`` is missing.

    For the VM providers: a private key that exists without its .pub is an error, not repaired.
    """
    pub_file = key_file + ".pub"
    if not os.path.exists(key_file):
        generate(key_file, comment)
    if not os.path.exists(pub_file):
        raise SwarmOpsError("ssh_key_file %s exists but its public key %s does not." % (key_file, pub_file))
    with open(pub_file) as handle:
        return handle.read().strip()


# ---------------------------------------------------------------- the ssh_keypair module

def read(path):
    """What is on disk: whether the private key and its .pub exist, and the key's public line."""
    actual = dict(key=os.path.exists(path), public=os.path.exists(path + ".pub"), private_key=None)
    if actual["key"]:
        _require()
        with open(path, "rb") as handle:
            try:
                actual["private_key"] = serialization.load_ssh_private_key(handle.read(), password=None)
            except ValueError as exc:
                raise SwarmOpsError("%s is not an unencrypted OpenSSH private key: %s" % (path, exc))
    return actual


def build(params):
    """The desired pair from the module options. Pure."""
    return dict(path=params["path"], comment=params["comment"])


def diff(actual, desired):
    """-> dict(actions, public_key). Pure. An existing key is kept; a missing .pub is derived from it."""
    if not actual["key"]:
        return dict(actions=[GENERATE], public_key="")
    public_key = public_line(actual["private_key"], desired["comment"])
    return dict(actions=[] if actual["public"] else [WRITE_PUBLIC], public_key=public_key)


def apply(desired, plan):
    """Carry out the plan (the only writer); returns the public line."""
    if GENERATE in plan["actions"]:
        return generate(desired["path"], desired["comment"])
    if WRITE_PUBLIC in plan["actions"]:
        _write(desired["path"] + ".pub", (plan["public_key"] + "\n").encode(), 0o644)
    return plan["public_key"]


def ensure(params, check_mode):
    """The ssh_keypair module: read -> build -> diff -> apply (outside check mode)."""
    _require()
    desired = build(params)
    plan = diff(read(desired["path"]), desired)
    public_key = plan["public_key"] if check_mode else apply(desired, plan)
    return dict(changed=bool(plan["actions"]), path=desired["path"], public_key=public_key,
                actions=[SUMMARY[action] % desired["path"] for action in plan["actions"]])
