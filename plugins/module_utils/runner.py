# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module runner leaf: what every module stands on, Docker or not.

- ``SwarmOpsError``: the one error type; raise it for anything the user should read.
- ``run_module(module, run)``: calls ``run(module)`` and turns its result into exit_json,
  SwarmOpsError (and Docker SDK errors) into fail_json, never a bare traceback.
- ``step(name, subject)``: names the step (and its input) an unexpected error came from.
- ``clock(timeout, interval)``: the one deadline loop of every wait in plugins/.
- ``SecretSafeModule``: AnsibleModule for modules with no_log suboptions.

Imports nothing from the collection and never the docker SDK: modules that do not talk to an
engine (tls_certificate, htpasswd, ssh_keypair, virtualbox_vm, qemu_vm, ...) do not pay for it.
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback

from ansible.module_utils.basic import AnsibleModule

# Every wait in plugins/ that is not given a timeout waits this long (seconds), as
# stack_deploy's and virtualbox_vm's wait_timeout default.
DEFAULT_WAIT_TIMEOUT = 300


class SwarmOpsError(Exception):
    """An error the user can act on. ``details`` are extra keys for fail_json."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


class SecretSafeModule(AnsibleModule):
    """AnsibleModule for a module whose list or dict option has a no_log suboption
    (htpasswd's users[].password, docker_image_build's registry_auth.password).

    AnsibleModule logs its invocation to the host's journal or syslog with every option as str()
    writes it, masking the no_log values as they are. Inside a list or dict str() writes a value
    as repr() does, a newline as \\n, and that masking misses it: a multi-line secret would be
    logged. Its escaped form is masked too."""

    def _log_invocation(self):
        self.no_log_values.update([repr(value)[1:-1] for value in self.no_log_values if isinstance(value, str)])
        super()._log_invocation()


def is_docker_error(exc):
    """True for the SDK's DockerException and its kinds. No import: without docker.errors loaded,
    nothing can have raised one (docker_client imports the SDK only when it connects)."""
    errors = sys.modules.get("docker.errors")
    return errors is not None and isinstance(exc, errors.DockerException)


def _brief(exc, limit=300):
    text = "%s: %s" % (type(exc).__name__, exc)
    return text if len(text) <= limit else text[:limit] + "..."


@contextlib.contextmanager
def step(name, subject=None):
    """Turn an unexpected exception inside the block into a SwarmOpsError naming the step and its input.

    The traceback goes to the ``exception`` key (shown by Ansible only with -vvv), not the message.
    """
    try:
        yield
    except SwarmOpsError:
        raise
    except Exception as exc:  # noqa: BLE001 - the point is to catch what we did not foresee
        if is_docker_error(exc):
            raise
        where = "%s (%s)" % (name, subject) if subject else name
        raise SwarmOpsError("Unexpected error while %s: %s" % (where, _brief(exc)),
                            exception=traceback.format_exc())


def run_module(module, run):
    """Call ``run(module)`` -> result dict; map our errors onto fail_json, never a bare traceback."""
    try:
        result = run(module)
    except SwarmOpsError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except Exception as exc:  # noqa: BLE001 - a module must fail with a message, not crash
        if is_docker_error(exc):
            module.fail_json(msg="Docker Engine API error: %s" % exc, exception=traceback.format_exc())
        else:
            module.fail_json(msg="Unexpected error in module %s: %s" % (getattr(module, "_name", "?"), _brief(exc)),
                             exception=traceback.format_exc())
    module.exit_json(**result)


def clock(timeout, interval):
    """The one deadline loop: yields the attempt number (0, 1, ...) until ``timeout`` seconds passed.

    The first attempt is immediate; between attempts it sleeps ``interval``; the last attempt
    starts at or after the deadline, so a wait always takes one look after its time is up.
    A caller returns (or breaks) when done; the loop ending means the time ran out.
    The deadline is fixed when clock() is called, not at the first attempt.
    """
    return _ticks(time.monotonic() + timeout, interval)


def _ticks(deadline, interval):
    attempt = 0
    while True:
        yield attempt
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)
        attempt += 1
