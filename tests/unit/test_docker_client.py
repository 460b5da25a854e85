"""The engine-client leaf (docker_client): clock, out-of-sequence retry, inspect-or-none, raw POST,
SDK version check; and the rules that keep it the only way to the engine (no private docker-py
attribute in plugins/, docker_common free of the SDK, the leaf importing nothing above it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from docker.errors import APIError, NotFound

from ansible_collections.swarmops.core.plugins.module_utils import docker_client
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import SwarmOpsError

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"


class FakeTime:
    """Stands in for the time module inside docker_client: sleeping advances a counter."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(docker_client, "time", fake)
    return fake


# ---------------------------------------------------------------- clock

def test_clock_first_attempt_at_once_then_every_interval_until_the_deadline(fake_time):
    attempts = list(docker_client.clock(10, 2))
    assert attempts == [0, 1, 2, 3, 4, 5]  # at t=0,2,4,6,8 and one last look at t=10
    assert fake_time.sleeps == [2] * 5


def test_clock_zero_timeout_still_looks_once(fake_time):
    assert list(docker_client.clock(0, 1)) == [0]
    assert fake_time.sleeps == []


def test_clock_deadline_is_fixed_when_called_not_at_first_attempt(fake_time):
    ticks = docker_client.clock(5, 1)
    fake_time.now += 4  # work done before the loop starts counts against the timeout
    assert list(ticks) == [0, 1]


def test_clock_stops_when_the_caller_returns(fake_time):
    def wait():
        for attempt in docker_client.clock(60, 0.5):
            if attempt == 2:
                return "done"
        return "timeout"
    assert wait() == "done" and fake_time.sleeps == [0.5, 0.5]


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
    monkeypatch.setattr(docker_client, "sdk", lambda: OldDocker)
    with pytest.raises(SwarmOpsError, match=r"Docker SDK for Python 4\.0\.2 is installed.*needs %s or newer"
                       % re.escape(docker_client.MIN_DOCKER_SDK)):
        docker_client.connect({"docker_host": "unix:///nonexistent.sock"})


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


def _imported_module_utils(path):
    return set(re.findall(r"plugins\.module_utils(?:\.|\s+import\s+)(\w+)", path.read_text()))


def test_client_leaf_stands_only_on_docker_common():
    assert _imported_module_utils(PLUGINS / "module_utils" / "docker_client.py") == {"docker_common"}
    assert _imported_module_utils(PLUGINS / "module_utils" / "docker_common.py") == set()


def test_docker_common_and_the_leaf_do_not_import_the_sdk():
    """Modules that never reach an engine (or fail validation first) do not pay for `import docker`."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.swarmops.core.plugins.module_utils import docker_common, docker_client, "
            "virtualbox, htpasswd, x509, daemon_config\n"
            "print(sorted(m for m in sys.modules if m == 'docker' or m.startswith('docker.')))"
            % str(ROOT / ".collections"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_only_the_leaf_deadline_loop():
    """Every wait in plugins/ goes through docker_client.clock: no hand-written deadline arithmetic."""
    offenders = [str(p.relative_to(ROOT)) for p in _plugin_sources()
                 if p.name != "docker_client.py" and re.search(r"monotonic\(\)\s*\+", p.read_text())]
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
