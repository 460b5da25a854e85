# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate, merge and compare /etc/docker/daemon.json.

daemon.json is shared with whoever set the host up: this module owns the keys it is given
and nothing else. Keys it is not given are kept as found; a key it owns whose value on the
host differs is replaced and reported (``overridden``); ``remove`` names keys to delete.

build(config)   -> the owned keys, canonical (pure; every problem listed at once, by key)
read(path)      -> the current file as (text or None, dict); refuses a file it cannot merge
merge(...)      -> the file after the change (pure)
plan(...)       -> a Plan: write or not, before/after diff with credentials masked (pure)
file_mode(...)  -> 0600 when the file holds credentials (pure)
The module writes the file; nothing here touches the disk except read().
"""

from __future__ import annotations

import ipaddress
import json
import os
import re

from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

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
# Integer ranges: dockerd decodes every integer into a Go int (64 bits) and then checks these
# (the kernel's limits where dockerd passes the value on: an Ethernet bridge's MTU, oom_score_adj).
GO_INT = (-(2 ** 63), 2 ** 63 - 1)
INT_RANGES = {
    "max-concurrent-downloads": (1, GO_INT[1]),
    "max-concurrent-uploads": (1, GO_INT[1]),
    "max-download-attempts": (1, GO_INT[1]),
    "mtu": (68, 65535),
    "oom-score-adjust": (-1000, 1000),
    "shutdown-timeout": (0, GO_INT[1]),
}
IP_ADDRESS_KEYS = ("ip", "default-gateway", "default-gateway-v6", "host-gateway-ip")
NETWORK_KEYS = ("fixed-cidr", "fixed-cidr-v6")
SIZE_RE = re.compile(r"^\d+(\.\d+)?\s?([kmgtp]i?b?|b)?$", re.I)
HOST_SCHEMES = ("unix://", "fd://", "tcp://")
PROXY_KEYS = ("http-proxy", "https-proxy", "no-proxy")
# user:password@ in a URL; the password is what gets masked.
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^/\s:@\"]*:)[^@\s/\"]+@")
MASK = "********"


class Problems:
    """Every problem found, by key; raised at once so one run shows them all."""

    def __init__(self):
        self.items = []

    def add(self, key, problem):
        self.items.append("daemon.json key '%s': %s" % (key, problem))

    def raise_if_any(self):
        if len(self.items) == 1:
            raise SwarmOpsError(self.items[0] + " (nothing was written)", problems=self.items)
        if self.items:
            raise SwarmOpsError("%d problems in the daemon.json settings (nothing was written): %s"
                                % (len(self.items), "; ".join(self.items)), problems=self.items)


def _type_name(value):
    return type(value).__name__ if value is not None else "null"


def _is_int(value):
    # bool is an int subclass in Python: reject it where a number is expected.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_list_of_str(problems, key, value, what):
    if not isinstance(value, list):
        problems.add(key, "must be a %s, got %s" % (what, _type_name(value)))
        return False
    ok = True
    for i, item in enumerate(value):
        if not isinstance(item, str):
            problems.add("%s[%d]" % (key, i), "must be a string, got %s %r" % (_type_name(item), item))
            ok = False
    return ok


def _check_dict_of_str(problems, key, value):
    if not isinstance(value, dict):
        problems.add(key, "must be a mapping of strings, got %s" % _type_name(value))
        return False
    ok = True
    for name, item in value.items():
        if not isinstance(item, str):
            problems.add("%s.%s" % (key, name),
                         "must be a string (dockerd rejects other JSON types here; quote it, "
                         "e.g. \"%s\"), got %s %r" % (item, _type_name(item), item))
            ok = False
    return ok


def _check_type(problems, key, kind, value):
    """True when ``value`` has the JSON type dockerd expects for ``key``."""
    if kind == STR and not isinstance(value, str):
        problems.add(key, "must be a string, got %s %r" % (_type_name(value), value))
    elif kind == BOOL and not isinstance(value, bool):
        problems.add(key, "must be true or false, got %s %r" % (_type_name(value), value))
    elif kind == INT and not _is_int(value):
        problems.add(key, "must be an integer, got %s %r" % (_type_name(value), value))
    elif kind == DICT and not isinstance(value, dict):
        problems.add(key, "must be a mapping, got %s" % _type_name(value))
    elif kind == STR_LIST:
        return _check_list_of_str(problems, key, value, "list of strings")
    elif kind == STR_DICT:
        return _check_dict_of_str(problems, key, value)
    else:
        return True
    return False


def _check_pool(problems, where, pool):
    if not isinstance(pool, dict) or set(pool) != {"base", "size"}:
        problems.add(where, "must be a mapping with exactly the keys base and size, got %r" % (pool,))
        return
    size = pool["size"]
    if not _is_int(size):
        problems.add(where + ".size", "must be an integer prefix length, got %s %r" % (_type_name(size), size))
    try:
        base = ipaddress.ip_network(pool["base"], strict=True)
    except (TypeError, ValueError) as exc:
        problems.add(where + ".base", "must be a network in CIDR notation (%s)" % exc)
        return
    if _is_int(size) and not base.prefixlen <= size <= base.max_prefixlen:
        problems.add(where + ".size", "must be between the base's prefix length %d and %d, got %d"
                     % (base.prefixlen, base.max_prefixlen, size))


def _check_pools(problems, key, pools):
    if not isinstance(pools, list):
        problems.add(key, "must be a list of {base: CIDR, size: prefix length}, got %s" % _type_name(pools))
        return False
    before = len(problems.items)
    for i, pool in enumerate(pools):
        _check_pool(problems, "%s[%d]" % (key, i), pool)
    return len(problems.items) == before


def _check_hosts(problems, config):
    """dockerd on TCP without verified TLS gives root on the host to anyone who can connect."""
    for i, host in enumerate(config.get("hosts", [])):
        if not host.startswith(HOST_SCHEMES):
            problems.add("hosts[%d]" % i, "must start with one of %s, got %r" % (", ".join(HOST_SCHEMES), host))
        if host.startswith("tcp://"):
            missing = [k for k in ("tlscacert", "tlscert", "tlskey") if not config.get(k)]
            if config.get("tlsverify") is not True or missing:
                problems.add("hosts[%d]" % i,
                             "refusing to expose the Docker daemon on %s without TLS client verification: "
                             "set tlsverify: true and tlscacert, tlscert, tlskey%s" % (
                                 host, " (missing: %s)" % ", ".join(missing) if missing else ""))


def _check_address(problems, key, value, parse, what):
    try:
        parse(value)
    except ValueError as exc:
        problems.add(key, "must be %s (%s)" % (what, exc))


def _cidr_address(value):
    if "/" not in value:
        raise ValueError("no prefix length")
    return ipaddress.ip_interface(value)


def _check_ranges(problems, config):
    for key, value in config.items():
        low, high = INT_RANGES.get(key, GO_INT)
        if KEYS.get(key) == INT and not low <= value <= high:
            problems.add(key, "must be between %d and %d, got %d" % (low, high, value))
    for key in IP_ADDRESS_KEYS:
        if key in config:
            _check_address(problems, key, config[key], ipaddress.ip_address, "an IP address")
    for key in NETWORK_KEYS:
        if key in config:
            _check_address(problems, key, config[key], ipaddress.ip_network, "a network in CIDR notation")
    for key in ("bip", "bip6"):
        if key in config:
            _check_address(problems, key, config[key], _cidr_address,
                           "an address with a prefix length, e.g. 172.26.0.1/16")
    for i, server in enumerate(config.get("dns", [])):
        _check_address(problems, "dns[%d]" % i, server, ipaddress.ip_address, "an IP address")
    if "default-shm-size" in config and not SIZE_RE.match(config["default-shm-size"]):
        problems.add("default-shm-size", "must be a size such as 64m or 1g, got %r" % config["default-shm-size"])
    _check_log_opts(problems, config.get("log-opts", {}))


def _check_log_opts(problems, opts):
    """The json-file and local drivers' rotation settings, as those drivers parse them."""
    if "max-file" in opts and not (opts["max-file"].isdigit() and int(opts["max-file"]) >= 1):
        problems.add("log-opts.max-file", "must be a whole number of files, at least 1, got %r" % opts["max-file"])
    if "max-size" in opts and not (opts["max-size"] == "-1" or SIZE_RE.match(opts["max-size"])):
        problems.add("log-opts.max-size", "must be a size such as 10m or -1 (unlimited), got %r" % opts["max-size"])


def _check_values(problems, config):
    for key, allowed in CHOICES.items():
        if key in config and config[key] not in allowed:
            problems.add(key, "must be one of %s, got %r" % (", ".join(allowed), config[key]))
    for key in ABSOLUTE_PATHS:
        if key in config and not config[key].startswith("/"):
            problems.add(key, "must be an absolute path, got %r" % config[key])
    for i, mirror in enumerate(config.get("registry-mirrors", [])):
        if not mirror.startswith(("http://", "https://")):
            problems.add("registry-mirrors[%d]" % i, "must be an http:// or https:// URL, got %r" % mirror)
    for i, registry in enumerate(config.get("insecure-registries", [])):
        if "://" in registry:
            problems.add("insecure-registries[%d]" % i,
                         "must be host[:port] or a CIDR without a scheme, got %r" % registry)
    for i, label in enumerate(config.get("labels", [])):
        if "=" not in label or label.startswith("="):
            problems.add("labels[%d]" % i, "must be key=value, got %r" % label)
    for i, opt in enumerate(config.get("exec-opts", [])):
        name, _, value = opt.partition("=")
        if name == "native.cgroupdriver" and value not in ("cgroupfs", "systemd"):
            problems.add("exec-opts[%d]" % i, "native.cgroupdriver must be cgroupfs or systemd, got %r" % value)
    for name in config.get("proxies", {}):
        if name not in PROXY_KEYS:
            problems.add("proxies.%s" % name, "unknown proxy setting; use %s" % ", ".join(PROXY_KEYS))
    if config.get("tlsverify") and not config.get("tlscacert"):
        problems.add("tlsverify", "needs tlscacert (the CA that signed the client certificates)")
    _check_ranges(problems, config)


def _is_empty(value):
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def _unknown_key(problems, key, strict, warnings):
    hint = ""
    if key.replace("_", "-") in KEYS:
        hint = " (did you mean '%s'?)" % key.replace("_", "-")
    if strict:
        problems.add(key, "unknown daemon.json setting%s; dockerd refuses unknown keys "
                          "(set strict: false to pass it through anyway)" % hint)
    else:
        warnings.append("daemon.json key '%s' is not known to this module%s; passed through as is."
                        % (key, hint))


def build(config, strict=True):
    """Return (canonical owned keys, warnings); raise SwarmOpsError listing every problem.

    Null values, empty strings and empty lists/mappings are left out: they mean "not managed",
    the file's own value (if any) is kept. ``labels`` may be given as a mapping and becomes
    sorted key=value strings.
    """
    if not isinstance(config, dict):
        raise SwarmOpsError("daemon.json settings must be a mapping, got %s" % _type_name(config))
    problems, warnings, typed, result = Problems(), [], {}, {}
    for key, value in config.items():
        if not isinstance(key, str):
            problems.add(repr(key), "keys must be strings")
            continue
        if key == "labels" and isinstance(value, dict):
            value = ["%s=%s" % (k, v) for k, v in sorted(value.items())]
        if _is_empty(value):
            continue
        kind = KEYS.get(key)
        if kind is None:
            _unknown_key(problems, key, strict, warnings)
        elif (_check_pools(problems, key, value) if kind == "pools"
              else _check_type(problems, key, kind, value)):
            typed[key] = value
        result[key] = value
    _check_values(problems, typed)
    _check_hosts(problems, typed)
    problems.raise_if_any()
    return result, warnings


def check_remove(keys, desired):
    """``remove`` must not name a key that is also set."""
    problems = Problems()
    for key in keys:
        if key in desired:
            problems.add(key, "is both set in config and listed in remove")
    problems.raise_if_any()


def render(config):
    """The file's text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def read(path):
    """Return (text, parsed dict), or (None, {}) when absent.

    A file that is not a JSON object cannot be merged: refused, so nobody's settings are lost.
    """
    if not os.path.exists(path):
        return None, {}
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise SwarmOpsError("Cannot read %s: %s" % (path, exc.strerror or exc), path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SwarmOpsError("%s is not UTF-8 text (byte %d); fix or move it first, it is left as is."
                            % (path, exc.start), path=path)
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise SwarmOpsError("%s is not valid JSON (%s); dockerd would not start with it either. "
                            "Fix or move it first, it is left as is." % (path, exc), path=path)
    if not isinstance(parsed, dict):
        raise SwarmOpsError("%s holds a JSON %s, not an object; fix or move it first, it is left as is."
                            % (path, _type_name(parsed)), path=path)
    return text, parsed


def merge(current, desired, remove=()):
    """The file after the change: current keys kept, owned keys set, removed keys gone. Pure."""
    merged = {key: value for key, value in current.items() if key not in remove}
    merged.update(desired)
    return merged


def overridden(current, desired):
    """Owned keys the host already had with another value: the clashes, by name. Pure."""
    return sorted(key for key, value in desired.items() if key in current and current[key] != value)


def mask(text):
    """The text with every URL password replaced by ********. Pure."""
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)


def mask_config(config):
    return json.loads(mask(json.dumps(config)))


def secrets_in(config):
    """The passwords inside URLs anywhere in config (proxies), for Ansible's no_log values."""
    found = []
    for match in _URL_PASSWORD.finditer(json.dumps(config)):
        found.append(match.group(0)[len(match.group(1)):-1])
    return found


def has_credentials(config):
    return bool(secrets_in(config))


def file_mode(config, current_mode):
    """0600 when the file holds credentials; otherwise the file's own mode, 0644 for a new file."""
    if has_credentials(config):
        return 0o600
    return current_mode if current_mode is not None else 0o644


def plan(current_text, current, merged, current_mode=None):
    """Decide whether the file must be written; the comparison is semantic, not textual.

    Returns a Plan: one ``write`` action (the text and mode to write) or none; before/after
    for Ansible's --diff, both rendered the same way so the diff shows the keys that change
    and nothing else; credentials masked.
    """
    after = render(merged)
    if current_text is None:
        changed = bool(merged)  # nothing to set: no file is created
    else:
        changed = current != merged or (current_mode is not None
                                        and file_mode(merged, current_mode) != current_mode)
    before = render(current) if current_text is not None else ""
    result = Plan(before=mask(before), after=mask(after))
    if changed:
        result.add("write", text=after, mode=file_mode(merged, current_mode))
    return result
