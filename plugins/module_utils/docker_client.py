# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine-client leaf: everything a module needs to talk to a Docker Engine, in one place.

- ``connect(params)``: a ``docker.APIClient`` from the connection options of
  ``docker_common`` (after checking the SDK is there and recent enough).
- ``post_json(client, path, body)``: the few Engine API calls the SDK's public methods
  cannot make as we need them (see RAW_CALLS), sent through the client's public surface
  (it is a ``requests.Session``; ``base_url``, ``api_version``, ``timeout``), never
  through private docker-py methods.
- ``inspect_or_none`` and ``retry_out_of_sequence``.
- ``connect(params, direct_reads=True)``: on a unix:// socket, a client whose reads
  (``DIRECT_READS``: info, version, the swarm, nodes, lists) and ``post_json`` writes go
  straight to the socket (``exchange``, one HTTP/1.0 request each); the SDK is imported only for the first call
  these do not cover (or to raise its own exception for an error answer to a post). A run
  that only reads (stack_deploy, the swarm modules, the engine facts, with nothing to change)
  then never imports docker, requests or paramiko: about half of such a module's run time,
  measured by bench/stack_vs_docker_stack.py. Nor does a swarm join or init.
- ``sdk_errors``: ``docker.errors``, looked up when an exception reaches an except clause.

Every wait uses ``runner.clock``, the one deadline loop, which needs no engine.

The docker SDK is imported only when a client is made (``sdk()``): modules that only
validate input, or never talk to an engine, do not pay for importing it.
Imports only runner and docker_common (below it); every engine-facing module_utils file sits above.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import traceback

from ansible.module_utils.common.warnings import warn

from ansible_collections.swarmops.core.plugins.module_utils.docker_common import connection_settings, describe_settings
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

# The oldest Docker SDK for Python the modules run with. 4.4.0 added use_ssh_client (connect
# passes it); every other call we make is older. Debian bookworm ships 5.0.3. An integration
# test (tests/integration/test_min_sdk.py) runs the swarm and stack modules on exactly this.
MIN_DOCKER_SDK = "4.4.0"

# Why these calls are posted raw (checked against docker-py 4.4 to 7.1 and Engine API 1.41):
RAW_CALLS = {
    "/swarm/init": "init_swarm() has no data_path_port (DataPathPort) in SDK 4.4 and 5.0 (Debian 12's)",
    "/swarm/join": "join_swarm() cannot send Availability in any SDK release",
    "/services/create": "create_service() always attaches the registry credentials of the "
                        "module's user (X-Registry-Auth); with_registry_auth=false must send none",
    "/services/{id}/update": "update_service() attaches credentials the same way and cannot "
                             "send ?rollback=previous",
    "/secrets/create": "create_secret() needs the data (a driver-backed secret has none) and "
                       "cannot send Templating",
    "/configs/create": "create_config() has no templating before SDK 5.0",
    "/secrets/{id}/update": "no SDK release has update_secret()",
    "/configs/{id}/update": "no SDK release has update_config()",
}

OUT_OF_SEQUENCE = "update out of sequence"
OUT_OF_SEQUENCE_ATTEMPTS = 5  # the engine raises it when a concurrent writer won; a fresh read fixes it


class _SdkErrors:
    """``docker.errors``, looked up when an exception reaches an except clause; never imported here.

    Importing it at the top of a module_utils file loads the SDK (and, on a controller, paramiko)
    before connect() decides how to load it. An ``except sdk_errors.NotFound:`` clause looks the
    class up only when an exception reaches it. An SDK error can only have been raised once the
    SDK is loaded; until then (a direct read's EngineAPIError, say), each name is an exception
    class that nothing raises, so a failed read does not load the SDK just to compare classes.
    """

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        errors = sys.modules.get("docker.errors")
        if errors is None:
            return type(name, (Exception,), {})
        return getattr(errors, name)


sdk_errors = _SdkErrors()


class EngineAPIError(SwarmOpsError):
    """The engine's error answer to a direct read (DirectReadClient): a SwarmOpsError naming the
    call, with the SDK APIError's ``status_code`` and ``explanation`` (the engine's message)."""

    def __init__(self, msg, status_code, explanation):
        super().__init__(msg, status_code=status_code)
        self.status_code = status_code
        self.explanation = explanation


def sdk(ssh=True):
    """Import and return the docker package; a SwarmOpsError naming the fix when it is absent.

    ``ssh=False`` (the client will not use ssh://): the SDK's transport package imports paramiko
    only for its ssh:// adapter, which costs about 75 ms per module run where paramiko is
    installed (it pulls in invoke). For the first import in the process it is hidden, so the SDK
    loads without that adapter; a later ssh:// client in the same process would not work.
    """
    hide = not ssh and "docker" not in sys.modules and "paramiko" not in sys.modules
    if hide:
        sys.modules["paramiko"] = None  # `import paramiko` raises ImportError, which the SDK tolerates
    try:
        import docker  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise SwarmOpsError(
            "The Docker SDK for Python (>= %s) is required on the host this module runs on: "
            "pip install docker (or apt-get install python3-docker)." % MIN_DOCKER_SDK,
            exception=traceback.format_exc())
    finally:
        if hide:
            del sys.modules["paramiko"]
    return docker


def _version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text))[:3])


def check_sdk_version(installed, required=MIN_DOCKER_SDK):
    """A SwarmOpsError naming both versions when ``installed`` is older than ``required``."""
    if _version_tuple(installed) < _version_tuple(required):
        raise SwarmOpsError(
            "Docker SDK for Python %s is installed on the host this module runs on; "
            "swarmops.core needs %s or newer (pip install 'docker>=%s', or Debian 12's "
            "python3-docker)." % (installed, required, required),
            installed_docker_sdk=str(installed), required_docker_sdk=required)


def _tls_adapter_class(docker):
    import requests.adapters  # pylint: disable=import-outside-toplevel

    class DaemonTLSAdapter(requests.adapters.HTTPAdapter):
        """Verifies the daemon exactly as decided: against our CA (never one from
        REQUESTS_CA_BUNDLE, which requests would otherwise prefer) and, with
        ``tls_hostname``, against that name instead of the URL's host."""

        def __init__(self, verify, hostname=None, **kwargs):
            self.daemon_verify = verify
            self.tls_hostname = hostname
            super().__init__(**kwargs)

        def init_poolmanager(self, *args, **kwargs):
            if self.tls_hostname:
                kwargs["assert_hostname"] = self.tls_hostname
            super().init_poolmanager(*args, **kwargs)

        def send(self, request, **kwargs):  # pylint: disable=arguments-differ
            kwargs["verify"] = self.daemon_verify
            return super().send(request, **kwargs)

    return DaemonTLSAdapter


def _api_client(docker, settings, version):
    tls_config = False
    if settings["tls"]:
        client_cert = None
        if settings["client_cert"]:
            client_cert = (settings["client_cert"], settings["client_key"])
        tls_config = docker.tls.TLSConfig(
            client_cert=client_cert, ca_cert=settings["ca_path"], verify=settings["verify"])
    client = docker.APIClient(
        base_url=settings["base_url"], version=version, timeout=settings["timeout"],
        tls=tls_config, use_ssh_client=settings["use_ssh_client"])
    if settings["tls"]:
        verify = (settings["ca_path"] or True) if settings["verify"] else False
        hostname = settings["tls_hostname"] if settings["verify"] else None
        client.mount("https://", _tls_adapter_class(docker)(verify, hostname))
    return client


def _negotiated_client(docker, settings):
    version = settings["api_version"]
    if settings["tls"] and version.lower() == "auto":
        # The SDK asks for the version while it builds the client, before our adapter is on.
        from docker.constants import MINIMUM_DOCKER_API_VERSION  # pylint: disable=import-outside-toplevel
        probe = _api_client(docker, settings, MINIMUM_DOCKER_API_VERSION)
        version = probe.version(api_version=False)["ApiVersion"]
    return _api_client(docker, settings, version)


_VERSION_LINE = re.compile(r"""^(?:__version__|version)\s*=[^'"\n]*['"]([^'"]+)['"]""", re.M)


def installed_sdk_version():
    """The installed docker SDK's version without importing it: read from the version file the
    package's own ``__version__`` comes from (``_version.py`` since 6.0, ``version.py`` before),
    else by importing it. (importlib.metadata would cost as much as the reads it spares.)"""
    import importlib.util  # pylint: disable=import-outside-toplevel

    spec = importlib.util.find_spec("docker")
    if spec is None or not spec.origin:
        return sdk().__version__  # sdk() raises the error naming the fix when it is absent
    for name in ("_version.py", "version.py"):
        try:
            with open(os.path.join(os.path.dirname(spec.origin), name)) as fh:
                match = _VERSION_LINE.search(fh.read())
        except (IOError, OSError):
            continue
        if match:
            return match.group(1)
    return sdk().__version__


def _unreachable(settings, exc):
    return SwarmOpsError("Cannot reach the Docker daemon at %s: %s" % (settings["base_url"], exc))


def connect(params, min_sdk=MIN_DOCKER_SDK, direct_reads=False):
    """Return a docker.APIClient for the connection options in ``params`` (pinged once).

    ``min_sdk``: a module that needs a newer SDK than MIN_DOCKER_SDK says so here.
    ``direct_reads``: on a unix:// socket, a ``DirectReadClient`` instead (same methods).
    """
    settings = connection_settings(params)
    direct_reads = direct_reads and settings["base_url"].startswith("unix://")
    docker = None if direct_reads else sdk(ssh=settings["base_url"].startswith("ssh://"))
    check_sdk_version(installed_sdk_version() if direct_reads else docker.__version__, min_sdk)
    for message in settings["warnings"]:
        warn(message)
    if params.get("debug"):
        warn(describe_settings(settings))
    if direct_reads:
        return DirectReadClient(settings)
    try:
        client = _negotiated_client(docker, settings)
        client.ping()
    except Exception as exc:  # paramiko/socket/ssl errors do not derive from DockerException
        raise _unreachable(settings, exc)
    return client


def post_json(client, path, body, params=None, headers=None):
    """POST a JSON body to an Engine API path (one of RAW_CALLS); the decoded answer or None.

    Uses only the client's public surface: the versioned URL from ``base_url`` and
    ``api_version``, the session's own ``post`` (unix, ssh and TLS adapters included)
    and ``docker.errors.create_api_error_from_http_exception`` for errors, so a failure
    raises the same APIError/NotFound the SDK's own methods raise. A DirectReadClient posts
    straight to its socket (``DirectReadClient.post_json``), with the same answers and errors.
    """
    if isinstance(client, DirectReadClient):
        return client.post_json(path, body, params, headers)
    data, headers = _json_payload(body, headers)
    response = client.post("%s/v%s%s" % (client.base_url, client.api_version, path), data=data,
                           params=params, timeout=client.timeout, headers=headers)
    _raise_for_status(response)
    return response.json() if response.content else None


def _json_payload(body, headers):
    """A raw POST's JSON body (top-level None left out, as the SDK's own calls send them) and headers."""
    data = json.dumps({k: v for k, v in body.items() if v is not None})
    return data, dict(headers or {}, **{"Content-Type": "application/json"})


def _raise_for_status(response):
    """For an error answer (a requests.Response), the exception the SDK's own methods raise:
    docker.errors' mapping of the status to APIError, NotFound, ImageNotFound..."""
    import requests  # pylint: disable=import-outside-toplevel
    from docker.errors import create_api_error_from_http_exception  # pylint: disable=import-outside-toplevel

    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        raise create_api_error_from_http_exception(exc)


def services_with_status(client, filters):
    """GET /services?status=true: each service with ServiceStatus (running/desired tasks, API 1.41).

    SDK releases before 6.1 have no ``status`` parameter; then the list comes without it, as from
    an engine older than API 1.41, and the caller counts the running tasks itself.
    """
    try:
        return client.services(filters=filters, status=True)
    except TypeError:  # services() got an unexpected keyword argument 'status'
        return client.services(filters=filters)


def inspect_or_none(inspect, *args, **kwargs):
    """``inspect(*args)``, or None when the engine answers 404 (the object does not exist)."""
    try:
        return inspect(*args, **kwargs)
    except sdk_errors.NotFound:
        return None
    except EngineAPIError as exc:
        if exc.status_code == 404:
            return None
        raise


def is_out_of_sequence(exc):
    return OUT_OF_SEQUENCE in str(exc)


def retry_out_of_sequence(write, attempts=OUT_OF_SEQUENCE_ATTEMPTS, pause=0.2):
    """Call ``write(attempt)`` until it does not fail with "update out of sequence".

    Swarm objects carry a Version.Index; a write with a stale one is refused. ``write`` must
    read the object afresh when ``attempt > 0``. Any other error, or the last attempt's,
    propagates unchanged.
    """
    for attempt in range(attempts):
        try:
            return write(attempt)
        except sdk_errors.APIError as exc:
            if not is_out_of_sequence(exc) or attempt == attempts - 1:
                raise
        time.sleep(pause)
    raise ValueError("attempts must be at least 1")


# The SDK methods DirectReadClient answers itself, and their Engine API paths. The lists take
# only ``filters`` (services() also ``status``), keyword for keyword as the SDK's methods do;
# inspect_node() takes the node's ID or name.
DIRECT_READS = {
    "info": "/info",
    "version": "/version",
    "inspect_swarm": "/swarm",
    "inspect_node": "/nodes/%s",
    "services": "/services",
    "networks": "/networks",
    "configs": "/configs",
    "secrets": "/secrets",
    "nodes": "/nodes",
    "tasks": "/tasks",
}


def encode_filters(filters):
    """Engine API filters as the SDK sends them: {"key": ["value", ...]} in JSON, booleans as words."""
    encoded = {}
    for key, value in filters.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, list):
            value = [value]
        encoded[key] = [item if isinstance(item, str) else str(item) for item in value]
    return json.dumps(encoded)


class EngineAnswer:
    """An engine's answer read off the socket: ``status``, ``reason`` and ``getheader(name)``,
    as on an http.client response."""

    def __init__(self, status, reason, headers):
        self.status, self.reason, self._headers = status, reason, headers

    def getheader(self, name, default=None):
        return self._headers.get(name.lower(), default)


def exchange(path, timeout, method, url, body=None, headers=None):
    """One HTTP/1.0 request to the unix socket at ``path``: (EngineAnswer, body bytes).

    Under HTTP/1.0 the engine sends its whole answer unchunked and then closes the connection,
    so the body is everything after the header block. This stands in for http.client, whose
    import (with ssl and email) took 10-15 ms of a 0.27 s no-op module run.
    OSError for a socket failure or an answer that is not HTTP.
    """
    lines = ["%s %s HTTP/1.0" % (method, url), "Host: docker"]
    lines += ["%s: %s" % item for item in (headers or {}).items()]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    chunks = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        chunk = sock.recv(65536)
        while chunk:
            chunks.append(chunk)
            chunk = sock.recv(65536)
    head, separator, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    match = _STATUS_LINE.match(status_line)
    if not separator or not match:
        raise OSError("the answer is not HTTP: %r" % head[:60])
    fields = (line.partition(":") for line in header_lines)
    return EngineAnswer(int(match.group(1)), match.group(2),
                        {name.strip().lower(): value.strip() for name, dummy, value in fields}), payload


_STATUS_LINE = re.compile(r"^HTTP/\d\.\d (\d{3})(?: (.*))?$")


class DirectReadClient:
    """A docker.APIClient stand-in for a daemon on a unix socket: the reads in DIRECT_READS
    and post_json's raw writes go straight to the socket; any other attribute (the SDK's
    write methods, the other inspect_*) comes from a real docker.APIClient made on first use,
    at the same API version, without the ssh adapter (paramiko).

    Only a module's own process uses one (connect(..., direct_reads=True)); it answers the
    covered reads exactly as the SDK does (decoded JSON) and fails with a SwarmOpsError naming
    the call and the engine's message.
    """

    api_version = None  # set in __init__ (a class attribute, so reading it early never reaches __getattr__)

    def __init__(self, settings):
        self._settings = settings
        self._socket_path = settings["base_url"][len("unix://"):]
        self._sdk_client = None
        try:
            # The engine's API version from /_ping's API-Version header (as the docker CLI reads
            # it): /version asks containerd and runc for theirs, about 5 ms more on a lab host.
            response, dummy = self._request("GET", "/_ping", versioned=False)
            if response.status >= 400:
                raise SwarmOpsError("GET /_ping: %d %s" % (response.status, response.reason))
            self.api_version = settings["api_version"]
            if self.api_version.lower() == "auto":
                self.api_version = (response.getheader("API-Version")
                                    or self.get_json("/version", versioned=False)["ApiVersion"])
        except SwarmOpsError as exc:
            raise _unreachable(settings, exc)

    def _target(self, path, params=None, versioned=True):
        """The request target: the versioned path and the query (None values left out, as requests does)."""
        from urllib.parse import urlencode  # pylint: disable=import-outside-toplevel

        url = ("/v%s%s" % (self.api_version, path)) if versioned else path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return url + "?" + urlencode(query) if query else url

    def _request(self, method, path, params=None, versioned=True, body=None, headers=None):
        """One HTTP request on the socket: (response, body bytes); OSError -> SwarmOpsError."""
        try:
            return exchange(self._socket_path, self._settings["timeout"], method,
                            self._target(path, params, versioned), body, headers)
        except OSError as exc:
            raise SwarmOpsError("%s %s: %s" % (method, path, exc))

    def get_json(self, path, params=None, versioned=True):
        response, body = self._request("GET", path, params, versioned)
        if response.status >= 400:
            try:
                message = json.loads(body.decode("utf-8")).get("message")
            except ValueError:
                message = body.decode("utf-8", "replace").strip()
            raise EngineAPIError("Docker Engine API error: GET %s: %d %s: %s"
                                 % (path, response.status, response.reason, message),
                                 response.status, message)
        return json.loads(body.decode("utf-8"))

    def post_json(self, path, body, params=None, headers=None):
        """``post_json`` on the socket: the decoded answer or None. An error answer raises the
        SDK's own exception (docker.errors, loaded only then), so callers catch what they catch
        for the SDK's client."""
        data, headers = _json_payload(body, headers)
        response, answer = self._request("POST", path, params, body=data.encode("utf-8"), headers=headers)
        if response.status >= 400:
            sdk(ssh=False)
            import requests  # pylint: disable=import-outside-toplevel

            error = requests.Response()
            error.status_code, error.reason, error._content = response.status, response.reason, answer  # pylint: disable=protected-access
            error.url = "http+docker://localhost" + self._target(path, params)  # the SDK's own, for a unix socket
            _raise_for_status(error)
        return json.loads(answer.decode("utf-8")) if answer else None

    def _list(self, method, filters=None, status=None):
        params = {"filters": encode_filters(filters) if filters else None}
        if status is not None:
            params["status"] = "true" if status else "false"
        return self.get_json(DIRECT_READS[method], params)

    def info(self):
        return self.get_json(DIRECT_READS["info"])

    def version(self, api_version=True):
        return self.get_json(DIRECT_READS["version"], versioned=api_version)

    def inspect_swarm(self):
        return self.get_json(DIRECT_READS["inspect_swarm"])

    def inspect_node(self, node_id):
        from urllib.parse import quote  # pylint: disable=import-outside-toplevel

        return self.get_json(DIRECT_READS["inspect_node"] % quote(node_id, safe=""))

    def services(self, filters=None, status=None):
        return self._list("services", filters, status)

    def networks(self, filters=None):
        return self._list("networks", filters)

    def configs(self, filters=None):
        return self._list("configs", filters)

    def secrets(self, filters=None):
        return self._list("secrets", filters)

    def nodes(self, filters=None):
        return self._list("nodes", filters)

    def tasks(self, filters=None):
        return self._list("tasks", filters)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._sdk_client is None:
            docker = sdk(ssh=False)
            try:
                self._sdk_client = _api_client(docker, self._settings, self.api_version)
            except Exception as exc:  # as connect(): socket errors do not derive from DockerException
                raise _unreachable(self._settings, exc)
        return getattr(self._sdk_client, name)
