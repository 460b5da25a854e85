# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every swarmops.core module reaches a Docker Engine.

DOCKER_COMMON_ARGS pairs with the ``swarmops.core.docker`` doc fragment.
Modules raise SwarmOpsError for anything the user should read; run_module turns
it (and Docker SDK errors) into fail_json.
"""

from __future__ import annotations

import contextlib
import os
import traceback

try:
    import docker
    from docker.errors import DockerException
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised on hosts without the SDK
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        pass


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", aliases=["docker_url"]),
    api_version=dict(type="str", default="auto"),
    timeout=dict(type="int", default=60),
    tls=dict(type="bool", default=False),
    tls_verify=dict(type="bool", default=False),
    ca_path=dict(type="path", aliases=["ca_cert"]),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
)


class SwarmOpsError(Exception):
    """An error the user can act on. ``details`` are extra keys for fail_json."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def docker_host_from(params):
    return params.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def connect(params):
    """Return a docker.APIClient for the connection options in ``params``."""
    if not HAS_DOCKER:
        raise SwarmOpsError(
            "The Docker SDK for Python is required on the host this module runs on: "
            "pip install docker (or apt-get install python3-docker).",
            exception=DOCKER_IMPORT_ERROR,
        )
    base_url = docker_host_from(params)
    tls_config = None
    if params.get("tls") or params.get("tls_verify"):
        client_cert = None
        if params.get("client_cert") or params.get("client_key"):
            if not (params.get("client_cert") and params.get("client_key")):
                raise SwarmOpsError("client_cert and client_key must be given together.")
            client_cert = (params["client_cert"], params["client_key"])
        tls_config = docker.tls.TLSConfig(
            client_cert=client_cert,
            ca_cert=params.get("ca_path") if params.get("tls_verify") else None,
            verify=bool(params.get("tls_verify")),
        )
        if base_url.startswith("tcp://"):
            base_url = "https://" + base_url[len("tcp://"):]
    try:
        client = docker.APIClient(
            base_url=base_url,
            version=params.get("api_version") or "auto",
            timeout=params.get("timeout") or 60,
            tls=tls_config or False,
            use_ssh_client=False,
        )
        client.ping()
    except DockerException as exc:
        raise SwarmOpsError("Cannot reach the Docker daemon at %s: %s" % (base_url, exc))
    except Exception as exc:  # paramiko/socket errors do not derive from DockerException
        raise SwarmOpsError("Cannot reach the Docker daemon at %s: %s" % (base_url, exc))
    return client


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
    except (SwarmOpsError, DockerException):
        raise
    except Exception as exc:  # noqa: BLE001 - the point is to catch what we did not foresee
        where = "%s (%s)" % (name, subject) if subject else name
        raise SwarmOpsError("Unexpected error while %s: %s" % (where, _brief(exc)),
                            exception=traceback.format_exc())


def run_module(module, run):
    """Call ``run(module)`` -> result dict; map our errors onto fail_json, never a bare traceback."""
    try:
        result = run(module)
    except SwarmOpsError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except DockerException as exc:
        module.fail_json(msg="Docker Engine API error: %s" % exc, exception=traceback.format_exc())
    except Exception as exc:  # noqa: BLE001 - a module must fail with a message, not crash
        module.fail_json(msg="Unexpected error in module %s: %s" % (getattr(module, "_name", "?"), _brief(exc)),
                         exception=traceback.format_exc())
    module.exit_json(**result)
