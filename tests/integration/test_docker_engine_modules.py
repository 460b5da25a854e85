"""docker_daemon_config (a real file), docker_engine_info and docker_smoke_run (the real local engine)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest

SMOKE_IMAGE = "detest/smoke:busybox"


# --- docker_daemon_config: check -> apply -> again -> again in check mode, all with diff -----------

def test_daemon_config_check_apply_idempotent(ansible_module, tmp_path):
    path = tmp_path / "etc" / "docker" / "daemon.json"
    args = {"path": str(path), "config": {
        "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"},
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
        "labels": {"role": "worker"}, "data-root": None}}

    result, out = ansible_module("docker_daemon_config", args, check=True, diff=True)
    assert result["changed"] is True and not result["existed"], out
    assert not path.exists()
    assert '+  "log-driver": "json-file",' in out  # the diff, as Ansible prints it

    result, out = ansible_module("docker_daemon_config", args, diff=True)
    assert result["changed"] is True, out
    assert "backup_file" not in result
    written = json.loads(path.read_text())
    assert written == {"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
                       "labels": ["role=worker"], "log-driver": "json-file",
                       "log-opts": {"max-file": "3", "max-size": "10m"}}
    assert oct(path.stat().st_mode & 0o777) == "0o644"

    for check in (False, True):
        result, out = ansible_module("docker_daemon_config", args, check=check, diff=True)
        assert result["changed"] is False, out
        assert "+++ after" not in out


def test_daemon_config_change_keeps_a_backup(ansible_module, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}')
    result, out = ansible_module("docker_daemon_config", {"path": str(path), "config": {"debug": False}}, diff=True)
    assert result["changed"] is True, out
    assert '-  "debug": true' in out and '+  "debug": false' in out
    assert Path(result["backup_file"]).read_text() == '{"debug": true}'
    assert json.loads(path.read_text()) == {"debug": False}


@pytest.mark.parametrize("config, words", [
    ({"hosts": ["tcp://0.0.0.0:2375"]}, "'hosts[0]': refusing to expose"),
    ({"log-opts": {"max-file": 3}}, "'log-opts.max-file': must be a string"),
    ({"log_driver": "local"}, "'log_driver': unknown daemon.json setting (did you mean 'log-driver'?)"),
    ({"mtu": 10 ** 30}, "'mtu': must be between 68 and 65535"),
    ({"shutdown-timeout": -1}, "'shutdown-timeout': must be between 0 and"),
    ({"mtu": 0, "shutdown-timeout": -1, "dns": ["x"]}, "3 problems"),
])
def test_daemon_config_bad_input_changes_nothing(ansible_module, tmp_path, config, words):
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}\n')
    result, out = ansible_module("docker_daemon_config", {"path": str(path), "config": config})
    assert result.get("failed") is True, out
    assert words in result["msg"]
    assert "Traceback" not in out
    assert path.read_text() == '{"debug": true}\n'
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content", [b"{broken", b"[]", b'{"labels": ["\xff"]}'])
def test_daemon_config_refuses_a_file_it_cannot_merge(ansible_module, tmp_path, content):
    path = tmp_path / "daemon.json"
    path.write_bytes(content)
    result, out = ansible_module("docker_daemon_config", {"path": str(path), "config": {"debug": True}})
    assert result.get("failed") is True and str(path) in result["msg"] and "left as is" in result["msg"], out
    assert "Traceback" not in out
    assert path.read_bytes() == content and list(tmp_path.iterdir()) == [path]


# --- issue 11 item 7: an existing daemon.json is merged, never replaced -----------------------------

ESTATE = {"data-root": "/srv/docker", "live-restore": True, "log-opts": {"max-size": "50m", "max-file": "7"},
          "max-concurrent-uploads": 2, "debug": True}


def test_daemon_config_keeps_the_keys_it_does_not_own(ansible_module, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(ESTATE))
    path.chmod(0o640)
    args = {"path": str(path), "config": {"log-driver": "json-file", "debug": False, "data-root": ""},
            "remove": ["max-concurrent-uploads"]}

    result, out = ansible_module("docker_daemon_config", args, check=True, diff=True)
    assert result["changed"] is True and result["overridden"] == ["debug"], out
    assert json.loads(path.read_text()) == ESTATE  # check mode wrote nothing
    assert "had another value on the host" in out and '-  "debug": true' in out

    result, out = ansible_module("docker_daemon_config", args, diff=True)
    assert result["changed"] is True, out
    expected = {k: v for k, v in ESTATE.items() if k != "max-concurrent-uploads"}
    expected.update({"log-driver": "json-file", "debug": False})
    assert json.loads(path.read_text()) == expected
    assert json.loads(Path(result["backup_file"]).read_text()) == ESTATE
    assert oct(path.stat().st_mode & 0o777) == "0o640"  # the owner's mode is kept

    for check in (False, True):
        result, out = ansible_module("docker_daemon_config", args, check=check, diff=True)
        assert result["changed"] is False and result["overridden"] == [], out


def test_daemon_config_proxy_credentials_never_shown_and_file_0600(ansible_module, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"debug": true}')
    path.chmod(0o644)
    secret = "Pr0xyPa55w0rd"
    args = {"path": str(path), "config": {"proxies": {"http-proxy": "http://alice:%s@proxy.lab:3128" % secret,
                                                      "no-proxy": "localhost"}}}
    for check in (True, False):
        result, out = ansible_module("docker_daemon_config", args, check=check, diff=True, verbosity=3)
        assert result["changed"] is True, out
        assert secret not in out
        assert "alice:********@proxy.lab:3128" in out
    assert secret in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600" and result["mode"] == "0600"
    assert oct(Path(result["backup_file"]).stat().st_mode & 0o777) == "0o600"

    args["config"]["proxies"]["no-proxy"] = "localhost,.lab"
    result, out = ansible_module("docker_daemon_config", args, diff=True, verbosity=3)
    assert result["changed"] is True and secret not in out, out  # the password is in before and after
    assert oct(Path(result["backup_file"]).stat().st_mode & 0o777) == "0o600"
    result, out = ansible_module("docker_daemon_config", args, diff=True)
    assert result["changed"] is False, out


# --- docker_engine_info ------------------------------------------------------------------------

def test_engine_info_matches_the_engine(ansible_module):
    client = docker.APIClient()
    result, out = ansible_module("docker_engine_info", {"timeout": 60}, check=True)
    assert result["changed"] is False, out
    facts = result["engine"]
    assert result["ansible_facts"]["docker_engine"] == facts
    assert facts["server_version"] == client.version()["Version"]
    info = client.info()
    assert facts["storage_driver"] == info["Driver"]
    assert facts["cgroup_driver"] == info["CgroupDriver"]
    assert facts["swarm_state"] == info["Swarm"]["LocalNodeState"]
    assert facts["client_version"]  # the docker CLI is on this machine's PATH


# --- docker_smoke_run ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def static_busybox(tmp_path_factory):
    """/bin/busybox out of Debian's busybox-static package (downloaded, not installed)."""
    work = tmp_path_factory.mktemp("busybox")
    cmd = ["apt-get", "download", "busybox-static"]
    if subprocess.run(cmd, cwd=work, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(cmd, cwd=work, check=True, capture_output=True)
    deb = next(work.glob("busybox-static_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "root")], check=True)
    return str(work / "root" / "bin" / "busybox")


@pytest.fixture
def smoke_image():
    client = docker.APIClient()
    yield SMOKE_IMAGE
    try:
        client.remove_image(SMOKE_IMAGE, force=True)
    except docker.errors.NotFound:
        pass


def smoke_containers():
    return docker.APIClient().containers(all=True, filters={"label": "io.swarmops.smoke=run"})


def test_smoke_run_imports_runs_and_leaves_no_container(ansible_module, static_busybox, smoke_image):
    args = {"image": smoke_image, "source": "busybox", "busybox_path": static_busybox,
            "expect": "Hello from Docker!"}

    result, out = ansible_module("docker_smoke_run", args, check=True)
    assert result["changed"] is True and result["how"] == "would_import" and not result["ran"], out
    assert not docker.APIClient().images(name="detest/smoke")

    result, out = ansible_module("docker_smoke_run", args)
    assert result["changed"] is True and result["how"] == "imported", out
    assert result["ran"] and result["exit_code"] == 0
    assert result["output"].startswith("Hello from Docker! I am container ")

    result, out = ansible_module("docker_smoke_run", dict(args, command=["/bin/busybox", "uname", "-s"], expect=""))
    assert result["changed"] is False and result["output"] == "Linux\n", out

    result, out = ansible_module("docker_smoke_run", args)
    assert result["changed"] is False and result["how"] == "present" and result["ran"], out
    assert smoke_containers() == []


@pytest.mark.parametrize("command, expect, words", [
    (["/bin/busybox", "false"], "", "exited with 1"),
    (["/bin/busybox", "echo", "something else"], "Hello from Docker!", "lacks 'Hello from Docker!'"),
])
def test_smoke_run_fails_on_bad_exit_or_output(ansible_module, static_busybox, smoke_image, command, expect, words):
    result, out = ansible_module("docker_smoke_run", {
        "image": smoke_image, "source": "busybox", "busybox_path": static_busybox,
        "command": command, "expect": expect})
    assert result.get("failed") is True and words in result["msg"], out
    assert smoke_containers() == []


def test_smoke_run_absent_image_with_source_present_fails(ansible_module):
    result, out = ansible_module("docker_smoke_run", {"image": "detest/absent:never", "source": "present"})
    assert result.get("failed") is True and "detest/absent:never is not present" in result["msg"], out


def test_smoke_run_gives_an_older_busybox_import_without_command_one(ansible_module, static_busybox, smoke_image):
    from ansible_collections.swarmops.core.plugins.module_utils.engine import busybox_rootfs

    with open(static_busybox, "rb") as handle:
        docker.APIClient().import_image_from_data(busybox_rootfs(handle.read()), repository="detest/smoke", tag="busybox")
    result, out = ansible_module("docker_smoke_run", {"image": smoke_image, "source": "busybox",
                                                      "expect": "Hello from Docker!"})
    assert result["changed"] is False and result["exit_code"] == 0, out


def test_smoke_run_record_only_after_a_real_success(ansible_module, static_busybox, smoke_image, tmp_path):
    record = tmp_path / "lib" / "swarmops" / "verified.json"
    args = {"image": smoke_image, "source": "busybox", "busybox_path": static_busybox,
            "expect": "Hello from Docker!", "record": str(record)}

    result, out = ansible_module("docker_smoke_run", args, check=True)
    assert not result.get("failed") and "record" not in result, out
    result, out = ansible_module("docker_smoke_run", dict(args, command=["/bin/busybox", "false"], expect=""))
    assert result.get("failed") is True and "exited with 1" in result["msg"], out
    assert not record.exists()

    result, out = ansible_module("docker_smoke_run", args)
    if subprocess.run(["systemctl", "show", "docker.service"], capture_output=True).returncode == 0:
        written = json.loads(record.read_text())
        assert not result.get("failed") and result["record"] == written, out
        assert written["verified_for"] == {"image": smoke_image, "source": "busybox", "command": [],
                                           "expect": "Hello from Docker!"}
        assert written["server_version"] == docker.APIClient().version()["Version"]
    else:  # no systemd on this machine: the run is reported, the record refused, nothing written
        assert result.get("failed") is True and result["ran"] and result["exit_code"] == 0, out
        assert "recording it in %s failed" % record in result["msg"] and "Traceback" not in out
        assert not record.exists()
    assert smoke_containers() == []
