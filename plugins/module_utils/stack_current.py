# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine holds for a stack, read before the plan: nothing here writes.

read_current() reads the stack's objects and the names the plan looks up,
published_port_conflicts() checks the desired ports against the other stacks', and
resolve_digests() asks the registry for image digests (--resolve-image=always).
Kept apart from stack_apply, which writes, so that a run with nothing to change
never loads the write side: its compile is part of every module run's start-up.
"""

from __future__ import annotations

from ansible_collections.swarmops.core.plugins.module_utils.stack_names import NAMESPACE_LABEL

MAX_REGISTRY_LOOKUPS = 8  # registry digest lookups in flight at once


def read_current(client, stack):
    """Everything the plan compares against: the stack's objects plus name lookups.

    Every list is read whole, once (four reads): the services of other stacks are for
    published_port_conflicts(), the other networks, secrets and configs for external names.
    """
    all_services = client.services()
    all_networks = client.networks()
    all_secrets = client.secrets()
    all_configs = client.configs()

    def in_stack(obj, labels):
        return (labels or {}).get(NAMESPACE_LABEL) == stack

    return {
        "services": {s["Spec"]["Name"]: s for s in all_services if in_stack(s, s["Spec"].get("Labels"))},
        "all_services": {s["Spec"]["Name"]: s for s in all_services},
        "networks": {n["Name"]: n for n in all_networks if in_stack(n, n.get("Labels"))},
        "all_networks": {n["Name"]: n for n in all_networks},
        "network_names": {n["Id"]: n["Name"] for n in all_networks},
        "secrets": {s["Spec"]["Name"]: s for s in all_secrets if in_stack(s, s["Spec"].get("Labels"))},
        "all_secrets": {s["Spec"]["Name"]: s for s in all_secrets},
        "configs": {c["Spec"]["Name"]: c for c in all_configs if in_stack(c, c["Spec"].get("Labels"))},
        "all_configs": {c["Spec"]["Name"]: c for c in all_configs},
    }


def _with_digest(image, digest):
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return "%s@%s" % (name, digest)


def resolve_digests(client, images):
    """-> ({image: image@digest}, [images not resolved]), asking the registry like --resolve-image=always.

    The registry round trips run side by side: each takes the engine a TLS and auth exchange
    with the registry, and a stack names several images.
    """
    wanted = sorted({image for image in images if "@" not in image})
    if not wanted:
        return {}, []
    # Imported here: a deploy that looks up no digest needs no threads.
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    inspect = client.inspect_distribution  # made here, not in a thread: a DirectReadClient makes its SDK client now

    def digest_of(image):
        try:
            return inspect(image, auth_config=None)["Descriptor"]["digest"]
        except Exception:  # unreachable registry, unknown image, no auth: the engine-side fallback
            return None

    with ThreadPoolExecutor(max_workers=min(MAX_REGISTRY_LOOKUPS, len(wanted))) as pool:
        found = dict(zip(wanted, pool.map(digest_of, wanted)))
    digests = {image: _with_digest(image, digest) for image, digest in found.items() if digest}
    return digests, [image for image in wanted if not found[image]]


def digest_warning(image):
    """What docker stack deploy says about an image it could not resolve."""
    return ("image %s could not be accessed on a registry to record its digest. Each node will access %s "
            "independently, possibly leading to different nodes running different versions of the image."
            % (image, image))


def published_port_conflicts(current, desired):
    """Ingress ports the stack publishes that a service of another stack already publishes
    (``current``: read_current()'s)."""
    mine = set(desired["services"])
    owners = {}
    for svc in current["all_services"].values():
        if svc["Spec"]["Name"] in mine:
            continue
        for port in (svc.get("Endpoint") or {}).get("Ports") or []:
            if port.get("PublishedPort") and port.get("PublishMode", "ingress") == "ingress":
                owners[(port["PublishedPort"], port.get("Protocol", "tcp"))] = svc["Spec"]["Name"]
    problems = []
    for name, spec in sorted(desired["services"].items()):
        for port in (spec.get("EndpointSpec") or {}).get("Ports") or []:
            owner = owners.get((port.get("PublishedPort"), port.get("Protocol", "tcp")))
            if owner and port.get("PublishMode", "ingress") == "ingress":
                problems.append("service %s: published port %d/%s is already in use by service %s" % (
                    name, port["PublishedPort"], port.get("Protocol", "tcp"), owner))
    return problems
