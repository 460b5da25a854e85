# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack pipeline end to end: compose -> convert -> plan -> apply (+ wait).

deploy() is what the stack_deploy module (and bench/stack_deploy.py) call.
"""

from __future__ import annotations

import os

from ansible_collections.swarmops.core.plugins.module_utils import compose, stack_apply, stack_convert, stack_plan
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import SwarmOpsError, step


def _swarm_manager(client):
    info = client.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise SwarmOpsError("This node is not a swarm manager (swarm state: %s). Use swarm_init or swarm_join "
                            "first, or point docker_host at a manager." % (swarm.get("LocalNodeState") or "inactive"))


def deploy(client, params, check_mode=False):
    """Run one stack_deploy; returns the module result dict (raises SwarmOpsError)."""
    stack = params["name"]
    warnings = []
    if params.get("state", "present") == "absent":
        _swarm_manager(client)
        current = stack_apply.read_current(client, stack)
        plan = stack_plan.removal_plan(current)
        if not check_mode:
            warnings += stack_apply.apply_plan(client, plan, timeout=params.get("wait_timeout") or 120)
        return _result(plan, warnings, params)

    env = dict(os.environ)
    env.update({k: str(v) for k, v in (params.get("env") or {}).items()})
    desired, load_warnings = _desired_state(stack, params, env)
    warnings += load_warnings

    _swarm_manager(client)
    current = stack_apply.read_current(client, stack)
    conflicts = stack_apply.published_port_conflicts(client, stack, desired)
    if conflicts:
        raise SwarmOpsError("Cannot deploy stack %s: %s" % (stack, "; ".join(conflicts)), problems=conflicts)
    digests, digest_warnings = {}, []
    if params.get("resolve_image", "always") == "always":
        images = [s["TaskTemplate"]["ContainerSpec"]["Image"] for s in desired["services"].values()]
        digests, digest_warnings = stack_apply.resolve_digests(client, images)
    try:
        plan = stack_plan.make_plan(desired, current, params.get("resolve_image", "always"),
                                    params.get("prune", False), digests, client.api_version)
    except stack_plan.PlanError as exc:
        raise SwarmOpsError(str(exc))
    warnings += plan.warnings
    if digest_warnings:
        touched = {a["body"]["TaskTemplate"]["ContainerSpec"]["Image"] for a in plan.actions
                   if a["kind"] == "service" and a["action"] in ("create", "update")}
        warnings += [w for w in digest_warnings if w.split()[1] in touched]
    if check_mode or not plan.changed:
        return _result(plan, warnings, params)

    with step("applying the plan", "stack %s" % stack):
        warnings += stack_apply.apply_plan(client, plan, params.get("with_registry_auth", False),
                                           timeout=params.get("wait_timeout") or 120)
    if params.get("wait", True):
        with step("waiting for the services", "stack %s" % stack):
            failed = stack_apply.wait_for(client, plan, params.get("wait_timeout") or 300)
        if failed:
            rolled = stack_apply.rollback(client, plan, failed) if params.get("rollback") else []
            raise SwarmOpsError(_failure_message(failed, rolled), failures=failed, rollback=rolled,
                                actions=plan.summary(), changed=True)
    return _result(plan, warnings, params)


def _sources(params):
    return ", ".join(s if isinstance(s, str) else "inline mapping" for s in params.get("compose") or [])


def _desired_state(stack, params, env):
    """Load, validate and convert: everything that can refuse the input, before any engine call."""
    with step("loading the compose files", _sources(params)):
        try:
            model, warnings = compose.load(params["compose"], env, params.get("project_dir"))
        except compose.ComposeError as exc:
            raise SwarmOpsError("Invalid compose input: " + "; ".join(exc.problems), problems=exc.problems)
    with step("checking names and values for the engine", _sources(params)):
        problems = stack_convert.name_problems(stack, model) + stack_convert.value_problems(stack, model)
    if problems:
        raise SwarmOpsError("Invalid compose input: " + "; ".join(problems), problems=problems)
    with step("converting the compose model to Engine API bodies", _sources(params)):
        desired = stack_convert.build(stack, model, env)
    return desired, warnings


def _failure_message(failed, rolled):
    parts = []
    for service, failures in sorted(failed.items()):
        seen = []
        for f in failures:
            line = "%s on node %s: %s" % (f["state"], f["node"], f["error"])
            if line not in seen:
                seen.append(line)
        parts.append("%s: %s" % (service, "; ".join(seen) or "did not converge"))
    msg = "Services did not reach their new spec: " + " | ".join(parts)
    if rolled:
        msg += ". Rolled back: " + ", ".join("%s (%s)" % (r["name"], r["rollback"]) for r in rolled)
    return msg


def _result(plan, warnings, params):
    result = {"changed": plan.changed, "actions": plan.summary(), "stack": params["name"]}
    if params.get("_diff"):
        result["diff"] = plan.diff()
    if warnings:
        result["stack_warnings"] = warnings
    return result
