# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 2 of the stack pipeline: canonical compose model -> Engine API bodies.

Pure. Follows docker/cli's cli/compose/convert (names <stack>_<name>, the
com.docker.stack.namespace / com.docker.stack.image labels, the default network,
the defaults it fills in) so stacks deployed here and by `docker stack deploy`
look the same to the engine. One deliberate difference: configs and secrets get
content-addressed names (see file_object_name) so that changed content rolls out.
The address is an HMAC of the content under a per-cluster key (content_label), never
a bare hash: a bare hash of a weak secret, readable by anyone with API access, could
be brute-forced offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ansible_collections.swarmops.core.plugins.module_utils.compose import parse_size
from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import get_path, set_path
from ansible_collections.swarmops.core.plugins.module_utils.stack_names import IMAGE_LABEL, NAMESPACE_LABEL, scope

HMAC_LABEL = "com.swarmops.stack.content-hmac"
# The bare SHA-256 label of earlier releases: recognised, never shown, never written.
LEGACY_HASH_LABEL = "com.swarmops.stack.content-hash"
DEFAULT_NETWORK = "default"

_CS = "TaskTemplate.ContainerSpec."


def _same(value):
    return value


def _hosts(value):
    out = []
    for entry in value:
        host, dummy, ip = entry.partition(":")
        out.append("%s %s" % (ip, host))
    return out


def _env(value):
    return sorted(k if v is None else "%s=%s" % (k, v) for k, v in value.items())


def _healthcheck(hc):
    if hc.get("disable"):
        return {"Test": ["NONE"]}
    return {key: hc[src] for src, key in (
        ("test", "Test"), ("interval", "Interval"), ("timeout", "Timeout"), ("retries", "Retries"),
        ("start_period", "StartPeriod"), ("start_interval", "StartInterval")) if src in hc}


def _ulimits(value):
    return [{"Name": name, "Soft": lim["soft"], "Hard": lim["hard"]} for name, lim in sorted(value.items())]


def _logging(value):
    out = {"Name": value.get("driver", "")}
    if value.get("options"):
        out["Options"] = value["options"]
    return out


def _preferences(value):
    return [{"Spread": {"SpreadDescriptor": p["spread"]}} for p in value if "spread" in p]


def _generic(value):
    return [{"DiscreteResourceSpec": {"Kind": r["discrete_resource_spec"]["kind"],
                                      "Value": r["discrete_resource_spec"]["value"]}}
            for r in value if "discrete_resource_spec" in r]


# The conversion table: compose key path -> Engine API ServiceSpec path, transform.
SERVICE_TABLE = (
    ("image", _CS + "Image", _same),
    ("entrypoint", _CS + "Command", _same),
    ("command", _CS + "Args", _same),
    ("hostname", _CS + "Hostname", _same),
    ("extra_hosts", _CS + "Hosts", _hosts),
    ("environment", _CS + "Env", _env),
    ("working_dir", _CS + "Dir", _same),
    ("user", _CS + "User", _same),
    ("stop_grace_period", _CS + "StopGracePeriod", _same),
    ("stop_signal", _CS + "StopSignal", _same),
    ("tty", _CS + "TTY", _same),
    ("stdin_open", _CS + "OpenStdin", _same),
    ("read_only", _CS + "ReadOnly", _same),
    ("isolation", _CS + "Isolation", _same),
    ("init", _CS + "Init", _same),
    ("sysctls", _CS + "Sysctls", _same),
    ("ulimits", _CS + "Ulimits", _ulimits),
    ("oom_score_adj", _CS + "OomScoreAdj", _same),
    ("healthcheck", _CS + "Healthcheck", _healthcheck),
    ("dns", _CS + "DNSConfig.Nameservers", _same),
    ("dns_search", _CS + "DNSConfig.Search", _same),
    ("dns_opt", _CS + "DNSConfig.Options", _same),
    ("logging", "TaskTemplate.LogDriver", _logging),
    ("deploy.resources.limits.cpus", "TaskTemplate.Resources.Limits.NanoCPUs", _same),
    ("deploy.resources.limits.memory", "TaskTemplate.Resources.Limits.MemoryBytes", _same),
    ("deploy.resources.limits.pids", "TaskTemplate.Resources.Limits.Pids", _same),
    ("deploy.resources.reservations.cpus", "TaskTemplate.Resources.Reservations.NanoCPUs", _same),
    ("deploy.resources.reservations.memory", "TaskTemplate.Resources.Reservations.MemoryBytes", _same),
    ("deploy.resources.reservations.generic_resources", "TaskTemplate.Resources.Reservations.GenericResources", _generic),
    ("deploy.restart_policy.condition", "TaskTemplate.RestartPolicy.Condition", _same),
    ("deploy.restart_policy.delay", "TaskTemplate.RestartPolicy.Delay", _same),
    ("deploy.restart_policy.max_attempts", "TaskTemplate.RestartPolicy.MaxAttempts", _same),
    ("deploy.restart_policy.window", "TaskTemplate.RestartPolicy.Window", _same),
    ("deploy.placement.constraints", "TaskTemplate.Placement.Constraints", _same),
    ("deploy.placement.preferences", "TaskTemplate.Placement.Preferences", _preferences),
    ("deploy.placement.max_replicas_per_node", "TaskTemplate.Placement.MaxReplicas", _same),
    ("deploy.endpoint_mode", "EndpointSpec.Mode", str.lower),
)

_UPDATE_TABLE = (
    ("parallelism", "Parallelism"), ("delay", "Delay"), ("failure_action", "FailureAction"),
    ("monitor", "Monitor"), ("max_failure_ratio", "MaxFailureRatio"), ("order", "Order"),
)


def _update_config(value):
    out = {"Parallelism": 1}
    for src, dst in _UPDATE_TABLE:
        if src in value:
            out[dst] = value[src]
    return out


def _caps(values):
    caps = set()
    for cap in values:
        cap = cap.strip().upper()
        caps.add(cap if cap in ("ALL", "RESET") or cap.startswith("CAP_") else "CAP_" + cap)
    return caps


def _capabilities(svc, spec):
    add, drop = _caps(svc.get("cap_add", [])), _caps(svc.get("cap_drop", []))
    if "ALL" in add:
        add = {"ALL"}
    if "ALL" in drop:
        drop = {"ALL"}
    drop = {c for c in drop if c not in add and c != "RESET"}
    add.discard("RESET")
    if add:
        set_path(spec, _CS + "CapabilityAdd", sorted(add))
    if drop:
        set_path(spec, _CS + "CapabilityDrop", sorted(drop))


def _restart_fallback(restart):
    """The legacy service-level `restart:` key, used when deploy.restart_policy is absent."""
    name, dummy, count = restart.partition(":")
    policy = {"always": "any", "unless-stopped": "any", "on-failure": "on-failure"}.get(name)
    if policy is None:
        return None
    out = {"Condition": policy}
    if count and count.isdigit() and int(count) > 0:
        out["MaxAttempts"] = int(count)
    return out


def _mode(deploy):
    mode, replicas = deploy.get("mode", "replicated"), deploy.get("replicas")
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        job = {}
        if replicas is not None:
            job = {"MaxConcurrent": replicas, "TotalCompletions": replicas}
        return {"ReplicatedJob": job}
    # An unset replicas means 1 to the engine; say so, so the comparison is exact.
    return {"Replicated": {"Replicas": 1 if replicas is None else replicas}}


def _ports(ports):
    out = []
    for port in ports:
        entry = {"Protocol": port.get("protocol", ""), "TargetPort": port["target"],
                 "PublishedPort": port.get("published", 0), "PublishMode": port.get("mode", "")}
        out.append({k: v for k, v in entry.items() if v not in ("", None)})
    return sorted(out, key=lambda p: (p.get("PublishedPort", 0), p["TargetPort"], p.get("Protocol", ""),
                                      p.get("PublishMode", "")))


def _networks(stack, svc_name, svc, declared):
    nets = svc.get("networks") or {DEFAULT_NETWORK: {}}
    out = []
    for key, opts in nets.items():
        conf = declared.get(key, {})
        target = conf.get("name") or scope(stack, key)
        entry = {"Target": target}
        aliases = list((opts or {}).get("aliases", []))
        if target not in ("host", "bridge", "none", "default") and not target.startswith("container:"):
            aliases.append(svc_name)
        if aliases:
            entry["Aliases"] = aliases
        if (opts or {}).get("driver_opts"):
            entry["DriverOpts"] = opts["driver_opts"]
        out.append(entry)
    return sorted(out, key=lambda n: n["Target"])


def _mounts(stack, svc, volumes):
    out = []
    for vol in svc.get("volumes", []):
        mount = {"Type": vol["type"], "Target": vol["target"]}
        if vol.get("read_only"):
            mount["ReadOnly"] = True
        if vol.get("consistency"):
            mount["Consistency"] = vol["consistency"]
        if vol.get("source"):
            mount["Source"] = vol["source"]
        if vol["type"] == "volume" and vol.get("source"):
            top = volumes[vol["source"]]
            mount["Source"] = top.get("name") or scope(stack, vol["source"])
            opts = {}
            if vol.get("volume", {}).get("nocopy"):
                opts["NoCopy"] = True
            if vol.get("volume", {}).get("subpath"):
                opts["Subpath"] = vol["volume"]["subpath"]
            if not top.get("external"):
                opts["Labels"] = dict(top.get("labels", {}), **{NAMESPACE_LABEL: stack})
                if top.get("driver") or top.get("driver_opts"):
                    opts["DriverConfig"] = {"Name": top.get("driver", "")}
                    if top.get("driver_opts"):
                        opts["DriverConfig"]["Options"] = top["driver_opts"]
            mount["VolumeOptions"] = opts
        if vol["type"] in ("bind", "npipe") and vol.get("bind", {}).get("propagation"):
            mount["BindOptions"] = {"Propagation": vol["bind"]["propagation"]}
        if vol["type"] == "tmpfs" and vol.get("tmpfs"):
            tmpfs = {}
            if "size" in vol["tmpfs"]:
                tmpfs["SizeBytes"] = vol["tmpfs"]["size"]
            if "mode" in vol["tmpfs"]:
                tmpfs["Mode"] = vol["tmpfs"]["mode"]
            mount["TmpfsOptions"] = tmpfs
        out.append(mount)
    # Service-level `tmpfs:` (which docker stack deploy drops) becomes tmpfs mounts.
    for path in svc.get("tmpfs", []):
        target, dummy, options = path.partition(":")
        mount = {"Type": "tmpfs", "Target": target}
        for opt in filter(None, options.split(",")):
            key, dummy, val = opt.partition("=")
            if key == "size":
                mount.setdefault("TmpfsOptions", {})["SizeBytes"] = parse_size(val)
            elif key == "mode":
                mount.setdefault("TmpfsOptions", {})["Mode"] = int(val, 8)
        out.append(mount)
    return out


def content_label(content_key, data):
    """HMAC-SHA256 of a config/secret's content under the cluster's content key (hex)."""
    if not content_key:
        raise ValueError("a content key is needed to label configs and secrets")
    key = content_key.encode("utf-8") if isinstance(content_key, str) else content_key
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def file_object_name(stack, key, entry, label):
    """The name a config/secret gets: its `name:` if given, else <stack>_<key>_<label[:12]>."""
    if entry.get("name"):
        return entry["name"]
    return "%s_%s" % (scope(stack, key), label[:12])


def _refs(stack, svc, kind, objects):
    out = []
    name_key = "SecretName" if kind == "secrets" else "ConfigName"
    for ref in svc.get(kind, []):
        obj = objects[ref["source"]]
        out.append({
            "File": {"Name": ref.get("target") or ref["source"], "UID": ref.get("uid", "0"),
                     "GID": ref.get("gid", "0"), "Mode": ref.get("mode", 0o444)},
            name_key: obj["name"],
        })
    return sorted(out, key=lambda r: r[name_key])


def service_spec(stack, svc_name, svc, model, objects):
    """One compose service (canonical) -> an Engine API ServiceSpec."""
    spec = {"Name": scope(stack, svc_name)}
    for src, dst, transform in SERVICE_TABLE:
        value = get_path(svc, src)
        if value is not None and value != [] and value != {}:
            set_path(spec, dst, transform(value))
    deploy = svc.get("deploy", {})
    spec["Labels"] = dict(deploy.get("labels", {}), **{NAMESPACE_LABEL: stack, IMAGE_LABEL: svc["image"]})
    set_path(spec, _CS + "Labels", dict(svc.get("labels", {}), **{NAMESPACE_LABEL: stack}))
    _capabilities(svc, spec)
    mounts = _mounts(stack, svc, model["volumes"])
    if mounts:
        set_path(spec, _CS + "Mounts", mounts)
    for kind, key in (("secrets", "Secrets"), ("configs", "Configs")):
        refs = _refs(stack, svc, kind, objects[kind])
        if refs:
            set_path(spec, _CS + key, refs)
    if "restart_policy" not in deploy and svc.get("restart"):
        policy = _restart_fallback(svc["restart"])
        if policy:
            spec["TaskTemplate"]["RestartPolicy"] = policy
    spec["TaskTemplate"]["Networks"] = _networks(stack, svc_name, svc, model["networks"])
    spec["Mode"] = _mode(deploy)
    for src, dst in (("update_config", "UpdateConfig"), ("rollback_config", "RollbackConfig")):
        if src in deploy:
            spec[dst] = _update_config(deploy[src])
    ports = _ports(svc.get("ports", []))
    if ports:
        spec.setdefault("EndpointSpec", {})["Ports"] = ports
    return spec


def network_body(stack, key, conf):
    """Body for POST /networks/create (docker stack deploy defaults: overlay, swarm scope)."""
    body = {
        "Name": conf.get("name") or scope(stack, key),
        "Driver": conf.get("driver") or "overlay",
        "Labels": dict(conf.get("labels", {}), **{NAMESPACE_LABEL: stack}),
        "CheckDuplicate": True,
    }
    for src, dst in (("driver_opts", "Options"), ("internal", "Internal"),
                     ("attachable", "Attachable"), ("enable_ipv6", "EnableIPv6")):
        if conf.get(src):
            body[dst] = conf[src]
    ipam = conf.get("ipam") or {}
    if ipam.get("driver") or ipam.get("config"):
        body["IPAM"] = {"Driver": ipam.get("driver") or "default"}
        configs = []
        for entry in ipam.get("config", []):
            item = {}
            for src, dst in (("subnet", "Subnet"), ("ip_range", "IPRange"), ("gateway", "Gateway"),
                             ("aux_addresses", "AuxiliaryAddresses")):
                if entry.get(src):
                    item[dst] = entry[src]
            configs.append(item)
        if configs:
            body["IPAM"]["Config"] = configs
        if ipam.get("options"):
            body["IPAM"]["Options"] = ipam["options"]
    return body


def _object_data(entry, env):
    if "file" in entry:
        with open(entry["file"], "rb") as fh:
            return fh.read()
    if "content" in entry:
        return entry["content"].encode("utf-8")
    if "environment" in entry:
        return env.get(entry["environment"], "").encode("utf-8")
    return b""


def file_objects(stack, kind, entries, env, content_key):
    """Top-level secrets/configs -> {key: {name, external, spec, label}} (spec holds base64 Data)."""
    out = {}
    for key, entry in entries.items():
        if entry.get("external"):
            out[key] = {"name": entry.get("name") or key, "external": True}
            continue
        data = _object_data(entry, env)
        label = content_label(content_key, data)
        labels = dict(entry.get("labels", {}), **{NAMESPACE_LABEL: stack, HMAC_LABEL: label})
        spec = {"Name": file_object_name(stack, key, entry, label), "Labels": labels,
                "Data": base64.b64encode(data).decode("ascii")}
        if kind == "secrets" and entry.get("driver"):
            spec["Driver"] = {"Name": entry["driver"], "Options": entry.get("driver_opts", {})}
            spec.pop("Data")
        if entry.get("template_driver"):
            spec["Templating"] = {"Name": entry["template_driver"]}
        out[key] = {"name": spec["Name"], "external": False, "spec": spec, "label": label,
                    "plain_name": scope(stack, key), "explicit_name": bool(entry.get("name"))}
    return out


_SWARM_NAME = re.compile(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$")


def name_problems(stack, model):
    """Names the engine would reject half-way through a deploy, found up front."""
    problems = []
    if not stack or not _SWARM_NAME.match(stack):
        problems.append("name: invalid stack name %r (letters, digits, '-' and '_'; start and end "
                        "with a letter or digit)" % stack)
        return problems
    for key in sorted(model["services"]):
        name = scope(stack, key)
        if not _SWARM_NAME.match(name) or len(name) > 63:
            problems.append("%s: services.%s: the service name %r is invalid for swarm (at most 63 letters, "
                            "digits, '-' and '_')" % (model["origin"].get("services." + key, "compose"), key, name))
    return problems


# The engine's name rules: networks (daemon), volumes (local driver), secrets and configs (swarmkit).
_NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_OBJECT_NAME = re.compile(r"^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$")
_NAME_RULES = {
    "networks": (_NETWORK_NAME, 255, "letters, digits, '_', '.' and '-', starting with a letter or digit"),
    "volumes": (_VOLUME_NAME, 255, "at least 2 letters, digits, '_', '.' and '-', starting with a letter or digit"),
    "secrets": (_OBJECT_NAME, 64, "at most 64 letters, digits, '_', '.' and '-', starting and ending with a "
                                  "letter or digit"),
    "configs": (_OBJECT_NAME, 64, "at most 64 letters, digits, '_', '.' and '-', starting and ending with a "
                                  "letter or digit"),
}


def _object_names(stack, kind, key, entry):
    if kind in ("secrets", "configs"):
        # The longest name file_object_name can give (a full-length digest).
        return [file_object_name(stack, key, entry, "0" * 64)]
    return [entry.get("name") or scope(stack, key)]


def value_problems(stack, model):
    """Values that pass the compose checks but that the engine would refuse mid-deploy."""
    problems = []
    for kind, (pattern, limit, rule) in sorted(_NAME_RULES.items()):
        for key, entry in sorted(model.get(kind, {}).items()):
            if entry.get("external"):
                continue
            for name in _object_names(stack, kind, key, entry):
                if not pattern.match(name) or len(name) > limit:
                    problems.append("%s: %s.%s: the %s name %r is invalid for the engine (%s)" % (
                        model["origin"].get("%s.%s" % (kind, key), "compose"), kind, key, kind[:-1], name, rule))
    problems.extend(_published_port_problems(model))
    return problems


def _published_port_problems(model):
    """The engine refuses a published ingress port used twice, also across services of a stack."""
    owners, problems = {}, []
    for key, svc in sorted(model["services"].items()):
        for port in svc.get("ports", []):
            if not port.get("published") or port.get("mode", "ingress") != "ingress":
                continue
            ident = (port["published"], port.get("protocol", "tcp"))
            if ident in owners:
                problems.append("%s: services.%s.ports: published port %d/%s is also published by service %s" % (
                    model["origin"].get("services." + key, "compose"), key, ident[0], ident[1], owners[ident]))
            else:
                owners[ident] = key
    return problems


def build(stack, model, env=None, content_key=None):
    """The whole desired state of a stack, as Engine API bodies keyed by object name.

    content_key keys the HMAC that names configs and secrets (see content_label); it is
    needed only when the model has any that are not external.

    Returns {"services": {name: spec}, "networks": {name: body}, "external_networks": [...],
    "secrets": {key: obj}, "configs": {key: obj}}.
    """
    objects = {kind: file_objects(stack, kind, model[kind], env or {}, content_key) for kind in ("secrets", "configs")}
    services, used = {}, set()
    for name, svc in sorted(model["services"].items()):
        spec = service_spec(stack, name, svc, model, objects)
        services[spec["Name"]] = spec
        used.update(svc.get("networks") or [DEFAULT_NETWORK])
    networks, external = {}, []
    for key in sorted(used):
        conf = model["networks"].get(key, {})
        if conf.get("external"):
            external.append(conf.get("name") or key)
            continue
        body = network_body(stack, key, conf)
        networks[body["Name"]] = body
    return {"services": services, "networks": networks, "external_networks": external,
            "secrets": objects["secrets"], "configs": objects["configs"]}
