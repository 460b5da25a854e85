"""The host readers of docker_engine_host_info and docker_smoke_run's record, pure parts and files."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.engine_host import (
    RECORD_VERSION,
    drain_record,
    group_members,
    make_record,
    missing_users,
    newest_mtime,
    parse_dpkg,
    parse_service,
    parse_start,
    read_packages,
    record_is_current,
    stat_files,
    verified_for,
)
from ansible_collections.swarmops.core.plugins.module_utils.json_file import read_json, write_json

SHOW = "ActiveState=active\nUnitFileState=enabled\nExecMainStartTimestamp=@1733355555\nInvocationID=abc123\n"
SERVICE = parse_service(SHOW)
FOR = {"image": "swarmops/smoke:busybox", "source": "busybox", "command": [], "expect": "Hello from Docker!"}


def test_dpkg_keeps_only_installed_packages():
    text = "docker.io\tii \t20.10.24+dfsg1-1\nrunc\trc \t1.1.5\npython3-apt\tun \t\nbusybox-static\tii \t1:1.35.0\n"
    assert parse_dpkg(text) == {"docker.io": "20.10.24+dfsg1-1", "busybox-static": "1:1.35.0"}


def test_dpkg_query_rc_1_is_an_answer_and_rc_2_an_error():
    calls = []

    def run(argv):
        calls.append(argv)
        return 1, "docker.io\tii \t20.10\n", "dpkg-query: no packages found matching nosuch\n"

    assert read_packages(run, ["nosuch", "docker.io", "docker.io"]) == {"docker.io": "20.10"}
    assert calls[0][-2:] == ["docker.io", "nosuch"]
    assert read_packages(run, []) == {} and len(calls) == 1
    with pytest.raises(OSError, match="dpkg-query failed"):
        read_packages(lambda argv: (2, "", "broken"), ["docker.io"])


def test_service_state_and_start():
    assert SERVICE == dict(active_state="active", unit_file_state="enabled", started=1733355555,
                           invocation_id="abc123")
    assert parse_service("ActiveState=inactive\nExecMainStartTimestamp=\n")["started"] == 0
    assert parse_start("") == 0 and parse_start("@12") == 12 and parse_start("n/a") == 0


def test_stat_files_globs_and_newest(tmp_path):
    (tmp_path / "daemon.json").write_text("{}")
    (tmp_path / "docker-registry-a.crt").write_text("x")
    os.utime(tmp_path / "docker-registry-a.crt", (100, 100))
    files = stat_files([str(tmp_path / "daemon.json"), str(tmp_path / "docker-registry-*.crt"),
                        str(tmp_path / "absent.conf"), str(tmp_path / "daemon.json")])
    assert [os.path.basename(f["path"]) for f in files] == ["daemon.json", "docker-registry-a.crt"]
    assert newest_mtime(files) == os.stat(tmp_path / "daemon.json").st_mtime
    assert newest_mtime([]) == 0


def test_missing_users_in_order():
    known = {"root", "swarmops-ci"}

    def getpwnam(name):
        if name not in known:
            raise KeyError(name)

    assert missing_users(["ghost", "root", "nobody2"], getpwnam) == ["ghost", "nobody2"]


def test_group_members_sorted_or_none():
    class Group:
        gr_mem = ["zed", "alice"]

    def getgrnam(name):
        if name != "docker":
            raise KeyError(name)
        return Group()

    assert group_members("docker", getgrnam) == ["alice", "zed"]
    assert group_members("nogroup", getgrnam) is None


def test_record_is_current_only_for_this_start_and_this_verification():
    record = make_record(SERVICE, "20.10.24", FOR, now=5)
    assert record == dict(version=RECORD_VERSION, started=1733355555, invocation_id="abc123",
                          server_version="20.10.24", verified_for=FOR, verified_at=5)
    assert record_is_current(record, SERVICE, FOR)
    restarted = dict(SERVICE, started=1733355999, invocation_id="def456")
    assert not record_is_current(record, restarted, FOR)
    # Same second, another start (a restart within the second): the invocation tells them apart.
    assert not record_is_current(record, dict(SERVICE, invocation_id="def456"), FOR)
    assert not record_is_current(record, dict(SERVICE, active_state="failed"), FOR)
    assert not record_is_current(record, SERVICE, dict(FOR, image="hello-world"))
    assert not record_is_current(dict(record, version=0), SERVICE, FOR)
    assert not record_is_current(None, SERVICE, FOR)
    never_started = dict(SERVICE, started=0)
    assert not record_is_current(make_record(never_started, None, FOR), never_started, FOR)


def test_a_drain_record_names_a_node_and_an_availability_to_set_back():
    assert drain_record({"node": "abc123", "availability": "active"}) == {"node": "abc123", "availability": "active"}
    assert drain_record({"node": "abc123", "availability": "pause", "extra": 1}) == {
        "node": "abc123", "availability": "pause"}
    # Not a record to act on: absent or unreadable (read_json's None), no node, or an availability
    # the role never drains from (a node already drained is not drained again).
    for record in (None, [], {"availability": "active"}, {"node": "", "availability": "active"},
                   {"node": 7, "availability": "active"}, {"node": "abc123", "availability": "drain"},
                   {"node": "abc123"}):
        assert drain_record(record) is None


def test_verified_for_takes_the_smoke_run_parameters():
    params = dict(FOR, busybox_path="/bin/busybox", run_timeout=60, record="/x", record_service="docker.service")
    assert verified_for(params) == FOR


def test_record_round_trip_and_unreadable_records(tmp_path):
    path = tmp_path / "var" / "lib" / "swarmops" / "verified.json"
    assert read_json(str(path)) is None
    write_json(str(path), make_record(SERVICE, "20.10", FOR, now=1))
    assert read_json(str(path))["started"] == 1733355555
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(path.parent) == ["verified.json"]
    path.write_text("{not json")
    assert read_json(str(path)) is None
    path.write_text(json.dumps([1, 2]))
    assert not record_is_current(read_json(str(path)), SERVICE, FOR)
