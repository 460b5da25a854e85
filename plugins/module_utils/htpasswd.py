# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An htpasswd file of bcrypt hashes (what the registry's htpasswd auth accepts).

A stored hash is kept while the password still verifies against it, so a run
with unchanged credentials rewrites nothing (bcrypt salts are random).
"""

from __future__ import annotations

import os
import traceback

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

try:
    import bcrypt
    HAS_BCRYPT = True
    BCRYPT_ERROR = None
except ImportError:  # pragma: no cover
    HAS_BCRYPT = False
    BCRYPT_ERROR = traceback.format_exc()


def parse(text):
    """'user:hash' lines -> ordered dict. Pure."""
    entries = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            user, _, hashed = line.partition(":")
            entries[user] = hashed
    return entries


def render(entries):
    return "".join("%s:%s\n" % item for item in entries.items())


def verifies(password, hashed):
    if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
        return False  # not bcrypt: the registry would refuse it anyway
    try:
        return bcrypt.checkpw(password.encode(), hashed.replace("$2y$", "$2b$", 1).encode())
    except ValueError:
        return False


def validate(users):
    seen = set()
    for i, user in enumerate(users):
        name, password = user["name"], user["password"]
        if not name or ":" in name:
            raise SwarmOpsError("users[%d]: the name must be non-empty and must not contain ':'." % i)
        if name in seen:
            raise SwarmOpsError("users[%d]: user %s is listed twice." % (i, name))
        seen.add(name)
        if not password:
            raise SwarmOpsError("users[%d]: user %s has an empty password." % (i, name))
        if len(password.encode()) > 72:
            raise SwarmOpsError("users[%d]: the password of user %s is longer than bcrypt's 72 bytes." % (i, name))


def plan(current, users, exclusive):
    """-> (actions, names to (re)hash, names to drop). Pure except for bcrypt verification."""
    wanted = {u["name"]: u["password"] for u in users}
    rehash = [n for n, pw in wanted.items() if n not in current or not verifies(pw, current[n])]
    drop = [n for n in current if n not in wanted] if exclusive else []
    actions = ["%s user %s" % ("add" if n not in current else "update", n) for n in rehash]
    actions += ["remove user %s" % n for n in drop]
    return actions, rehash, drop


def ensure(params, check_mode):
    if not HAS_BCRYPT:
        raise SwarmOpsError("The Python package 'bcrypt' is required where this module runs.",
                            exception=BCRYPT_ERROR)
    path = params["path"]
    validate(params["users"])
    current = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            current = parse(f.read())
    actions, rehash, drop = plan(current, params["users"], params["exclusive"])
    result = dict(changed=bool(actions), path=path, actions=actions,
                  users=sorted(u["name"] for u in params["users"]))
    if check_mode or not actions:
        return result
    entries = {n: h for n, h in current.items() if n not in drop}
    for user in params["users"]:
        if user["name"] in rehash:
            entries[user["name"]] = bcrypt.hashpw(user["password"].encode(),
                                                  bcrypt.gensalt(rounds=params["rounds"])).decode()
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, params["mode"])
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(render(entries))
    os.chmod(tmp, params["mode"])
    os.replace(tmp, path)
    return result
