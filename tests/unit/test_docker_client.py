"""The engine-client leaf (docker_client): out-of-sequence retry, inspect-or-none, raw POST,
SDK version check; and the rules that keep it the only way to the engine and the layers in order
(no private docker-py attribute in plugins/, runner and docker_common free of the SDK, no
module_utils file importing one from a layer above it). The runner has its own test_runner.py."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from docker.errors import APIError, NotFound

from ansible_collections.swarmops.core.plugins.module_utils import docker_client
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from test_runner import FakeTime

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(docker_client, "time", fake)
    return fake


# ---------------------------------------------------------------- out-of-sequence retry

def _out_of_sequence():
    return APIError("500 Server Error: rpc error: code = Unknown desc = update out of sequence")


def test_retry_reads_afresh_and_succeeds(fake_time):
    calls = []

    def write(attempt):
        calls.append(attempt)
        if attempt < 2:
            raise _out_of_sequence()
        return "ok"
    assert docker_client.retry_out_of_sequence(write) == "ok"
    assert calls == [0, 1, 2]


def test_retry_gives_up_after_the_last_attempt_with_the_engine_error(fake_time):
    calls = []

    def write(attempt):
        calls.append(attempt)
        raise _out_of_sequence()
    with pytest.raises(APIError, match="out of sequence"):
        docker_client.retry_out_of_sequence(write)
    assert calls == list(range(docker_client.OUT_OF_SEQUENCE_ATTEMPTS))


def test_retry_passes_any_other_error_through_at_once(fake_time):
    calls = []

    def write(attempt):
        calls.append(attempt)
        raise APIError("409 Client Error: name conflicts")
    with pytest.raises(APIError, match="conflicts"):
        docker_client.retry_out_of_sequence(write)
    assert calls == [0] and fake_time.sleeps == []


# ---------------------------------------------------------------- inspect-or-none

def test_inspect_or_none():
    def missing(ident):
        raise NotFound("404 Client Error: network %s not found" % ident)

    def broken(ident):
        raise APIError("500 Server Error")
    assert docker_client.inspect_or_none(missing, "n1") is None
    assert docker_client.inspect_or_none(lambda ident, full=False: (ident, full), "n1", full=True) == ("n1", True)
    with pytest.raises(APIError):
        docker_client.inspect_or_none(broken, "n1")


# ---------------------------------------------------------------- the raw POST

class FakeSession:
    """The public surface post_json uses: base_url, api_version, timeout, post()."""

    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 42

    def __init__(self, status=200, answer=None):
        self.status, self.answer, self.sent = status, answer, []

    def post(self, url, **kwargs):
        self.sent.append((url, kwargs))
        response = requests.Response()
        response.status_code = self.status
        response.url = url
        response._content = json.dumps(self.answer).encode() if self.answer is not None else b""
        return response


def test_post_json_versioned_url_json_body_and_answer():
    session = FakeSession(answer={"ID": "abc", "Warnings": None})
    result = docker_client.post_json(session, "/services/create", {"Name": "s", "Mode": None},
                                     params={"version": 3}, headers={"X-Registry-Auth": "e30="})
    assert result == {"ID": "abc", "Warnings": None}
    url, kwargs = session.sent[0]
    assert url == "http+docker://localhost/v1.41/services/create"
    assert json.loads(kwargs["data"]) == {"Name": "s"}  # top-level None left out, as the SDK does
    assert kwargs["params"] == {"version": 3} and kwargs["timeout"] == 42
    assert kwargs["headers"] == {"X-Registry-Auth": "e30=", "Content-Type": "application/json"}


def test_post_json_empty_answer_is_none():
    assert docker_client.post_json(FakeSession(), "/swarm/join", {"JoinToken": "t"}) is None


@pytest.mark.parametrize("status, error", [(404, NotFound), (500, APIError), (409, APIError)])
def test_post_json_errors_are_the_sdks_own(status, error):
    with pytest.raises(error):
        docker_client.post_json(FakeSession(status=status, answer={"message": "nope"}), "/swarm/init", {})


# ---------------------------------------------------------------- SDK version

@pytest.mark.parametrize("installed", ["4.4.0", "5.0.3", "7.1.0", "10.0.0", "4.10.0"])
def test_sdk_version_accepted(installed):
    docker_client.check_sdk_version(installed, "4.4.0")


@pytest.mark.parametrize("installed", ["4.3.1", "3.7.3", "2.0.0"])
def test_sdk_version_too_old_names_both_versions(installed):
    with pytest.raises(SwarmOpsError) as info:
        docker_client.check_sdk_version(installed, "4.4.0")
    msg = str(info.value)
    assert "SDK for Python %s is installed" % installed in msg and "4.4.0 or newer" in msg
    assert info.value.details["required_docker_sdk"] == "4.4.0"


def test_connect_refuses_an_old_sdk_before_connecting(monkeypatch):
    class OldDocker:
        __version__ = "4.0.2"

        class APIClient:  # noqa: D106 - must never be reached
            def __init__(self, *args, **kwargs):
                raise AssertionError("connected with an SDK that is too old")
    asked = []
    monkeypatch.setattr(docker_client, "sdk", lambda ssh=True: asked.append(ssh) or OldDocker)
    for host in ("unix:///nonexistent.sock", "ssh://nobody@127.0.0.1:1"):
        with pytest.raises(SwarmOpsError, match=r"Docker SDK for Python 4\.0\.2 is installed.*needs %s or newer"
                           % re.escape(docker_client.MIN_DOCKER_SDK)):
            docker_client.connect({"docker_host": host})
    assert asked == [False, True]  # the SDK's ssh:// support is loaded only for an ssh:// client


@pytest.mark.parametrize("ssh", [False, True])
def test_the_sdk_loads_paramiko_only_for_ssh(ssh):
    """paramiko (with invoke, about 75 ms) is imported by the SDK only for its ssh:// adapter."""
    pytest.importorskip("paramiko")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.swarmops.core.plugins.module_utils import docker_client\n"
            "docker = docker_client.sdk(ssh=%s)\n"
            "loaded = 'paramiko' in sys.modules\n"
            "print(loaded, hasattr(docker.transport, 'SSHHTTPAdapter'), sys.modules.get('paramiko', 1) is not None)"
            % (str(ROOT / ".collections"), ssh))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Without ssh: neither paramiko nor the ssh adapter, and paramiko is importable again afterwards.
    assert out.split() == [str(ssh), str(ssh), "True"]


def test_min_sdk_is_stated_in_the_docs():
    from ansible_collections.swarmops.core.plugins.doc_fragments.docker import ModuleDocFragment
    stated = "docker >= %s" % docker_client.MIN_DOCKER_SDK
    assert stated in ModuleDocFragment.SDK
    assert stated in (ROOT / "README.md").read_text()
    # Every module that connects to an engine documents the requirement.
    for path in sorted((PLUGINS / "modules").glob("*.py")):
        text = path.read_text()
        if "docker_client import connect" in text:
            assert "swarmops.core.docker.sdk" in text or "docker >= " in text, path.name


# ---------------------------------------------------------------- rules that keep it so

# docker-py's private members that plugins once called, and any `<client or api>._attr`.
PRIVATE = re.compile(r"\b(?:client|api|probe|cli)\._[a-z]\w*|\._(?:post_json|url|result|raise_for_status|"
                     r"get|post|delete|put|stream_helper|version|get_raw_response_socket)\b\(?")


def _plugin_sources():
    # Callback plugins read Ansible's TaskResult._result, which is how callbacks are written;
    # they never hold a docker client.
    return sorted(p for p in PLUGINS.rglob("*.py") if p.parent.name != "callback")


def test_no_private_docker_py_attribute_in_plugins():
    offenders = []
    for path in _plugin_sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE.search(line):
                offenders.append("%s:%d: %s" % (path.relative_to(ROOT), number, line.strip()))
    assert not offenders, "private docker-py attributes:\n" + "\n".join(offenders)


@pytest.mark.parametrize("line", ["client._post_json(client._url(path), data=body)",
                                  "self.api._result(response, True)", "c._raise_for_status(r)"])
def test_private_pattern_catches_what_it_should(line):
    assert PRIVATE.search(line)


COLLECTION = "ansible_collections.swarmops.core"
MODULE_UTILS = COLLECTION + ".plugins.module_utils"

# module_utils by layer, lowest first: a file imports only from a layer before its own.
# Lines of descent that never meet (the stack pipeline, swarm, the providers) are ordered
# arbitrarily among themselves; what matters is that nothing imports back up.
LAYERS = (
    # shared leaves: the module runner, the Plan type and pure helpers, importing nothing from the collection;
    # compile_once, which every module imports first
    ("runner", "dict_paths", "stack_names", "plan", "units", "context_archive", "json_file", "compile_once"),
    # the client leaf: connection options, then the engine client
    ("docker_common",),
    ("docker_client",),
    # the stack pipeline, one step a layer
    ("compose_yaml",), ("compose",), ("stack_convert",), ("stack_plan", "stack_current"), ("stack_apply", "stack_query"),
    ("stack",),
    # swarm, engine and registry, images, hosts
    ("swarm", "engine", "engine_host", "container", "daemon_config", "docker_auth", "http_probe", "image_build", "htpasswd",
     "file_set", "x509", "ssh_key", "lab", "lab_image", "qemu_image"),
    # providers
    ("virtualbox",), ("qemu",),
)
LAYER = {name: number for number, names in enumerate(LAYERS) for name in names}


def _collection_imports(path):
    """Every ``ansible_collections.swarmops.core...`` module ``path`` imports (module_utils files by name)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == MODULE_UTILS:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(COLLECTION):
            found.add(node.module[len(MODULE_UTILS) + 1:] if node.module.startswith(MODULE_UTILS + ".")
                      else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(COLLECTION))
    return found


def test_every_module_utils_file_has_a_layer():
    files = {p.stem for p in (PLUGINS / "module_utils").glob("*.py") if p.stem != "__init__"}
    assert files - set(LAYER) == set(), "give these files a row in LAYERS"
    assert set(LAYER) - files == set(), "LAYERS names files that do not exist"


def test_no_module_utils_file_imports_from_a_layer_above_it():
    offenders = []
    for name, layer in sorted(LAYER.items()):
        for imported in sorted(_collection_imports(PLUGINS / "module_utils" / (name + ".py"))):
            if LAYER.get(imported, len(LAYERS)) >= layer:
                offenders.append("%s (layer %d) imports %s (layer %s)" % (name, layer, imported, LAYER.get(imported)))
    assert not offenders


def test_the_runner_imports_nothing_from_the_collection():
    for name in LAYERS[0]:
        assert _collection_imports(PLUGINS / "module_utils" / (name + ".py")) == set(), name


def test_client_leaf_stands_only_on_runner_and_docker_common():
    assert _collection_imports(PLUGINS / "module_utils" / "docker_client.py") == {"docker_common", "runner"}
    assert _collection_imports(PLUGINS / "module_utils" / "docker_common.py") == {"runner"}


def test_docker_free_plugins_stand_on_the_runner_not_on_docker_common():
    """The VBoxManage and QEMU providers and the inventory plugin take the error type and clock
    from runner: nothing about Docker connections is theirs to import."""
    for path in (PLUGINS / "module_utils" / "virtualbox.py", PLUGINS / "module_utils" / "qemu.py",
                 *sorted((PLUGINS / "inventory").glob("*.py"))):
        imported = _collection_imports(path)
        assert "runner" in imported and not imported & {"docker_common", "docker_client"}, path.name


def test_docker_common_and_the_leaf_do_not_import_the_sdk():
    """Modules that never reach an engine (or fail validation first) do not pay for `import docker`."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.swarmops.core.plugins.module_utils import runner, docker_common, docker_client, "
            "virtualbox, qemu, htpasswd, x509, daemon_config, ssh_key, stack_names, dict_paths, file_set\n"
            "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('docker.')))"
            % str(ROOT / ".collections"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_swarm_module_utils_leave_the_sdk_import_to_connect():
    """connect() imports the SDK (without paramiko unless ssh://); swarm must not import it first."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.swarmops.core.plugins.module_utils import swarm\n"
            "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('docker.')))"
            % str(ROOT / ".collections"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_the_leaf_deadline_loop():
    """Every wait in plugins/ goes through runner.clock: no hand-written deadline arithmetic."""
    offenders = [str(p.relative_to(ROOT)) for p in _plugin_sources()
                 if p.name != "runner.py" and re.search(r"monotonic\(\)\s*\+", p.read_text())]
    assert not offenders


def test_services_with_status_falls_back_on_sdks_without_the_parameter():
    class NewSDK:
        def services(self, filters=None, status=None):
            return [{"filters": filters, "status": status}]

    class OldSDK:  # docker < 6.1
        def services(self, filters=None):
            return [{"filters": filters}]
    assert docker_client.services_with_status(NewSDK(), {"label": "x"}) == [{"filters": {"label": "x"}, "status": True}]
    assert docker_client.services_with_status(OldSDK(), {"label": "x"}) == [{"filters": {"label": "x"}}]


@pytest.mark.parametrize("text, expected", [
    ("version = \"4.4.0\"\nversion_info = tuple(int(d) for d in version.split(\"-\")[0].split(\".\"))\n", "4.4.0"),
    ("version: str\n__version__: str\n__version__ = version = '7.2.0'\n__version_tuple__ = version_tuple = (7, 2, 0)\n",
     "7.2.0"),
    ("__version__ = version = '6.1.4.dev3+g1234'\n", "6.1.4.dev3+g1234"),
])
def test_the_sdk_version_line_is_found_in_each_version_file_format(text, expected):
    assert docker_client._VERSION_LINE.search(text).group(1) == expected


def test_a_version_file_without_a_version_line_finds_nothing():
    assert docker_client._VERSION_LINE.search("from importlib.metadata import version\nversion: str\n") is None


# ---------------------------------------------------------------- DirectReadClient's API version

class _Engine:
    """A stand-in engine on a unix socket: answers /_ping (with or without the API-Version
    header) and /version, and records each path asked."""

    def __init__(self, path, ping_header):
        import http.server
        import socketserver
        import threading

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                seen.append(self.path)
                body = b"OK" if self.path == "/_ping" else json.dumps({"ApiVersion": "1.40"}).encode()
                self.send_response(200)
                if self.path == "/_ping" and ping_header:
                    self.send_header("API-Version", ping_header)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def address_string(self):
                return "unix"

            def log_message(self, *args):
                pass

        self.server = socketserver.UnixStreamServer(str(path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("header, version, asked", [
    ("1.41", "1.41", ["/_ping"]),                # as the docker CLI negotiates: no /version
    (None, "1.40", ["/_ping", "/version"]),      # an engine (or proxy) without the header
])
def test_direct_client_takes_the_api_version_from_ping(tmp_path, header, version, asked):
    engine = _Engine(tmp_path / "docker.sock", header)
    try:
        client = docker_client.DirectReadClient(dict(
            base_url="unix://%s" % (tmp_path / "docker.sock"), api_version="auto", timeout=5))
    finally:
        engine.close()
    assert client.api_version == version
    assert engine.seen == asked


def test_direct_client_with_a_fixed_api_version_only_pings(tmp_path):
    engine = _Engine(tmp_path / "docker.sock", "1.43")
    try:
        client = docker_client.DirectReadClient(dict(
            base_url="unix://%s" % (tmp_path / "docker.sock"), api_version="1.41", timeout=5))
    finally:
        engine.close()
    assert client.api_version == "1.41" and engine.seen == ["/_ping"]


# ---------------------------------------------------------------- exchange: one HTTP/1.0 request

class _RawSocket:
    """A stand-in engine on a unix socket that answers one connection with ``answer`` bytes
    (sent in pieces, as a large engine answer arrives), and keeps the request it read."""

    def __init__(self, path, answer):
        import socket
        import threading

        self.request = b""
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(1)

        def serve():
            conn, dummy = self.listener.accept()
            with conn:
                while b"\r\n\r\n" not in self.request:
                    self.request += conn.recv(4096)
                head, dummy, body = self.request.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", head)
                while length and len(body) < int(length.group(1)):
                    body += conn.recv(4096)
                self.request = head + b"\r\n\r\n" + body
                for start in range(0, len(answer), 50000):
                    conn.sendall(answer[start:start + 50000])

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self):
        self.thread.join(5)
        self.listener.close()


def test_exchange_reads_the_whole_answer_and_its_headers(tmp_path):
    body = json.dumps([{"ID": "x" * 100}] * 2000).encode()  # about 230 kB: many reads
    engine = _RawSocket(tmp_path / "e.sock", b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n\r\n"
                        + body)
    try:
        answer, payload = docker_client.exchange(str(tmp_path / "e.sock"), 5, "POST", "/v1.41/x?a=1", b'{"k": 1}',
                                                 {"Content-Type": "application/json"})
    finally:
        engine.close()
    assert (answer.status, answer.reason, answer.getheader("API-Version")) == (200, "OK", "1.41")
    assert answer.getheader("X-Missing") is None and payload == body
    assert engine.request.startswith(b"POST /v1.41/x?a=1 HTTP/1.0\r\n")
    assert b"\r\nContent-Length: 8\r\n" in engine.request and engine.request.endswith(b'\r\n\r\n{"k": 1}')


@pytest.mark.parametrize("answer", [b"", b"SSH-2.0-OpenSSH_9.2\r\n", b"HTTP/1.0 200 OK\r\nContent-Type: x"])
def test_an_answer_that_is_not_http_is_an_os_error(tmp_path, answer):
    engine = _RawSocket(tmp_path / "e.sock", answer)
    try:
        with pytest.raises(OSError, match="the answer is not HTTP"):
            docker_client.exchange(str(tmp_path / "e.sock"), 5, "GET", "/_ping")
    finally:
        engine.close()
