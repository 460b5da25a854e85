# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only views of swarm stacks, shaped like ``docker stack ls/services/ps``.

A stack is the set of services carrying the ``com.docker.stack.namespace`` label, as
for the docker CLI, so stacks deployed by the CLI or by stack_deploy look the same.
``read_*`` ask the engine; ``stack_rows``, ``service_row`` and ``task_row`` are pure.
"""

from __future__ import annotations

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import services_with_status
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from ansible_collections.swarmops.core.plugins.module_utils.stack_names import NAMESPACE_LABEL, stack_filter, stack_of

# Options of stack_task_info's ``filters`` -> the Engine API's task filter names.
TASK_FILTERS = {"id": "id", "name": "name", "node": "node", "desired_state": "desired-state"}


def require_manager(client):
    swarm = client.info().get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise SwarmOpsError(
            "Stacks can only be read on a swarm manager (this engine's swarm state: %s, manager: %s). "
            "Point docker_host at a manager." % (swarm.get("LocalNodeState") or "inactive",
                                                 bool(swarm.get("ControlAvailable"))))


def _mode(spec):
    mode = spec.get("Mode") or {}
    for key, name in (("Replicated", "replicated"), ("Global", "global"),
                      ("ReplicatedJob", "replicated-job"), ("GlobalJob", "global-job")):
        if key in mode:
            return name
    return "replicated"


def _published_ports(ports, ingress_only=False):
    """``*:published->target/proto`` as the CLI prints them (services: routing-mesh ports only)."""
    return ["*:%s->%s/%s" % (port["PublishedPort"], port["TargetPort"], port.get("Protocol", "tcp"))
            for port in ports or []
            if port.get("PublishedPort") and not (ingress_only and port.get("PublishMode", "ingress") != "ingress")]


def service_row(service, running_tasks):
    """One ``docker stack services`` row. ``running_tasks`` counts tasks in state running."""
    spec = service["Spec"]
    status = service.get("ServiceStatus") or {}
    mode = _mode(spec)
    if mode == "replicated":
        desired = (spec["Mode"]["Replicated"] or {}).get("Replicas", 1)
    else:
        desired = status.get("DesiredTasks", 0)
    running = status.get("RunningTasks", running_tasks)
    return dict(
        id=service["ID"], name=spec["Name"], mode=mode, running_tasks=running, desired_tasks=desired,
        replicas="%d/%d" % (running, desired),
        image=spec["TaskTemplate"]["ContainerSpec"]["Image"],
        ports=_published_ports((service.get("Endpoint") or {}).get("Ports"), ingress_only=True))


def stack_rows(services, running_by_service):
    """``docker stack ls`` rows, each with its ``docker stack services`` rows, sorted by name."""
    stacks = {}
    for service in services:
        name = stack_of(service["Spec"].get("Labels"))
        if name:
            stacks.setdefault(name, []).append(
                service_row(service, running_by_service.get(service["ID"], 0)))
    return [dict(name=name, orchestrator="Swarm", service_count=len(rows),
                 services=sorted(rows, key=lambda r: r["name"]))
            for name, rows in sorted(stacks.items())]


def read_stacks(client, names=None):
    """The stacks on this swarm (only ``names`` when given), with per-service replicas."""
    require_manager(client)
    label = NAMESPACE_LABEL if not names or len(names) > 1 else stack_filter(names[0])
    services = services_with_status(client, {"label": label})
    if names:
        services = [s for s in services if stack_of(s["Spec"]["Labels"]) in names]
    running = {}
    if any("ServiceStatus" not in s for s in services):  # engines before API 1.41, SDKs before 6.1
        for task in client.tasks(filters={"desired-state": "running"}):
            if task["Status"]["State"] == "running":
                running[task["ServiceID"]] = running.get(task["ServiceID"], 0) + 1
    return stack_rows(services, running)


def task_row(task, service_names, node_names):
    """One ``docker stack ps`` row."""
    service = service_names.get(task["ServiceID"], task["ServiceID"])
    slot = task.get("Slot")
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    return dict(
        id=task["ID"], name="%s.%s" % (service, slot if slot else task.get("NodeID", "")),
        service=service, slot=slot, node_id=task.get("NodeID", ""),
        node=node_names.get(task.get("NodeID"), ""),
        image=task["Spec"]["ContainerSpec"]["Image"],
        desired_state=task.get("DesiredState", ""), state=status.get("State", ""),
        state_since=status.get("Timestamp", ""), message=status.get("Message", ""),
        error=status.get("Err", ""), container_id=container.get("ContainerID", ""),
        ports=_published_ports(status.get("PortStatus", {}).get("Ports")))


def task_filters(stack, filters):
    """Engine API task filters for one stack and stack_task_info's ``filters`` option."""
    api = {"label": [stack_filter(stack)]}
    for option, values in (filters or {}).items():
        if values:
            api[TASK_FILTERS[option]] = list(values)
    return api


def read_tasks(client, stack, filters=None):
    """The tasks of ``stack`` like ``docker stack ps``: by name, newest first within a name."""
    require_manager(client)
    services = client.services(filters={"label": stack_filter(stack)})
    if not services:
        return None
    service_names = {s["ID"]: s["Spec"]["Name"] for s in services}
    tasks = [t for t in client.tasks(filters=task_filters(stack, filters)) if t["ServiceID"] in service_names]
    node_names = {n["ID"]: n["Description"]["Hostname"] for n in client.nodes()}
    rows = [task_row(t, service_names, node_names) for t in tasks]
    rows.sort(key=lambda r: r["state_since"], reverse=True)
    rows.sort(key=lambda r: r["name"])
    return rows
