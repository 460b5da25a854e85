# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 4 of the stack pipeline: the writes to the Engine API (stack_current reads).

apply_plan() and remove_superseded() are the only code in the pipeline that changes the
cluster. apply_plan() carries out the plan's actions through APPLY_STEPS and returns what it did
(Applied: the services it created or updated, with the engine's IDs and timestamps, and
the engine's warnings); it never writes into the plan. wait_for() watches those services,
rollback() undoes them after a failed wait, and only after a successful one does
remove_superseded() delete the configs and secrets the old specs used (defer_superseded()
otherwise).
"""

from __future__ import annotations

import copy
import time
from collections import namedtuple
from datetime import datetime, timedelta, timezone

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import (
    inspect_or_none,
    post_json,
    retry_out_of_sequence,
    sdk_errors,
)
from ansible_collections.swarmops.core.plugins.module_utils.plan import NOOP, dispatch
from ansible_collections.swarmops.core.plugins.module_utils.runner import DEFAULT_WAIT_TIMEOUT, SwarmOpsError, clock
from ansible_collections.swarmops.core.plugins.module_utils.stack_plan import defer_after_converge

# docker.auth is imported inside the functions that write, and docker.errors (sdk_errors) only
# when an exception reaches an except clause. A no-op run never imports this module
# (stack.py loads it to write), nor the SDK: it reads through stack_current.


def _auth_header(client, image):
    from docker import auth as docker_auth  # pylint: disable=import-outside-toplevel

    registry, _repo = docker_auth.resolve_repository_name(image.split("@")[0])
    return docker_auth.get_config_header(client, registry)


def _create_network(client, body):
    """POST /networks/create through the SDK's public create_network (it sends every field we set)."""
    client.create_network(
        body["Name"], driver=body.get("Driver"), options=body.get("Options"), ipam=body.get("IPAM"),
        check_duplicate=body.get("CheckDuplicate"), internal=bool(body.get("Internal")),
        labels=body.get("Labels"), enable_ipv6=bool(body.get("EnableIPv6")),
        attachable=body.get("Attachable"))


def _registry_headers(client, spec, with_registry_auth):
    if not with_registry_auth:
        return None
    header = _auth_header(client, spec["TaskTemplate"]["ContainerSpec"]["Image"])
    if isinstance(header, bytes):
        header = header.decode("ascii")
    return {"X-Registry-Auth": header} if header else None


def _update_service(client, action, headers, rollback=False):
    """POST /services/{id}/update with the object's Version.Index, retrying a stale one."""
    state = {"version": action["version"], "body": action["body"]}

    def write(attempt):
        if attempt:
            fresh = client.inspect_service(action["id"])
            state["version"] = fresh["Version"]["Index"]
            if rollback:
                state["body"] = fresh["Spec"]
            else:
                state["body"]["TaskTemplate"]["ForceUpdate"] = fresh["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
        params = {"version": state["version"]}
        if rollback:
            params["rollback"] = "previous"
        return post_json(client, "/services/%s/update" % action["id"], state["body"], params=params,
                         headers=headers)

    return retry_out_of_sequence(write)


def _apply_relabel(client, action, ctx):
    """POST /{secrets,configs}/{id}/update: the engine accepts a change of the labels only."""
    post_json(client, "/%ss/%s/update" % (action["kind"], action["id"]), action["body"],
              params={"version": action["version"]})


def _remove(client, action, timeout):
    kind, ident = action["kind"], action["id"]
    remover = {"service": client.remove_service, "config": client.remove_config,
               "secret": client.remove_secret, "network": client.remove_network}[kind]
    ticks, last = clock(timeout, 0.5), None
    for dummy in ticks:
        try:
            remover(ident)
            if kind == "network":
                _wait_gone(client, ident, ticks)
            return True
        except sdk_errors.NotFound:
            return True
        except sdk_errors.APIError as exc:
            # Networks stay busy until the removed services' tasks are gone; objects
            # may still be referenced while an update is being recorded.
            if not ("in use" in str(exc) or "active endpoints" in str(exc)):
                raise SwarmOpsError("Cannot remove %s %s: %s" % (kind, action["name"], exc))
            last = exc
    if kind in ("config", "secret"):
        return False
    raise SwarmOpsError("Cannot remove %s %s: %s" % (kind, action["name"], last))


def _fill_ids(spec, ids):
    """The engine wants SecretID/ConfigID next to each reference's name."""
    cs = spec["TaskTemplate"]["ContainerSpec"]
    for field, kind in (("Secrets", "secret"), ("Configs", "config")):
        for ref in cs.get(field) or []:
            name = ref[kind.capitalize() + "Name"]
            if name not in ids[kind]:
                raise SwarmOpsError("%s %s not found" % (kind, name))
            ref[kind.capitalize() + "ID"] = ids[kind][name]


def _wait_tasks_gone(client, service_ids, timeout):
    """Wait until the tasks of removed services are gone.

    The engine lets a network be removed while those tasks are still shutting down,
    and then never releases their addresses (moby/moby#37338: `docker stack rm`
    slowly exhausts the ingress network this way).
    """
    pending = set(service_ids)
    for dummy in clock(timeout, 0.5):
        if not any(task.get("ServiceID") in pending for task in client.tasks()):
            return


def _wait_gone(client, network_id, ticks):
    """Swarm networks linger until their last task has let go; wait so a redeploy can reuse the name.

    ``ticks`` is the removal's own clock: the wait shares its deadline."""
    if inspect_or_none(client.inspect_network, network_id) is None:
        return
    for dummy in ticks:
        if inspect_or_none(client.inspect_network, network_id) is None:
            return


# What apply_plan did: services = [{name, id, action, since, rolling}] it created or updated
# (since: the manager's timestamp of the create/update), warnings = the engine's warnings.
Applied = namedtuple("Applied", "services warnings")


def apply_plan(client, plan, with_registry_auth=False, timeout=DEFAULT_WAIT_TIMEOUT):
    """Carry out the plan's actions in order (APPLY_STEPS); -> Applied. Never writes into the plan."""
    ctx = dict(with_registry_auth=with_registry_auth, timeout=timeout, created={"secret": {}, "config": {}},
               removed_services=[], services=[], warnings=[])
    for action in plan.actions:
        if action["action"] == NOOP or action.get("after_converge"):
            continue  # after_converge: remove_superseded() or defer_superseded() decides
        apply_step = dispatch(APPLY_STEPS, (action["action"], action["kind"]))
        try:
            apply_step(client, action, ctx)
        except sdk_errors.APIError as exc:
            raise SwarmOpsError("Failed to %s %s %s: %s" % (action["action"], action["kind"], action["name"],
                                                            exc.explanation or exc), actions=plan.summary())
    return Applied(ctx["services"], ctx["warnings"])


def _with_ids(action, created):
    """A copy of the service body with SecretID/ConfigID: the planned ones plus those apply created."""
    body = copy.deepcopy(action["body"])
    _fill_ids(body, {kind: dict(action["ids"][kind], **created[kind]) for kind in ("secret", "config")})
    return body


def _apply_create_network(client, action, ctx):
    _create_network(client, action["body"])


def _apply_create_object(client, action, ctx):
    """Secrets and configs: the engine's ID is what later service bodies reference."""
    created = post_json(client, "/%ss/create" % action["kind"], action["body"])
    ctx["created"][action["kind"]][action["name"]] = created["ID"]


def _apply_create_service(client, action, ctx):
    body = _with_ids(action, ctx["created"])
    headers = _registry_headers(client, body, ctx["with_registry_auth"])
    result = post_json(client, "/services/create", body, headers=headers)
    since = _ts(client.inspect_service(result["ID"])["CreatedAt"])
    ctx["services"].append(dict(name=action["name"], id=result["ID"], action="create", since=since, rolling=False))
    ctx["warnings"].extend(result.get("Warnings") or [])


def _apply_update_service(client, action, ctx):
    body = _with_ids(action, ctx["created"])
    headers = _registry_headers(client, body, ctx["with_registry_auth"])
    result = _update_service(client, dict(action, body=body), headers)
    # The manager's clock stamps tasks and update status; remember when it saw the update.
    since = _ts(client.inspect_service(action["id"])["UpdatedAt"])
    ctx["services"].append(dict(name=action["name"], id=action["id"], action="update", since=since,
                                rolling=bool(action.get("rolling"))))
    ctx["warnings"].extend((result or {}).get("Warnings") or [])


def _apply_remove(client, action, ctx):
    if action["kind"] == "network" and ctx["removed_services"]:
        _wait_tasks_gone(client, ctx["removed_services"], ctx["timeout"])
        ctx["removed_services"] = []
    if action["kind"] == "service":
        ctx["removed_services"].append(action["id"])
    if not _remove(client, action, ctx["timeout"]):
        ctx["warnings"].append(_still_in_use(action))


def _still_in_use(action):
    return "%s %s is still in use; it will be removed by a later run" % (action["kind"], action["name"])


# (action, kind) -> step(client, action, ctx)
APPLY_STEPS = {
    ("create", "network"): _apply_create_network,
    ("create", "secret"): _apply_create_object,
    ("create", "config"): _apply_create_object,
    ("create", "service"): _apply_create_service,
    ("update", "service"): _apply_update_service,
    ("update", "secret"): _apply_relabel,
    ("update", "config"): _apply_relabel,
    ("remove", "service"): _apply_remove,
    ("remove", "config"): _apply_remove,
    ("remove", "secret"): _apply_remove,
    ("remove", "network"): _apply_remove,
}


def remove_superseded(client, plan, timeout=DEFAULT_WAIT_TIMEOUT):
    """After the services converged: remove the configs/secrets their old specs used."""
    warnings = []
    for action in plan.actions:
        if not action.get("after_converge"):
            continue
        try:
            if not _remove(client, action, timeout):
                warnings.append(_still_in_use(action))
        except sdk_errors.APIError as exc:
            raise SwarmOpsError("Failed to remove %s %s: %s" % (action["kind"], action["name"], exc.explanation or exc),
                                actions=plan.summary())
    return warnings


def defer_superseded(plan, reason):
    """Keep the superseded configs/secrets for a later run: the plan shows them deferred."""
    return ["%s %s is no longer used; it is kept until a later run (%s)" % (action["kind"], action["name"], reason)
            for action in defer_after_converge(plan)]


def _ts(text):
    """Engine timestamps (RFC 3339 with nanoseconds) -> aware datetime."""
    if not text:
        return None
    text = text.rstrip("Z")
    main, dummy, frac = text.partition(".")
    return datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(
        microsecond=int((frac + "000000")[:6]), tzinfo=timezone.utc)


_FAILED = ("failed", "rejected", "orphaned")
# A task the scheduler cannot place stays pending with a reason ("no suitable node (...)");
# after this long the reason is taken as final instead of waiting out the timeout.
UNSCHEDULABLE_GRACE = 3.0


def _task_failures(tasks, since, nodes):
    failures = []
    for task in tasks:
        status = task.get("Status", {})
        created = _ts(task.get("CreatedAt"))
        if status.get("State") in _FAILED and created and created >= since:
            failures.append({"node": nodes.get(task.get("NodeID"), task.get("NodeID") or "(unassigned)"),
                             "task": task["ID"], "state": status.get("State"),
                             "error": status.get("Err") or status.get("Message")})
    return failures


def _unschedulable(watched, tasks, nodes):
    """Tasks pending with the scheduler's reason for longer than UNSCHEDULABLE_GRACE -> failures."""
    stuck = watched.setdefault("_pending_since", {})
    now, out = time.monotonic(), []
    for task in tasks:
        status = task.get("Status", {})
        if task.get("DesiredState") != "running" or status.get("State") != "pending" or not status.get("Err"):
            stuck.pop(task["ID"], None)
            continue
        if now - stuck.setdefault(task["ID"], now) >= UNSCHEDULABLE_GRACE:
            out.append({"node": nodes.get(task.get("NodeID"), "(not scheduled)"), "task": task["ID"],
                        "state": "unschedulable", "error": status["Err"]})
    return out


def _finished_slots(svc, tasks, since):
    """Replicated slots whose newest task ran to completion and will not be restarted (one-shot tasks)."""
    policy = (svc["Spec"].get("TaskTemplate") or {}).get("RestartPolicy") or {}
    if policy.get("Condition", "any") == "any":
        return 0
    newest = {}
    for task in tasks:
        slot = task.get("Slot")
        index = (task.get("Version") or {}).get("Index", 0)
        if slot is not None and (slot not in newest or index > newest[slot][0]):
            newest[slot] = (index, task)
    return sum(1 for dummy, task in newest.values()
               if task.get("Status", {}).get("State") == "complete"
               and (_ts(task.get("CreatedAt")) or since) >= since)


def _update_progress(svc, since, failures):
    """For a rolling update: (settled, fatal); not settled until the orchestrator completed it."""
    update = svc.get("UpdateStatus") or {}
    started = _ts(update.get("StartedAt"))
    if not started or started < since:
        return False, False  # the orchestrator has not picked the update up yet
    state = update.get("State")
    if state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
        failures.append({"node": "-", "task": "-", "state": "update " + state, "error": update.get("Message")})
        return False, True
    return state == "completed", False


def _service_status(client, watched, nodes):
    """-> (done, failures, fatal) for one service apply_plan() created or updated.

    Fatal at once: a rejected task (no such image, port in use on the node, bad mount), a task
    the scheduler cannot place for UNSCHEDULABLE_GRACE seconds, a paused or rolled back update.
    """
    # The manager stamps UpdateStatus.StartedAt a hair before the service's UpdatedAt.
    since = watched["since"] - timedelta(seconds=1)
    svc = client.inspect_service(watched["id"])
    tasks = client.tasks(filters={"service": watched["id"]})
    failures = _task_failures(tasks, since, nodes)
    stuck = _unschedulable(watched, tasks, nodes)
    if stuck or any(f["state"] == "rejected" for f in failures):
        return False, failures + stuck, True
    if watched["action"] == "update" and watched.get("rolling"):
        settled, fatal = _update_progress(svc, since, failures)
        if not settled:
            return False, failures, fatal
    mode = svc["Spec"].get("Mode", {})
    if "ReplicatedJob" in mode or "GlobalJob" in mode:
        return True, failures, False
    running = [t for t in tasks if t.get("DesiredState") == "running"]
    up = [t for t in running if t.get("Status", {}).get("State") == "running"]
    if "Replicated" in mode:
        wanted = mode["Replicated"].get("Replicas", 1)
        done = len(up) == len(running) and len(up) + _finished_slots(svc, tasks, since) >= wanted
        done = done and len(running) <= wanted
    else:
        done = bool(running) and len(up) == len(running)
    return done, failures, False


def wait_for(client, services, timeout, poll=0.5):
    """Wait until the services apply_plan() created/updated (Applied.services) run their new spec.

    Returns None on success, else a dict {service: [failures]} describing why not.
    Gives up early on a service whose tasks failed three times or whose update paused.
    """
    if not services:
        return None
    nodes = {n["ID"]: n.get("Description", {}).get("Hostname", n["ID"]) for n in client.nodes()}
    pending = {s["name"]: dict(s) for s in services}  # copies: the wait keeps its own notes in them
    report = {}
    for dummy in clock(timeout, poll):
        for name, watched in list(pending.items()):
            done, failures, fatal = _service_status(client, watched, nodes)
            report[name] = failures
            if done:
                del pending[name]
                report.pop(name)
            elif fatal or len(failures) >= 3:
                return report
        if not pending:
            return None
    for name in pending:
        if not report.get(name):
            report[name] = [{"node": "-", "task": "-", "state": "timeout",
                             "error": "not converged within %ss" % timeout}]
    return {k: v for k, v in report.items() if k in pending}


def rollback(client, services, failed):
    """Undo the services apply_plan() created/updated: previous spec for updates, removal for creates."""
    done = []
    for applied in services:
        try:
            if applied["action"] == "create":
                client.remove_service(applied["id"])
                done.append({"name": applied["name"], "rollback": "removed"})
            else:
                fresh = client.inspect_service(applied["id"])
                if fresh.get("PreviousSpec") is None:
                    continue
                _update_service(client, dict(applied, version=fresh["Version"]["Index"], body=fresh["Spec"]),
                                None, rollback=True)
                done.append({"name": applied["name"], "rollback": "previous spec"})
        except sdk_errors.APIError as exc:
            done.append({"name": applied["name"], "rollback": "failed: %s" % exc})
    return done
