# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_container: one long-running container, recreated when its definition changes.

The definition (image id, command, env, ports, volumes, restart policy, labels,
config_digest) is hashed into the label ``io.swarmops.config-hash``; comparing
that one label replaces a field-by-field comparison with the engine's defaults.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.swarmops.core.plugins.module_utils import units
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


HASH_LABEL = "io.swarmops.config-hash"


def parse_port(spec):
    """'[ip:]host_port:container_port[/proto]' -> (container_key, (ip, host_port)). Pure.

    Published on every address (0.0.0.0) unless the spec names one, as `docker run -p` does.
    """
    try:
        port = units.parse_port(spec, "0.0.0.0", any_host_port=True)
    except ValueError as exc:
        raise SwarmOpsError("ports: %r: %s." % (spec, exc))
    return "%d/%s" % (port.container_port, port.proto), (port.ip, port.host_port)


def parse_volume(spec):
    """'src:dst[:ro|rw]' -> bind string. Pure."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[1].startswith("/") or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise SwarmOpsError("volumes: %r is not source:/container/path[:ro|rw]." % spec)
    return spec if len(parts) == 3 else spec + ":rw"


def definition(params, image_id):
    """The desired container as a canonical dict, and its hash. Pure."""
    spec = dict(
        image=params["image"], image_id=image_id, command=params.get("command") or None,
        env={k: str(v) for k, v in (params.get("env") or {}).items()},
        ports=sorted(params.get("ports") or []), volumes=sorted(parse_volume(v) for v in params.get("volumes") or []),
        restart_policy=params["restart_policy"], labels=params.get("labels") or {},
        config_digest=params.get("config_digest") or "",
    )
    for port in spec["ports"]:
        parse_port(port)
    return spec, "sha256:" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def read(client, name):
    try:
        return client.inspect_container(name)
    except sdk_errors.NotFound:
        return None


def plan(current, state, wanted_hash):
    """-> list of actions. Pure."""
    if state == "absent":
        return ["remove"] if current else []
    if current is None:
        return ["create", "start"]
    if (current["Config"].get("Labels") or {}).get(HASH_LABEL) != wanted_hash:
        return ["remove", "create", "start"]
    if not current["State"].get("Running"):
        return ["start"]
    return []


def apply(client, params, spec, wanted_hash, actions):
    name = params["name"]
    container_id = None
    if "remove" in actions:
        client.remove_container(name, force=True)
    if "create" in actions:
        bindings = {}
        for port in spec["ports"]:
            key, binding = parse_port(port)
            bindings.setdefault(key, []).append(binding)
        host_config = client.create_host_config(
            port_bindings={k: v if len(v) > 1 else v[0] for k, v in bindings.items()},
            binds=spec["volumes"], restart_policy={"Name": spec["restart_policy"]})
        created = client.create_container(
            spec["image"], name=name, command=spec["command"], environment=spec["env"] or None,
            ports=[tuple(k.split("/")) if not k.endswith("/tcp") else int(k.split("/")[0]) for k in bindings],
            labels=dict(spec["labels"], **{HASH_LABEL: wanted_hash}), host_config=host_config)
        container_id = created["Id"]
    if "start" in actions:
        client.start(container_id or name)


def ensure(client, params, check_mode):
    current = read(client, params["name"])
    image_id = None
    if params["state"] == "started":
        try:
            image_id = client.inspect_image(params["image"])["Id"]
        except sdk_errors.NotFound:
            if params["pull"] and not check_mode:
                client.pull(params["image"])
                image_id = client.inspect_image(params["image"])["Id"]
            elif not params["pull"]:
                raise SwarmOpsError("Image %s is not on this engine (and pull is false)." % params["image"],
                                    image=params["image"])
    spec, wanted_hash = definition(params, image_id)
    actions = plan(current, params["state"], wanted_hash)
    before = (current["Config"].get("Labels") or {}).get(HASH_LABEL) if current else None
    result = dict(changed=bool(actions), actions=actions, name=params["name"],
                  diff=dict(before=dict(config_hash=before), after=dict(config_hash=wanted_hash if params["state"] == "started" else None)))
    if actions and not check_mode:
        apply(client, params, spec, wanted_hash, actions)
    after = read(client, params["name"]) if not check_mode else current
    result["container_id"] = after["Id"] if after else None
    return result
