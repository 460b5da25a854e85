# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render, validate and compare /etc/docker/daemon.json.

build(config)  -> the canonical dict (pure; raises SwarmOpsError naming the key)
render(config) -> its JSON text (pure)
read(path)     -> the current file as (text, dict or None)
plan(current, desired) -> changed?, before/after diff (pure)
The module writes the file; nothing here touches the disk except read().
"""

from __future__ import annotations

import ipaddress
import json
import os

from ansible_collections.swarmops.core.plugins.module_utils.docker_common import SwarmOpsError

STR, BOOL, INT = "str", "bool", "int"
STR_LIST, STR_DICT, DICT = "list[str]", "dict[str,str]", "dict"

# One row per daemon.json key dockerd (20.10 .. 27) accepts on Linux: key -> JSON type.
# dockerd refuses keys it does not know, so unknown keys fail here first (strict mode).
KEYS = {
    "allow-nondistributable-artifacts": STR_LIST,
    "api-cors-header": STR,
    "authorization-plugins": STR_LIST,
    "bip": STR,
    "bip6": STR,
    "bridge": STR,
    "builder": DICT,
    "cdi-spec-dirs": STR_LIST,
    "cgroup-parent": STR,
    "containerd": STR,
    "containerd-namespace": STR,
    "containerd-plugins-namespace": STR,
    "data-root": STR,
    "debug": BOOL,
    "default-address-pools": "pools",
    "default-cgroupns-mode": STR,
    "default-gateway": STR,
    "default-gateway-v6": STR,
    "default-ipc-mode": STR,
    "default-network-opts": DICT,
    "default-runtime": STR,
    "default-shm-size": STR,
    "default-ulimits": DICT,
    "dns": STR_LIST,
    "dns-opts": STR_LIST,
    "dns-search": STR_LIST,
    "exec-opts": STR_LIST,
    "exec-root": STR,
    "experimental": BOOL,
    "features": DICT,
    "fixed-cidr": STR,
    "fixed-cidr-v6": STR,
    "group": STR,
    "host-gateway-ip": STR,
    "hosts": STR_LIST,
    "icc": BOOL,
    "init": BOOL,
    "init-path": STR,
    "insecure-registries": STR_LIST,
    "ip": STR,
    "ip-forward": BOOL,
    "ip-masq": BOOL,
    "ip6tables": BOOL,
    "iptables": BOOL,
    "ipv6": BOOL,
    "labels": STR_LIST,
    "live-restore": BOOL,
    "log-driver": STR,
    "log-format": STR,
    "log-level": STR,
    "log-opts": STR_DICT,
    "max-concurrent-downloads": INT,
    "max-concurrent-uploads": INT,
    "max-download-attempts": INT,
    "metrics-addr": STR,
    "mtu": INT,
    "no-new-privileges": BOOL,
    "node-generic-resources": STR_LIST,
    "oom-score-adjust": INT,
    "pidfile": STR,
    "proxies": STR_DICT,
    "raw-logs": BOOL,
    "registry-mirrors": STR_LIST,
    "runtimes": DICT,
    "seccomp-profile": STR,
    "selinux-enabled": BOOL,
    "shutdown-timeout": INT,
    "storage-driver": STR,
    "storage-opts": STR_LIST,
    "swarm-default-advertise-addr": STR,
    "tls": BOOL,
    "tlscacert": STR,
    "tlscert": STR,
    "tlskey": STR,
    "tlsverify": BOOL,
    "userland-proxy": BOOL,
    "userland-proxy-path": STR,
    "userns-remap": STR,
}

CHOICES = {
    "log-level": ("debug", "info", "warn", "error", "fatal"),
    "log-format": ("text", "json"),
    "default-cgroupns-mode": ("host", "private"),
    "default-ipc-mode": ("shareable", "private"),
}
ABSOLUTE_PATHS = ("data-root", "exec-root", "pidfile", "tlscacert", "tlscert", "tlskey",
                  "init-path", "userland-proxy-path", "seccomp-profile")
HOST_SCHEMES = ("unix://", "fd://", "tcp://")
PROXY_KEYS = ("http-proxy", "https-proxy", "no-proxy")


def _type_name(value):
    return type(value).__name__ if value is not None else "null"


def _fail(key, problem):
    raise SwarmOpsError("daemon.json key '%s': %s" % (key, problem), key=key)


def _check_type(key, kind, value):
    # bool is an int subclass in Python: reject it where a number is expected.
    if kind == STR and not isinstance(value, str):
        _fail(key, "must be a string, got %s %r" % (_type_name(value), value))
    if kind == BOOL and not isinstance(value, bool):
        _fail(key, "must be true or false, got %s %r" % (_type_name(value), value))
    if kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(key, "must be an integer, got %s %r" % (_type_name(value), value))
    if kind == DICT and not isinstance(value, dict):
        _fail(key, "must be a mapping, got %s" % _type_name(value))
    if kind == STR_LIST:
        if not isinstance(value, list):
            _fail(key, "must be a list of strings, got %s" % _type_name(value))
        for i, item in enumerate(value):
            if not isinstance(item, str):
                _fail("%s[%d]" % (key, i), "must be a string, got %s %r" % (_type_name(item), item))
    if kind == STR_DICT:
        if not isinstance(value, dict):
            _fail(key, "must be a mapping of strings, got %s" % _type_name(value))
        for name, item in value.items():
            if not isinstance(item, str):
                _fail("%s.%s" % (key, name),
                      "must be a string (dockerd rejects other JSON types here; quote it, "
                      "e.g. \"%s\"), got %s %r" % (item, _type_name(item), item))


def _check_pools(key, pools):
    if not isinstance(pools, list):
        _fail(key, "must be a list of {base: CIDR, size: prefix length}, got %s" % _type_name(pools))
    for i, pool in enumerate(pools):
        where = "%s[%d]" % (key, i)
        if not isinstance(pool, dict) or set(pool) != {"base", "size"}:
            _fail(where, "must be a mapping with exactly the keys base and size, got %r" % (pool,))
        try:
            base = ipaddress.ip_network(pool["base"], strict=True)
        except (TypeError, ValueError) as exc:
            _fail(where + ".base", "must be a network in CIDR notation (%s)" % exc)
        size = pool["size"]
        if isinstance(size, bool) or not isinstance(size, int):
            _fail(where + ".size", "must be an integer prefix length, got %s %r" % (_type_name(size), size))
        if not base.prefixlen <= size <= base.max_prefixlen:
            _fail(where + ".size", "must be between the base's prefix length %d and %d, got %d"
                  % (base.prefixlen, base.max_prefixlen, size))


def _check_hosts(config):
    """dockerd on TCP without verified TLS gives root on the host to anyone who can connect."""
    for i, host in enumerate(config.get("hosts", [])):
        if not host.startswith(HOST_SCHEMES):
            _fail("hosts[%d]" % i, "must start with one of %s, got %r" % (", ".join(HOST_SCHEMES), host))
        if host.startswith("tcp://"):
            missing = [k for k in ("tlscacert", "tlscert", "tlskey") if not config.get(k)]
            if config.get("tlsverify") is not True or missing:
                _fail("hosts[%d]" % i,
                      "refusing to expose the Docker daemon on %s without TLS client verification: "
                      "set tlsverify: true and tlscacert, tlscert, tlskey%s" % (
                          host, " (missing: %s)" % ", ".join(missing) if missing else ""))


def _check_values(config):
    for key, allowed in CHOICES.items():
        if key in config and config[key] not in allowed:
            _fail(key, "must be one of %s, got %r" % (", ".join(allowed), config[key]))
    for key in ABSOLUTE_PATHS:
        if key in config and not config[key].startswith("/"):
            _fail(key, "must be an absolute path, got %r" % config[key])
    for i, mirror in enumerate(config.get("registry-mirrors", [])):
        if not mirror.startswith(("http://", "https://")):
            _fail("registry-mirrors[%d]" % i, "must be an http:// or https:// URL, got %r" % mirror)
    for i, registry in enumerate(config.get("insecure-registries", [])):
        if "://" in registry:
            _fail("insecure-registries[%d]" % i,
                  "must be host[:port] or a CIDR without a scheme, got %r" % registry)
    for i, label in enumerate(config.get("labels", [])):
        if "=" not in label or label.startswith("="):
            _fail("labels[%d]" % i, "must be key=value, got %r" % label)
    for i, opt in enumerate(config.get("exec-opts", [])):
        name, _, value = opt.partition("=")
        if name == "native.cgroupdriver" and value not in ("cgroupfs", "systemd"):
            _fail("exec-opts[%d]" % i, "native.cgroupdriver must be cgroupfs or systemd, got %r" % value)
    for name in config.get("proxies", {}):
        if name not in PROXY_KEYS:
            _fail("proxies.%s" % name, "unknown proxy setting; use %s" % ", ".join(PROXY_KEYS))
    for key in ("max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts", "mtu"):
        if key in config and config[key] < 1:
            _fail(key, "must be a positive integer, got %d" % config[key])
    if config.get("tlsverify") and not config.get("tlscacert"):
        _fail("tlsverify", "needs tlscacert (the CA that signed the client certificates)")


def _is_empty(value):
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def build(config, strict=True):
    """Return (canonical config dict, warnings) or raise SwarmOpsError naming the key.

    Null values, empty strings and empty lists/mappings are left out (dockerd's defaults apply);
    ``labels`` may be given as a mapping and becomes sorted key=value strings.
    """
    if not isinstance(config, dict):
        raise SwarmOpsError("daemon.json settings must be a mapping, got %s" % _type_name(config))
    warnings = []
    result = {}
    for key, value in config.items():
        if not isinstance(key, str):
            raise SwarmOpsError("daemon.json keys must be strings, got %r" % (key,))
        if key == "labels" and isinstance(value, dict):
            value = ["%s=%s" % (k, v) for k, v in sorted(value.items())]
        if _is_empty(value):
            continue
        kind = KEYS.get(key)
        if kind is None:
            hint = ""
            underscored = key.replace("_", "-")
            if underscored in KEYS:
                hint = " (did you mean '%s'?)" % underscored
            if strict:
                _fail(key, "unknown daemon.json setting%s; dockerd refuses unknown keys "
                           "(set strict: false to pass it through anyway)" % hint)
            warnings.append("daemon.json key '%s' is not known to this module%s; passed through as is."
                            % (key, hint))
        elif kind == "pools":
            _check_pools(key, value)
        else:
            _check_type(key, kind, value)
        result[key] = value
    _check_values(result)
    _check_hosts(result)
    return result, warnings


def render(config):
    """The file's text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def read(path):
    """Return (text or None when absent, parsed dict or None when absent/invalid)."""
    if not os.path.exists(path):
        return None, None
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        return text, None
    return text, parsed if isinstance(parsed, dict) else None


def plan(current_text, current, desired):
    """Decide whether the file must be written; the comparison is semantic, not textual.

    Returns (changed, diff) with before/after texts for Ansible's --diff.
    """
    after = render(desired)
    changed = current_text is None or current != desired
    before = current_text if current_text is not None else ""
    return changed, dict(before=before if changed else after, after=after)
