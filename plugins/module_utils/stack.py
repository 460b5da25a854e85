# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack pipeline end to end: compose -> convert -> plan -> apply (+ wait).

deploy() is what the stack_deploy module (and bench/stack_deploy.py) call.
"""

from __future__ import annotations

import errno
import os
import secrets

from ansible_collections.swarmops.core.plugins.module_utils import compose, stack_convert, stack_current, stack_plan
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import EngineAPIError, sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.runner import DEFAULT_WAIT_TIMEOUT, SwarmOpsError, step


def _stack_apply():
    """stack_apply, loaded when there is something to change: a run that changes nothing (the
    common re-run) never compiles the write side, a part of every module run's start-up."""
    from ansible_collections.swarmops.core.plugins.module_utils import stack_apply  # pylint: disable=import-outside-toplevel

    return stack_apply


def _swarm_manager(client):
    info = client.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise SwarmOpsError("This node is not a swarm manager (swarm state: %s). Use swarm_init or swarm_join "
                            "first, or point docker_host at a manager." % (swarm.get("LocalNodeState") or "inactive"))


def _read_on_manager(client, stack):
    """stack_current.read_current; on an engine that is not a swarm manager, the clear error.

    Only a manager answers the swarm lists (others answer 503), so the manager check reads
    /info only when the lists are refused: /info is the engine's slowest read (it counts
    containers and images), and a deploy that changes nothing would spend most of its engine
    time on it.
    """
    try:
        return stack_current.read_current(client, stack)
    except (EngineAPIError, sdk_errors.APIError) as exc:
        if exc.status_code == 503:
            _swarm_manager(client)
        raise


DEFAULT_KEY_FILE = "/var/lib/swarmops/stack-content.key"
_MIN_KEY_LENGTH = 16


def _needs_content_key(model):
    return any(not entry.get("external") for kind in ("secrets", "configs") for entry in model[kind].values())


def _read_key_file(path):
    with open(path) as fh:
        key = fh.read().strip()
    if len(key) < _MIN_KEY_LENGTH:
        raise SwarmOpsError("content_key_file: %s holds no usable key (at least %d characters); remove it "
                            "to have a new one made" % (path, _MIN_KEY_LENGTH))
    return key


def _create_key_file(path):
    """A random key, written 0600 without ever replacing one another run wrote first."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return _read_key_file(path)
        raise
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def content_key(params, check_mode=False):
    """The key of the HMAC that names configs and secrets: content_key, else the key file's.

    Without a key file, check mode uses a throwaway key: the plan then shows the same
    creates and removals a real run would, under names that run will not use.
    """
    if params.get("content_key"):
        if len(params["content_key"]) < _MIN_KEY_LENGTH:
            raise SwarmOpsError("content_key: must be at least %d characters" % _MIN_KEY_LENGTH)
        return params["content_key"]
    path = params.get("content_key_file") or DEFAULT_KEY_FILE
    try:
        if os.path.exists(path):
            return _read_key_file(path)
        if check_mode:
            return secrets.token_hex(32)
        return _create_key_file(path)
    except (IOError, OSError) as exc:
        raise SwarmOpsError("content_key_file: cannot use %s: %s" % (path, exc))


_SECRET_BEARING = ("environment", "content")


def _strings(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return {s for item in value for s in _strings(item)}
    if isinstance(value, bool) or value is None:
        return set()
    return {str(value)}


def _secret_strings(value):
    """Strings under environment:/content: keys, at any depth of an inline mapping."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_BEARING:
                found |= _strings(item) | {s.split("=", 1)[1] for s in _strings(item) if "=" in s}
            else:
                found |= _secret_strings(item)
    elif isinstance(value, list):
        for item in value:
            found |= _secret_strings(item)
    return found


def printable_values(params, min_secret_length=4):
    """Strings of the no_log options `compose` and `env` that may appear in results.

    Ansible masks every occurrence of every value of a no_log option. For compose that
    would blank image names, numbers and paths all over the result; only environment
    values and inline content can carry a secret. Values of `env` are all kept secret,
    except ones too short to be one (masking "1" everywhere would garble every name).
    """
    compose = params.get("compose") or []
    env_values = _strings(params.get("env") or {})
    secret = _secret_strings(compose) | {v for v in env_values if len(v) >= min_secret_length}
    return (_strings(compose) | env_values) - secret - {params.get("content_key")}


def read_env_files(paths, project_dir=None):
    """The variables of the env_files option, later files winning (read where the module runs).

    Relative paths are resolved against project_dir, as compose paths are. A bare KEY line
    sets nothing (the module's environment, if it has KEY, still provides it).
    Raises SwarmOpsError naming the option index and the file.
    """
    env = {}
    for index, path in enumerate(paths or []):
        if project_dir and not os.path.isabs(path):
            path = os.path.join(project_dir, path)
        try:
            values = compose.read_env_file(path)
        except ValueError as exc:
            raise SwarmOpsError("env_files[%d]: %s" % (index, exc))
        env.update((k, v) for k, v in values.items() if v is not None)
    return env


def secret_values(env, min_secret_length=4):
    """Values to mask wherever they appear, by the rule printable_values applies to `env`."""
    return {v for v in env.values() if len(v) >= min_secret_length}


def interpolation_env(params, file_env=None):
    """The variables compose files are interpolated with: the module's environment, then
    env_files in order, then env (each wins over the ones before)."""
    env = dict(os.environ)
    if file_env is None:
        file_env = read_env_files(params.get("env_files"), params.get("project_dir"))
    env.update(file_env)
    env.update({k: str(v) for k, v in (params.get("env") or {}).items()})
    return env


def deploy(client, params, check_mode=False, file_env=None):
    """Run one stack_deploy; returns the module result dict (raises SwarmOpsError).

    file_env: env_files already read by the caller (the module, which must know their
    values to mask them); read here when None.
    """
    stack = params["name"]
    warnings = []
    if params.get("state", "present") == "absent":
        current = _read_on_manager(client, stack)
        plan = stack_plan.removal_plan(current)
        if not check_mode:
            timeout = params.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT
            warnings += _stack_apply().apply_plan(client, plan, timeout=timeout).warnings
        return _result(plan, warnings, params)

    env = interpolation_env(params, file_env)
    desired, load_warnings = _desired_state(stack, params, env, check_mode)
    warnings += load_warnings

    current = _read_on_manager(client, stack)
    conflicts = stack_current.published_port_conflicts(current, desired)
    if conflicts:
        raise SwarmOpsError("Cannot deploy stack %s: %s" % (stack, "; ".join(conflicts)), problems=conflicts)
    digests, unresolved = {}, []
    if params.get("resolve_image", "always") == "always":
        images = [s["TaskTemplate"]["ContainerSpec"]["Image"] for s in desired["services"].values()]
        digests, unresolved = stack_current.resolve_digests(client, images)
    try:
        plan = stack_plan.make_plan(desired, current, params.get("resolve_image", "always"),
                                    params.get("prune", False), digests, client.api_version)
    except stack_plan.PlanError as exc:
        raise SwarmOpsError(str(exc))
    warnings += plan.warnings
    if unresolved:
        touched = {a["body"]["TaskTemplate"]["ContainerSpec"]["Image"] for a in plan.actions
                   if a["kind"] == "service" and a["action"] in ("create", "update")}
        warnings += [stack_current.digest_warning(image) for image in unresolved if image in touched]
    if check_mode or not plan.changed:
        return _result(plan, warnings, params)

    with step("applying the plan", "stack %s" % stack):
        applied = _stack_apply().apply_plan(client, plan, params.get("with_registry_auth", False),
                                            timeout=params.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT)
    warnings += applied.warnings
    warnings += _converge(client, plan, applied, params, stack)
    return _result(plan, warnings, params)


def _converge(client, plan, applied, params, stack):
    """Wait for what apply did, roll back on failure; superseded configs/secrets go only after success."""
    stack_apply = _stack_apply()
    if not params.get("wait", True):
        return stack_apply.defer_superseded(plan, "wait is off, so this run did not see the services converge")
    with step("waiting for the services", "stack %s" % stack):
        failed = stack_apply.wait_for(client, applied.services, params.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT)
    if failed:
        rolled = stack_apply.rollback(client, applied.services, failed) if params.get("rollback") else []
        stack_apply.defer_superseded(plan, "the services did not converge")
        raise SwarmOpsError(_failure_message(failed, rolled), failures=failed, rollback=rolled,
                            actions=plan.summary(), changed=True)
    with step("removing superseded configs and secrets", "stack %s" % stack):
        return stack_apply.remove_superseded(client, plan, params.get("wait_timeout") or DEFAULT_WAIT_TIMEOUT)


def _sources(params):
    return ", ".join(s if isinstance(s, str) else "inline mapping" for s in params.get("compose") or [])


def _desired_state(stack, params, env, check_mode):
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
    key = content_key(params, check_mode) if _needs_content_key(model) else None
    with step("converting the compose model to Engine API bodies", _sources(params)):
        desired = stack_convert.build(stack, model, env, key)
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
