# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_login: the ``auths`` entry of a Docker client config.json, like ``docker login``."""

from __future__ import annotations

import base64
import json
import os

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect, sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


def encode(username, password):
    return base64.b64encode(("%s:%s" % (username, password)).encode()).decode()


def read_config(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise SwarmOpsError("%s is not valid JSON: %s" % (path, exc), path=path)


def desired_config(config, registry, auth):
    """config with the registry's entry set (auth) or removed (auth None). Pure."""
    new = json.loads(json.dumps(config))
    auths = new.setdefault("auths", {})
    if auth is None:
        auths.pop(registry, None)
    else:
        auths[registry] = {"auth": auth}
    return new


def write_config(path, config):
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def check_credentials(params):
    """Ask the engine to log in to the registry (it talks to the registry, with its CA trust)."""
    client = connect(params)
    try:
        client.login(params["username"], password=params["password"], registry=params["registry"], reauth=True)
    except sdk_errors.APIError as exc:
        raise SwarmOpsError("Login to registry %s as %s failed: %s" % (
            params["registry"], params["username"], exc.explanation or exc), registry=params["registry"])


def ensure(params, check_mode):
    path = params["config_path"]
    registry = params["registry"]
    current = read_config(path)
    auth = encode(params["username"], params["password"]) if params["state"] == "present" else None
    wanted = desired_config(current, registry, auth)
    changed = wanted.get("auths") != current.get("auths")
    if params["state"] == "present" and current.get("credsStore"):
        raise SwarmOpsError("%s sets credsStore %r; the docker CLI would ignore the written credentials." % (
            path, current["credsStore"]), path=path)
    if changed and params["state"] == "present" and params["validate"]:
        check_credentials(params)
    if changed and not check_mode:
        write_config(path, wanted)
    return dict(changed=changed, registry=registry, config_path=path)
