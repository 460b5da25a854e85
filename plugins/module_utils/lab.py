# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local lab: containers that behave like fresh VMs (systemd, sshd, python3, no Docker).

validate/build/plan are pure; read and apply talk to the engine. plan() returns a Plan
whose actions are {action, kind, name, spec or reason}; apply() runs them through STEPS.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import socket
import tarfile

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch, keyed
from ansible_collections.swarmops.core.plugins.module_utils import units
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


LAB_LABEL = "io.swarmops.lab"
HOST_LABEL = "io.swarmops.lab.host"
SPEC_LABEL = "io.swarmops.lab.spec-hash"

# LAB.md: --privileged fails on these machines; this flag set runs systemd and a nested dockerd.
CAP_ADD = ["ALL"]
CAP_DROP = ["SYS_RESOURCE"]
SECURITY_OPT = ["seccomp=unconfined", "apparmor=unconfined"]
DEVICE_CGROUP_RULES = ["a *:* rwm"]


def network_name(lab):
    return "%s-net" % lab


def container_name(lab, host):
    return "%s-%s" % (lab, host)


def volume_name(lab, host):
    return "%s-%s-docker" % (lab, host)


def parse_port(spec, host):
    """'4000:4000', '127.0.0.1:8080:8080' or '53:53/udp' -> (ip, host_port, container_port, proto).

    On loopback unless the spec names an address: a lab publishes nothing beyond this machine by default.
    """
    try:
        return tuple(units.parse_port(spec, "127.0.0.1"))
    except ValueError as exc:
        raise SwarmOpsError("Lab host %s: published port %r: %s." % (host, spec, exc))


def build(params):
    """The desired lab, validated: network + one container spec per host."""
    lab = params["name"]
    try:
        subnet = ipaddress.ip_network(params["subnet"])
    except ValueError as exc:
        raise SwarmOpsError("subnet %r is not a network: %s" % (params["subnet"], exc))
    hosts, seen_addr, seen_ports = [], {}, {}
    for entry in params["hosts"]:
        host = entry["name"]
        try:
            address = ipaddress.ip_address(entry["address"])
        except ValueError:
            raise SwarmOpsError("Lab host %s: address %r is not an IP address." % (host, entry["address"]))
        if address not in subnet or address in (subnet.network_address, subnet.broadcast_address) \
                or address == next(subnet.hosts()):
            raise SwarmOpsError(
                "Lab host %s: address %s is not a usable host address of %s (the first one is the gateway)."
                % (host, address, subnet))
        if str(address) in seen_addr:
            raise SwarmOpsError("Lab hosts %s and %s share the address %s." % (seen_addr[str(address)], host, address))
        seen_addr[str(address)] = host
        ports = [("127.0.0.1", entry["ssh_port"], 22, "tcp")]
        ports += [parse_port(p, host) for p in entry.get("published_ports") or []]
        for ip, host_port, _cport, proto in ports:
            key = (ip, host_port, proto)
            if key in seen_ports:
                raise SwarmOpsError("Lab hosts %s and %s both publish %s:%d/%s." % (seen_ports[key], host, ip, host_port, proto))
            seen_ports[key] = host
        hosts.append(dict(name=host, container=container_name(lab, host), address=str(address),
                          ssh_port=entry["ssh_port"], ports=sorted(ports), image=params["image"],
                          volume=volume_name(lab, host)))
    if len({h["name"] for h in hosts}) != len(hosts):
        raise SwarmOpsError("Lab host names must be unique.")
    for spec in hosts:
        spec["spec_hash"] = spec_hash(spec, subnet)
    return dict(name=lab, network=network_name(lab), subnet=str(subnet),
                gateway=str(next(subnet.hosts())), hosts=hosts)


def spec_hash(spec, subnet):
    material = dict(spec, subnet=str(subnet), flags=[CAP_ADD, CAP_DROP, SECURITY_OPT, DEVICE_CGROUP_RULES])
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def read(client, lab):
    """What exists of the lab: network (subnet) and containers keyed by host name."""
    nets = client.networks(names=[network_name(lab)])
    network = None
    for net in nets:
        # A network of that name the lab did not create is never adopted (nor removed).
        if net["Name"] == network_name(lab) and (net.get("Labels") or {}).get(LAB_LABEL) == lab:
            configs = (net.get("IPAM") or {}).get("Config") or []
            network = dict(id=net["Id"], subnet=configs[0].get("Subnet") if configs else None)
    containers, ports = {}, set()
    for info in client.containers(all=True, filters={"label": "%s=%s" % (LAB_LABEL, lab)}):
        labels = info.get("Labels") or {}
        containers[labels.get(HOST_LABEL)] = dict(
            id=info["Id"], state=info["State"], spec_hash=labels.get(SPEC_LABEL))
        ports.update((p.get("IP"), p["PublicPort"], p["Type"]) for p in info.get("Ports") or [] if p.get("PublicPort"))
    volumes = {v["Name"] for v in (client.volumes(filters={"label": "%s=%s" % (LAB_LABEL, lab)}).get("Volumes") or [])}
    return dict(network=network, containers=containers, volumes=volumes, ports=ports)


def plan(actual, desired, state, prune=True):
    """-> Plan: ordered actions, and before/after as {network: subnet, hosts: {host: spec hash}}.

    With ``prune`` the lab is exactly ``desired``: other hosts of the lab are removed, and
    state=absent removes the whole lab. Without it (a play run with --limit) only the hosts
    in ``desired`` are touched; the network goes only when no other host of the lab is left.
    """
    result = Plan(row=keyed("action", "kind", "name"))
    if state == "absent":
        _plan_absent(result, actual, desired, prune)
    else:
        _plan_present(result, actual, desired, prune)
    result.before = dict(network=actual["network"] and actual["network"]["subnet"],
                         hosts={h: c["spec_hash"] for h, c in sorted(actual["containers"].items())})
    if not result.actions:
        result.after = result.before
    elif state != "absent":
        result.after = dict(network=desired["subnet"], hosts={h["name"]: h["spec_hash"] for h in desired["hosts"]})
    return result


def _plan_present(result, actual, desired, prune):
    net = actual["network"]
    recreate_all = bool(net and net["subnet"] != desired["subnet"])
    wanted = {h["name"] for h in desired["hosts"]}
    others = sorted(set(actual["containers"]) - wanted)
    if recreate_all and others and not prune:
        raise SwarmOpsError(
            "Lab %s: the network's subnet changes (%s -> %s), which recreates every host, but "
            "%s %s outside this run (--limit). Run without --limit." % (
                desired["name"], net["subnet"], desired["subnet"], ", ".join(others),
                "is" if len(others) == 1 else "are"))
    if recreate_all:
        for host in sorted(actual["containers"]):
            result.add("remove", kind="container", name=host, reason="network subnet changed")
        result.add("remove", kind="network", name=desired["network"],
                   reason="subnet %s -> %s" % (net["subnet"], desired["subnet"]))
    if not net or recreate_all:
        result.add("create", kind="network", name=desired["network"], subnet=desired["subnet"])
    if prune and not recreate_all:
        for host in others:
            result.add("remove", kind="container", name=host, reason="not in the lab definition")
    for spec in desired["hosts"]:
        current = None if recreate_all else actual["containers"].get(spec["name"])
        if current is None:
            result.add("create", kind="container", name=spec["name"], spec=spec)
        elif current["spec_hash"] != spec["spec_hash"]:
            result.add("recreate", kind="container", name=spec["name"], spec=spec)
        elif current["state"] != "running":
            result.add("start", kind="container", name=spec["name"], spec=spec)


def _plan_absent(result, actual, desired, prune):
    """Remove the lab's containers, then volumes, then the network (see plan)."""
    if prune:
        hosts, volumes = sorted(actual["containers"]), sorted(actual["volumes"])
    else:
        named = {h["name"] for h in desired["hosts"]}
        hosts = sorted(named & set(actual["containers"]))
        volumes = sorted(actual["volumes"] & {volume_name(desired["name"], h) for h in named})
    for host in hosts:
        result.add("remove", kind="container", name=host)
    for vol in volumes:
        result.add("remove", kind="volume", name=vol)
    if actual["network"] and not set(actual["containers"]) - set(hosts):
        result.add("remove", kind="network", name=desired["network"])


def ports_in_use(plan, actual):
    """Host ports the plan needs that something other than this lab's containers holds."""
    busy = []
    for action in plan.actions:
        if action["kind"] != "container" or action["action"] not in ("create", "recreate", "start"):
            continue
        for ip, host_port, _cport, proto in action["spec"]["ports"]:
            if (ip, host_port, proto) in actual["ports"]:
                continue
            sock_type = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            with socket.socket(socket.AF_INET, sock_type) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((ip, host_port))
                except OSError:
                    busy.append("%s:%d/%s (lab host %s)" % (ip, host_port, proto, action["name"]))
    return busy


def _authorized_keys_tar(public_key):
    data = (public_key.strip() + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        folder = tarfile.TarInfo(".ssh")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(folder)
        info = tarfile.TarInfo(".ssh/authorized_keys")
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _create_container(client, lab, desired, spec, public_key):
    port_bindings = {}
    for ip, host_port, cport, proto in spec["ports"]:
        port_bindings["%d/%s" % (cport, proto)] = (ip, host_port)
    host_config = client.create_host_config(
        cap_add=CAP_ADD, cap_drop=CAP_DROP, security_opt=SECURITY_OPT,
        device_cgroup_rules=DEVICE_CGROUP_RULES, cgroupns="host",
        binds=["/sys/fs/cgroup:/sys/fs/cgroup:rw", "%s:/var/lib/docker" % spec["volume"]],
        tmpfs={"/run": "", "/run/lock": ""},
        port_bindings=port_bindings,
        restart_policy={"Name": "unless-stopped"},
    )
    networking = client.create_networking_config({
        desired["network"]: client.create_endpoint_config(ipv4_address=spec["address"], aliases=[spec["name"]]),
    })
    client.create_volume(spec["volume"], labels={LAB_LABEL: lab})
    container = client.create_container(
        spec["image"], name=spec["container"], hostname=spec["name"], detach=True, tty=True,
        ports=[(int(k.split("/")[0]), k.split("/")[1]) for k in port_bindings],
        environment={"container": "docker"}, stop_signal="SIGRTMIN+3",
        labels={LAB_LABEL: lab, HOST_LABEL: spec["name"], SPEC_LABEL: spec["spec_hash"]},
        host_config=host_config, networking_config=networking,
    )
    client.put_archive(container["Id"], "/root", _authorized_keys_tar(public_key))
    client.start(container["Id"])


def apply(client, lab, desired, actual, plan, public_key):
    """Carry out the plan's actions in order through STEPS."""
    ctx = dict(lab=lab, desired=desired, actual=actual, public_key=public_key)
    for action in plan.actions:
        lab_step = dispatch(STEPS, (action["action"], action["kind"]))
        try:
            lab_step(client, action, ctx)
        except sdk_errors.DockerException as exc:
            raise SwarmOpsError("Lab %s: could not %s %s %s: %s"
                                % (lab, action["action"], action["kind"], action["name"], exc))


def _create_network(client, action, ctx):
    desired = ctx["desired"]
    ipam = {"Driver": "default", "Config": [{"Subnet": desired["subnet"], "Gateway": desired["gateway"]}]}
    client.create_network(action["name"], driver="bridge", ipam=ipam, labels={LAB_LABEL: ctx["lab"]})


def _remove_container(client, action, ctx):
    client.remove_container(ctx["actual"]["containers"][action["name"]]["id"], force=True)


def _start_container(client, action, ctx):
    client.start(ctx["actual"]["containers"][action["name"]]["id"])


def _new_container(client, action, ctx):
    _create_container(client, ctx["lab"], ctx["desired"], action["spec"], ctx["public_key"])


def _recreate_container(client, action, ctx):
    _remove_container(client, action, ctx)
    _new_container(client, action, ctx)


# (action, kind) -> step(client, action, ctx)
STEPS = {
    ("remove", "network"): lambda client, action, ctx: client.remove_network(action["name"]),
    ("create", "network"): _create_network,
    ("remove", "volume"): lambda client, action, ctx: client.remove_volume(action["name"], force=True),
    ("remove", "container"): _remove_container,
    ("recreate", "container"): _recreate_container,
    ("start", "container"): _start_container,
    ("create", "container"): _new_container,
}
