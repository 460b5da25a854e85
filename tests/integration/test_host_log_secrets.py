"""A module's invocation, as AnsibleModule logs it to the host's journal or syslog, never holds a
no_log suboption's value: htpasswd's users[].password and docker_image_build's
registry_auth.password, multi-line ones included (str() of a list or dict writes a newline as \\n,
which Ansible's own masking of the value misses). A stand-in syslog module (the host_log
fixture) records what is logged."""

from __future__ import annotations

SECRET = "first-line-of-the-secret-3f9a\nsecond-line-of-the-secret-77c1"


def assert_masked(logged, *shown):
    text = logged.read_text()
    assert "Invoked with" in text, text  # the stand-in saw the invocation
    for part in shown:
        assert part in text, text
    for line in SECRET.splitlines():
        assert line not in text, text
    assert "********" in text, text


def test_htpasswd_users_password(ansible_module, host_log, tmp_path):
    pythonpath, logged = host_log
    result, out = ansible_module("htpasswd", {
        "path": str(tmp_path / "htpasswd"), "users": [{"name": "alice", "password": SECRET}]},
        env={"PYTHONPATH": pythonpath})
    assert result.get("changed") and not result.get("failed"), out
    assert_masked(logged, "'name': 'alice'")


def test_docker_image_build_registry_auth_password(ansible_module, host_log, tmp_path):
    """Logged as the module starts, before it connects: an engine that is not there is enough."""
    pythonpath, logged = host_log
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    result, out = ansible_module("docker_image_build", {
        "name": "swarmops/log-test", "src": str(context), "push": True,
        "docker_host": "unix://%s" % (tmp_path / "no-engine.sock"),
        "registry_auth": {"username": "deploy", "password": SECRET, "registry": "127.0.0.1:5999"}},
        env={"PYTHONPATH": pythonpath})
    assert result.get("failed"), out
    assert_masked(logged, "'username': 'deploy'")
