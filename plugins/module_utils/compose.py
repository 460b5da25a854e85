# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 1 of the stack pipeline: compose files -> one validated, canonical model.

load() reads each source (a path or an inline mapping), interpolates variables,
validates every key against the KEYS table (type, allowed values) while turning
short syntaxes into one canonical long form, then merges the sources in order
(like repeated ``docker stack deploy -c``) and checks cross references.
Every error names the source and the key path. Pure apart from reading files.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from decimal import Decimal, InvalidOperation

from ansible_collections.swarmops.core.plugins.module_utils.compose_yaml import (
    MAX_DEPTH,
    YAMLLimitError,
    check_tree,
    get_yaml,
    load_bounded,
)
from ansible_collections.swarmops.core.plugins.module_utils.units import go_duration

# Go's int64: the largest count, size or duration the CLI and the engine can hold.
INT64_MAX = 2 ** 63 - 1
# The engine's smallest memory limit/reservation (swarmkit: "Must be at least 4MiB")
# and smallest CPU share (0.001 CPUs), for values other than 0 (= unset).
MIN_MEMORY = 4 * 1024 * 1024
MIN_NANO_CPUS = 10 ** 6
# A compose file bigger than this is refused before parsing.
MAX_FILE_BYTES = 4 * 1024 * 1024


class ComposeError(Exception):
    """One or more problems in the compose sources; ``problems`` lists them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class _Invalid(Exception):
    def __init__(self, path, msg):
        super().__init__(msg)
        self.path = path
        self.msg = msg


# Keys `docker stack deploy` ignores with a warning, and the wording it uses.
UNSUPPORTED = (
    "build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links",
    "ipc", "links", "mac_address", "network_mode", "pid", "privileged", "restart",
    "security_opt", "shm_size", "userns_mode",
)
DEPRECATED = {
    "container_name": "Setting the container name is not supported.",
    "expose": "Exposing ports is unnecessary - services on the same network can access "
              "each other's containers on any port.",
}
# Compose keys that make no sense in swarm mode and are silently dropped by the CLI;
# we say so instead.
IGNORED = ("depends_on", "profiles", "pull_policy", "platform", "scale", "develop", "attach",
           "stop_timeout")
FORBIDDEN = {
    "extends": "Support for `extends` is not implemented yet.",
    "volume_driver": "Instead of setting the volume driver on the service, define a volume "
                     "using the top-level `volumes` option and specify the driver there.",
    "volumes_from": "To share a volume between services, define it using the top-level "
                    "`volumes` option and reference it from each service that shares it.",
    "cpu_quota": "Set resource limits using deploy.resources",
    "cpu_shares": "Set resource limits using deploy.resources",
    "cpuset": "Set resource limits using deploy.resources",
    "mem_limit": "Set resource limits using deploy.resources",
    "memswap_limit": "Set resource limits using deploy.resources",
}


# ---------------------------------------------------------------- interpolation

_VAR = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([_a-zA-Z][_a-zA-Z0-9]*)|)")
_BRACED = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?)([-?])(.*))?$", re.S)


def interpolate_string(text, env, path="", warnings=None):
    """Substitute $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?msg}, ${VAR?msg} and $$."""

    def sub(match):
        escaped, braced, named = match.group(1), match.group(2), match.group(3)
        if escaped:
            return "$"
        if named:
            return _lookup(named, env, path, warnings)
        if braced is None:
            raise _Invalid(path, "invalid interpolation format in %r" % text)
        m = _BRACED.match(braced)
        if not m:
            raise _Invalid(path, "invalid interpolation format in %r" % text)
        name, colon, op, arg = m.groups()
        if not op:
            return _lookup(name, env, path, warnings)
        value = env.get(name)
        missing = value is None or (colon and value == "")
        if op == "-":
            return interpolate_string(arg, env, path, warnings) if missing else value
        if missing:
            reason = arg or ("variable %s is not set" % name if value is None else
                             "variable %s is empty" % name)
            raise _Invalid(path, "required variable %s is missing a value: %s" % (name, reason))
        return value

    return _VAR.sub(sub, text)


def _lookup(name, env, path, warnings):
    if name in env:
        return env[name]
    if warnings is not None:
        warnings.append("The %s variable is not set (at %s). Defaulting to a blank string." % (name, path))
    return ""


def interpolate(value, env, path, warnings=None):
    """Interpolate every string value (never the keys) of a loaded YAML tree."""
    if isinstance(value, str):
        return interpolate_string(value, env, path, warnings)
    if isinstance(value, dict):
        return {k: interpolate(v, env, _join(path, k), warnings) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, "%s[%d]" % (path, i), warnings) for i, v in enumerate(value)]
    return value


def _join(path, key):
    return "%s.%s" % (path, key) if path else str(key)


# ---------------------------------------------------------------- scalar checkers
# Each checker takes (value, path) and returns the canonical value or raises _Invalid.

def _type_name(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def STR(value, path):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(path, "must be a string, got %s" % _type_name(value))
    return str(value)


def BOOL(value, path):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Invalid(path, "must be a boolean, got %s" % _type_name(value))


def INT(value, path):
    if isinstance(value, bool):
        raise _Invalid(path, "must be an integer, got a boolean")
    if isinstance(value, str) and re.match(r"^-?\d{1,30}$", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise _Invalid(path, "must be an integer, got %s %s" % (_type_name(value), _short(value)))
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise _Invalid(path, "%s is out of range (at most %d)" % (_short(value), INT64_MAX))
    return value


def UINT(value, path):
    value = INT(value, path)
    if value < 0:
        raise _Invalid(path, "must not be negative")
    return value


def _short(value, limit=40):
    """repr() cut to ``limit`` characters, so a huge value does not flood the message."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 128 else "a %d-bit integer" % value.bit_length()
    return text if len(text) <= limit else text[:limit] + "..."


def int_range(low, high):
    def check(value, path):
        value = INT(value, path)
        if not low <= value <= high:
            raise _Invalid(path, "must be between %d and %d, got %d" % (low, high, value))
        return value
    return check


def FLOAT(value, path):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Invalid(path, "must be a number, got %s" % _type_name(value))
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise _Invalid(path, "must be a number, got %s %s" % (_type_name(value), _short(value)))
    if not math.isfinite(number):
        raise _Invalid(path, "must be a finite number, got %s" % _short(value))
    return number


def RATIO(value, path):
    number = FLOAT(value, path)
    if not 0 <= number <= 1:
        raise _Invalid(path, "must be between 0 and 1, got %s" % _short(value))
    return number


def DURATION(value, path):
    """A Go duration string ("1m30s", "10s"), >= 0; canonical form is nanoseconds (int)."""
    ns = go_duration(value) if isinstance(value, str) and len(value) <= 100 else None
    if ns is None:
        raise _Invalid(path, "must be a duration like 10s, 1m30s or 500ms, got %s" % _short(value))
    if ns < 0:
        raise _Invalid(path, "must not be negative, got %r" % value)
    if ns > INT64_MAX:
        raise _Invalid(path, "%r is too long (at most about 292 years)" % value)
    return ns


def HEALTH_DURATION(value, path):
    """The engine refuses healthcheck durations between 0 and 1ms."""
    ns = DURATION(value, path)
    if 0 < ns < 10 ** 6:
        raise _Invalid(path, "must be 0 or at least 1ms, got %r" % value)
    return ns


_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp]?)(i?b)?$", re.I)


def parse_size(value):
    """docker's units.RAMInBytes: 50M, 1.5g, 512kb -> bytes (binary multiples); None if not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= INT64_MAX else None
    if not isinstance(value, (str, float)) or len(str(value)) > 40:
        return None
    m = _SIZE.match(str(value).strip())
    if not m:
        return None
    mult = 1024 ** "bkmgtp".index(m.group(2).lower() or "b")
    size = int(Decimal(m.group(1)) * mult)
    return size if size <= INT64_MAX else None


def SIZE(value, path):
    size = parse_size(value)
    if size is None:
        raise _Invalid(path, "must be a size like 50M, 1g or 1024 (bytes, 0 to 2^63-1), got %s" % _short(value))
    return size


def MEMORY(value, path):
    size = SIZE(value, path)
    if 0 < size < MIN_MEMORY:
        raise _Invalid(path, "must be 0 (no limit) or at least 4MiB (the engine's minimum), got %s" % _short(value))
    return size


def CPUS(value, path):
    """"0.5" -> 500000000 nano CPUs (docker's ParseCPUs, rejects more than 9 decimals)."""
    if isinstance(value, bool):
        raise _Invalid(path, "must be a number of CPUs like \"0.5\", got a boolean")
    if not isinstance(value, (str, int, float)) or len(str(value)) > 40:
        raise _Invalid(path, "must be a number of CPUs like \"0.5\", got %s" % _short(value))
    try:
        nano = Decimal(str(value).strip()) * 10 ** 9
    except InvalidOperation:
        raise _Invalid(path, "must be a number of CPUs like \"0.5\", got %r" % (value,))
    if not nano.is_finite():
        raise _Invalid(path, "must be a finite number of CPUs, got %r" % (value,))
    if nano != nano.to_integral_value():
        raise _Invalid(path, "value is too precise: %r" % (value,))
    if nano < 0:
        raise _Invalid(path, "must not be negative")
    if nano > INT64_MAX:
        raise _Invalid(path, "%r CPUs is out of range" % (value,))
    return int(nano)


def CPU_LIMIT(value, path):
    nano = CPUS(value, path)
    if 0 < nano < MIN_NANO_CPUS:
        raise _Invalid(path, "must be 0 (no limit) or at least 0.001 (the engine's minimum), got %r" % (value,))
    return nano


def choice(*allowed):
    def check(value, path):
        value = STR(value, path)
        if value not in allowed:
            raise _Invalid(path, "must be one of %s, got %r" % (", ".join(allowed), value))
        return value
    return check


def list_of(item):
    def check(value, path):
        if not isinstance(value, list):
            raise _Invalid(path, "must be a list, got %s" % _type_name(value))
        return [item(v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
    return check


def STR_OR_LIST(value, path):
    """A string or a list of strings -> list."""
    if isinstance(value, str):
        return [value]
    return list_of(STR)(value, path)


def COMMAND(value, path):
    """Shell-split a string (like the CLI); keep a list as is."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise _Invalid(path, "cannot split command: %s" % exc)
    return list_of(STR)(value, path)


def mapping_or_list(sep="=", allow_none=False):
    """environment/labels/sysctls style: {k: v} or ["k=v"] -> {k: str|None}."""
    def check(value, path):
        out = {}
        if isinstance(value, dict):
            for k, v in value.items():
                if v is None:
                    out[str(k)] = None if allow_none else ""
                elif isinstance(v, (dict, list)):
                    raise _Invalid(_join(path, k), "must be a string, number or boolean, got %s" % _type_name(v))
                else:
                    out[str(k)] = _scalar_str(v)
            return out
        if isinstance(value, list):
            for i, item in enumerate(value):
                item = STR(item, "%s[%d]" % (path, i))
                key, found, val = item.partition(sep)
                out[key] = val if found else (None if allow_none else "")
            return out
        raise _Invalid(path, "must be a mapping or a list, got %s" % _type_name(value))
    return check


def _scalar_str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def MAP_STR(value, path):
    if not isinstance(value, dict):
        raise _Invalid(path, "must be a mapping, got %s" % _type_name(value))
    return {str(k): STR(v, _join(path, k)) for k, v in value.items()}


def ANY(value, path):
    return value


def _mapping(spec_for):
    """A mapping validated key by key; spec_for(key, path) -> validator, or raises _Invalid.

    x-* extension keys are skipped; every problem is collected, not just the first.
    """
    def check(value, path):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Invalid(path, "must be a mapping, got %s" % _type_name(value))
        out, errors = {}, []
        for key, val in value.items():
            key = str(key)
            if key.startswith("x-"):
                continue
            try:
                out[key] = spec_for(key, _join(path, key))(val, _join(path, key))
            except _Invalid as exc:
                errors.append(exc)
            except _Problems as exc:
                errors.extend(exc.items)
        if errors:
            raise _Problems(errors)
        return out
    return check


def obj(fields):
    """A mapping with a fixed set of keys; unknown keys are errors."""
    def spec_for(key, path):
        if key not in fields:
            raise _Invalid(path, _unknown(key, fields))
        return fields[key]
    return _mapping(spec_for)


def map_of(item):
    """A mapping of free keys, each value checked by ``item``."""
    return _mapping(lambda key, path: item)


# The compose schema's pattern for the names of services, networks, volumes, secrets, configs.
_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


def names_of(item):
    """A mapping of names (strings the compose schema allows), each value checked by ``item``."""
    def check(value, path):
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str) or not _NAME.match(k)]
            if bad:
                raise _Problems([_Invalid(path, "invalid name %s: names are strings of letters, digits, "
                                          "'.', '_' and '-'" % _short(k)) for k in bad])
        return map_of(item)(value, path)
    return check


def _unknown(key, fields):
    # Only a file with a typo needs difflib: not imported with the module.
    import difflib  # pylint: disable=import-outside-toplevel

    close = difflib.get_close_matches(key, list(fields), n=1)
    if close:
        return "unknown key (did you mean %r?)" % close[0]
    if len(fields) <= 12:
        return "unknown key (allowed: %s)" % ", ".join(sorted(fields))
    return "unknown key"


class _Problems(Exception):
    def __init__(self, items):
        super().__init__("%d problems" % len(items))
        self.items = items


# ---------------------------------------------------------------- short syntaxes

_PORT = re.compile(r"^(?:(?:\[?([0-9a-fA-F:.]*)\]?:)?(\d*(?:-\d+)?):)?(\d+(?:-\d+)?)(?:/(tcp|udp|sctp))?$")


def _range(text, path, low=1):
    lo, dummy, hi = text.partition("-")
    if len(lo) > 5 or len(hi) > 5:
        raise _Invalid(path, "port %s is out of range (%d-65535)" % (_short(text), low))
    lo, hi = int(lo), int(hi or lo)
    for port in (lo, hi):
        if not low <= port <= 65535:
            raise _Invalid(path, "port %d is out of range (%d-65535)" % (port, low))
    if hi < lo:
        raise _Invalid(path, "invalid port range %s: the end is below the start" % text)
    return list(range(lo, hi + 1))


def _port_entry(value, path):
    if isinstance(value, dict):
        return [obj({
            "target": int_range(1, 65535), "published": _published, "protocol": choice("tcp", "udp", "sctp"),
            "mode": choice("ingress", "host"), "host_ip": STR, "name": STR, "app_protocol": STR,
        })(value, path)]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Invalid(path, "must be a port string like \"8080:80\" or a mapping, got %s" % _type_name(value))
    m = _PORT.match(str(value).strip()) if len(str(value)) <= 100 else None
    if not m:
        raise _Invalid(path, "invalid port specification %s" % _short(value))
    _ip, published, target, proto = m.groups()
    targets = _range(target, path)
    publisheds = _range(published, path) if published else [0] * len(targets)
    if len(publisheds) != len(targets):
        raise _Invalid(path, "port ranges don't match in %r" % (value,))
    return [{"target": t, "published": p, "protocol": proto or "tcp", "mode": "ingress"}
            for t, p in zip(targets, publisheds)]


def _published(value, path):
    if isinstance(value, str) and "-" in value:
        raise _Invalid(path, "published port ranges are not supported in the long syntax")
    return int_range(0, 65535)(value, path)


def PORTS(value, path):
    if not isinstance(value, list):
        raise _Invalid(path, "must be a list, got %s" % _type_name(value))
    out, errors = [], []
    for i, item in enumerate(value):
        try:
            out.extend(_port_entry(item, "%s[%d]" % (path, i)))
        except _Invalid as exc:
            errors.append(exc)
        except _Problems as exc:
            errors.extend(exc.items)
    if errors:
        raise _Problems(errors)
    for port in out:
        if "target" not in port:
            raise _Invalid(path, "every port needs a target")
    return out


_PROPAGATION = ("shared", "slave", "private", "rshared", "rslave", "rprivate")

_VOLUME_LONG = obj({
    "type": choice("volume", "bind", "tmpfs", "npipe"),
    "source": STR, "target": STR, "read_only": BOOL,
    "consistency": choice("consistent", "cached", "delegated", "default"),
    "bind": obj({"propagation": choice(*_PROPAGATION), "create_host_path": BOOL, "selinux": STR}),
    "volume": obj({"nocopy": BOOL, "subpath": STR}),
    "tmpfs": obj({"size": SIZE, "mode": lambda v, p: _mode(v, p)}),
})


def _volume_entry(value, path):
    if isinstance(value, dict):
        vol = _VOLUME_LONG(value, path)
        if not vol.get("target"):
            raise _Invalid(_join(path, "target"), "is required")
        vol.setdefault("type", "volume")
        return vol
    text = STR(value, path)
    parts = text.split(":")
    if len(parts) > 3 or not all(parts):
        raise _Invalid(path, "invalid volume specification %r" % text)
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    vol = {"source": source, "target": target}
    vol["type"] = "bind" if source[:1] in ("/", ".", "~") else "volume"
    for opt in (parts[2].split(",") if len(parts) == 3 else []):
        if opt == "ro":
            vol["read_only"] = True
        elif opt == "rw":
            vol["read_only"] = False
        elif opt in _PROPAGATION:
            vol.setdefault("bind", {})["propagation"] = opt
        elif opt == "nocopy":
            vol.setdefault("volume", {})["nocopy"] = True
        elif opt in ("consistent", "cached", "delegated"):
            vol["consistency"] = opt
        elif opt in ("z", "Z"):
            vol.setdefault("bind", {})["selinux"] = opt
        else:
            raise _Invalid(path, "invalid volume option %r in %r" % (opt, text))
    return vol


def _file_ref(value, path):
    if isinstance(value, str):
        return {"source": value}
    ref = obj({"source": STR, "target": STR, "uid": STR, "gid": STR, "mode": _mode})(value, path)
    if "source" not in ref:
        raise _Invalid(_join(path, "source"), "is required")
    return ref


def _mode(value, path):
    """A file mode: an octal string ("0440") or a number (decimal in YAML unless written 0o440)."""
    if isinstance(value, str) and re.match(r"^0?[0-7]{3,4}$", value):
        return int(value, 8)
    if isinstance(value, str):
        raise _Invalid(path, "must be an octal file mode like \"0440\", got %s" % _short(value))
    mode = UINT(value, path)
    if mode > 0o7777:
        raise _Invalid(path, "must be a file mode between 0 and 0o7777 (4095), got %d" % mode)
    return mode


def SERVICE_NETWORKS(value, path):
    if isinstance(value, list):
        return {STR(v, "%s[%d]" % (path, i)): {} for i, v in enumerate(value)}
    return map_of(obj({
        "aliases": list_of(STR), "ipv4_address": STR, "ipv6_address": STR,
        "driver_opts": mapping_or_list(), "priority": INT, "link_local_ips": list_of(STR),
    }))(value, path)


def EXTRA_HOSTS(value, path):
    if isinstance(value, dict):
        return ["%s:%s" % (k, STR(v, _join(path, k))) for k, v in value.items()]
    out = []
    for i, item in enumerate(list_of(STR)(value, path)):
        host, sep, ip = item.partition("=") if "=" in item else item.partition(":")
        if not sep:
            raise _Invalid("%s[%d]" % (path, i), "must be host:ip, got %r" % item)
        out.append("%s:%s" % (host, ip))
    return out


def ULIMITS(value, path):
    def one(v, p):
        if isinstance(v, dict):
            lim = obj({"soft": INT, "hard": INT})(v, p)
            if set(lim) != {"soft", "hard"}:
                raise _Invalid(p, "needs both soft and hard")
            return lim
        n = INT(v, p)
        return {"soft": n, "hard": n}
    return map_of(one)(value, path)


def HEALTHCHECK(value, path):
    hc = obj({
        "test": ANY, "interval": HEALTH_DURATION, "timeout": HEALTH_DURATION, "retries": UINT,
        "start_period": HEALTH_DURATION, "start_interval": HEALTH_DURATION, "disable": BOOL,
    })(value, path)
    test = hc.get("test")
    if isinstance(test, str):
        hc["test"] = ["CMD-SHELL", test]
    elif test is not None:
        hc["test"] = list_of(STR)(test, _join(path, "test"))
    if hc.get("disable") and hc.get("test"):
        raise _Invalid(path, "test and disable can't be set at the same time")
    return hc


def TMPFS(value, path):
    """"/path[:size=64m,mode=1777]" entries; only size and mode are understood."""
    entries = STR_OR_LIST(value, path)
    for i, entry in enumerate(entries):
        where = "%s[%d]" % (path, i)
        target, dummy, options = entry.partition(":")
        if not target.startswith("/"):
            raise _Invalid(where, "the tmpfs target must be an absolute path, got %s" % _short(entry))
        for opt in filter(None, options.split(",")):
            key, dummy, val = opt.partition("=")
            if key == "size":
                SIZE(val, where + ".size")
            elif key == "mode":
                if not re.match(r"^[0-7]{1,4}$", val):
                    raise _Invalid(where + ".mode", "must be an octal mode like 1777, got %s" % _short(val))
            else:
                raise _Invalid(where, "unsupported tmpfs option %s (size and mode are supported)" % _short(opt))
    return entries


_RESTART = re.compile(r"^(?:no|always|unless-stopped|on-failure(?::\d{1,9})?)$")


def RESTART(value, path):
    """The service-level `restart:` (used when deploy.restart_policy is absent)."""
    if not isinstance(value, str) or not _RESTART.match(value):
        raise _Invalid(path, "must be one of no, always, on-failure[:max-retries], unless-stopped, got %s"
                       % _short(value))
    return value


# swarmkit's constraint syntax: <key> == <value> or <key> != <value>.
_CONSTRAINT = re.compile(r"^\s*[a-zA-Z_][a-zA-Z0-9_.-]*\s*(==|!=)\s*[a-zA-Z0-9:_\s.*()?+\[\]\\^$|/-]+$")


def CONSTRAINT(value, path):
    text = STR(value, path)
    if not _CONSTRAINT.match(text):
        raise _Invalid(path, "invalid placement constraint %s (expected key==value or key!=value)" % _short(text))
    return text


_UPDATE = obj({
    "parallelism": UINT, "delay": DURATION, "failure_action": choice("continue", "rollback", "pause"),
    "monitor": DURATION, "max_failure_ratio": RATIO, "order": choice("start-first", "stop-first"),
})

DEPLOY = obj({
    "mode": choice("replicated", "global", "replicated-job", "global-job"),
    "replicas": UINT,
    "labels": mapping_or_list(),
    "endpoint_mode": choice("vip", "dnsrr"),
    "update_config": _UPDATE,
    "rollback_config": _UPDATE,
    "resources": obj({
        "limits": obj({"cpus": CPU_LIMIT, "memory": MEMORY, "pids": INT}),
        "reservations": obj({
            "cpus": CPU_LIMIT, "memory": MEMORY,
            "generic_resources": list_of(obj({"discrete_resource_spec": obj({"kind": STR, "value": INT})})),
            "devices": ANY,
        }),
    }),
    "restart_policy": obj({
        "condition": choice("none", "on-failure", "any"), "delay": DURATION,
        "max_attempts": UINT, "window": DURATION,
    }),
    "placement": obj({
        "constraints": list_of(CONSTRAINT),
        "preferences": list_of(obj({"spread": STR})),
        "max_replicas_per_node": UINT,
    }),
})


def _warn_only(value, path):
    return value


# The service key table: key -> checker returning the canonical value.
SERVICE_KEYS = {
    "image": STR,
    "command": COMMAND,
    "entrypoint": COMMAND,
    "environment": mapping_or_list(allow_none=True),
    "env_file": STR_OR_LIST,
    "labels": mapping_or_list(),
    "hostname": STR,
    "user": STR,
    "working_dir": STR,
    "healthcheck": HEALTHCHECK,
    "stop_grace_period": DURATION,
    "stop_signal": STR,
    "logging": obj({"driver": STR, "options": mapping_or_list()}),
    "dns": STR_OR_LIST,
    "dns_search": STR_OR_LIST,
    "dns_opt": list_of(STR),
    "extra_hosts": EXTRA_HOSTS,
    "cap_add": list_of(STR),
    "cap_drop": list_of(STR),
    "sysctls": mapping_or_list(),
    "init": BOOL,
    "read_only": BOOL,
    "tty": BOOL,
    "stdin_open": BOOL,
    "isolation": STR,
    "oom_score_adj": int_range(-1000, 1000),
    "tmpfs": TMPFS,
    "ulimits": ULIMITS,
    "ports": PORTS,
    "networks": SERVICE_NETWORKS,
    "volumes": list_of(_volume_entry),
    "secrets": list_of(_file_ref),
    "configs": list_of(_file_ref),
    "deploy": DEPLOY,
}
for _key in UNSUPPORTED + tuple(DEPRECATED) + IGNORED:
    SERVICE_KEYS[_key] = _warn_only
SERVICE_KEYS["restart"] = RESTART  # ignored by the CLI, but our fallback restart policy reads it

_EXTERNAL = ANY  # bool or {name: ...}; normalized in _external()

NETWORK = obj({
    "driver": STR, "driver_opts": mapping_or_list(), "attachable": BOOL, "internal": BOOL,
    "external": _EXTERNAL, "name": STR, "labels": mapping_or_list(), "enable_ipv6": BOOL,
    "ipam": obj({"driver": STR, "config": list_of(obj({
        "subnet": STR, "ip_range": STR, "gateway": STR, "aux_addresses": MAP_STR})),
        "options": mapping_or_list()}),
})
VOLUME = obj({"driver": STR, "driver_opts": mapping_or_list(), "external": _EXTERNAL,
              "name": STR, "labels": mapping_or_list()})
SECRET = obj({"file": STR, "environment": STR, "external": _EXTERNAL, "name": STR,
              "labels": mapping_or_list(), "driver": STR, "driver_opts": mapping_or_list(),
              "template_driver": STR})
CONFIG = obj({"file": STR, "content": STR, "environment": STR, "external": _EXTERNAL,
              "name": STR, "labels": mapping_or_list(), "template_driver": STR})

TOP_KEYS = {
    "version": STR,
    "name": STR,
    "services": names_of(obj(SERVICE_KEYS)),
    "networks": names_of(NETWORK),
    "volumes": names_of(VOLUME),
    "secrets": names_of(SECRET),
    "configs": names_of(CONFIG),
}
TOP = obj(TOP_KEYS)


def _external(entry, path):
    """external: true | {name: x} -> entry['external'] bool, entry['name'] set."""
    ext = entry.get("external")
    if ext is None:
        entry.pop("external", None)
        return entry
    if isinstance(ext, dict):
        extra = set(ext) - {"name"}
        if extra:
            raise _Invalid(_join(path, "external"), "unknown key %s" % ", ".join(sorted(extra)))
        if ext.get("name"):
            if entry.get("name"):
                raise _Invalid(path, "external.name and name conflict; only use name")
            entry["name"] = STR(ext["name"], _join(path, "external.name"))
        entry["external"] = True
    else:
        entry["external"] = BOOL(ext, _join(path, "external"))
    return entry


# ---------------------------------------------------------------- merge

# Lists merged by a key (later files replace the entry with the same key); other
# lists are appended, mappings merged, scalars replaced: docker/cli's merge rules.
_KEYED_LISTS = {
    "ports": lambda p: p.get("published") or ("t", p.get("target")),
    "volumes": lambda v: v.get("target"),
    "secrets": lambda s: s.get("source"),
    "configs": lambda c: c.get("source"),
}
_REPLACED = ("command", "entrypoint", "healthcheck", "logging")


def _merge_service(base, over):
    out = dict(base)
    for key, val in over.items():
        old = out.get(key)
        if key in _KEYED_LISTS and isinstance(old, list):
            keyf = _KEYED_LISTS[key]
            merged = {keyf(v): v for v in old}
            merged.update({keyf(v): v for v in val})
            out[key] = list(merged.values())
        elif key in _REPLACED or old is None:
            out[key] = val
        elif isinstance(old, dict) and isinstance(val, dict):
            out[key] = _merge_dict(old, val)
        elif isinstance(old, list) and isinstance(val, list):
            out[key] = old + [v for v in val if v not in old]
        else:
            out[key] = val
    return out


def _merge_dict(old, new):
    out = dict(old)
    for k, v in new.items():
        if isinstance(out.get(k), dict) and isinstance(v, dict):
            out[k] = _merge_dict(out[k], v)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- load

def _read_source(source, index, project_dir):
    """-> (label, base_dir, data) for a path or an inline mapping."""
    if isinstance(source, dict):
        label = "compose[%d] (inline)" % index
        problem = check_tree(source)
        if problem:
            raise ComposeError(["%s: %s" % (label, problem)])
        return label, project_dir, source
    if not isinstance(source, str):
        raise ComposeError(["compose[%d]: must be a file path or a mapping, got %s" % (index, _type_name(source))])
    path = source if os.path.isabs(source) or not project_dir else os.path.join(project_dir, source)
    yaml = get_yaml()  # imported here: inline mappings do not need it
    if yaml is None:
        raise ComposeError(["%s: reading compose files needs PyYAML on the host the module runs on "
                            "(apt-get install python3-yaml, or pip install pyyaml)" % source])
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise ComposeError(["%s: the file is larger than %d MiB" % (source, MAX_FILE_BYTES // 2 ** 20)])
        data = load_bounded(text)
    except OSError as exc:
        raise ComposeError(["%s: cannot read compose file: %s" % (source, exc.strerror or exc)])
    except YAMLLimitError as exc:
        raise ComposeError(["%s: refused YAML: %s" % (source, exc)])
    except yaml.YAMLError as exc:
        raise ComposeError(["%s: invalid YAML: %s" % (source, exc)])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ComposeError(["%s: top level must be a mapping, got %s" % (source, _type_name(data))])
    return path, os.path.dirname(os.path.abspath(path)), data


def read_env_file(path):
    """An env file -> {KEY: value}; a line with a bare KEY maps it to None.

    The syntax of ``docker run --env-file`` and of env_file in ``docker stack deploy``:
    one KEY=VALUE per line, blank lines and lines starting with # ignored, the value
    taken literally (no quote removal, inline comments, escapes or interpolation).
    Raises ValueError naming the file (never echoing a value) when it cannot be read,
    is larger than MAX_FILE_BYTES, is not UTF-8, or has a line without a usable name.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError("cannot read env_file %s: %s" % (path, exc.strerror or exc))
    if len(data) > MAX_FILE_BYTES:
        raise ValueError("env_file %s is larger than %d MiB" % (path, MAX_FILE_BYTES // 2 ** 20))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("env_file %s is not UTF-8 text (byte %d)" % (path, exc.start))
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, val = line.partition("=")
        key = key.strip()
        if not key or any(ch.isspace() for ch in key):
            # as the docker CLI refuses them; "export KEY=..." lands here
            raise ValueError("env_file %s, line %d: %s" % (
                path, number, "no variable name before =" if not key else
                "the variable name contains whitespace (write KEY=VALUE, without export)"))
        out[key] = val if sep else None
    return out


def _read_env_file(path, where):
    try:
        return read_env_file(path)
    except ValueError as exc:
        raise _Invalid(where, str(exc))


def _abs(base_dir, path):
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))


def _finish_service(svc, base_dir, env, path):
    """Resolve the parts that depend on the file's directory or the environment."""
    if "env_file" in svc or "environment" in svc:
        merged = {}
        for i, f in enumerate(svc.pop("env_file", []) or []):
            merged.update(_read_env_file(_abs(base_dir, f), "%s.env_file[%d]" % (path, i)))
        merged.update(svc.get("environment") or {})
        # A variable without a value takes it from the environment when set there.
        svc["environment"] = {k: (env.get(k) if v is None and k in env else v) for k, v in merged.items()}
    for vol in svc.get("volumes", []):
        if vol["type"] == "bind" and vol.get("source"):
            vol["source"] = _abs(base_dir, vol["source"])
    return svc


def _forbidden_problems(label, data):
    services = data.get("services")
    problems = []
    for name, svc in (services.items() if isinstance(services, dict) else ()):
        if isinstance(svc, dict):
            for key in sorted(set(svc) & set(FORBIDDEN)):
                problems.append("%s: services.%s.%s: unsupported option: %s" % (label, name, key, FORBIDDEN[key]))
    return problems


def _load_one(label, base_dir, data, env, warnings, problems):
    """One source: interpolate, validate, finish paths -> (data, model), or None after adding its problems."""
    try:
        data = interpolate(data, env, "", warnings)
        problems.extend(_forbidden_problems(label, data))
        model = TOP(data, "")
        for kind in ("networks", "volumes", "secrets", "configs"):
            for name, entry in model.get(kind, {}).items():
                _external(entry, "%s.%s" % (kind, name))
        for name, svc in model.get("services", {}).items():
            _finish_service(svc, base_dir, env, "services.%s" % name)
        for kind in ("secrets", "configs"):
            for name, entry in model.get(kind, {}).items():
                if entry.get("file"):
                    entry["file"] = _abs(base_dir, entry["file"])
    except _Invalid as exc:
        problems.append("%s: %s: %s" % (label, exc.path or "(top level)", exc.msg))
        return None
    except _Problems as exc:
        problems.extend("%s: %s: %s" % (label, e.path, e.msg) for e in exc.items)
        return None
    return data, model


def _merge(files):
    """Later files win; services are merged key by key. -> (merged model, {(kind, name): file})."""
    merged = {"services": {}, "networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
    origin = {}
    for label, _data, model in files:
        for name, svc in model.get("services", {}).items():
            old = merged["services"].get(name)
            merged["services"][name] = _merge_service(old, svc) if old else svc
            origin.setdefault(("services", name), label)
        for kind in ("networks", "volumes", "secrets", "configs"):
            for name, entry in model.get(kind, {}).items():
                merged[kind][name] = entry
                origin[(kind, name)] = label
    return merged, origin


def load(sources, env=None, project_dir=None):
    """Load, interpolate, validate and merge compose sources.

    Returns (model, warnings). Raises ComposeError listing every problem, each as
    "<file>: <key path>: <message>".
    """
    if not sources:
        raise ComposeError(["compose: give at least one compose file or mapping"])
    env = dict(env or {})
    warnings, problems, files = [], [], []
    if project_dir is None and isinstance(sources[0], dict):
        project_dir = os.getcwd()
    for index, source in enumerate(sources):
        label, base_dir, data = _read_source(source, index, project_dir)
        if project_dir is None and index == 0:
            project_dir = base_dir
        loaded = _load_one(label, base_dir, data, env, warnings, problems)
        if loaded is not None:
            files.append((label,) + loaded)
    if problems:
        raise ComposeError(problems)

    merged, origin = _merge(files)
    warnings.extend(_ignored_warnings(files))
    problems = _check_references(merged, origin, env)
    if problems:
        raise ComposeError(problems)
    for svc in merged["services"].values():
        for key in UNSUPPORTED + tuple(DEPRECATED) + IGNORED:
            if key != "restart":
                svc.pop(key, None)
    merged["origin"] = {"%s.%s" % k: v for k, v in origin.items()}
    return merged, warnings


def _ignored_warnings(files):
    unsupported, deprecated, ignored = set(), set(), set()
    for _label, _data, model in files:
        for svc in model.get("services", {}).values():
            unsupported.update(k for k in UNSUPPORTED if k in svc)
            deprecated.update(k for k in DEPRECATED if k in svc)
            ignored.update(k for k in IGNORED if k in svc)
    out = []
    if unsupported:
        out.append("Ignoring unsupported options: %s" % ", ".join(sorted(unsupported)))
    if deprecated:
        out.append("Ignoring deprecated options: %s" % "; ".join(
            "%s: %s" % (k, DEPRECATED[k]) for k in sorted(deprecated)))
    if ignored:
        out.append("Ignoring options that have no effect in swarm mode: %s" % ", ".join(sorted(ignored)))
    return out


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REF = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"  # registry host[:port]/
    r"%s(?:/%s)*"  # repository path
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # :tag
    r"(?:@sha256:[0-9a-f]{64})?$" % (_COMPONENT, _COMPONENT))


def _unreadable(path):
    """Why a secret/config file cannot be used, or None (it is read later, when converting)."""
    if os.path.isdir(path):
        return "is a directory, not a file"
    if not os.path.isfile(path):
        return "file not found"
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return "cannot read the file (%s)" % (exc.strerror or exc)
    if os.path.getsize(path) > 500 * 1024:
        return "the file is larger than 500KiB (the engine's limit for secrets and configs)"
    return None


def _check_references(model, origin, env):
    problems = []
    for name, svc in sorted(model["services"].items()):
        where = origin[("services", name)]
        path = "services.%s" % name
        if not svc.get("image"):
            problems.append("%s: %s.image: is required (no image specified)" % (where, path))
        elif not _IMAGE_REF.match(svc["image"]):
            problems.append("%s: %s.image: invalid image reference %r" % (where, path, svc["image"]))
        for net in svc.get("networks", {}):
            if net not in model["networks"] and net != "default":
                problems.append("%s: %s.networks.%s: network is not declared in the top-level networks" % (where, path, net))
        for i, vol in enumerate(svc.get("volumes", [])):
            if vol["type"] == "volume" and vol.get("source") and vol["source"] not in model["volumes"]:
                problems.append("%s: %s.volumes[%d]: volume %r is not declared in the top-level volumes" % (where, path, i, vol["source"]))
            if vol["type"] == "tmpfs" and vol.get("source"):
                problems.append("%s: %s.volumes[%d]: a tmpfs mount takes no source" % (where, path, i))
        for kind in ("secrets", "configs"):
            for i, ref in enumerate(svc.get(kind, [])):
                if ref["source"] not in model[kind]:
                    problems.append("%s: %s.%s[%d]: %s %r is not declared in the top-level %s" % (
                        where, path, kind, i, kind[:-1], ref["source"], kind))
        mode = svc.get("deploy", {}).get("mode")
        if mode in ("global", "global-job") and "replicas" in svc.get("deploy", {}):
            problems.append("%s: %s.deploy.replicas: replicas can only be used with replicated or replicated-job mode" % (where, path))
    for kind in ("secrets", "configs"):
        for name, entry in sorted(model[kind].items()):
            where, path = origin[(kind, name)], "%s.%s" % (kind, name)
            if entry.get("external"):
                continue
            sources = [k for k in ("file", "environment", "content") if k in entry]
            if entry.get("driver"):
                continue
            if len(sources) != 1:
                problems.append("%s: %s: needs exactly one of file, environment%s" % (
                    where, path, ", content" if kind == "configs" else ""))
            elif "file" in entry:
                problem = _unreadable(entry["file"])
                if problem:
                    problems.append("%s: %s.file: %s: %s" % (where, path, problem, entry["file"]))
            elif "environment" in entry and entry["environment"] not in env:
                problems.append("%s: %s.environment: variable %s is not set" % (where, path, entry["environment"]))
    for kind in ("networks", "volumes"):
        for name, entry in sorted(model[kind].items()):
            if entry.get("external"):
                bad = [k for k in ("driver", "driver_opts", "labels", "ipam") if entry.get(k)]
                if bad:
                    problems.append("%s: %s.%s: external %s cannot also set %s" % (
                        origin[(kind, name)], kind, name, kind[:-1], ", ".join(bad)))
    return problems
