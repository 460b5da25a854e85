# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swarm membership: read -> build -> diff -> apply, for swarm_init, swarm_join and swarm_node.

``read_*`` only inspect, ``build_*``/``diff_*`` are pure (unit-tested without Docker),
``apply`` is the only code that changes an engine. Join tokens and the unlock key are
kept out of every structure that can reach a result or a diff: they live only in
``Actual.tokens`` and are returned on explicit request.

Uses the low-level APIClient of docker_client.connect. /swarm/init and /swarm/join are
posted as Engine API bodies through docker_client.post_json: the SDK's init_swarm cannot
send DataPathPort (before 6.0) and its join_swarm never sends Availability.
The SDK's errors are looked up when an exception reaches them (docker_client.sdk_errors):
connect() loads the SDK its own way (docker_client.sdk), and with direct reads a no-op run
never loads it (a direct read's error is an EngineAPIError).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket

from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import get_path as _get
from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import set_path as _set
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import (
    EngineAPIError,
    post_json,
    retry_out_of_sequence,
    sdk_errors,
)
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, clock
from ansible_collections.swarmops.core.plugins.module_utils.units import seconds_or_duration

SWARM_PORT = 2377
# Set in the swarm spec by swarm_init when it creates the swarm, so that a teardown on any
# controller can tell a swarm this collection formed from one it found.
FORMED_BY_LABEL = "io.swarmops.formed-by"
FORMED_BY_VALUE = "swarmops.core"
IN_SWARM = ("active", "pending", "error", "locked")

# Spec settings swarm_init manages on an existing swarm: param -> path in the swarm Spec.
SPEC_PATHS = {
    "task_history_limit": ("Orchestration", "TaskHistoryRetentionLimit"),
    "node_cert_expiry": ("CAConfig", "NodeCertExpiry"),
    "autolock": ("EncryptionConfig", "AutoLockManagers"),
    "snapshot_interval": ("Raft", "SnapshotInterval"),
    "dispatcher_heartbeat": ("Dispatcher", "HeartbeatPeriod"),
}
DURATIONS = ("node_cert_expiry", "dispatcher_heartbeat")
# Fixed when the swarm is created: a difference is a warning, never an update.
INIT_ONLY = {
    "default_addr_pool": "DefaultAddrPool",
    "subnet_size": "SubnetSize",
    "data_path_port": "DataPathPort",
}


# ---------------------------------------------------------------- pure helpers

def format_duration(ns):
    """Nanoseconds -> '2160h0m0s', as the docker CLI prints durations."""
    if ns is None:
        return None
    seconds, rest = divmod(int(ns), 10**9)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    frac = ("%.9f" % (rest / 1e9))[1:].rstrip("0") if rest else ""
    return "%dh%dm%d%ss" % (hours, minutes, seconds, frac)


def split_addr(addr, default_port=SWARM_PORT):
    """'10.0.0.1', '10.0.0.1:2377', 'host', '[::1]:2377' -> (host, port)."""
    addr = addr.strip()
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", addr)
    if match:
        return match.group(1), int(match.group(2) or default_port)
    if addr.count(":") == 1:
        host, port = addr.split(":")
        return host, int(port)
    return addr, default_port


def join_addr(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def token_digest(token):
    """The root CA digest a join token pins (base36 text), or None for a malformed token."""
    match = re.fullmatch(r"SWMTKN-1-([0-9a-z]+)-([0-9a-z]+)", token or "")
    return match.group(1) if match else None


def ca_digest(trust_root_pem):
    """The base36 digest a join token carries for this root CA (what swarmkit pins)."""
    number = int(hashlib.sha256(trust_root_pem.encode()).hexdigest(), 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rem = divmod(number, 36)
        text = digits[rem] + text
    return text.rjust(50, "0")


class Actual:
    """What the engine reports. ``tokens`` never goes into a result unless asked for."""

    def __init__(self, info, swarm=None, node=None, nodes=None, swarm_error=None):
        sw = info.get("Swarm") or {}
        # Set when a manager cannot read the swarm (no leader: quorum lost).
        self.swarm_error = swarm_error
        self.state = sw.get("LocalNodeState") or "inactive"
        self.node_id = sw.get("NodeID") or None
        self.node_addr = sw.get("NodeAddr") or None
        self.is_manager = bool(sw.get("ControlAvailable"))
        self.error = sw.get("Error") or ""
        self.remote_managers = sorted(m.get("Addr") for m in sw.get("RemoteManagers") or [])
        self.hostname = info.get("Name")
        self.engine_version = info.get("ServerVersion")
        swarm = dict(swarm or {})
        self.tokens = swarm.pop("JoinTokens", None) or {}
        self.swarm = swarm
        self.node = node or {}
        self.nodes = nodes or []

    @property
    def swarm_id(self):
        return self.swarm.get("ID")

    @property
    def role(self):
        if self.state != "active":
            return None
        return "manager" if self.is_manager else "worker"

    @property
    def manager_addrs(self):
        if self.nodes:
            return sorted(n["ManagerStatus"]["Addr"] for n in self.nodes if n.get("ManagerStatus"))
        return list(self.remote_managers)

    @property
    def autolock(self):
        """True when the swarm's managers lock on restart (managers only: a worker cannot tell)."""
        return bool(((self.swarm.get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"))

    @property
    def formed_by_swarmops(self):
        """True when swarm_init created this swarm (its spec carries FORMED_BY_LABEL)."""
        labels = (self.swarm.get("Spec") or {}).get("Labels") or {}
        return labels.get(FORMED_BY_LABEL) == FORMED_BY_VALUE


# ---------------------------------------------------------------- read

def read(client):
    """Inspect the local node; on a manager also the swarm, this node and all nodes."""
    info = client.info()
    sw = info.get("Swarm") or {}
    if sw.get("LocalNodeState") == "active" and sw.get("ControlAvailable"):
        try:
            return Actual(info, client.inspect_swarm(), client.inspect_node(sw["NodeID"]), client.nodes())
        except (sdk_errors.APIError, EngineAPIError) as exc:
            return Actual(info, swarm_error=str(getattr(exc, "explanation", None) or exc))
    return Actual(info)


# ---------------------------------------------------------------- swarm_init: build + diff

def build_init(params):
    """Module params -> the desired settings (only what the user set: unset = don't care)."""
    desired = {}
    for name in SPEC_PATHS:
        value = params.get(name)
        if value is not None and name in DURATIONS:
            try:
                desired[name] = seconds_or_duration(value, name)
            except ValueError as exc:
                raise SwarmOpsError(str(exc))
        elif value is not None:
            desired[name] = value
    for name in INIT_ONLY:
        if params.get(name) is not None:
            desired[name] = params[name]
    return desired


def init_body(params, desired):
    """The Engine API body of POST /swarm/init."""
    spec = {}
    for name, path in SPEC_PATHS.items():
        if name in desired:
            _set(spec, path, desired[name])
    body = {
        "ListenAddr": params.get("listen_addr") or "0.0.0.0:%d" % SWARM_PORT,
        "AdvertiseAddr": params.get("advertise_addr") or "",
        "DataPathAddr": params.get("data_path_addr") or "",
        "ForceNewCluster": bool(params.get("force_new_cluster")),
        "Spec": spec,
    }
    if not params.get("force_new_cluster"):
        spec["Labels"] = {FORMED_BY_LABEL: FORMED_BY_VALUE}
    if desired.get("default_addr_pool"):
        body["DefaultAddrPool"] = desired["default_addr_pool"]
    if desired.get("subnet_size"):
        body["SubnetSize"] = desired["subnet_size"]
    if desired.get("data_path_port"):
        body["DataPathPort"] = desired["data_path_port"]
    return body


def settings_view(actual):
    """The swarm settings as the diff shows them (no secrets)."""
    if actual.state != "active":
        return {"local_node_state": actual.state}
    view = {"local_node_state": actual.state, "role": actual.role}
    if actual.is_manager:
        spec = actual.swarm.get("Spec") or {}
        for name, path in SPEC_PATHS.items():
            value = _get(spec, path)
            view[name] = format_duration(value) if name in DURATIONS else value
        for name, key in INIT_ONLY.items():
            view[name] = actual.swarm.get(key)
    return view


def _refuse_locked(actual, module_name):
    if actual.state == "locked":
        raise SwarmOpsError("The swarm on %s is locked (autolock): unlock it with the unlock key "
                            "(docker swarm unlock) before running %s." % (actual.hostname, module_name))


def diff_init(actual, desired, params):
    """Current state + desired settings -> Plan (ordered actions, before/after, warnings)."""
    before = settings_view(actual)
    if params.get("state") == "absent":
        return plan_leave(actual, bool(params.get("force")), before)

    _refuse_locked(actual, "swarm_init")
    if actual.state in ("pending", "error"):
        raise SwarmOpsError(
            "%s is trying to join a swarm (state %s%s); leave it first (swarm_init state=absent) "
            "or use swarm_join." % (actual.hostname, actual.state, ": " + actual.error if actual.error else ""))
    if actual.state == "active" and not actual.is_manager:
        raise SwarmOpsError(
            "%s is a worker of a swarm (managers: %s); swarm_init must run on a manager. "
            "Promote it from a manager, or leave that swarm first." % (
                actual.hostname, ", ".join(actual.remote_managers) or "unknown"))

    if actual.state == "inactive":
        after = {"local_node_state": "active", "role": "manager"}
        after.update((k, format_duration(v) if k in DURATIONS else v) for k, v in desired.items())
        return Plan([{"action": "init", "body": init_body(params, desired)}], before, after)

    if actual.swarm_error and not params.get("force_new_cluster"):
        raise SwarmOpsError(
            "%s is a manager but cannot read its swarm (%s). If most managers are lost for good, "
            "recover with force_new_cluster=true on this manager." % (actual.hostname, actual.swarm_error))
    actions, warnings = [], []
    after = dict(before)
    if params.get("force_new_cluster"):
        recover = dict(params, advertise_addr=params.get("advertise_addr") or actual.node_addr)
        actions.append({"action": "force_new_cluster", "body": init_body(recover, {})})
    changes = {}
    spec = actual.swarm.get("Spec") or {}
    for name, path in SPEC_PATHS.items():
        if name in desired and _get(spec, path) != desired[name]:
            changes[name] = desired[name]
            after[name] = format_duration(desired[name]) if name in DURATIONS else desired[name]
    for name, key in INIT_ONLY.items():
        current = actual.swarm.get(key)
        if name in desired and current is not None and current != desired[name]:
            warnings.append("%s is %s on this swarm and cannot change after the swarm is created "
                            "(asked for %s); it was left as it is." % (name, current, desired[name]))
    rotate = {k: True for k in ("rotate_worker_token", "rotate_manager_token", "rotate_unlock_key") if params.get(k)}
    if changes or rotate:
        actions.append({"action": "update", "changes": changes, "rotate": rotate})
        for key in rotate:
            after[key.replace("rotate_", "") + "_rotated"] = True
    return Plan(actions, before, after, warnings)


# ---------------------------------------------------------------- leaving (state=absent)

def manager_counts(actual):
    """(reachable, unreachable) managers as this manager sees them, counted as Docker does."""
    statuses = [(n.get("ManagerStatus") or {}).get("Reachability") for n in actual.nodes]
    return statuses.count("reachable"), statuses.count("unreachable")


def leave_refusal(actual):
    """Why this node must not leave without force=true, or None when a plain leave is safe."""
    name = actual.hostname
    if actual.state == "locked":
        return ("%s is a manager of a locked (autolocked) swarm: leaving throws away its copy of the "
                "swarm's state. Unlock it first (docker swarm unlock), or set force=true to leave "
                "anyway." % name)
    if not actual.is_manager:
        return None
    reachable, unreachable = manager_counts(actual)
    if not actual.nodes:
        return ("%s is a manager that cannot read its swarm (%s); leaving may destroy what is left "
                "of it. Set force=true to leave anyway." % (name, actual.swarm_error or "no node list"))
    if reachable <= 1 and unreachable == 0:
        return ("%s is the last manager of swarm %s: leaving erases the swarm (its services, "
                "secrets and node list). Set force=true to do that." % (name, actual.swarm_id))
    if reachable - 2 <= unreachable:
        return ("%s is a manager, and leaving leaves %d of %d managers: the swarm loses its raft "
                "quorum and stops accepting changes. Add or recover managers first, or set "
                "force=true." % (name, reachable - 1, reachable + unreachable))
    return ("%s is a manager (%d of %d reachable); Docker lets a manager leave only with force. "
            "Demote it first (swarmops.core.swarm_node role=worker), or set force=true."
            % (name, reachable, reachable + unreachable))


def plan_leave(actual, force, before):
    """state=absent: leave, forced only when the user said force=true; refuse what loses data."""
    if actual.state == "inactive":
        return Plan(before=before, after=before)
    if not force:
        reason = leave_refusal(actual)
        if reason:
            raise SwarmOpsError(reason)
    return Plan([{"action": "leave", "force": force}], before, {"local_node_state": "inactive"})


# ---------------------------------------------------------------- swarm_join: build + diff

def resolve_addrs(remote_addrs):
    """Manager addresses -> [(given, 'ip:port')], resolving names on the host the module runs on."""
    resolved = []
    for given in remote_addrs:
        host, port = split_addr(given)
        try:
            ipaddress.ip_address(host)
            ips = [host]
        except ValueError:
            try:
                ips = sorted({ai[4][0] for ai in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
            except socket.gaierror as exc:
                raise SwarmOpsError("remote_addrs: cannot resolve %s: %s" % (given, exc))
        resolved.extend((given, join_addr(ip, port)) for ip in ips)
    return resolved


def same_swarm(actual, token, resolved):
    """Is the node already in the swarm that ``token``/``resolved`` managers belong to?"""
    given = {addr for _, addr in resolved}
    if given & (set(actual.manager_addrs) | set(actual.remote_managers)):
        return True
    trust_root = (actual.swarm.get("TLSInfo") or {}).get("TrustRoot")
    if trust_root and token_digest(token):
        return ca_digest(trust_root) == token_digest(token)
    return False


def join_body(params, resolved):
    body = {
        "ListenAddr": params.get("listen_addr") or "0.0.0.0:%d" % SWARM_PORT,
        "AdvertiseAddr": params.get("advertise_addr") or "",
        "DataPathAddr": params.get("data_path_addr") or "",
        "RemoteAddrs": [addr for _, addr in resolved],
        "JoinToken": params["join_token"],
    }
    if params.get("availability"):
        body["Availability"] = params["availability"]
    return body


def membership_view(actual):
    view = {"local_node_state": actual.state}
    if actual.state == "active":
        view.update(role=actual.role, managers=actual.manager_addrs)
    return view


def diff_join(actual, params, resolved):
    before = membership_view(actual)
    if params.get("state") == "absent":
        return plan_leave(actual, bool(params.get("force")), before)

    if not token_digest(params.get("join_token")):
        raise SwarmOpsError("join_token is not a swarm join token (expected SWMTKN-1-<digest>-<secret>).")
    _refuse_locked(actual, "swarm_join")
    after = {"local_node_state": "active", "role": params.get("role") or "(by token)",
             "managers": sorted(addr for _, addr in resolved)}
    warnings = []
    if actual.state == "active" and same_swarm(actual, params["join_token"], resolved):
        if params.get("role") and params["role"] != actual.role:
            warnings.append(
                "%s is a %s of this swarm, not a %s; change its role from a manager "
                "(swarmops.core.swarm_node role=%s)." % (actual.hostname, actual.role, params["role"], params["role"]))
        return Plan(before=before, after=before, warnings=warnings)

    actions = []
    if actual.state == "active" or actual.state == "error":
        if not params.get("rejoin"):
            raise SwarmOpsError(
                "%s is already in a different swarm (%s, managers: %s), not the one at %s. "
                "Set rejoin=true to leave it and join this one." % (
                    actual.hostname, actual.role or actual.state,
                    ", ".join(actual.manager_addrs) or "unknown",
                    ", ".join(g for g, _ in resolved)))
        reason = None if params.get("force") else leave_refusal(actual)
        if reason:
            raise SwarmOpsError("rejoin: " + reason)
        actions.append({"action": "leave", "force": True})
    elif actual.state == "pending":
        # A join that timed out goes on in the background; cancel it and start afresh.
        actions.append({"action": "leave", "force": True})
    actions.append({"action": "join", "body": join_body(params, resolved)})
    return Plan(actions, before, after, warnings)


# ---------------------------------------------------------------- swarm_node: build + diff

def find_node(nodes, name):
    """A node by ID (or unique ID prefix) or hostname; a clear error otherwise."""
    by_id = [n for n in nodes if n["ID"] == name]
    if by_id:
        return by_id[0]
    matches = [n for n in nodes if n["Description"]["Hostname"] == name] or \
              [n for n in nodes if n["ID"].startswith(name)]
    if len(matches) > 1:
        raise SwarmOpsError("node %r matches %d nodes (%s); use the node ID." % (
            name, len(matches), ", ".join(n["ID"] for n in matches)))
    return matches[0] if matches else None


def node_summary(node):
    """One row of `docker node ls`, plus a few facts the CLI table leaves out."""
    status = node.get("Status") or {}
    spec = node.get("Spec") or {}
    manager = node.get("ManagerStatus") or {}
    if manager.get("Leader"):
        manager_status = "Leader"
    else:
        manager_status = {"reachable": "Reachable", "unreachable": "Unreachable"}.get(manager.get("Reachability"), "")
    return {
        "id": node["ID"],
        "hostname": node["Description"]["Hostname"],
        "status": (status.get("State") or "unknown").capitalize(),
        "availability": (spec.get("Availability") or "").capitalize(),
        "manager_status": manager_status,
        "engine_version": ((node["Description"].get("Engine") or {}).get("EngineVersion") or ""),
        "role": spec.get("Role"),
        "addr": status.get("Addr"),
        "labels": spec.get("Labels") or {},
    }


def node_view(node):
    spec = node.get("Spec") or {}
    return {"role": spec.get("Role"), "availability": spec.get("Availability"), "labels": spec.get("Labels") or {}}


def cluster_view(actual):
    """The swarm as swarm_info reports it (and the swarm role's swarm_cluster fact holds): its ID,
    the managers' addresses and one row per node (``node_summary``), by hostname."""
    return dict(swarm_id=actual.swarm_id, manager_addrs=actual.manager_addrs,
                nodes=sorted((node_summary(n) for n in actual.nodes), key=lambda n: n["hostname"]))


def diff_node(node, params):
    """Node as inspected + module params -> Plan with at most one update (or remove)."""
    name = params["node"]
    if params.get("state") == "absent":
        if node is None:
            return Plan()
        return Plan([{"action": "remove", "node_id": node["ID"], "force": bool(params.get("force"))}],
                    node_view(node), {})
    if node is None:
        raise SwarmOpsError("node %r is not in this swarm (check the hostname or node ID)." % name)
    before = node_view(node)
    after = dict(before, labels=dict(before["labels"]))
    if params.get("labels") is not None:
        labels = {k: str(v) for k, v in params["labels"].items()}
        if params.get("labels_state") == "replace":
            after["labels"] = labels
        else:
            after["labels"].update(labels)
    for key in ("role", "availability"):
        if params.get(key):
            after[key] = params[key]
    if after == before:
        return Plan(before=before, after=after)
    return Plan([{"action": "update_node", "node_id": node["ID"], "spec": after}], before, after)


# ---------------------------------------------------------------- apply (the only mutations)

def probe_managers(addrs, timeout):
    """TCP-connect to every manager 'ip:port'; the reachable ones, and why the others are not."""
    ok, problems = [], []
    for addr in addrs:
        host, port = split_addr(addr)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok.append(addr)
        except socket.timeout:
            problems.append("%s: no answer within %ss - a firewall dropping port %d?" % (addr, timeout, port))
        except ConnectionRefusedError:
            problems.append("%s: connection refused - no swarm manager listens on port %d there" % (addr, port))
        except OSError as exc:
            problems.append("%s: %s - host down or no route to it" % (addr, exc.strerror or exc))
    return ok, problems


def explain_join_error(exc, addrs):
    text = str(getattr(exc, "explanation", None) or exc)
    low = text.lower()
    where = ", ".join(addrs)
    if "valid join token" in low or "invalid join token" in low:
        return "The manager at %s refused the join token (wrong token, or one that was rotated): %s" % (where, text)
    if "fingerprint" in low or "does not match" in low or "certificate" in low:
        return "The join token belongs to a different swarm than the manager at %s: %s" % (where, text)
    if "connection refused" in low:
        return "No swarm manager listens at %s (connection refused): %s" % (where, text)
    if "timeout" in low or "deadline" in low:
        return ("No manager at %s answered in time: the host is down or a firewall drops port 2377 "
                "(the join attempt was cancelled): %s" % (where, text))
    return "Joining the swarm at %s failed: %s" % (where, text)


def update_swarm(client, changes, rotate):
    """Apply spec changes/rotations on the latest version; retry on 'update out of sequence'."""
    def write(dummy):
        current = client.inspect_swarm()
        spec = current["Spec"]
        for name, value in changes.items():
            _set(spec, SPEC_PATHS[name], value)
        client.update_swarm(
            version=current["Version"]["Index"], swarm_spec=spec,
            rotate_worker_token=rotate.get("rotate_worker_token", False),
            rotate_manager_token=rotate.get("rotate_manager_token", False),
            rotate_manager_unlock_key=rotate.get("rotate_unlock_key", False))

    retry_out_of_sequence(write)


def apply(client, plan, join_timeout=60, probe_timeout=0):
    """Carry out the plan's actions in order (APPLY_STEPS). The only function here that changes anything."""
    timeouts = dict(join_timeout=join_timeout, probe_timeout=probe_timeout)
    for action in plan.actions:
        dispatch(APPLY_STEPS, action["action"])(client, action, timeouts)


def _apply_leave(client, action, timeouts):
    try:
        client.leave_swarm(force=action["force"])
    except sdk_errors.APIError as exc:
        raise SwarmOpsError("Leaving the swarm failed: %s" % (getattr(exc, "explanation", None) or exc))


def _apply_init(client, action, timeouts):
    try:
        post_json(client, "/swarm/init", action["body"])
    except sdk_errors.APIError as exc:
        raise SwarmOpsError("swarm init failed: %s" % (getattr(exc, "explanation", None) or exc))


def _apply_update(client, action, timeouts):
    update_swarm(client, action["changes"], action["rotate"])


def _apply_join(client, action, timeouts):
    join(client, action["body"], timeouts["join_timeout"], timeouts["probe_timeout"])


def _apply_update_node(client, action, timeouts):
    update_node(client, action["node_id"], action["spec"])


def _apply_remove_node(client, action, timeouts):
    client.remove_node(action["node_id"], force=action["force"])


# action -> step(client, action, timeouts)
APPLY_STEPS = {
    "leave": _apply_leave,
    "init": _apply_init,
    "force_new_cluster": _apply_init,
    "update": _apply_update,
    "join": _apply_join,
    "update_node": _apply_update_node,
    "remove": _apply_remove_node,
}


def join(client, body, timeout, probe_timeout):
    """Join; with probe_timeout, first check from this host that a manager answers on TCP."""
    addrs = body["RemoteAddrs"]
    problems = []
    if probe_timeout:
        reachable, problems = probe_managers(addrs, probe_timeout)
        if not reachable:
            raise SwarmOpsError("No swarm manager is reachable from this host: " + "; ".join(problems),
                                unreachable=problems)
        body = dict(body, RemoteAddrs=reachable + [a for a in addrs if a not in reachable])
    try:
        post_json(client, "/swarm/join", body)
    except sdk_errors.APIError as exc:
        msg = explain_join_error(exc, addrs)
        # A timed-out join keeps retrying in the background: stop it, leave the node clean.
        try:
            client.leave_swarm(force=True)
        except sdk_errors.APIError:
            pass
        raise SwarmOpsError(msg, unreachable=problems)
    wait_active(client, timeout)


def wait_active(client, timeout):
    for dummy in clock(timeout, 0.5):
        sw = client.info().get("Swarm") or {}
        if sw.get("LocalNodeState") == "active":
            if not sw.get("ControlAvailable"):
                return
            node = client.inspect_node(sw["NodeID"])
            if (node.get("Status") or {}).get("State") == "ready":
                return
    raise SwarmOpsError("The node joined but was not active and Ready within %ss (state %s%s)." % (
        timeout, sw.get("LocalNodeState"), ": " + sw["Error"] if sw.get("Error") else ""))


def update_node(client, node_id, desired):
    def write(dummy):
        node = client.inspect_node(node_id)
        spec = dict(node["Spec"], Role=desired["role"], Availability=desired["availability"],
                    Labels=desired["labels"])
        client.update_node(node_id, node["Version"]["Index"], spec)

    retry_out_of_sequence(write)


# ---------------------------------------------------------------- swarm_node: several nodes in one call; the Ready wait

NODE_ITEM_KEYS = ("node", "labels", "availability", "role")


def diff_nodes(nodes, params):
    """All nodes as inspected + swarm_node params with ``nodes`` -> [(node or None, Plan)], in order.

    Each item of ``params["nodes"]`` is planned as ``diff_node`` plans one node, with the
    module's state, labels_state and force. Every item is looked up and planned before the
    caller changes anything: one missing, ambiguous or repeated node fails the whole call,
    naming the item.
    """
    planned, seen = [], {}
    for index, item in enumerate(params["nodes"]):
        where = "nodes[%d]" % index
        one = dict(params, **{key: item.get(key) for key in NODE_ITEM_KEYS})
        try:
            node = find_node(nodes, one["node"])
            plan = diff_node(node, one)
        except SwarmOpsError as exc:
            raise SwarmOpsError("%s: %s" % (where, exc), **exc.details)
        if node is not None:
            if node["ID"] in seen:
                raise SwarmOpsError("%s: node %r is the node of %s; list each node once." % (
                    where, one["node"], seen[node["ID"]]))
            seen[node["ID"]] = "%s (%r)" % (where, one["node"])
        planned.append((node, plan))
    return planned


def set_node(client, nodes, params, check_mode=False, want_diff=False):
    """swarm_node with ``node``: plan (``diff_node``), apply, wait until Ready; the module result."""
    node = find_node(nodes, params["node"])
    plan = diff_node(node, params)
    if plan and not check_mode:
        apply(client, plan)
    result = dict(changed=bool(plan), actions=plan.summary())
    if node and params["state"] == "present":
        if params["wait"] and not check_mode:
            node = wait_node_ready(client, node["ID"], params["wait_timeout"])
        elif plan and not check_mode:
            node = client.inspect_node(node["ID"])
        result["node"] = node_summary(node)
    if want_diff:
        result["diff"] = plan.diff()
    return result


def set_nodes(client, nodes, params, check_mode=False, want_diff=False):
    """swarm_node with ``nodes``: plan every node (``diff_nodes``), then apply, then one wait for all.

    ``nodes`` are all nodes as inspected on the manager. Returns the module result: one row per
    item (its node, actions and, when the node exists and state=present, its ``node_summary``).
    """
    planned = diff_nodes(nodes, params)
    if not check_mode:
        for dummy, plan in planned:
            if plan:
                apply(client, plan)
    present = [node for node, dummy in planned if node and params["state"] == "present"]
    current = {node["ID"]: node for node in present}
    if present and not check_mode:
        if params["wait"]:
            current = wait_nodes_ready(client, list(current), params["wait_timeout"])
        elif any(plan for dummy, plan in planned):
            current = {node["ID"]: node for node in client.nodes() if node["ID"] in current}
    rows, diff = [], {"before": {}, "after": {}}
    for item, (node, plan) in zip(params["nodes"], planned):
        row = node_summary(current[node["ID"]]) if node and node["ID"] in current else {}
        rows.append(dict(row, node=item["node"], actions=[action["action"] for action in plan.actions]))
        if node is not None:
            diff["before"][node["Description"]["Hostname"]] = plan.before
            diff["after"][node["Description"]["Hostname"]] = plan.after
    result = dict(changed=any(plan for dummy, plan in planned), nodes=rows,
                  actions=[action for row in rows for action in row["actions"]])
    if want_diff:
        result["diff"] = diff
    return result


def wait_nodes_ready(client, node_ids, timeout):
    """Wait until the managers report every node Ready: one node list per look; {ID: node} once all are.

    A clear error naming each node still not Ready (hostname, ID, state, message) after ``timeout``.
    """
    wanted = set(node_ids)
    for dummy in clock(timeout, 0.5):
        current = {n["ID"]: n for n in client.nodes() if n["ID"] in wanted}
        late = [i for i in node_ids if ((current.get(i) or {}).get("Status") or {}).get("State") != "ready"]
        if not late:
            return current
    raise SwarmOpsError("%d node(s) not Ready after %ss: %s." % (len(late), timeout, "; ".join(
        _not_ready(node_id, current.get(node_id)) for node_id in late)))


def wait_node_ready(client, node_id, timeout):
    """Wait until the managers report the node Ready (``wait_nodes_ready`` for one node); the node."""
    return wait_nodes_ready(client, [node_id], timeout)[node_id]


def _not_ready(node_id, node):
    if node is None:
        return "%s: no longer in the swarm" % node_id
    status = node.get("Status") or {}
    return "%s (%s): state %s%s" % (node["Description"]["Hostname"], node_id, status.get("State"),
                                    " - " + status["Message"] if status.get("Message") else "")
