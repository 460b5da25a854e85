# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 3 of the stack pipeline: desired bodies vs current objects -> ordered actions.

Pure. normalize() puts an Engine ServiceSpec into a comparable shape:

* Go zero values (None, "", 0, False, [], {}) are dropped: the engine treats an
  absent field and its zero value alike, and returns either.
* Values the engine fills in are dropped (DEFAULTS), network IDs become names,
  secret/config IDs are dropped (names are compared), and lists whose order
  does not matter are sorted.
* TaskTemplate.ForceUpdate is never compared (it is carried over on update, as
  docker stack deploy does).

make_plan() returns a Plan whose actions run in this order: create networks,
secrets, configs; create/update services; remove services (prune); remove
superseded configs and secrets; remove networks (prune). When services are
created or updated, the superseded configs and secrets are marked
after_converge: they go only once the services run their new spec (a rollback
still finds them), else on a later run. Objects the compose declares external
are never removed.

Secrets stay out of results: diff() masks every Env value (KEY=********) and shows
configs and secrets by name and labels, without data or content label.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json

from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import drop_path as _pop_path
from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import get_path as _node
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, keyed
from ansible_collections.swarmops.core.plugins.module_utils.stack_convert import HMAC_LABEL, LEGACY_HASH_LABEL, OLD_HMAC_LABEL
from ansible_collections.swarmops.core.plugins.module_utils.stack_names import IMAGE_LABEL

MASK = "********"
_CONTENT_LABELS = (HMAC_LABEL, OLD_HMAC_LABEL, LEGACY_HASH_LABEL)

# (path, value the engine stores when the field was not given)
DEFAULTS = (
    ("TaskTemplate.ContainerSpec.Isolation", "default"),
    ("TaskTemplate.Runtime", "container"),
    ("EndpointSpec.Mode", "vip"),
    ("UpdateConfig.FailureAction", "pause"),
    ("UpdateConfig.Order", "stop-first"),
    ("RollbackConfig.FailureAction", "pause"),
    ("RollbackConfig.Order", "stop-first"),
)
_PORT_DEFAULTS = (("Protocol", "tcp"), ("PublishMode", "ingress"))
# Lists compared as sets (sorted on a key); every other list keeps its order.
_SORTED = {
    "TaskTemplate.ContainerSpec.Env": None,
    "TaskTemplate.ContainerSpec.Mounts": lambda m: (m.get("Target", ""), m.get("Type", "")),
    # One object may be mounted at several targets: the whole reference breaks the tie
    # (docker stack deploy sorts by name only, with an unstable sort).
    "TaskTemplate.ContainerSpec.Secrets": lambda r: (r.get("SecretName", ""), json.dumps(r, sort_keys=True)),
    "TaskTemplate.ContainerSpec.Configs": lambda r: (r.get("ConfigName", ""), json.dumps(r, sort_keys=True)),
    "TaskTemplate.ContainerSpec.CapabilityAdd": None,
    "TaskTemplate.ContainerSpec.CapabilityDrop": None,
    "TaskTemplate.ContainerSpec.Ulimits": lambda u: u.get("Name", ""),
    "TaskTemplate.Placement.Constraints": None,
    "TaskTemplate.Networks": lambda n: n.get("Target", ""),
    "EndpointSpec.Ports": lambda p: (p.get("PublishedPort", 0), p.get("TargetPort", 0), p.get("Protocol", ""),
                                     p.get("PublishMode", "")),
}

# Fields an older engine silently drops; sending them anyway would show a change on every run.
API_FIELDS = (
    ("TaskTemplate.ContainerSpec.Init", (1, 37)),
    ("TaskTemplate.ContainerSpec.Sysctls", (1, 40)),
    ("TaskTemplate.Placement.MaxReplicas", (1, 40)),
    ("TaskTemplate.ContainerSpec.CapabilityAdd", (1, 41)),
    ("TaskTemplate.ContainerSpec.CapabilityDrop", (1, 41)),
    ("TaskTemplate.ContainerSpec.Ulimits", (1, 41)),
    ("TaskTemplate.Resources.Limits.Pids", (1, 41)),
    ("TaskTemplate.ContainerSpec.Healthcheck.StartInterval", (1, 44)),
    ("TaskTemplate.ContainerSpec.OomScoreAdj", (1, 46)),
)


class PlanError(Exception):
    pass


def _drop_zero(value):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _drop_zero(v)
            if v not in (None, "", 0, False, [], {}) or v is True:
                out[k] = v
        return out
    if isinstance(value, list):
        return [_drop_zero(v) for v in value]
    return value


def normalize(spec, network_names=None):
    """A comparable copy of a ServiceSpec (see the module docstring)."""
    spec = copy.deepcopy(spec)
    task = spec.get("TaskTemplate", {})
    task.pop("ForceUpdate", None)
    # The engine moved service-level networks into the task template long ago.
    if spec.get("Networks") and not task.get("Networks"):
        task["Networks"] = spec.pop("Networks")
    for net in task.get("Networks") or []:
        if network_names and net.get("Target") in network_names:
            net["Target"] = network_names[net["Target"]]
        if net.get("Aliases"):
            net["Aliases"] = sorted(set(net["Aliases"]))
    cs = task.get("ContainerSpec", {})
    for ref in cs.get("Secrets") or []:
        ref.pop("SecretID", None)
    for ref in cs.get("Configs") or []:
        ref.pop("ConfigID", None)
    for port in _node(spec, "EndpointSpec.Ports") or []:
        for key, default in _PORT_DEFAULTS:
            if port.get(key) == default:
                del port[key]
    for path, default in DEFAULTS:
        _pop_path(spec, path, default)
    for path, key in _SORTED.items():
        parent, dummy, leaf = path.rpartition(".")
        holder = _node(spec, parent)
        if isinstance(holder, dict) and isinstance(holder.get(leaf), list):
            holder[leaf] = sorted(holder[leaf], key=key) if key else sorted(holder[leaf])
    return _drop_zero(spec)


def new_plan():
    """A Plan whose summary rows are {kind, name, action} and whose diff is keyed kind/name."""
    return Plan(row=keyed("kind", "name", "action"))


def diff_key(kind, name):
    return "%s/%s" % (kind, name)


def _add(plan, kind, name, verb, before=None, after=None, **extra):
    """One action; its before/after (printable views) go into the plan's diff unless unchanged."""
    plan.add(verb, kind=kind, name=name, **extra)
    if verb == "unchanged":
        return
    if before is not None:
        plan.before[diff_key(kind, name)] = masked_view(kind, before)
    if after is not None:
        plan.after[diff_key(kind, name)] = masked_view(kind, after)


def defer_after_converge(plan):
    """Keep the removals that wait for the services' convergence: marked deferred, out of the diff.

    Returns the deferred actions."""
    deferred = [a for a in plan.actions if a.get("after_converge")]
    for action in deferred:
        action["action"] = "deferred"
        plan.before.pop(diff_key(action["kind"], action["name"]), None)
    return deferred


def mask_env(env):
    """["KEY=value", "BARE"] -> ["KEY=********", "BARE"]: keys stay visible, values never."""
    return [item.split("=", 1)[0] + "=" + MASK if "=" in item else item for item in env]


def masked_view(kind, view):
    """A copy of a diff view that is safe to print."""
    if kind != "service":
        return view
    view = copy.deepcopy(view)
    cs = _node(view, "TaskTemplate.ContainerSpec")
    if isinstance(cs, dict) and cs.get("Env"):
        cs["Env"] = mask_env(cs["Env"])
    return view


def _file_object_view(obj):
    """What a diff may show of a config/secret: its name and labels, never data or content label."""
    spec = obj.get("Spec", obj)
    labels = spec.get("Labels") or {}
    return {"name": spec.get("Name"), "labels": {k: v for k, v in labels.items() if k not in _CONTENT_LABELS}}


def _network_view(body):
    return {k: v for k, v in body.items() if k != "CheckDuplicate"}


def _network_summary(net):
    return {"Name": net.get("Name"), "Driver": net.get("Driver"), "Labels": net.get("Labels")}


def _resolve_image(desired_spec, current, resolve_image, digests):
    """Apply docker stack deploy's resolve-image rules to the desired spec, in place."""
    cs = desired_spec["TaskTemplate"]["ContainerSpec"]
    image = cs["Image"]
    if resolve_image == "always" and digests.get(image):
        cs["Image"] = digests[image]
        return
    if current is None:
        return
    cur_spec = current["Spec"]
    if cur_spec.get("Labels", {}).get(IMAGE_LABEL) == image:
        cs["Image"] = cur_spec["TaskTemplate"]["ContainerSpec"]["Image"]


def _plan_file_objects(plan, kind, desired, current, all_named):
    """-> {desired name: final name} after adopting identical existing objects."""
    renames = {}
    for key in sorted(desired):
        obj = desired[key]
        if obj["external"]:
            if obj["name"] not in all_named:
                raise PlanError("%s %r is declared as external, but could not be found" % (kind, obj["name"]))
            continue
        spec, name = obj["spec"], obj["name"]
        existing = current.get(name) or all_named.get(name)
        if existing is not None:
            if _same_content(kind, existing, obj):
                if name in current and OLD_HMAC_LABEL in (existing["Spec"].get("Labels") or {}):
                    _plan_relabel(plan, kind, existing, obj)
                else:
                    _add(plan, kind, name, "unchanged")
                continue
            if kind == "secret" and not set(_CONTENT_LABELS) & set(existing.get("Spec", {}).get("Labels") or {}):
                plan.warnings.append("secret %s exists and its content cannot be read back; "
                                     "keeping it as it is" % name)
                _add(plan, kind, name, "unchanged")
                continue
            raise PlanError("%s %s already exists with different content; %ss are immutable: "
                            "rename it (or drop `name:` to get content-addressed names)" % (kind, name, kind))
        adopt = current.get(obj["plain_name"])
        if not obj["explicit_name"] and adopt is not None and _same_content(kind, adopt, obj):
            renames[name] = obj["plain_name"]
            _add(plan, kind, obj["plain_name"], "unchanged")
            continue
        _add(plan, kind, name, "create", body=spec, after=_file_object_view(spec))
    return renames


def _plan_relabel(plan, kind, existing, obj):
    """An object of an earlier release, under OLD_HMAC_LABEL: the same object with HMAC_LABEL.

    The engine lets only the labels of a config or secret change, and so does this update;
    the services that use the object are not touched.
    """
    spec = copy.deepcopy(existing["Spec"])
    labels = {k: v for k, v in spec["Labels"].items() if k != OLD_HMAC_LABEL}
    spec["Labels"] = dict(labels, **{HMAC_LABEL: obj["label"]})
    view = _file_object_view(spec)
    _add(plan, kind, spec["Name"], "update", id=existing["ID"], version=existing["Version"]["Index"], body=spec,
         before=dict(view, content_label=OLD_HMAC_LABEL), after=dict(view, content_label=HMAC_LABEL))


def _same_content(kind, existing, obj):
    spec = existing.get("Spec", {})
    labels = spec.get("Labels") or {}
    if obj["label"] in (labels.get(HMAC_LABEL), labels.get(OLD_HMAC_LABEL)):
        return True
    data = obj["spec"].get("Data")
    # An explicitly named object of an earlier release: compared in memory, never shown.
    if data is not None and LEGACY_HASH_LABEL in labels:
        return labels[LEGACY_HASH_LABEL] == hashlib.sha256(base64.b64decode(data)).hexdigest()
    # Configs can be read back (docker stack deploy's ones carry no content label).
    return kind == "config" and spec.get("Data") is not None and spec.get("Data") == data


def _rename_refs(spec, renames):
    cs = spec["TaskTemplate"]["ContainerSpec"]
    for field, key in (("Secrets", "SecretName"), ("Configs", "ConfigName")):
        for ref in cs.get(field) or []:
            ref[key] = renames.get(ref[key], ref[key])


def _referenced(specs, field, key):
    names = set()
    for spec in specs:
        for ref in spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get(field) or []:
            names.add(ref.get(key))
    return names


def _api_tuple(version):
    try:
        return tuple(int(part) for part in str(version).split(".")[:2])
    except ValueError:
        return (99, 0)


def drop_unsupported(spec, api_version, warnings):
    """Remove fields the engine's API version does not know, with a warning naming them."""
    have = _api_tuple(api_version)
    for path, needed in API_FIELDS:
        parent, dummy, leaf = path.rpartition(".")
        holder = _node(spec, parent)
        if have < needed and isinstance(holder, dict) and leaf in holder:
            del holder[leaf]
            warnings.append("%s: %s needs Engine API %d.%d or later; this engine speaks %s and ignores it"
                            % (spec["Name"], path, needed[0], needed[1], api_version))


def make_plan(desired, current, resolve_image="always", prune=False, digests=None, api_version=None):
    """desired: stack_convert.build(); current: the stack's objects as read from the engine."""
    plan = new_plan()
    _check_external_networks(desired, current)
    _plan_networks(plan, desired, current)
    renames = _plan_file_objects(plan, "secret", desired["secrets"], current["secrets"], current["all_secrets"])
    renames.update(_plan_file_objects(plan, "config", desired["configs"], current["configs"], current["all_configs"]))
    kept_specs = [_plan_service(plan, name, spec, current, renames, resolve_image, digests or {}, api_version)
                  for name, spec in sorted(desired["services"].items())]
    for name, cur in sorted(current["services"].items()):
        if name in desired["services"]:
            continue
        if prune:
            _add(plan, "service", name, "remove", id=cur["ID"], before=normalize(cur["Spec"], current["network_names"]))
        else:
            kept_specs.append(cur["Spec"])
    _plan_removals(plan, current, kept_specs, desired, prune)
    return plan


def _check_external_networks(desired, current):
    for name in desired["external_networks"]:
        info = current["all_networks"].get(name)
        if info is None:
            raise PlanError("network %r is declared as external, but could not be found. "
                            "You need to create a swarm-scoped network before the stack is deployed" % name)
        if info.get("Scope") not in ("swarm", None) and name not in ("host", "ingress"):
            raise PlanError("network %r is declared as external, but it is not in the right scope: %r instead "
                            "of \"swarm\"" % (name, info.get("Scope")))


def _plan_networks(plan, desired, current):
    for name, body in sorted(desired["networks"].items()):
        existing = current["networks"].get(name) or current["all_networks"].get(name)
        if existing is None:
            _add(plan, "network", name, "create", body=body, after=_network_view(body))
            continue
        _add(plan, "network", name, "unchanged")
        if existing.get("Driver") != body["Driver"] or bool(existing.get("Attachable")) != bool(body.get("Attachable")):
            plan.warnings.append("network %s exists with other settings (driver/attachable); networks cannot be "
                                 "updated in place: remove the stack to recreate it" % name)


def _existing_ids(spec, current):
    """{kind: {name: ID}} of the existing secrets/configs a spec references; apply adds the
    IDs of the ones it creates."""
    cs = spec["TaskTemplate"]["ContainerSpec"]
    ids = {}
    for kind, field in (("secret", "Secrets"), ("config", "Configs")):
        existing = current["all_%ss" % kind]
        names = [ref[kind.capitalize() + "Name"] for ref in cs.get(field) or []]
        ids[kind] = {name: existing[name]["ID"] for name in names if name in existing}
    return ids


def _plan_service(plan, name, spec, current, renames, resolve_image, digests, api_version):
    """One create/update/unchanged service action; -> the spec the service will run."""
    spec = copy.deepcopy(spec)
    if api_version:
        drop_unsupported(spec, api_version, plan.warnings)
    _rename_refs(spec, renames)
    cur = current["services"].get(name)
    _resolve_image(spec, cur, resolve_image, digests)
    after = normalize(spec, current["network_names"])
    if cur is None:
        _add(plan, "service", name, "create", body=spec, ids=_existing_ids(spec, current), after=after)
        return spec
    before = normalize(cur["Spec"], current["network_names"])
    if before == after:
        _add(plan, "service", name, "unchanged")
        return spec
    spec["TaskTemplate"]["ForceUpdate"] = cur["Spec"].get("TaskTemplate", {}).get("ForceUpdate", 0)
    # Only a changed task template makes the orchestrator replace tasks (a rolling update).
    rolling = before.get("TaskTemplate") != after.get("TaskTemplate")
    _add(plan, "service", name, "update", id=cur["ID"], version=cur["Version"]["Index"], body=spec,
         ids=_existing_ids(spec, current), before=before, after=after, rolling=rolling)
    return spec


def _plan_removals(plan, current, kept_specs, desired, prune):
    final = {a["name"] for a in plan.actions if a["kind"] in ("secret", "config")}
    services_change = any(a["kind"] == "service" and a["action"] in ("create", "update") for a in plan.actions)
    for kind, field, key in (("config", "Configs", "ConfigName"), ("secret", "Secrets", "SecretName")):
        used = _referenced(kept_specs, field, key)
        external = {obj["name"] for obj in desired[kind + "s"].values() if obj["external"]}
        for name, cur in sorted(current[kind + "s"].items()):
            if name not in final and name not in used and name not in external:
                _add(plan, kind, name, "remove", id=cur["ID"], before=_file_object_view(cur),
                     after_converge=services_change)
    if prune:
        used = set()
        for spec in kept_specs:
            for net in spec.get("TaskTemplate", {}).get("Networks") or []:
                used.add(current["network_names"].get(net.get("Target"), net.get("Target")))
        for name, cur in sorted(current["networks"].items()):
            if name not in desired["networks"] and name not in used:
                _add(plan, "network", name, "remove", id=cur["Id"], before=_network_summary(cur))


def removal_plan(current):
    """state=absent: services, then configs and secrets, then networks (as docker stack rm)."""
    plan = new_plan()
    names = current["network_names"]
    for name, cur in sorted(current["services"].items()):
        _add(plan, "service", name, "remove", id=cur["ID"], before=normalize(cur["Spec"], names))
    for kind in ("config", "secret"):
        for name, cur in sorted(current[kind + "s"].items()):
            _add(plan, kind, name, "remove", id=cur["ID"], before=_file_object_view(cur))
    for name, cur in sorted(current["networks"].items()):
        _add(plan, "network", name, "remove", id=cur["Id"], before=_network_summary(cur))
    return plan
